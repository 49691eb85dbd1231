"""An lm-evaluation-harness model named `lmforge`: lm-eval's whole task library on lmforge
backends (a local model directory, `openai/<model>` for any OpenAI-compatible server, ...).

    pip install lm-eval
    python -m lmforge.eval.lm_eval_adapter run --model lmforge \\
        --model_args spec=quickstart/sft --tasks hellaswag --batch_size 8

    import lm_eval, lmforge.eval.lm_eval_adapter      # importing registers "lmforge"
    lm_eval.simple_evaluate(model="lmforge", model_args="spec=quickstart/sft", tasks=[...])

lm-eval has no plugin hook for models, so its own `lm_eval` command does not know `lmforge`:
run lm-eval's CLI through this module (as above), or import it before `simple_evaluate`.
Model arguments: `spec` (what `lmforge.infer.load_backend` takes), `max_length` (a shorter
context for rolling windows), and for `openai/...` specs `base_url` and `api_key`.

A local model is scored by `eval.scoring` and `eval.perplexity`, which follow lm-eval's
`HFLM` (tokenization, context/continuation split, truncation, rolling windows), so
`--model lmforge` and `--model hf` agree to float rounding (tests/eval/test_lm_eval_parity.py).
A remote backend answers `loglikelihood` when it offers log-probabilities (is_greedy is then
unknown and reported False) and `generate_until` always; `loglikelihood_rolling` needs
token-level access and is refused for it. Generation goes through `backend.generate_batch`
(greedy prompts of a local model run in padded batches), stopping at lm-eval's `until` strings.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

from tqdm import tqdm

from lmforge.errors import LmforgeError

try:
    import lm_eval.models  # noqa: F401  (lm-eval's own models first: it fills an empty registry only)
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ImportError as e:  # an optional dependency: say how to get it
    raise LmforgeError(
        f"the lm-eval adapter needs lm-evaluation-harness ({e}).", "pip install lm-eval"
    ) from None
from lmforge.infer import load_backend

DEFAULT_BATCH_SIZE = 8
MAX_GEN_TOKS = 256  # lm-eval's HFLM default


@register_model("lmforge")
class LmforgeLM(LM):
    """lm-eval's `LM` interface over an lmforge backend."""

    def __init__(
        self,
        spec: str,
        batch_size: int | str | None = DEFAULT_BATCH_SIZE,
        max_length: int | None = None,
        device: str | None = None,  # lm-eval passes these two; lmforge places the model
        max_batch_size: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self.batch_size = _batch_size(batch_size)
        if not str(spec).startswith("openai/") and str(spec) != "scripted":
            if options:  # a model directory takes no other arguments
                raise LmforgeError(
                    f"unknown model_args {', '.join(sorted(options))} for local model {spec}.",
                    "Local models take spec, batch_size and max_length.",
                )
            options["batch_size"] = self.batch_size
        self.backend = load_backend(spec, **options)
        self.model = getattr(self.backend, "model", None)  # None for remote backends
        self.tokenizer = getattr(self.backend, "tokenizer", None)
        self._max_length = max_length
        self.spec = str(spec)

    @property
    def max_length(self) -> int:
        from lmforge.eval.scoring import max_length

        return self._max_length or max_length(self.model, self.tokenizer)

    @property
    def tokenizer_name(self) -> str:
        return getattr(self.tokenizer, "name_or_path", self.spec).replace("/", "__")

    def loglikelihood(self, requests, disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        pairs = [(str(c), str(x)) for c, x in (r.args for r in requests)]
        if self.model is not None:
            from lmforge.eval.scoring import loglikelihoods

            with _Bar(len(pairs), "loglikelihood", disable_tqdm) as bar:
                done = lambda indices: bar.update(len(indices))  # noqa: E731
                results = loglikelihoods(self.model, self.tokenizer, pairs, self.batch_size, done)
        else:  # a remote backend gives the sum only
            results = [(value, False) for value in self.backend.loglikelihoods(pairs)]
        for pair, result in zip(pairs, results, strict=True):
            self.cache_hook.add_partial("loglikelihood", pair, result)
        return results

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        if self.model is None:
            raise LmforgeError(
                f"backend {self.backend.name} cannot score rolling windows (loglikelihood_rolling"
                " needs a local model's token-level log-probabilities).",
                "Give a local model directory as spec.",
            )
        from lmforge.eval.perplexity import rolling_loglikelihoods

        texts = [str(r.args[0]) for r in requests]
        with _Bar(None, "loglikelihood_rolling (windows)", disable_tqdm) as bar:

            def done(n: int, total: int) -> None:
                bar.total = total
                bar.update(n)

            scored = rolling_loglikelihoods(
                self.model, self.tokenizer, texts, self.batch_size, self._max_length, 1, done
            )
        results = [loglik for loglik, _ in scored]
        for text, value in zip(texts, results, strict=True):
            self.cache_hook.add_partial("loglikelihood_rolling", (text,), value)
        return results

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        # requests with the same generation settings run together, in padded batches
        groups: dict[str, list[int]] = defaultdict(list)
        for i, request in enumerate(requests):
            groups[repr(sorted(request.args[1].items()))].append(i)
        outputs: list[str] = [""] * len(requests)
        with _Bar(len(requests), "generate_until", disable_tqdm) as bar:
            for indices in groups.values():
                options = self._options(requests[indices[0]].args[1])
                prompts = [str(requests[i].args[0]) for i in indices]
                replies = self.backend.generate_batch(prompts, **options)
                for i, reply in zip(indices, replies, strict=True):
                    outputs[i] = reply.text
                    self.cache_hook.add_partial("generate_until", requests[i].args, reply.text)
                bar.update(len(indices))
        return outputs

    def _options(self, gen_kwargs: dict[str, Any]) -> dict[str, Any]:
        """lm-eval's generation kwargs as backend options (greedy unless do_sample)."""
        kwargs = dict(gen_kwargs)
        until = kwargs.pop("until", None) or []
        until = [until] if isinstance(until, str) else list(until)
        if self.tokenizer is not None and self.tokenizer.eos_token:
            until.append(self.tokenizer.eos_token)  # as HFLM's handle_stop_sequences
        max_tokens = next(
            (
                int(kwargs[k])
                for k in ("max_gen_toks", "max_new_tokens", "max_tokens")
                if k in kwargs
            ),
            MAX_GEN_TOKS,
        )
        sample = bool(kwargs.get("do_sample", False)) and float(kwargs.get("temperature", 1)) > 0
        options = {"max_tokens": max_tokens, "stop": sorted(set(until)) or None}
        if sample:
            options |= {"temperature": float(kwargs.get("temperature", 1.0)),
                        "top_p": float(kwargs.get("top_p", 1.0))}  # fmt: skip
        return options

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        if self.tokenizer is None or getattr(self.tokenizer, "chat_template", None) is None:
            raise LmforgeError(
                f"backend {self.backend.name} has no chat template to apply.",
                "Run lm-eval without --apply_chat_template, or use a model made by lmforge sft.",
            )
        return self.tokenizer.apply_chat_template(
            chat_history, tokenize=False, add_generation_prompt=add_generation_prompt,
            continue_final_message=not add_generation_prompt,
        )  # fmt: skip

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return getattr(self.tokenizer, "chat_template", None) if chat_template else None


def _batch_size(value: int | str | None) -> int:
    """lm-eval's batch size: a number, or "auto" (no probing here: the default)."""
    if value is None or str(value).startswith("auto"):
        return DEFAULT_BATCH_SIZE
    try:
        size = int(value)
    except ValueError:
        raise LmforgeError(f"batch_size {value!r} is not a number.", "Use e.g. 8.") from None
    if size < 1:
        raise LmforgeError(f"batch_size {size} is less than 1.", "Use 1 or more.")
    return size


class _Bar(tqdm):
    """lm-eval's own progress style (tqdm), off when lm-eval asks."""

    def __init__(self, total: int | None, what: str, disable: bool) -> None:
        super().__init__(total=total, desc=f"lmforge {what}", disable=disable)


def main() -> None:
    """lm-eval's command line, with the `lmforge` model registered."""
    from lm_eval.__main__ import cli_evaluate

    sys.argv[0] = "lm_eval"
    cli_evaluate()


if __name__ == "__main__":
    main()
