"""The chat format lmforge models are trained with (ChatML), saved in the tokenizer files.

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
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- generation -%}{{ message['content'] + '<|im_end|>' }}{%- endgeneration -%}"
    "{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)
