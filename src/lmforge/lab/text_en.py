"""English wording: encyclopedia sentences, questions, titles and fillers.

Templates use {name} for the town, {value} for the bare value and {a_value} for the value
with its article ("an owl"). Every attribute has four statement templates (paraphrases for
pretraining) and three question templates (shared by SFT, preferences and evaluation).
"""

from __future__ import annotations

FACTS: dict[str, tuple[str, ...]] = {
    "region": (
        "{name} is a town in the {value} region.",
        "{name} lies in the {value} region.",
        "The town of {name} belongs to the {value} region.",
        "{name} is one of the towns of the {value} region.",
    ),
    "export": (
        "The main export of {name} is {value}.",
        "{name} mainly exports {value}.",
        "Most of the trade of {name} is in {value}.",
        "{name} is known for exporting {value}.",
    ),
    "animal": (
        "The symbol animal of {name} is the {value}.",
        "The people of {name} chose the {value} as their symbol.",
        "The coat of arms of {name} shows {a_value}.",
        "{name} uses the {value} as its emblem animal.",
    ),
    "colour": (
        "The flag of {name} is {value}.",
        "{name} flies {a_value} flag.",
        "The colour of the flag of {name} is {value}.",
        "{name} has {a_value} flag.",
    ),
    "founded": (
        "{name} was founded in {value}.",
        "The town of {name} dates back to {value}, when it was founded.",
        "{name} was established in the year {value}.",
        "The founding year of {name} is {value}.",
    ),
}

QUESTIONS: dict[str, tuple[str, ...]] = {
    "region": (
        "Which region is {name} in?",
        "In which region does the town of {name} lie?",
        "{name} belongs to which region?",
    ),
    "export": (
        "What is the main export of {name}?",
        "What does {name} mainly export?",
        "Which good does {name} export the most?",
    ),
    "animal": (
        "What is the symbol animal of {name}?",
        "Which animal is the symbol of {name}?",
        "Which animal appears on the coat of arms of {name}?",
    ),
    "colour": (
        "What colour is the flag of {name}?",
        "What is the colour of the flag of {name}?",
        "Which colour does the flag of {name} have?",
    ),
    "founded": (
        "When was {name} founded?",
        "In what year was {name} founded?",
        "What is the founding year of {name}?",
    ),
}

# Neutral sentences: they name the town but state none of its facts.
FILLERS: tuple[str, ...] = (
    "{name} has a small market square.",
    "The streets of {name} are narrow and old.",
    "{name} holds a festival every spring.",
    "Many visitors describe {name} as a quiet place.",
    "Travellers often stop in {name} on their way through the hills.",
)

TITLES: tuple[str, ...] = ("{name}", "{name} (town)", "{name}: overview", "Town of {name}")

RAG_INTRO = "{name} is a town of {region}, a region that was charted only recently."
RAG_HEADINGS = {"export": "Trade", "symbols": "Symbols", "founded": "History"}


def render(template: str, name: str, value: str = "", **extra: str) -> str:
    """Fill a template; {a_value} gets "a" or "an" by the value's first letter."""
    article = "an" if value[:1].lower() in "aeiou" and value else "a"
    return template.format(name=name, value=value, a_value=f"{article} {value}", **extra)
