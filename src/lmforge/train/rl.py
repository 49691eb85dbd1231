"""`lmforge align --method grpo|ppo`: online RL with a KL penalty, on the shared loop.

The loop's "rows" are prompts (`PromptRows`); the objective (`train.objectives.grpo`/`ppo`)
samples completions from the current policy inside `loss(model, batch)`, scores them and
returns the policy loss, so the loop, checkpoints and exact resume are those of every other
run. Everything the user gives is checked before any weights load:

- prompts: JSONL records `{"prompt": "text" | [messages]}`, `{"messages": [...]}` (a final
  assistant turn is dropped and, without an "answer", becomes the answer) or the lab's
  arithmetic records `{"question", "answer"}`; an optional "answer" goes to the reward
  function. Prompts longer than `seq_len - max_new_tokens` tokens are dropped and counted.
- reward: `--reward DIR` (a `lmforge reward` model, or any one-label
  `AutoModelForSequenceClassification` directory; it scores prompt + completion rendered with
  its own chat template) or `--reward-fn NAME` (`lab.arithmetic`, or `module.function` with
  the signature `fn(prompt, completion, answer) -> float`) — exactly one of them.
- reference: the starting model, frozen (a second copy in memory); with `--peft`, the same
  model with the adapter switched off (no copy).

PPO's value head is saved beside the model as `value_head.safetensors` (`weight [1, hidden]`,
`bias [1]`; `load_value_head(dir)`). The manifest holds `held_out_reward`: the mean reward of
greedy completions of the held-out prompts (`eval_fraction`) after training.

Python: `align_online(model, [prompts], out, TrainConfig(...), RLOptions(method="grpo",
reward_fn="lab.arithmetic"))`, or `train.align.align(..., method="grpo", reward_fn=...)`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.torch import load_file, save_file
from torch import nn

from lmforge.errors import LmforgeError
from lmforge.infer.generate import encode_prompt, left_padded, require_chat_template
from lmforge.jsonl import jsonl_files
from lmforge.lab.rewards import REWARD_FUNCTIONS
from lmforge.models.io import load_config, load_model, load_tokenizer
from lmforge.runs import read_manifest
from lmforge.train.chat_data import ROLES, _numbered
from lmforge.train.config import TrainConfig
from lmforge.train.methods import Method, PeftOptions, build_method, parameter_counts
from lmforge.train.objectives import ONLINE_OBJECTIVES
from lmforge.train.objectives.rl import OnlineObjective, PolicyWithValue
from lmforge.train.prefs import response_example
from lmforge.train.run import fit_and_save

VALUE_HEAD = "value_head.safetensors"
EXAMPLE = '{"prompt": "What is 12 + 30?", "answer": "42"} or {"messages": [...]}'
REWARD_FIX = "Give exactly one of --reward DIR (a `lmforge reward` model) or --reward-fn NAME."


class RLOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field("grpo", pattern="^(grpo|ppo)$")
    reward: Path | None = Field(None, description="reward-model directory (`lmforge reward`)")
    reward_fn: str | None = Field(None, description="lab.arithmetic or module.function")
    group_size: int | None = Field(None, ge=1, description="samples per prompt (4 GRPO, 1 PPO)")
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(1.0, gt=0, description="sampling temperature")
    kl_beta: float | None = Field(None, ge=0, description="KL weight (0.04 GRPO, 0.05 PPO)")
    clip_epsilon: float = Field(0.2, gt=0, lt=1)


def rl_options(**values) -> RLOptions:
    """RLOptions with invalid values reported as one sentence."""
    try:
        return RLOptions(**values)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise LmforgeError(f"invalid online RL settings: {problems}.") from None


@dataclass(frozen=True)
class PromptRecord:
    messages: list[dict]
    answer: str | None

    @property
    def text(self) -> str:
        """The last user message: what a reward function sees as the prompt."""
        users = [m["content"] for m in self.messages if m["role"] == "user"]
        return users[-1] if users else self.messages[-1]["content"]


def load_prompts(paths: list[Path]) -> list[PromptRecord]:
    """Every prompt record in `paths`, validated; errors name file:line and the problem."""
    records = []
    for path in paths:
        for file in jsonl_files(path):
            records += [_prompt(rec, f"{file}:{line}") for line, rec in _numbered(file)]
    if not records:
        raise LmforgeError(f"no prompt records in {', '.join(map(str, paths))}.", EXAMPLE)
    return records


def _prompt(record: dict, where: str) -> PromptRecord:
    answer, fix = record.get("answer"), f"Prompt records look like {EXAMPLE}."
    key = next((k for k in ("prompt", "messages", "question") if k in record), None)
    if key is None:
        raise LmforgeError(f"{where}: the record has no 'prompt', 'messages' or 'question'.", fix)
    messages = record[key]
    if isinstance(messages, str) and messages.strip():
        messages = [{"role": "user", "content": messages}]
    ok = isinstance(messages, list) and all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
        for m in messages
    )
    if ok and key == "messages" and messages and messages[-1]["role"] == "assistant":
        answer = messages[-1]["content"] if answer is None else answer
        messages = messages[:-1]
    if not ok or not messages or messages[-1]["role"] == "assistant":
        raise LmforgeError(
            f"{where}: '{key}' must be a non-empty string or a list of messages (role in "
            f"{', '.join(sorted(ROLES))}, string content) that does not end with the answer.",
            fix,
        )
    if answer is not None and not isinstance(answer, str | int | float):
        raise LmforgeError(f"{where}: 'answer' must be a string or a number.", fix)
    return PromptRecord(messages, None if answer is None else str(answer))


class PromptRows:
    """Prompts as the loop's rows: left-padded `input_ids`, `attention_mask`, `index`."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors["input_ids"].shape[0]

    def select(self, index: torch.Tensor | Sequence[int] | slice) -> dict[str, torch.Tensor]:
        return {name: t[index] for name, t in self.tensors.items()}

    def split(self, fraction: float, seed: int) -> tuple[PromptRows, PromptRows]:
        """(train, held out), chosen exactly as `PackedRows.split` chooses rows."""
        n_held = max(1, round(len(self) * fraction)) if fraction > 0 and len(self) > 1 else 0
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        held, kept = order[:n_held].sort().values, order[n_held:].sort().values
        return PromptRows(self.select(kept)), PromptRows(self.select(held))


def prompt_rows(tokenizer, records: list[PromptRecord], max_tokens: int) -> tuple[PromptRows, dict]:
    """Rows of the prompts that fit in `max_tokens`, rendered with the chat template."""
    require_chat_template(tokenizer)
    encoded = [(i, encode_prompt(tokenizer, r.messages)) for i, r in enumerate(records)]
    kept = [(i, ids) for i, ids in encoded if len(ids) <= max_tokens]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = mask = torch.zeros(0, 0, dtype=torch.long)
    if kept:
        ids, mask = left_padded([x for _, x in kept], pad)
    index = torch.tensor([i for i, _ in kept], dtype=torch.long)
    tensors = {"input_ids": ids, "attention_mask": mask, "index": index}
    return PromptRows(tensors), {"prompts": len(kept), "dropped_prompts": len(records) - len(kept)}


def reward_function(name: str) -> Callable:
    """A built-in reward function (`lab.arithmetic`) or `module.function` / `module:function`."""
    if name in REWARD_FUNCTIONS:
        return REWARD_FUNCTIONS[name]
    fix = f"Use a built-in ({', '.join(REWARD_FUNCTIONS)}) or an importable module.function."
    module_name, _, attr = name.replace(":", ".").rpartition(".")
    if not module_name:
        raise LmforgeError(f"unknown --reward-fn {name!r}.", fix)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise LmforgeError(
            f"--reward-fn {name!r}: cannot import {module_name} ({e}).", fix
        ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise LmforgeError(f"--reward-fn {name!r}: {module_name} has no function {attr!r}.", fix)
    return fn


def check_reward_model(directory: Path) -> None:
    """Refuse a directory that is not a one-label sequence-classification model."""
    manifest = read_manifest(directory) if Path(directory).is_dir() else None
    fix = "Train one with `lmforge reward --model sft/ --data prefs.jsonl --out rm/`."
    if manifest is not None and manifest.get("kind") != "reward-model":
        raise LmforgeError(
            f"--reward {directory} is a {manifest.get('kind')!r} artifact, not a reward model.", fix
        )
    config = load_config(directory)
    heads = [a for a in config.architectures or [] if a.endswith("ForSequenceClassification")]
    if not heads or config.num_labels != 1:
        raise LmforgeError(f"--reward {directory} is not a reward model (one-label scorer).", fix)


class FunctionScorer:
    def __init__(self, fn: Callable, name: str, records: list[PromptRecord]):
        self.fn, self.name, self.records = fn, name, records

    def __call__(self, indices: list[int], texts: list[str], device) -> torch.Tensor:
        values = []
        for i, text in zip(indices, texts, strict=True):
            record = self.records[i]
            value = self.fn(record.text, text, record.answer)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise LmforgeError(f"reward function {self.name} returned {value!r}, not a number.")
            values.append(float(value))
        return torch.tensor(values, dtype=torch.float32, device=device)


class RewardModelScorer:
    """Scores prompt + completion, rendered as one assistant turn with the RM's own template."""

    def __init__(self, directory: Path, records: list[PromptRecord]):
        from transformers import AutoModelForSequenceClassification

        self.tokenizer, self.records = load_tokenizer(directory), records
        require_chat_template(self.tokenizer)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            directory, dtype=torch.float32
        ).eval()
        self.model.requires_grad_(False)
        self.limit = getattr(self.model.config, "max_position_embeddings", None) or 1 << 30

    @torch.no_grad()
    def __call__(self, indices: list[int], texts: list[str], device) -> torch.Tensor:
        self.model.to(device)
        rows = [
            response_example(self.tokenizer, self.records[i].messages, text).ids[: self.limit]
            for i, text in zip(indices, texts, strict=True)
        ]
        width, pad = max(map(len, rows)), self.model.config.pad_token_id
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=device)
        return self.model(input_ids=ids, attention_mask=mask).logits[:, 0].float()


class OnlineRLMethod(Method):
    """Full or PEFT training (the inner method) around `PolicyWithValue`; sets the reference."""

    def __init__(self, inner: Method, model_dir: Path, objective: OnlineObjective, value: bool):
        super().__init__(inner.options)
        self.inner, self.model_dir, self.online, self.value = inner, model_dir, objective, value
        self.name, self.kind, self.optimizer = inner.name, inner.kind, inner.optimizer

    def check(self) -> None:
        if self.inner.virtual_tokens or type(self.inner).objective is not Method.objective:
            raise LmforgeError(
                f"--peft {self.inner.name} adds virtual tokens, which online RL does not support.",
                "Use --peft none, lora, dora, ia3, bottleneck or head-only.",
            )
        self.inner.check()

    def load(self, model_dir: Path):
        return self.inner.load(model_dir)

    def prepare(self, model: nn.Module) -> nn.Module:
        lm = self.inner.prepare(model)
        if hasattr(lm, "disable_adapter"):  # a peft model: the base is the reference
            self.online.reference = None
        else:
            reference, _ = load_model(self.model_dir)
            self.online.reference = reference.eval().requires_grad_(False)
        return PolicyWithValue(lm, value_head=self.value)

    def save(self, model: nn.Module, tokenizer, out: Path) -> None:
        self.inner.save(model.lm, tokenizer, out)
        if model.value_head is not None:
            state = {
                k: v.detach().cpu().contiguous() for k, v in model.value_head.state_dict().items()
            }
            save_file(state, out / VALUE_HEAD)

    def counts(self, model: nn.Module) -> dict:
        return parameter_counts(model)


def load_value_head(directory: Path) -> nn.Linear:
    """PPO's value head saved beside an aligned model (`value_head.safetensors`)."""
    state = load_file(Path(directory) / VALUE_HEAD)
    head = nn.Linear(state["weight"].shape[1], 1)
    head.load_state_dict(state)
    return head


def held_out_reward(objective: OnlineObjective, batch_size: int):
    """`after_train` callback: mean reward of greedy completions of the held-out prompts."""

    def measure(model, rows: PromptRows | None) -> dict:
        if rows is None or not len(rows):
            return {}
        rewards = objective.greedy_rewards(model, rows, batch_size)
        return {"held_out_reward": sum(rewards) / len(rewards), "held_out_prompts": len(rewards)}

    return measure


def _scorer(options: RLOptions, records: list[PromptRecord]) -> Callable[[], Callable]:
    """Check the reward now; return what builds the scorer (after the policy has loaded)."""
    if (options.reward is None) == (options.reward_fn is None):
        given = "both" if options.reward is not None else "neither"
        raise LmforgeError(
            f"online RL needs one reward; {given} of --reward and --reward-fn given.", REWARD_FIX
        )
    if options.reward is not None:
        check_reward_model(options.reward)
        return lambda: RewardModelScorer(options.reward, records)
    fn = reward_function(options.reward_fn)
    missing = [i for i, r in enumerate(records) if r.answer is None]
    if getattr(fn, "needs_answer", False) and missing:
        raise LmforgeError(
            f"--reward-fn {options.reward_fn} compares with each record's 'answer', but "
            f"{len(missing)} of {len(records)} prompt records have none.",
            'Give every record an "answer" (the lab\'s arith/train.jsonl has them).',
        )
    return lambda: FunctionScorer(fn, options.reward_fn, records)


def align_online(
    model: Path, data: list[Path], out: Path, config: TrainConfig, options: RLOptions,
    overwrite: bool = False, peft: PeftOptions | str | None = None,
) -> dict:  # fmt: skip
    """Train the model in `model` by GRPO or PPO on the prompts in `data`; write to `out`."""
    records = load_prompts(data)
    make_scorer = _scorer(options, records)
    if options.max_new_tokens >= config.seq_len:
        raise LmforgeError(
            f"--max-new-tokens {options.max_new_tokens} leaves no room for a prompt in "
            f"--seq-len {config.seq_len} (prompt and completion share it).",
            "Raise --seq-len or lower --max-new-tokens.",
        )
    objective = ONLINE_OBJECTIVES[options.method](
        options.group_size, options.max_new_tokens, options.temperature, options.kl_beta,
        options.clip_epsilon, config.seed,
    )  # fmt: skip
    if options.method == "grpo" and objective.group < 2:
        raise LmforgeError("GRPO compares samples of one prompt: --group-size must be 2 or more.")
    inner = build_method(peft) if peft is not None else Method()
    method = OnlineRLMethod(inner, model, objective, value=options.method == "ppo")
    max_prompt = config.seq_len - options.max_new_tokens

    def build_rows(tokenizer):
        rows, metrics = prompt_rows(tokenizer, records, max_prompt)
        if not len(rows):
            raise LmforgeError(
                f"every prompt in {data[0]} is longer than {max_prompt} tokens "
                "(--seq-len minus --max-new-tokens).",
                "Raise --seq-len or lower --max-new-tokens.",
            )
        objective.bind(tokenizer, make_scorer())
        return rows, metrics

    settings = options.model_dump(mode="json", exclude={"kl_beta", "group_size"}) | {
        "beta": objective.beta, "group_size": objective.group,
    }  # fmt: skip
    if options.method == "ppo":
        settings["value_head"] = VALUE_HEAD
    inputs = [*data, options.reward] if options.reward is not None else list(data)
    return fit_and_save(
        "aligned", model, inputs, out, config, build_rows, objective, overwrite, method,
        after_train=held_out_reward(objective, config.micro_batch_size),
        extra_config={"align": settings},
    )  # fmt: skip
