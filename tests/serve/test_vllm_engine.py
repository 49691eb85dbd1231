"""`lmforge serve --engine vllm`: refusals with their fixes, the command it runs, and signal
forwarding to the child. Starting vLLM itself needs a GPU and vLLM: not here."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time

import pytest
import torch

from lmforge.errors import LmforgeError
from lmforge.serve.vllm_engine import (
    SERVER_MODULE,
    check_model,
    require_vllm,
    run_forwarding_signals,
    vllm_argv,
    vllm_env,
)
from support import run_cli

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def test_the_cli_refuses_with_the_reason_and_the_fix(capsys, tiny_model_dir):
    if torch.cuda.is_available() and HAS_VLLM:
        pytest.skip("vLLM and a GPU are here: the command would really serve")
    code, out = run_cli(capsys, "serve", "--engine", "vllm", "--model", str(tiny_model_dir))
    assert code == 1
    if not torch.cuda.is_available():  # the first check: without a GPU vLLM would not help
        assert "needs an NVIDIA GPU" in out and "--engine local" in out
    else:
        assert "`vllm` is not installed" in out and "pip install vllm" in out


def test_without_vllm_installed_the_error_says_how_to_get_it():
    if HAS_VLLM:
        pytest.skip("vLLM is installed here")
    with pytest.raises(LmforgeError) as e:
        require_vllm()
    assert "not installed" in e.value.what and "pip install vllm" in e.value.fix


def test_an_unknown_engine_is_a_usage_error(capsys, tiny_model_dir):
    code, out = run_cli(capsys, "serve", "--engine", "tgi", "--model", str(tiny_model_dir))
    assert code != 0 and "'tgi' is not one of 'local', 'vllm'" in " ".join(out.split())


def test_an_adapter_is_refused_with_the_merge_command(tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    from lmforge.models.io import load_model

    model, _ = load_model(tiny_model_dir)
    lora = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    lora.save_pretrained(tmp_path / "adapter")
    with pytest.raises(LmforgeError) as e:
        check_model(tmp_path / "adapter")
    assert "is an adapter" in e.value.what and "lmforge merge" in e.value.fix
    with pytest.raises(LmforgeError, match=r"no config\.json"):
        check_model(tmp_path)
    with pytest.raises(LmforgeError, match="not a directory"):
        check_model(tmp_path / "missing")
    check_model(tiny_model_dir)  # a whole model passes


def test_the_command_carries_host_port_and_model_id(tiny_model_dir):
    argv = vllm_argv(tiny_model_dir, "0.0.0.0", 9001, extra=["--dtype", "float16"])
    assert argv == [sys.executable, "-m", SERVER_MODULE, "--model", str(tiny_model_dir),
                    "--host", "0.0.0.0", "--port", "9001", "--served-model-name",
                    tiny_model_dir.name, "--dtype", "float16"]  # fmt: skip
    named = vllm_argv(tiny_model_dir, served_model_name="sft")
    assert named[named.index("--served-model-name") + 1] == "sft"
    assert "--api-key" not in argv  # the key goes through the environment, out of `ps`


def test_the_key_goes_in_the_environment_and_a_stale_one_is_dropped():
    base = {"PATH": "/bin", "VLLM_API_KEY": "left-over"}
    assert vllm_env("secret", base) == {"PATH": "/bin", "VLLM_API_KEY": "secret"}
    assert vllm_env(None, base) == {"PATH": "/bin"}


def test_sigterm_is_forwarded_to_the_child_and_its_exit_code_returned(tmp_path):
    ready = tmp_path / "ready"
    child = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(30)\n"
    )

    def terminate_us_once_the_child_listens() -> None:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=terminate_us_once_the_child_listens, daemon=True).start()
    assert run_forwarding_signals([sys.executable, "-c", child]) == 7
    assert signal.getsignal(signal.SIGTERM) == before  # our own handling is back
