"""Promptbreeder's built-in text: thinking styles, mutation prompts, hyper-mutation prompts,
problem descriptions, and the exact prompts each operator sends (`prompting.evolve`).

The lists are short English selections from the paper's appendix (Fernando et al. 2023,
"Promptbreeder: Self-Referential Self-Improvement via Prompt Evolution"); the layouts follow
its operators: a mutation prompt, then `INSTRUCTION:` and the text to change, then
`INSTRUCTION MUTANT:` for the model to continue.
"""

from __future__ import annotations

from dataclasses import dataclass

THINKING_STYLES = (
    "Let's think step by step.",
    "Let's make a step by step plan and carry it out carefully.",
    "How can I simplify the problem so that it is easier to solve?",
    "What are the key facts needed to answer this question?",
    "Break the problem into smaller parts and solve each one.",
    "Let's first recall what we know, then answer.",
    "Focus on the exact question asked and answer it briefly.",
    "What is the core issue or problem that needs to be addressed?",
    "Use careful reasoning and double-check the answer.",
    "Think about similar problems solved before and what worked.",
)

MUTATION_PROMPTS = (
    "Modify the following instruction creatively, giving some advice on how to solve it:",
    "Elaborate on the instruction giving some detailed advice on how to do what it wants.",
    "How would you help an LLM to follow the instruction?",
    "In one sentence, say what would be a better way to say this instruction.",
    "Rephrase the instruction without using any of the same words. Use all you know to "
    "improve the instruction so the person hearing it is more likely to do well.",
    "Make the instruction shorter and clearer.",
    "Imagine you need to follow this instruction. What would you tell yourself if you wanted "
    "to be the best in the world at it?",
    "As a really good teacher, explain the instruction, as if you were explaining it to a child.",
    "In one short sentence, here is how I would best follow this instruction.",
    "Say that instruction again in another way.",
)

HYPER_MUTATION_PROMPTS = (
    "Please summarize and improve the following instruction:",
    "Rewrite the instruction so that it gets better answers from a language model:",
    "Improve the following instruction for changing instructions:",
)

DESCRIPTIONS = {
    "lab-qa": "Answer the question about the world with a short phrase.",
    "lab-arith": "Solve the arithmetic problem and give the answer as a number.",
}
GENERIC_DESCRIPTION = "Answer the question correctly and briefly."
HINTS = "A list of 100 hints:\n1."  # the zero-order operator's cue, from the paper


def description_for(task_name: str, given: str | None = None) -> str:
    """The problem description: the user's, else the built-in task's, else a generic one."""
    if given is not None and given.strip():
        return given.strip()
    return DESCRIPTIONS.get(task_name, GENERIC_DESCRIPTION)


def mutant(instruction_prompt: str, text: str) -> str:
    """The paper's layout: an instruction about changing `text`, then the cue to write it."""
    return f"{instruction_prompt.strip()}\nINSTRUCTION: {text.strip()}\nINSTRUCTION MUTANT:"


def init_prompt(mutation_prompt: str, thinking_style: str, description: str) -> str:
    """Initialisation: mutation prompt + thinking style + problem description."""
    return mutant(f"{mutation_prompt.strip()} {thinking_style.strip()}", description)


def zero_order_prompt(description: str) -> str:
    """Zero-order direct mutation: a new task prompt from the problem description alone."""
    return f"{description.strip()} {HINTS}"


# A reply ends at a blank line or where the model starts another INSTRUCTION block.
STOPS = ["\n\n", "INSTRUCTION"]
ZERO_ORDER_STOPS = ["\n"]  # one hint


@dataclass(frozen=True)
class Cleaned:
    """A reply made into a prompt, or None with the reason it was rejected."""

    text: str | None
    rejected: str | None = None


def clean_reply(reply: str, finish_reason: str, max_chars: int) -> Cleaned:
    """Strip the reply; reject it when empty, cut at the token limit, or over `max_chars`."""
    text = reply.strip().strip('"').strip()
    if not text:
        return Cleaned(None, "empty reply")
    if finish_reason == "length":
        return Cleaned(None, "too long: the reply was cut at the token limit")
    if len(text) > max_chars:
        return Cleaned(None, f"too long: {len(text)} characters > {max_chars}")
    return Cleaned(text)
