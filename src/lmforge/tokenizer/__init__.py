"""Tokenizers: train a byte-level BPE on a corpus, with special tokens and a chat template.

Run: `lmforge tokenizer train --input corpus.jsonl --out tok/ --vocab-size 4096`.
"""
