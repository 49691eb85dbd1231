"""The built-in lab world: a seeded, fictional land of towns in English and Korean.

`lmforge.lab.generate.generate_lab(out, seed, langs, size)` writes everything the other stages
need: a noisy raw web crawl for curation, chat data for SFT, preference pairs, held-out
evaluation questions, arithmetic and a small retrieval corpus. Same seed, same bytes.
"""
