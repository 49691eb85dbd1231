"""Online RL on the shared loop: each `loss(model, batch)` samples, scores and scores again.

A batch is a micro-batch of prompt rows (`train.rl.PromptRows`: left-padded `input_ids`,
`attention_mask`, and `index`, the prompt's number). `OnlineObjective.loss`:
1. rollout — G completions per prompt from the current policy (no gradient, eval mode),
   sampled as argmax(logits/T + Gumbel noise) with one generator per sequence, seeded by
   (run seed, optimizer step, prompt index, sample number). The loop tells the objective the
   step (`begin_step`), so a resumed run, another micro-batch split or another number of
   processes draws exactly the same completions;
2. scoring — `score(indices, completions, device)` (a reward function or a reward model,
   see `train.rl`) gives one scalar per completion;
3. log-probs of the completion tokens under the policy (with gradient) and under the frozen
   reference (`reference`, or the policy with its adapter switched off when it is None);
4. the method's per-sequence losses (`grpo_losses`, `ppo_losses`), each a mean over the
   sequence's tokens; the loss returned is their sum and the weight the number of sequences,
   so the loop's accumulation is over sequences (GRPO's 1/G Σ_i 1/|o_i| Σ_t).

Log-probs are taken at the sampling temperature (logits / T), as TRL does. There is one
optimisation step per rollout, so the old policy is the current one (π_old = π.detach()): the
ratio is 1 and nothing is clipped, but the clipped form is kept (and `clip_fraction` logged).

Metrics (sums over sequences; the loop divides by the step's sequences): `reward`, `kl`
(per-token k3 estimate of KL(π‖ref), mean per sequence), `completion_length` (tokens, the end
token included), `clip_fraction`; PPO adds `value_loss`.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LogitsProcessor, LogitsProcessorList

from lmforge.infer.generate import eos_ids, generation_config


def rollout_seed(seed: int, step: int, index: int, sample: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{step}:{index}:{sample}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class GumbelSampling(LogitsProcessor):
    """Sampling from softmax(logits/T) as argmax(logits/T − log E), E ~ Exp(1) (Gumbel-max),
    each row's noise from its own generator: a row's tokens depend on its seed alone."""

    def __init__(self, seeds: list[int], temperature: float, device: torch.device):
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.temperature = temperature

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        noise = torch.stack(
            [
                torch.empty(scores.shape[-1], device=scores.device).exponential_(generator=g)
                for g in self.generators
            ]
        )
        return scores.float() / self.temperature - noise.log()


@dataclass
class Rollout:
    sequences: torch.Tensor  # [N, P + C]: prompt (left-padded), then the completion
    attention_mask: torch.Tensor  # [N, P + C]: 0 on padding and after each completion's end
    completion_mask: torch.Tensor  # [N, C]: the completion's tokens, its end token included
    index: torch.Tensor  # [N]: the prompt each sequence answers
    texts: list[str]

    @property
    def completion(self) -> torch.Tensor:
        return self.sequences[:, -self.completion_mask.shape[1] :]


@torch.no_grad()
def rollout(
    lm, tokenizer, batch: dict, group: int, max_new_tokens: int, temperature: float,
    seeds: list[int] | None,
) -> Rollout:  # fmt: skip
    """`group` completions of each prompt in `batch`; greedy (one each) when `seeds` is None."""
    keep = batch["attention_mask"].any(0)  # columns that are padding in every row go
    ids = batch["input_ids"][:, keep].repeat_interleave(group, 0)
    mask = batch["attention_mask"][:, keep].repeat_interleave(group, 0)
    config = generation_config(lm, tokenizer, max_new_tokens, 0.0, 1.0)  # argmax of processed
    processors = None if seeds is None else [GumbelSampling(seeds, temperature, ids.device)]
    was_training = lm.training
    lm.eval()  # no dropout while sampling
    try:
        out = lm.generate(
            input_ids=ids, attention_mask=mask, generation_config=config,
            logits_processor=LogitsProcessorList(processors or []),
        )  # fmt: skip
    finally:
        lm.train(was_training)
    completion = out[:, ids.shape[1] :]
    ends = torch.isin(completion, torch.tensor(eos_ids(lm, tokenizer), device=out.device))
    completion_mask = (ends.long().cumsum(-1) - ends.long()) == 0  # up to the first end
    texts = [
        tokenizer.decode(row[keep_], skip_special_tokens=True).strip()
        for row, keep_ in zip(completion, completion_mask & ~ends, strict=True)
    ]
    return Rollout(
        sequences=out,
        attention_mask=torch.cat([mask, completion_mask.long()], 1),
        completion_mask=completion_mask,
        index=batch["index"].repeat_interleave(group),
        texts=texts,
    )


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that start at 0 at each row's first real token (left padding)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def token_logps(logits: torch.Tensor, tokens: torch.Tensor, temperature: float) -> torch.Tensor:
    """log π(tokens[:, t]) at temperature T, `[N, C]`; `logits[:, t]` predicts `tokens[:, t]`."""
    nll = F.cross_entropy(
        (logits.float() / temperature).flatten(0, 1), tokens.flatten(), reduction="none"
    )
    return -nll.view(tokens.shape)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over each row's masked positions, `[N]`."""
    return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1)


def k3_kl(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token KL(π‖ref) ≈ ref/π − log(ref/π) − 1 ≥ 0 (Schulman's k3; DeepSeekMath eq. 4)."""
    delta = ref_logps - logps
    return torch.exp(delta) - delta - 1


def clipped_surrogate(logps, old_logps, advantages, epsilon: float):
    """Per-token −min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A), ρ = π/π_old (PPO, Schulman et al. 2017),
    and where the clipped term is the smaller one (for `clip_fraction`)."""
    ratio = torch.exp(logps - old_logps)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - epsilon, 1 + epsilon) * advantages
    return -torch.min(unclipped, clipped), (clipped < unclipped).float()


class PolicyWithValue(nn.Module):
    """What online RL trains: the language model and, for PPO, a value head — one linear layer
    on the last hidden state (after the final norm), zero-initialised so values start at 0."""

    def __init__(self, lm: nn.Module, value_head: bool = False):
        super().__init__()
        self.lm = lm
        self.value_head = None
        if value_head:
            hidden = lm.config.get_text_config().hidden_size
            self.value_head = nn.Linear(hidden, 1)
            nn.init.zeros_(self.value_head.weight)
            nn.init.zeros_(self.value_head.bias)

    def forward(self, input_ids, attention_mask, keep: int):
        """Logits (and values) of the last `keep` positions."""
        out = self.lm(
            input_ids=input_ids, attention_mask=attention_mask,
            position_ids=positions(attention_mask), use_cache=False, logits_to_keep=keep,
            output_hidden_states=self.value_head is not None,
        )  # fmt: skip
        if self.value_head is None:
            return out.logits, None
        return out.logits, self.value_head(out.hidden_states[-1][:, -keep:]).squeeze(-1).float()


class OnlineObjective:
    """Rollout, scoring and reference log-probs for GRPO and PPO (see module docstring).

    `bind(tokenizer, score)` must be called before training; `reference` is a frozen model or
    None, meaning the policy with its (peft) adapter disabled.
    """

    name = "online"
    default_beta = 0.04
    default_group = 4

    def __init__(
        self, group_size: int | None = None, max_new_tokens: int = 64, temperature: float = 1.0,
        beta: float | None = None, clip_epsilon: float = 0.2, seed: int = 0,
    ):  # fmt: skip
        self.group = self.default_group if group_size is None else group_size
        self.beta = self.default_beta if beta is None else beta
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.clip_epsilon, self.seed, self.step = clip_epsilon, seed, 0
        self.tokenizer, self.score, self.reference = None, None, None

    def bind(self, tokenizer, score) -> None:
        self.tokenizer, self.score = tokenizer, score

    def begin_step(self, step: int) -> None:
        """Called by the loop before each optimizer step: the step seeds the sampling."""
        self.step = step

    def weight(self, batch: dict[str, torch.Tensor]) -> int:
        return batch["input_ids"].shape[0] * self.group

    def seeds(self, batch: dict[str, torch.Tensor]) -> list[int]:
        return [
            rollout_seed(self.seed, self.step, i, j)
            for i in batch["index"].tolist()
            for j in range(self.group)
        ]

    def loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        policy = getattr(model, "module", model)  # DDP wraps the module; generate on the inside
        ro = rollout(
            policy.lm, self.tokenizer, batch, self.group, self.max_new_tokens, self.temperature,
            self.seeds(batch),
        )  # fmt: skip
        keep = ro.completion_mask.shape[1] + 1
        logits, values = model(input_ids=ro.sequences, attention_mask=ro.attention_mask, keep=keep)
        logps = token_logps(logits[:, :-1], ro.completion, self.temperature)
        ref = self.reference_logps(policy, ro, keep)
        rewards = self.score(ro.index.tolist(), ro.texts, logps.device).float()
        mask = ro.completion_mask.float()
        values = None if values is None else values[:, :-1]
        losses, metrics = self.sequence_losses(logps, ref, values, rewards, mask)
        kl = masked_mean(k3_kl(logps.detach(), ref), mask)
        return losses.sum(), {
            "weight": len(ro.texts),
            "reward": float(rewards.sum()),
            "kl": float(kl.sum()),
            "completion_length": float(mask.sum()),
            **metrics,
        }

    @torch.no_grad()
    def reference_logps(self, policy: PolicyWithValue, ro: Rollout, keep: int) -> torch.Tensor:
        lm, context = self.reference, nullcontext()
        if lm is None:  # peft: the base without the adapter is the reference
            lm, context = policy.lm, policy.lm.disable_adapter()
        lm.to(ro.sequences.device)
        was_training = lm.training
        lm.eval()
        with context:
            logits = lm(
                input_ids=ro.sequences, attention_mask=ro.attention_mask,
                position_ids=positions(ro.attention_mask), use_cache=False, logits_to_keep=keep,
            ).logits  # fmt: skip
        lm.train(was_training)
        return token_logps(logits[:, :-1], ro.completion, self.temperature)

    def sequence_losses(self, logps, ref, values, rewards, mask) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    @torch.no_grad()
    def greedy_rewards(self, policy: PolicyWithValue, rows, batch_size: int) -> list[float]:
        """Rewards of greedy completions of every prompt in `rows` (held-out evaluation)."""
        device, rewards = next(policy.parameters()).device, []
        for start in range(0, len(rows), batch_size):
            batch = {
                k: v.to(device) for k, v in rows.select(slice(start, start + batch_size)).items()
            }
            ro = rollout(policy.lm, self.tokenizer, batch, 1, self.max_new_tokens, 1.0, None)
            rewards += self.score(ro.index.tolist(), ro.texts, device).tolist()
        return rewards
