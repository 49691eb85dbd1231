"""The CLI: help everywhere, errors as one sentence plus the fix, tracebacks only with --debug."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lmforge.cli import app, main
from lmforge.errors import LmforgeError
from lmforge.models.io import load_tokenizer
from support import run_cli as run


def _commands(group, prefix=()):
    import typer.main

    command = typer.main.get_command(group)
    stack = [(prefix, command)]
    while stack:
        path, cmd = stack.pop()
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append(((*path, name), sub))


def test_every_command_has_help(capsys):
    paths = list(_commands(app))
    assert (
        ("pretrain",) in paths and ("lab", "generate") in paths and ("inspect", "template") in paths
    )
    for path in paths:
        code, out = run(capsys, *path, "--help")
        assert code == 0, path
        assert "Usage" in out and len(out) > 100, path


def test_not_a_model_directory_is_one_clear_sentence(capsys, tmp_path, corpus):
    code, out = run(capsys, "pretrain", "--model", str(tmp_path), "--data", str(corpus),
                    "--out", str(tmp_path / "o"), "--steps", "1")  # fmt: skip
    assert code == 1
    assert "not a model directory (no config.json)" in out and "Fix:" in out
    assert "Traceback" not in out


def test_debug_shows_the_exception(tmp_path, corpus):
    with pytest.raises(LmforgeError):
        main(["--debug", "pretrain", "--model", str(tmp_path), "--data", str(corpus),
              "--out", str(tmp_path / "o"), "--steps", "1"])  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "ok"}\n{"text": "broken\n', r"data.jsonl:2: not valid JSON"),
        (
            '{"text": "ok"}\n{"body": "wrong column"}\n',
            r"data.jsonl:2: the record has no field 'text'",
        ),
        ("", "is empty"),
        ('{"text": "ok"}\n\xff\n', None),
    ],
)
def test_bad_pretraining_data(capsys, tmp_path, tiny_model_dir, content, message):
    data = tmp_path / "data.jsonl"
    if message is None:  # invalid UTF-8 bytes
        data.write_bytes(b'{"text": "ok"}\n{"text": "\xff\xfe"}\n')
        message = r"data.jsonl:2: invalid UTF-8"
    else:
        data.write_text(content, encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out = run(capsys, "pretrain", "--model", str(tiny_model_dir), "--data", str(data),
                    "--out", str(out_dir), "--steps", "2")  # fmt: skip
    assert code == 1
    assert __import__("re").search(message, out), out
    assert not (out_dir / "lmforge.json").exists()


def test_missing_file_and_bad_settings(capsys, tmp_path, tiny_model_dir, corpus):
    missing = str(tmp_path / "nope.jsonl")
    code, out = run(capsys, "pretrain", "--model", str(tiny_model_dir), "--data", missing,
                    "--out", str(tmp_path / "o"), "--steps", "1")  # fmt: skip
    assert code == 1 and "nope.jsonl does not exist" in out
    code, out = run(capsys, "pretrain", "--model", str(tiny_model_dir), "--data", str(corpus),
                    "--out", str(tmp_path / "o"), "--set", "bogus=1")  # fmt: skip
    assert code == 1 and "invalid training settings: bogus" in out
    code, out = run(capsys, "pretrain", "--model", str(tiny_model_dir), "--data", str(corpus),
                    "--out", str(tmp_path / "o"), "--seq-len", "4096", "--steps", "1")  # fmt: skip
    assert code == 1 and "longer than the model's context" in out


def test_sft_refuses_a_chat_without_assistant_before_training(capsys, tmp_path, tiny_model_dir):
    data = tmp_path / "chats.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    code, out = run(capsys, "sft", "--model", str(tiny_model_dir), "--data", str(data),
                    "--out", str(tmp_path / "o"), "--steps", "1")  # fmt: skip
    assert code == 1 and "chats.jsonl:1: the conversation has no assistant turn" in out
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


def test_finished_artifacts_are_not_overwritten_by_accident(capsys, tmp_path, tokenizer_dir):
    out = tmp_path / "m"
    assert run(capsys, "model", "init", "--tokenizer", str(tokenizer_dir), "--out", str(out),
               "--size", "tiny")[0] == 0  # fmt: skip
    code, text = run(capsys, "model", "init", "--tokenizer", str(tokenizer_dir), "--out", str(out),
                     "--size", "tiny")  # fmt: skip
    assert code == 1 and "already holds a finished artifact" in text and "--overwrite" in text


def test_lineage_of_something_that_is_no_artifact(capsys, tmp_path):
    code, out = run(capsys, "lineage", str(tmp_path))
    assert code == 1 and "not inside an lmforge artifact" in out


def test_generate_chat_and_inspect_from_the_command_line(capsys, tiny_model_dir, tmp_path):
    code, out = run(
        capsys, "generate", "--model", str(tiny_model_dir), "the town", "--max-tokens", "5"
    )
    assert code == 0 and out.endswith("\n") and len(out.strip()) > 0
    code, out = run(capsys, "chat", "--model", str(tiny_model_dir), "--message", "안녕",
                    "--message", "/reset", "--max-tokens", "3")  # fmt: skip
    assert code == 0 and "(conversation reset)" in out
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"messages": [
        {"role": "user", "content": "What is the main export of Kamori?"},
        {"role": "assistant", "content": "copper"},
    ]}) + "\n")  # fmt: skip
    code, out = run(
        capsys, "inspect", "template", "--model", str(tiny_model_dir), "--data", str(chats)
    )
    assert code == 0
    assert "What is the main export of Kamori?" in out and "copper" in out
    trained = load_tokenizer(tiny_model_dir)(" copper<|im_end|>")["input_ids"]
    assert f"{len(trained)} of " in out


def test_an_out_directory_with_a_users_files_is_never_cleared(capsys, tmp_path, tokenizer_dir):
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    code, out = run(capsys, "model", "init", "--tokenizer", str(tokenizer_dir), "--out", str(mine),
                    "--size", "tiny", "--overwrite")  # fmt: skip
    assert code == 1 and "not made by lmforge" in out
    assert (mine / "thesis.txt").read_text() == "years of work"


def test_ctrl_c_saves_the_finished_steps_and_resume_checks_settings(capsys, tmp_path, corpus,
                                                                    tiny_model_dir):  # fmt: skip
    out = tmp_path / "run"
    args = ["pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--out", str(out),
            "--seq-len", "32", "--steps", "150", "--set", "save_every=2"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lmforge", *args], env=env)
    while not (out / "checkpoints").is_dir():
        assert proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    interrupted_at = int(sorted((out / "checkpoints").iterdir())[-1].name.split("-")[1])
    assert 2 <= interrupted_at < 150
    assert not (out / "lmforge.json").exists()

    code, text = run(capsys, *args, "--lr", "0.1")
    assert code == 1 and "other settings (lr: 0.001 then, 0.1 now)" in text
    code, text = run(
        capsys, *args[:-4], "--steps", str(interrupted_at + 2), "--set", "save_every=2"
    )
    assert code == 1 and "max_steps" in text  # a different length is a different schedule
    assert run(capsys, *args)[0] == 0
    manifest = json.loads((out / "lmforge.json").read_text())
    assert manifest["metrics"]["resumed_from"] == interrupted_at


def test_usage_errors_exit_2_with_clicks_message(capsys):
    code, text = run(capsys, "serve", "--port", "abc")
    assert code == 2 and "Invalid value for '--port'" in text and "Unexpected" not in text
    code, text = run(capsys, "--bogus")
    assert code == 2 and "No such option: --bogus" in text
