"""The chat format lmforge models are trained with, saved in the tokenizer files.

ChatML's special tokens with a `role:` header, so a turn reads
`<|im_start|>user: What is the main export of Kamori?<|im_end|>` and the assistant's reply
starts with a space: ` copper<|im_end|>`. The space matters for small models: a byte-level
BPE spells a word differently at the start of a line (`copper`) and inside a sentence
(` copper`), and pretraining text has almost every fact inside a sentence. Starting turns
like mid-sentence words lets SFT reuse what pretraining stored (on the lab world this
tripled held-out exact match; see benchmarks/RESULTS.md).

The `{% generation %}` markers let `apply_chat_template(..., return_assistant_tokens_mask=True)`
say exactly which tokens the assistant wrote: SFT trains on those (and the closing
`<|im_end|>`, so a tuned model learns to stop) and on nothing else.
"""

END_OF_TEXT = "<|endoftext|>"
PAD = "<|pad|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [END_OF_TEXT, PAD, IM_START, IM_END]

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant:' }}"
    "{%- generation -%}{{ ' ' + message['content'] + '<|im_end|>' }}{%- endgeneration -%}"
    "{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + ': ' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant:' }}{%- endif -%}"
)
