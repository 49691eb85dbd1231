"""What an agent remembers between runs: earlier turns of a conversation, and reflections.

`ConversationMemory` keeps the last few (goal, answer) turns, so a follow-up goal ("and
times 3?") can refer to an earlier one; agents put them before the new goal, as chat messages
or as text. `ReflectionMemory` keeps Reflexion's lessons from failed trials (the most recent
few), which every later trial sees in its prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ConversationMemory:
    max_turns: int = 5
    turns: list[tuple[str, str]] = field(default_factory=list)

    def add(self, goal: str, answer: str) -> None:
        self.turns.append((goal, answer))
        del self.turns[: -self.max_turns]

    def messages(self) -> list[dict[str, str]]:
        out = []
        for goal, answer in self.turns:
            out += [{"role": "user", "content": goal}, {"role": "assistant", "content": answer}]
        return out

    def text(self) -> str:
        lines = [f"Earlier question: {g}\nEarlier answer: {a}" for g, a in self.turns]
        return "\n".join(lines)


@dataclass
class ReflectionMemory:
    max_items: int = 3
    items: list[str] = field(default_factory=list)

    def add(self, reflection: str) -> None:
        reflection = " ".join(reflection.split())
        if reflection:
            self.items.append(reflection)
            del self.items[: -self.max_items]

    def text(self) -> str:
        if not self.items:
            return ""
        lessons = "\n".join(f"- {r}" for r in self.items)
        return f"Lessons from your earlier failed attempts:\n{lessons}"
