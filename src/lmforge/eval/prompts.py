"""How a question is put to the model: a plain completion prompt or the chat template.

A base (pretrained) model sees `Question: ...\\nAnswer:` and multiple-choice continuations
`" " + choice`; a chat model sees the user turn rendered with its chat template and the
generation prompt, then the choice exactly as the template would write an assistant's
reply. `chat_template="auto"` picks chat for models tuned by `lmforge sft` (or made from one)
and, for models from elsewhere, when the tokenizer has a chat template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.runs import read_manifest

CHAT_KINDS = {"sft"}
BASE_KINDS = {"model", "pretrained"}  # trained on plain text even if made from a chat model
SETTINGS = {"auto": None, "on": True, "true": True, "off": False, "false": False}
MAX_LINEAGE = 32


def messages_for(example: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": "user", "content": example["question"]}]


def prompt_for(example: dict[str, Any], kind: str, chat: bool, tokenizer) -> str:
    """The prompt text for an example (`kind` is the task's: the prompt is the same for both)."""
    if not chat:
        return f"Question: {example['question']}\nAnswer:"
    return tokenizer.apply_chat_template(
        messages_for(example), tokenize=False, add_generation_prompt=True
    )


def continuation_for(
    choice: str, chat: bool, delimiter: str = " ", tokenizer=None, example: dict | None = None
) -> str:
    """A multiple-choice continuation: delimited after a plain prompt; after a chat prompt,
    exactly what the chat template puts between the generation prompt and the end of turn."""
    if not chat:
        return delimiter + choice
    return _assistant_text(tokenizer, messages_for(example), choice)


def _assistant_text(tokenizer, messages: list[dict[str, str]], content: str) -> str:
    # Render the turn with the choice and with nothing: what they share at the end is the
    # template's end of turn; what precedes it, after the generation prompt, is the answer
    # as the template writes it (e.g. a leading space).
    def render(extra: list[dict[str, str]], generation_prompt: bool) -> str:
        return tokenizer.apply_chat_template(
            messages + extra, tokenize=False, add_generation_prompt=generation_prompt
        )

    prompt = render([], True)
    with_content = render([{"role": "assistant", "content": content}], False)
    empty = render([{"role": "assistant", "content": ""}], False)
    if not with_content.startswith(prompt):
        return content
    shared = 0
    while shared < len(empty) - len(prompt) and with_content[-1 - shared] == empty[-1 - shared]:
        shared += 1
    return with_content[len(prompt) : len(with_content) - shared]


def resolve_chat_template(setting: str, model_dir: Path, tokenizer) -> tuple[bool, str]:
    """(use the chat template?, why) for `setting` "auto", "on" or "off"."""
    key = str(setting).lower()
    if key not in SETTINGS:
        raise LmforgeError(
            f"chat_template must be auto, on or off, not {setting!r}.",
            "Use auto to decide from the model.",
        )
    has_template = getattr(tokenizer, "chat_template", None) is not None
    if SETTINGS[key] is not None:
        if SETTINGS[key] and not has_template:
            raise LmforgeError(
                f"the tokenizer in {model_dir} has no chat template.",
                "Use chat_template off (or auto).",
            )
        return SETTINGS[key], f"chat_template={key}"
    kinds = _lineage_kinds(Path(model_dir))
    if kinds:
        chat = has_template and kinds[0] not in BASE_KINDS and bool(CHAT_KINDS & set(kinds))
        return chat, f"auto: manifest kinds {' <- '.join(kinds)}"
    if has_template:
        return True, "auto: no manifest, the tokenizer has a chat template"
    return False, "auto: no manifest and no chat template"


def _lineage_kinds(model_dir: Path) -> list[str]:
    """Kinds of the model and the models it was trained from (following `inputs.model`)."""
    kinds, current = [], model_dir
    for _ in range(MAX_LINEAGE):
        manifest = read_manifest(current)
        if manifest is None:
            break
        kinds.append(str(manifest.get("kind")))
        parent = manifest.get("inputs", {}).get("model", {}).get("path")
        if parent is None:
            break
        current = (current / parent).resolve()
    return kinds
