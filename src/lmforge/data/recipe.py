"""Curation recipes: an ordered list of named steps with parameters, read from YAML.

    recipe = load_recipe("recipes/data/web-en-ko.yaml")
    curate([Path("raw/")], Path("curated/"), recipe.steps, recipe=recipe.describe())

or `lmforge data curate --recipe recipes/data/web-en-ko.yaml -i raw/ -o curated/`. A recipe:

    name: web-en-ko
    description: what it is for
    steps:
      - boilerplate                         # a step with its default parameters
      - gopher_quality: {min_words: 20}     # a step with parameters

Step names are the keys of `STEPS`; parameters are the step class's fields (see each class's
docstring). Mistakes are reported with the step's position, and unknown names list the
known ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lmforge.data.dedup import MinHashDedup
from lmforge.data.filters import BoilerplateLineRemover, ExactDedup, JunkFilter
from lmforge.data.pii import PiiRedactor
from lmforge.data.quality import GopherQualityFilter, GopherRepetitionFilter, KoreanQualityFilter
from lmforge.data.quality_web import C4QualityFilter, FineWebQualityFilter
from lmforge.data.step import Step
from lmforge.errors import LmforgeError

STEPS: dict[str, type] = {
    "boilerplate": BoilerplateLineRemover,
    "junk": JunkFilter,
    "exact_dedup": ExactDedup,
    "pii": PiiRedactor,
    "gopher_quality": GopherQualityFilter,
    "gopher_repetition": GopherRepetitionFilter,
    "c4_quality": C4QualityFilter,
    "fineweb_quality": FineWebQualityFilter,
    "korean_quality": KoreanQualityFilter,
    "minhash_dedup": MinHashDedup,
}


@dataclass
class Recipe:
    """A named, ordered list of configured steps."""

    name: str
    steps: list[Step]
    description: str = ""
    path: str | None = None

    def describe(self) -> dict[str, Any]:
        """What the manifest and report record about the recipe."""
        return {"name": self.name, "path": self.path, "description": self.description}


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate the recipe at `path`; every mistake is an `LmforgeError`."""
    path = Path(path)
    if not path.is_file():
        raise LmforgeError(f"Recipe {path} does not exist.", "See recipes/data/ for examples.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise LmforgeError(f"Recipe {path} is not valid YAML: {e}") from None
    return parse_recipe(data, source=str(path))


def parse_recipe(data: Any, source: str = "recipe") -> Recipe:
    """A `Recipe` from already-parsed YAML (a mapping with `name` and `steps`)."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise LmforgeError(f"{source}: a recipe is a mapping with a `steps:` list.")
    unknown = sorted(set(data) - {"name", "description", "steps"})
    if unknown:
        raise LmforgeError(
            f"{source}: unknown recipe field(s) {unknown}.", "Use name, description, steps."
        )
    if not data["steps"]:
        raise LmforgeError(f"{source}: the recipe has no steps.")
    steps = [build_step(item, f"{source}: step {i + 1}") for i, item in enumerate(data["steps"])]
    name = str(data.get("name") or Path(source).stem)
    return Recipe(name, steps, str(data.get("description", "")).strip(), source)


def build_step(item: Any, where: str) -> Step:
    """One step from `name` or `{name: {param: value}}`."""
    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, dict) and len(item) == 1:
        name, params = next(iter(item.items()))
        params = {} if params is None else params
    else:
        raise LmforgeError(f"{where}: expected a step name or {{name: {{params}}}}, got {item!r}.")
    if name not in STEPS:
        raise LmforgeError(f"{where}: unknown step {name!r}.", f"Known steps: {', '.join(STEPS)}.")
    if not isinstance(params, dict):
        raise LmforgeError(f"{where} ({name}): parameters must be a mapping, got {params!r}.")
    cls = STEPS[name]
    allowed = step_parameters(cls)
    bad = sorted(set(params) - set(allowed))
    if bad:
        raise LmforgeError(
            f"{where} ({name}): unknown parameter(s) {', '.join(map(repr, bad))}.",
            f"{name} takes: {', '.join(allowed)}.",
        )
    values = {k: _as_default_type(allowed[k], v) for k, v in params.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise LmforgeError(f"{where} ({name}): {e}") from None


def step_parameters(cls: type) -> dict[str, Any]:
    """A step class's parameters and their defaults (its init fields, without `name`)."""
    return {
        f.name: f.default
        for f in dataclasses.fields(cls)
        if f.init and f.name != "name" and not f.name.startswith("_")
    }


def _as_default_type(default: Any, value: Any) -> Any:
    # YAML has lists, the steps keep tuples (hashable, and what their defaults are).
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value
