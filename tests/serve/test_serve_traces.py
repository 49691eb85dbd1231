"""Request traces (SQLite, /v1/traces, `lmforge traces export`) and the prompt registry
(Python API, `lmforge prompts`, /v1/prompts, a chat request's `prompt`), on a real server."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import httpx2 as httpx
import openai
import pytest
from serve_support import running

from lmforge.errors import LmforgeError
from lmforge.jsonl import read_jsonl
from lmforge.prompting.registry import PromptRegistry
from lmforge.serve import create_app
from lmforge.serve.tracing import Tracer
from support import run_cli

KEY = "trace-key"
MESSAGES = [{"role": "user", "content": "the town of kamori"}]
TEMPLATE = "You answer questions about {{ town }}. Be {{ tone }}."


@pytest.fixture(scope="module")
def server(loaded, tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("records")
    registry = PromptRegistry(root / "prompts.sqlite")
    registry.add("guide", TEMPLATE)
    app = create_app(
        tiny_model_dir,
        loaded=loaded,
        model_id="tiny",
        api_key=KEY,
        embedder=None,
        trace_db=root / "traces.sqlite",
        prompts_db=registry.path,
        threads=1,
    )
    with running(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=60)
        yield SimpleNamespace(
            url=url,
            client=client,
            db=root / "traces.sqlite",
            root=root,
            registry=registry,
            headers={"Authorization": f"Bearer {KEY}"},
        )


def traces(server, **params) -> dict:
    reply = httpx.get(f"{server.url}/v1/traces", params=params, headers=server.headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_requests_are_traced_with_prompt_output_tokens_and_lineage(server):
    chat = server.client.chat.completions.create(
        model="tiny", messages=MESSAGES, temperature=0, max_tokens=6
    )
    streamed = server.client.chat.completions.create(
        model="tiny", messages=MESSAGES, temperature=0, max_tokens=6, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed)
    with pytest.raises(openai.NotFoundError):
        server.client.completions.create(model="other", prompt="a")
    done = server.client.completions.create(model="tiny", prompt="its main", max_tokens=3)
    recent = traces(server, limit=4)["data"]
    assert [t["path"] for t in recent] == [
        "/v1/completions",
        "/v1/completions",
        "/v1/chat/completions",
        "/v1/chat/completions",
    ]
    completion, missing, stream, plain = recent
    assert completion["id"] == done.id and completion["prompt"] == "its main"
    assert completion["output"][0]["text"] == done.choices[0].text
    assert missing["status"] == 404 and "does not exist" in missing["error"]
    assert plain["id"] == chat.id and plain["status"] == 200 and plain["model"] == "tiny"
    assert plain["prompt"].endswith("user: the town of kamori<|im_end|>\n<|im_start|>assistant:")
    assert plain["output"][0]["message"]["content"] == chat.choices[0].message.content
    assert plain["usage"] == {
        "prompt_tokens": chat.usage.prompt_tokens,
        "completion_tokens": chat.usage.completion_tokens,
    }
    assert plain["params"] == {"model": "tiny", "temperature": 0, "max_tokens": 6}
    assert plain["request"]["messages"] == MESSAGES and plain["latency_ms"] > 0
    assert stream["output"][0]["message"]["content"] == text
    assert plain["lineage"]["manifest"]["kind"] == "model"
    assert plain["lineage"]["manifest"]["config"]["size"] == "tiny"


def test_traces_need_the_key_page_and_export(server, capsys):
    assert httpx.get(f"{server.url}/v1/traces").status_code == 401
    listing = traces(server, limit=2, offset=1)
    assert len(listing["data"]) == 2 and listing["total"] >= 4 and listing["has_more"]
    assert listing["data"][0]["seq"] == traces(server, limit=2)["data"][1]["seq"]
    bad = httpx.get(f"{server.url}/v1/traces", params={"limit": 0}, headers=server.headers)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
    out = server.root / "traces.jsonl"
    code, printed = run_cli(capsys, "traces", "export", "--db", str(server.db), "--out", str(out))
    assert code == 0, printed
    exported = read_jsonl(out)
    everything = traces(server, limit=1000)
    assert [r["id"] for r in exported] == [r["id"] for r in reversed(everything["data"])]
    assert len(exported) == everything["total"]  # /v1/traces reads are not traced


def test_a_full_trace_queue_drops_records_instead_of_waiting(tmp_path):
    tracer = Tracer(tmp_path / "t.sqlite", "m", max_pending=2)  # not started: nothing drains
    for i in range(5):
        tracer.record({"id": str(i)})
    assert tracer.dropped == 3


def test_registry_versions_dedupes_and_renders(tmp_path):
    registry = PromptRegistry(tmp_path / "p.sqlite")
    assert registry.list_prompts() == [] and not registry.path.exists()  # reading creates nothing
    first = registry.add("guide", TEMPLATE)
    second = registry.add("guide", TEMPLATE + "\nCite sources.")
    again = registry.add("guide", TEMPLATE)
    assert (first.version, second.version, again.version) == (1, 2, 1)
    assert [v.version for v in registry.versions("guide")] == [1, 2]
    assert registry.get("guide").version == 2 and registry.get("guide@1").content == TEMPLATE
    assert first.variables == ["tone", "town"]
    text = registry.render("guide", {"town": "Kamori", "tone": "brief"}, version=1)
    assert text == "You answer questions about Kamori. Be brief."
    with pytest.raises(LmforgeError, match="'tone' is undefined"):
        registry.render("guide", {"town": "Kamori"})
    with pytest.raises(LmforgeError, match="line 1"):
        registry.add("broken", "{% if x %}never closed")
    with pytest.raises(LmforgeError, match="not a valid prompt name"):
        registry.add("a/b", "x")
    with pytest.raises(LmforgeError, match="no prompt 'guide@7'"):
        registry.get("guide", 7)


def test_prompts_cli(tmp_path, capsys):
    db, file = tmp_path / "p.sqlite", tmp_path / "guide.txt"
    file.write_text(TEMPLATE, encoding="utf-8")
    assert (
        "added guide@1"
        in run_cli(capsys, "prompts", "add", "guide", "-f", str(file), "--db", str(db))[1]
    )
    again = run_cli(capsys, "prompts", "add", "guide", "-f", str(file), "--db", str(db))[1]
    assert "already stored as guide@1" in again
    file.write_text("Hello {{ name }}", encoding="utf-8")
    run_cli(capsys, "prompts", "add", "guide", "-f", str(file), "--db", str(db))
    listed = run_cli(capsys, "prompts", "list", "--db", str(db))[1]
    assert "guide" in listed and "name" in listed
    assert TEMPLATE in run_cli(capsys, "prompts", "show", "guide@1", "--db", str(db))[1]
    code, out = run_cli(
        capsys, "prompts", "render", "guide", "--var", "name=Kamori", "--db", str(db)
    )
    assert code == 0 and out.strip() == "Hello Kamori"
    code, out = run_cli(capsys, "prompts", "show", "guide@9", "--db", str(db))
    assert code == 1 and "no prompt 'guide@9'" in out


def test_prompts_over_the_api_and_in_a_chat_request(server):
    url, headers = server.url, server.headers
    listing = httpx.get(f"{url}/v1/prompts", headers=headers).json()
    assert [(p["name"], p["version"]) for p in listing["data"]] == [("guide", 1)]
    one = httpx.get(f"{url}/v1/prompts/guide@1", headers=headers).json()
    assert one["content"] == TEMPLATE and one["variables"] == ["tone", "town"]
    assert one["versions"] == [1]
    missing = httpx.get(f"{url}/v1/prompts/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "prompt_not_found"
    messages = [{"role": "system", "content": "Answer in one line."}, *MESSAGES]
    ref = {"name": "guide", "variables": {"town": "Kamori", "tone": "brief"}}
    server.client.chat.completions.create(
        model="tiny", messages=messages, max_tokens=2, extra_body={"prompt": ref}
    )
    prompt = traces(server, limit=1)["data"][0]["prompt"]
    assert prompt.startswith(
        "<|im_start|>system: You answer questions about Kamori. Be brief."
        "\n\nAnswer in one line.<|im_end|>"
    )
    with pytest.raises(openai.BadRequestError) as e:
        server.client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=2, extra_body={"prompt": {"name": "guide"}}
        )
    assert e.value.body["param"] == "prompt.variables" and "town" in e.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        server.client.chat.completions.create(
            model="tiny",
            messages=MESSAGES,
            max_tokens=2,
            extra_body={"prompt": {"name": "x", "version": 3}},
        )


def test_files_from_a_newer_schema_are_refused(tmp_path):
    for name in ("traces.sqlite", "prompts.sqlite"):
        with sqlite3.connect(tmp_path / name) as db:
            db.execute("PRAGMA user_version = 99")
    with pytest.raises(LmforgeError, match="trace schema 99"):
        Tracer(tmp_path / "traces.sqlite", "m")
    with pytest.raises(LmforgeError, match="schema 99"):
        PromptRegistry(tmp_path / "prompts.sqlite").list_prompts()
    for name in ("traces.sqlite", "prompts.sqlite"):  # and they were left as they were
        with sqlite3.connect(tmp_path / name) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (99,)
