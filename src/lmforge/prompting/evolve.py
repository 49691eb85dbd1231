"""Promptbreeder (Fernando et al. 2023): evolve a task prompt by mutating it with the model.

    from lmforge.prompting.evolve import EvolveConfig, evolve
    result = evolve(backend, load_task("lab-qa", "lab/"), EvolveConfig(population=8, budget=400))
    result.best.task_prompt, result.best.fitness, result.start.fitness, result.history

A unit is (task prompt, mutation prompt). The population starts from thinking styles ×
mutation prompts × the problem description (`evolve_prompts`). Fitness is the accuracy of
`direct` answering with the task prompt as instruction (prompt = task prompt + question) on a
fixed, seeded dev sample of the task, scored as `lmforge prompt run` scores. Each generation
pairs the units at random (binary tournaments); the loser is overwritten by a mutated copy
of the winner, so the best unit is never lost (elitism). The copy is made by one operator:
zero-order (a new prompt from the description), first-order (mutation prompt + task prompt),
first-order hyper-mutation (rewrite the mutation prompt first, then apply it), or, with
probability `crossover`, the task prompt of another unit drawn in proportion to fitness.
A reply that is empty, cut at the token limit or longer than `max_chars` is rejected and the
parent kept, with the reason recorded. Every model call counts against `budget`; a
tournament starts only when its worst case (2 mutation calls + a dev evaluation) still fits.
Mutation calls are sampled with seeds drawn from the run's seeded RNG and fitness calls are
greedy, so a deterministic backend gives the same history for the same seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.eval.task import Task, load_task
from lmforge.infer.backends import load_backend
from lmforge.infer.backends.base import Backend, Completion, Prompt
from lmforge.jsonl import write_jsonl
from lmforge.prompting import evolve_prompts as texts
from lmforge.prompting.run import build_strategy, resolve_mode, run_inputs, trace_example
from lmforge.runs import prepare_out_dir, write_manifest

OPERATORS = ("zero-order", "first-order", "hyper")


@dataclass
class EvolveConfig:
    population: int = 8
    generations: int = 5
    budget: int = 400  # model calls in all: initialisation, mutations, fitness
    dev_size: int = 16
    seed: int = 0
    crossover: float = 0.1  # chance that a copy takes a fitter unit's task prompt instead
    temperature: float = 0.8  # mutation calls (fitness calls are greedy)
    max_tokens: int = 64  # per mutation reply
    max_chars: int = 400  # longer replies are rejected
    mode: str = "auto"  # chat | completion | auto (as `prompt run`)
    description: str | None = None  # the problem description; None = the task's built-in one

    def minimum_budget(self) -> int:
        """Initialisation (one call and one dev evaluation per unit) plus one tournament."""
        return self.population * (1 + self.dev_size) + 2 + self.dev_size

    def check(self) -> None:
        if self.population < 2:
            raise LmforgeError(
                f"population {self.population} is too small: tournaments need 2 units.",
                "Use --population 2 or more.",
            )
        if self.generations < 1 or self.dev_size < 1:
            raise LmforgeError("generations and dev size must be at least 1.")
        if self.budget < self.minimum_budget():
            raise LmforgeError(
                f"budget {self.budget} model calls cannot initialise {self.population} units "
                f"on {self.dev_size} dev examples and run one tournament "
                f"({self.minimum_budget()} calls).",
                f"Raise --budget to at least {self.minimum_budget()}, or lower --population "
                "or --dev-size.",
            )
        if not 0 <= self.crossover <= 1 or self.temperature < 0 or self.max_chars < 1:
            raise LmforgeError("crossover must be in [0, 1], temperature ≥ 0, max_chars ≥ 1.")


@dataclass
class Unit:
    id: int
    task_prompt: str
    mutation_prompt: str
    fitness: float
    operator: str  # init | zero-order | first-order | hyper | crossover
    born: int  # generation
    parent: int | None = None  # the tournament winner it was copied from
    replaced: int | None = None  # the loser it overwrote
    donor: int | None = None  # crossover: whose task prompt it took
    sent: list[str] = field(default_factory=list)  # the exact mutation prompts sent
    replies: list[str] = field(default_factory=list)
    rejected: str | None = None  # why a reply was not used (the parent's text was kept)
    correct: list[bool] = field(default_factory=list)  # per dev example


@dataclass
class Evolution:
    best: Unit
    start: Unit  # the best unit of the initial population
    history: list[dict[str, Any]]  # one record per generation, 0 = initialisation
    calls: int
    stopped: str  # "generations" or "budget"
    dev_ids: list[str]
    description: str
    mode: str


class _Metered(Backend):
    """Counts generate calls, refuses any past the budget, reports each to `on_call`."""

    def __init__(self, inner: Backend, budget: int, on_call: Callable[[], object]) -> None:
        self.inner, self.budget, self.on_call, self.calls = inner, budget, on_call, 0
        self.capabilities = inner.capabilities
        self.context_window = inner.context_window

    def count_tokens(self, prompt: Prompt) -> int | None:
        return self.inner.count_tokens(prompt)

    def _generate(self, prompt: Prompt, options: dict[str, Any]) -> Completion:
        if self.calls >= self.budget:  # planning keeps this from happening; guard anyway
            raise RuntimeError(f"model call budget {self.budget} exceeded")
        self.calls += 1
        self.on_call()
        return self.inner.generate(prompt, **options)


class _Breeder:
    def __init__(self, backend: Backend, task: Task, config: EvolveConfig, on_call) -> None:
        self.config, self.task = config, task
        self.rng = random.Random(config.seed)
        self.mode = resolve_mode(config.mode, backend)
        self.backend = _Metered(backend, config.budget, on_call)
        self.direct = build_strategy("direct", self.backend, task, None, mode=self.mode)
        self.description = texts.description_for(task.name, config.description)
        self.dev = self.rng.sample(task.examples, config.dev_size)
        self.scores: dict[str, list[bool]] = {}  # task prompt -> per-example correctness
        self.next_id = 0

    def fitness(self, task_prompt: str) -> list[bool]:
        if task_prompt not in self.scores:  # greedy answers: the same prompt scores the same
            template = replace(self.direct.template, instruction=task_prompt)
            strategy = replace(self.direct, template=template)
            traces = [trace_example(strategy, self.backend, self.task, e) for e in self.dev]
            self.scores[task_prompt] = [t["correct"] for t in traces]
        return self.scores[task_prompt]

    def unit(self, task_prompt: str, mutation_prompt: str, **info) -> Unit:
        correct = self.fitness(task_prompt)
        self.next_id += 1
        return Unit(self.next_id - 1, task_prompt, mutation_prompt,
                    sum(correct) / len(correct), correct=correct, **info)  # fmt: skip

    def ask(self, text: str, stops: list[str], sent: list[str], replies: list[str]):
        prompt: Prompt = text if self.mode == "completion" else [{"role": "user", "content": text}]
        seed = self.rng.randrange(2**31)
        done = self.backend.generate(prompt, temperature=self.config.temperature, seed=seed,
                                     max_tokens=self.config.max_tokens, stop=stops)  # fmt: skip
        sent.append(text)
        replies.append(done.text)
        return texts.clean_reply(done.text, done.finish_reason, self.config.max_chars)

    def initial(self) -> list[Unit]:
        styles = self.rng.sample(texts.THINKING_STYLES, len(texts.THINKING_STYLES))
        mutations = self.rng.sample(texts.MUTATION_PROMPTS, len(texts.MUTATION_PROMPTS))
        units = []
        for i in range(self.config.population):
            style, mutation = styles[i % len(styles)], mutations[i % len(mutations)]
            sent, replies = [], []
            text = texts.init_prompt(mutation, style, self.description)
            cleaned = self.ask(text, texts.STOPS, sent, replies)
            # a rejected reply leaves what went into it: the description and the style
            prompt = cleaned.text or f"{self.description} {style}"
            units.append(self.unit(prompt, mutation, operator="init", born=0, sent=sent,
                                   replies=replies, rejected=cleaned.rejected))  # fmt: skip
        return units

    def child(self, units: list[Unit], winner: Unit, loser: Unit, generation: int) -> Unit:
        where = {"parent": winner.id, "replaced": loser.id, "born": generation}
        donors = [u for u in units if u.id not in (winner.id, loser.id)]
        if donors and self.rng.random() < self.config.crossover:
            weights = [u.fitness + 1e-3 for u in donors]  # fitter donors are likelier
            donor = self.rng.choices(donors, weights)[0]
            return self.unit(donor.task_prompt, winner.mutation_prompt, operator="crossover",
                             donor=donor.id, **where)  # fmt: skip
        operator = self.rng.choice(OPERATORS)
        sent, replies, problems = [], [], []
        mutation_prompt = winner.mutation_prompt
        if operator == "hyper":
            hyper = self.rng.choice(texts.HYPER_MUTATION_PROMPTS)
            cleaned = self.ask(texts.mutant(hyper, mutation_prompt), texts.STOPS, sent, replies)
            mutation_prompt = cleaned.text or mutation_prompt
            problems += [f"mutation prompt: {cleaned.rejected}"] * (cleaned.text is None)
        if operator == "zero-order":
            text, stops = texts.zero_order_prompt(self.description), texts.ZERO_ORDER_STOPS
        else:
            text, stops = texts.mutant(mutation_prompt, winner.task_prompt), texts.STOPS
        cleaned = self.ask(text, stops, sent, replies)
        if cleaned.text is None:  # the parent is kept as it was
            problems.append(f"task prompt: {cleaned.rejected}")
            task_prompt, mutation_prompt = winner.task_prompt, winner.mutation_prompt
        else:
            task_prompt = cleaned.text
        rejected = "; ".join(problems) or None
        return self.unit(task_prompt, mutation_prompt, operator=operator, sent=sent,
                         replies=replies, rejected=rejected, **where)  # fmt: skip

    def tournament_fits(self) -> bool:
        return self.backend.calls + 2 + self.config.dev_size <= self.config.budget

    def generation(self, units: list[Unit], generation: int) -> bool:
        """One round of tournaments; False when the budget ran out before all were played."""
        order = self.rng.sample(range(len(units)), len(units))
        for a, b in zip(order[0::2], order[1::2], strict=False):
            if not self.tournament_fits():
                return False
            # the order `_best` uses (ties: the older), so the best unit always wins
            win, lose = (a, b) if _rank(units[a]) > _rank(units[b]) else (b, a)
            units[lose] = self.child(units, units[win], units[lose], generation)
        return True


def evolve(
    backend: Backend, task: Task, config: EvolveConfig, on_call: Callable[[], object] = lambda: None
) -> Evolution:
    """Run Promptbreeder on `task` with `backend` within `config.budget` model calls."""
    config.check()
    check_task(task, config)
    breeder = _Breeder(backend, task, config, on_call)
    units = breeder.initial()
    history = [_record(0, units, breeder.backend.calls)]
    start = _best(units)
    stopped = "generations"
    for g in range(1, config.generations + 1):
        if not breeder.tournament_fits():
            stopped = "budget"
            break
        finished = breeder.generation(units, g)
        history.append(_record(g, units, breeder.backend.calls))
        if not finished:
            stopped = "budget"
            break
    best = _best(units)
    dev_ids = [e["id"] for e in breeder.dev]
    return Evolution(best, start, history, breeder.backend.calls, stopped, dev_ids,
                     breeder.description, breeder.mode)  # fmt: skip


def check_task(task: Task, config: EvolveConfig) -> None:
    if task.kind != "generate":
        raise LmforgeError(
            f"task {task.name} is multiple choice; prompt evolution scores generation tasks.",
            "Use lab-qa, lab-arith or a .jsonl file of questions with answers.",
        )
    if config.dev_size > len(task):
        raise LmforgeError(
            f"dev size {config.dev_size} is more than the {len(task)} examples of {task.name}.",
            f"Use --dev-size {len(task)} or less.",
        )


def _rank(unit: Unit) -> tuple[float, int]:
    return unit.fitness, -unit.id  # ties: the oldest unit ranks first


def _best(units: list[Unit]) -> Unit:
    return max(units, key=_rank)


def _record(generation: int, units: list[Unit], calls: int) -> dict[str, Any]:
    best = _best(units)
    mean = sum(u.fitness for u in units) / len(units)
    return {"generation": generation, "calls": calls, "best": best.id,
            "best_fitness": best.fitness, "mean_fitness": mean,
            "units": [asdict(u) for u in units]}  # fmt: skip


def run_evolve(
    model: str, task_name: str, out: Path, config: EvolveConfig, data: Path | None = None,
    overwrite: bool = False, backend: Backend | None = None, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """`lmforge prompt evolve`: evolve, then write evolve.json, history.jsonl and the manifest."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    config.check()
    task = load_task(task_name, data)
    check_task(task, config)
    out = prepare_out_dir(out, overwrite=overwrite)
    backend = backend or load_backend(model)
    columns = (TextColumn("evolving prompts (model calls)"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, disable=not progress) as bar:
        bar_id = bar.add_task("calls", total=config.budget)
        result = evolve(backend, task, config, lambda: bar.advance(bar_id))
    summary = _summary(model, task, config, result)
    (out / "evolve.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_jsonl(out / "history.jsonl", result.history)
    metrics = {k: summary[k] for k in ("best_fitness", "start_fitness", "calls")}
    write_manifest(out, "prompt-evolve", asdict(config) | {"task": task_name},
                   run_inputs(model, task, data), metrics)  # fmt: skip
    return summary


def _summary(model: str, task: Task, config: EvolveConfig, result: Evolution) -> dict[str, Any]:
    def brief(u: Unit) -> dict[str, Any]:
        keys = ("id", "task_prompt", "mutation_prompt", "fitness", "operator", "born")
        return {k: getattr(u, k) for k in keys}

    return {
        "model": str(model), "task": task.name, "mode": result.mode,
        "description": result.description, "dev_ids": result.dev_ids,
        "best": brief(result.best), "start": brief(result.start),
        "best_fitness": result.best.fitness, "start_fitness": result.start.fitness,
        "calls": result.calls, "budget": config.budget, "stopped": result.stopped,
        "generations_run": len(result.history) - 1,
    }  # fmt: skip
