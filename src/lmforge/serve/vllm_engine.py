"""`lmforge serve --engine vllm`: hand serving of a model directory to vLLM's OpenAI server.

    lmforge serve --engine vllm --model quickstart/sft-merged --port 8000 --api-key secret

vLLM (paged attention, continuous batching, CUDA kernels) serves the same OpenAI API far
faster on a GPU; lmforge only checks what it can before anything heavy starts and then runs
`python -m vllm.entrypoints.openai.api_server` as a child process with the same host, port,
API key (through `VLLM_API_KEY`, so it never shows in `ps`) and model id as the built-in
engine would use. Ctrl-C and SIGTERM are forwarded to it; its exit code is returned.

Refused, with the fix, before vLLM starts: a directory that is an adapter (vLLM serves whole
models: merge it with `lmforge merge`), a directory that is not a model, a machine without a
CUDA GPU, an environment without vLLM. lmforge's own extras (tracing, the prompt registry,
the web UI, the tools protocol for models without native function calling, embeddings) are
the built-in engine's; vLLM brings its own (see docs/serving.md).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from lmforge.errors import LmforgeError

SERVER_MODULE = "vllm.entrypoints.openai.api_server"


class EngineName(StrEnum):
    """What `lmforge serve --engine` accepts."""

    local = "local"  # serve.engine: built in, CPU or GPU, with lmforge's extras
    vllm = "vllm"  # this module


def check_model(model: Path) -> None:
    """A whole Hugging Face model directory; an adapter is refused with the merge command."""
    if not model.is_dir():
        raise LmforgeError(f"{model} is not a directory.", "Give a model directory.")
    if (model / "adapter_config.json").is_file() and not (model / "config.json").is_file():
        raise LmforgeError(
            f"{model} is an adapter, not a whole model: vLLM serves merged models.",
            f"Merge it into its base first: `lmforge merge --model BASE --adapter {model} "
            "--out MERGED`, then `lmforge serve --engine vllm --model MERGED`.",
        )
    if not (model / "config.json").is_file():
        raise LmforgeError(
            f"{model} is not a model directory (no config.json).",
            "Give a Hugging Face model directory (an `lmforge sft` or `lmforge merge` output).",
        )
    if not any(model.glob("*.safetensors")) and not any(model.glob("*.bin")):
        raise LmforgeError(f"{model} has a config but no weights (*.safetensors).")


def require_gpu() -> None:
    import torch

    if not torch.cuda.is_available():
        raise LmforgeError(
            "--engine vllm needs an NVIDIA GPU with CUDA, and none is visible here "
            "(torch.cuda.is_available() is False).",
            "Run it on a GPU machine, or serve with the built-in engine (`--engine local`, "
            "the default), which runs on a CPU.",
        )


def require_vllm(module: str = "vllm") -> None:
    if importlib.util.find_spec(module) is None:
        raise LmforgeError(
            f"--engine vllm needs vLLM, and `{module}` is not installed in this environment.",
            "Install it on the GPU machine (`pip install vllm`, in the same environment as "
            "lmforge), or serve with `--engine local` (the default).",
        )


def vllm_argv(
    model: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    served_model_name: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command that starts vLLM's OpenAI server for `model` (the key goes in the env)."""
    name = served_model_name or Path(model).resolve().name  # the built-in engine's default
    return [sys.executable, "-m", SERVER_MODULE, "--model", str(model), "--host", host,
            "--port", str(port), "--served-model-name", name, *extra]  # fmt: skip


def vllm_env(api_key: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: `VLLM_API_KEY` set to `api_key`, or removed without one."""
    env = dict(os.environ if base is None else base)
    env.pop("VLLM_API_KEY", None)  # a key left in the shell must not protect what we serve
    if api_key:
        env["VLLM_API_KEY"] = api_key
    return env


def run_forwarding_signals(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Run `argv` to its end, passing SIGINT and SIGTERM on to it; its exit code.

    The child gets its own session, so a Ctrl-C in the terminal reaches it once (from here),
    not twice (a second Ctrl-C makes servers quit without draining)."""
    child = subprocess.Popen(argv, env=env, start_new_session=True)

    def forward(signum: int, _frame) -> None:
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def serve_vllm(
    model: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    served_model_name: str | None = None,
    extra: Sequence[str] = (),
) -> int:
    """Check, then run vLLM's OpenAI server until it stops; its exit code."""
    model = Path(model)
    check_model(model)
    require_gpu()  # first: without a GPU, installing vLLM would not help
    require_vllm()
    argv = vllm_argv(model, host, port, served_model_name, extra)
    print(f"lmforge: serving with vLLM: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    return run_forwarding_signals(argv, vllm_env(api_key))
