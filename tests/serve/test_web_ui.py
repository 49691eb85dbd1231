"""The web UI in a real headless Chromium (Selenium + Debian's chromedriver) against a real server.

The page asks for the key and nothing leaks without it; a Korean+English chat message is
streamed back with its token counts and latency; the Runs tab draws the workspace's lineage
and loss curves; the Traces tab shows the request; the RAG tab answers with its sources.
Screenshots go to $LMFORGE_TEST_ARTIFACTS/web-ui (else a temporary folder). Without chromium
or chromedriver these tests are skipped, unless LMFORGE_REQUIRE_BROWSER is set (CI): then
they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import httpx2 as httpx
import pytest
from serve_support import running

from lmforge.errors import LmforgeError
from lmforge.serve import create_app
from support import single_thread

KEY = "ui-key"
MESSAGE = "카모리는 어디에 있나요? Where is kamori?"
QUESTION = "In what year was Haltaro founded?"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1280,900")  # fmt: skip
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)


def _need_browser() -> None:
    missing = [
        name for name, path in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not path
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        how = "apt-get install chromium chromium-driver; pip install selenium"
        message = f"no {', '.join(missing)} ({how})"
        if os.environ.get("LMFORGE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model_dir, corpus, tiny_lab) -> Path:
    """A pretraining run, a LoRA run on it, its evaluation and curated data: real artifacts."""
    from lmforge.data.curate import curate_basic
    from lmforge.eval.run import evaluate
    from lmforge.train.config import TrainConfig
    from lmforge.train.pretrain import pretrain
    from lmforge.train.sft import sft

    ws = tmp_path_factory.mktemp("workspace")
    short = {"seq_len": 64, "micro_batch_size": 8, "warmup_steps": 2, "eval_every": 5}
    with single_thread():
        pretrain(tiny_model_dir, [corpus], ws / "pretrained", TrainConfig(max_steps=20, **short))
        sft(ws / "pretrained", [tiny_lab / "sft" / "train.jsonl"], ws / "lora",
            TrainConfig(max_steps=6, **short), peft="lora")  # fmt: skip
        evaluate(ws / "pretrained", ["lab-mc"], ws / "eval", data=tiny_lab, limit=8,
                 show_progress=False)  # fmt: skip
    curate_basic([tiny_lab / "raw"], ws / "curated")
    return ws


@pytest.fixture(scope="module")
def rag_index(tmp_path_factory, tiny_lab, tiny_model_dir) -> Path:
    from lmforge.rag import Index

    path = tmp_path_factory.mktemp("ui-rag") / "idx"
    with single_thread():
        # chunks small enough for the tiny model's 256-token window, counted by its tokenizer
        Index(path, chunk_tokens=48, overlap=8, tokenizer=tiny_model_dir).add(
            tiny_lab / "rag" / "docs"
        )
    return path


@pytest.fixture(scope="module")
def server(loaded, tiny_model_dir, workspace, rag_index, tmp_path_factory):
    app = create_app(tiny_model_dir, loaded=loaded, model_id="tiny", api_key=KEY, embedder=None,
                     trace_db=tmp_path_factory.mktemp("ui-traces") / "traces.sqlite",
                     workspace=workspace, index=rag_index, threads=1)  # fmt: skip
    with running(app) as url:
        yield SimpleNamespace(url=url, headers={"Authorization": f"Bearer {KEY}"})


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    root = os.environ.get("LMFORGE_TEST_ARTIFACTS")
    folder = Path(root) / "web-ui" if root else tmp_path_factory.mktemp("web-ui")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _visible(driver, element_id: str) -> bool:
    return driver.find_element("id", element_id).is_displayed()


def _log_in(driver, url: str, key: str = KEY) -> None:
    driver.get(url)
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    _wait(driver, lambda d: _visible(d, "key-panel"))
    driver.find_element("id", "key-input").send_keys(key)
    driver.find_element("id", "key-submit").click()


def _shot(driver, path: Path) -> None:
    """A screenshot of the whole page (the window grows to the page's height for it)."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], max(size["height"], min(height, 4000)))
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])


def _page_errors(driver) -> list[str]:
    """Console errors other than the 401s a test provoked on purpose."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "401" not in e["message"]]  # fmt: skip


def test_without_the_key_the_page_asks_for_it_and_no_data_leaks(browser, server, shots, workspace):
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'self';")
    assert "tiny" not in page.text and str(workspace) not in page.text
    for path in ("/v1/ui", "/v1/runs", "/v1/traces", "/v1/models"):
        assert httpx.get(server.url + path).status_code == 401, path
    assert httpx.post(server.url + "/v1/rag/ask", json={"question": "q"}).status_code == 401
    _log_in(browser, server.url, key="wrong-key")
    _wait(browser, lambda d: _visible(d, "key-error"))
    assert "refused" in browser.find_element("id", "key-error").text
    assert not _visible(browser, "tabs") and not _visible(browser, "panel-chat")
    assert browser.find_element("id", "server-info").text == ""
    _shot(browser, shots / "1-key-prompt.png")
    assert _page_errors(browser) == []


def test_chat_then_runs_then_traces(browser, server, shots):
    from selenium.webdriver.common.keys import Keys

    _log_in(browser, server.url)
    _wait(browser, lambda d: _visible(d, "panel-chat"))
    assert browser.find_element("id", "server-info").text.startswith("tiny")
    for field, value in (("temperature", "0"), ("max-tokens", "12")):
        browser.find_element("id", field).clear()
        browser.find_element("id", field).send_keys(value)
    prompt = browser.find_element("id", "prompt")
    prompt.send_keys(MESSAGE)
    # the Enter that completes a Korean syllable in an IME arrives with isComposing: no send
    browser.execute_script(
        "arguments[0].dispatchEvent(new KeyboardEvent('keydown',"
        " {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))",
        prompt,
    )
    assert _css(browser, ".message") == [] and prompt.get_attribute("value") == MESSAGE
    prompt.send_keys(Keys.ENTER)
    _wait(browser, lambda d: _css(d, ".message.assistant.done"))
    meta = _css(browser, ".message.assistant .meta")[0].text
    counts = re.search(r"(\d+) prompt \+ (\d+) completion tokens · first token \d+ ms", meta)
    assert counts and "total" in meta, meta
    assert _css(browser, ".message.user .content")[0].text == MESSAGE
    assert _css(browser, ".message.assistant .content")[0].text.strip()
    # the same request without streaming: the usage the page showed is the model's own
    body = {"model": "tiny", "messages": [{"role": "user", "content": MESSAGE}],
            "temperature": 0, "top_p": 1, "max_tokens": 12}  # fmt: skip
    usage = httpx.post(server.url + "/v1/chat/completions", json=body,
                       headers=server.headers).json()["usage"]  # fmt: skip
    assert (int(counts[1]), int(counts[2])) == (usage["prompt_tokens"], usage["completion_tokens"])
    _shot(browser, shots / "2-chat.png")

    runs = httpx.get(server.url + "/v1/runs", headers=server.headers).json()
    browser.find_element("id", "tab-runs").click()
    _wait(browser, lambda d: len(_css(d, "#lineage .node")) == len(runs["data"]))
    summary = browser.find_element("id", "runs-summary").text
    assert summary.endswith("4 artifacts, made from 3 more outside it"), summary
    ids = {n.get_attribute("data-id") for n in _css(browser, "#lineage .node")}
    assert {"pretrained", "lora", "eval", "curated"} <= ids
    assert len(_css(browser, "#lineage path.edge")) == len(runs["edges"]) >= 6
    charts = {f.get_attribute("data-id"): f for f in _css(browser, "#loss-curves figure")}
    assert set(charts) == {"pretrained", "lora"}
    line = charts["pretrained"].find_element("css selector", "polyline.train")
    assert len(line.get_attribute("points").split()) == 20  # one point per logged step
    assert "lora" in browser.find_element("id", "methods").text
    assert "lab-mc" in browser.find_element("id", "evals").text
    _css(browser, '#lineage .node[data-id="pretrained"]')[0].click()
    details = browser.find_element("id", "run-details").text
    assert "pretrained" in details and "final_loss" in details and "Used by" in details
    _shot(browser, shots / "3-runs.png")

    browser.find_element("id", "tab-traces").click()
    _wait(browser, lambda d: any("/v1/chat/completions" in r.text for r in _css(d, "tr.trace")))
    streamed = [r for r in _css(browser, "tr.trace") if "/v1/chat/completions" in r.text][-1]
    streamed.click()  # the older of the two chat requests: the page's streamed one
    trace = browser.find_element("id", "trace-details").text
    assert '"stream": true' in trace and "카모리" in trace
    _shot(browser, shots / "4-traces.png")
    assert _page_errors(browser) == []


def test_rag_tab_answers_with_its_sources(browser, server, shots):
    _log_in(browser, server.url)
    _wait(browser, lambda d: _visible(d, "tab-rag"))
    browser.find_element("id", "tab-rag").click()
    assert browser.find_element("id", "rag-max-tokens").get_attribute("value") == "64"  # 256 / 4
    browser.find_element("id", "rag-max-tokens").clear()
    browser.find_element("id", "rag-max-tokens").send_keys("16")  # the sources need the rest
    browser.find_element("id", "rag-question").send_keys(QUESTION)
    browser.find_element("id", "rag-ask").click()
    _wait(browser, lambda d: _css(d, "#rag-sources li"))
    first = _css(browser, "#rag-sources li")[0]
    assert (
        first.get_attribute("id") == "rag-source-1" and "Haltaro was founded in 1853" in first.text
    )
    assert "completion tokens" in browser.find_element("id", "rag-stats").text
    _shot(browser, shots / "5-rag.png")
    assert _page_errors(browser) == []


def test_markdown_is_escaped_and_citations_link_to_sources(browser, server):
    """The page's own renderer, run in the browser: no markup from the text survives."""
    browser.get(server.url)
    html = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/ui/markdown.js').then((m) => done(m.renderMarkdown(arguments[0],"
        " {citations: 2, prefix: 's-'})));",
        "**bold** <script>alert(1)</script> <img src=x onerror=alert(1)> [a](javascript:alert(1))"
        " [b](https://example.org) `<i>` see [1, 3]\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    )
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "<strong>bold</strong>" in html
    assert '<a href="https://example.org" target="_blank" rel="noopener noreferrer">b</a>' in html
    assert "<code>&lt;i&gt;</code>" in html and "<td>2</td>" in html
    assert '[<a href="#s-1" class="cite" data-source="1">1</a>, <span class="cite-invalid"' in html


def test_rag_route_answers_with_the_served_model_like_the_local_backend(
    server, loaded, tiny_model_dir, rag_index
):
    from lmforge.infer.backends.local import LocalBackend
    from lmforge.rag import Index

    body = {"question": QUESTION, "k": 3, "max_tokens": 16}
    answer = httpx.post(server.url + "/v1/rag/ask", json=body, headers=server.headers,
                        timeout=60).json()  # fmt: skip
    with single_thread():
        local = Index(rag_index, create=False).ask(
            QUESTION, LocalBackend(tiny_model_dir, loaded=loaded), k=3, max_tokens=16
        )
    assert answer["answer"] == local.text and not answer["refused"]
    assert [s["doc_id"] for s in answer["sources"]] == [
        p.metadata["doc_id"] for p in local.passages
    ]
    assert "Haltaro was founded in 1853" in answer["sources"][0]["text"]
    assert answer["usage"]["completion_tokens"] >= 1


def test_ui_files_are_only_the_shipped_ones(server):
    script = httpx.get(server.url + "/ui/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    for path in ("/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/missing.js", "/ui/"):
        assert httpx.get(server.url + path).status_code == 404, path
    assert httpx.post(server.url + "/").status_code == 405


def test_bad_workspace_or_index_fails_before_the_model_loads(tmp_path):
    with pytest.raises(LmforgeError, match="--workspace"):
        create_app(tmp_path / "no-model", workspace=tmp_path / "nope", embedder=None,
                   prompts_db=tmp_path / "prompts.sqlite")  # fmt: skip
    with pytest.raises(LmforgeError, match="not a RAG index"):
        create_app(tmp_path / "no-model", index=tmp_path, embedder=None,
                   prompts_db=tmp_path / "prompts.sqlite")  # fmt: skip


def test_loss_curves_are_bucket_means_and_odd_folders_still_show(tmp_path):
    from lmforge.serve.dashboard import loss_curve, scan

    run = tmp_path / "run"
    run.mkdir()
    (run / ".lmforge-partial").touch()  # still training: no manifest yet
    rows = [{"step": s, "loss": float(s)} | ({"eval_loss": s / 2} if s % 100 == 0 else {})
            for s in range(1, 1001)]  # fmt: skip
    text = "\n".join(json.dumps(r) for r in rows) + '\n{"step": 1001, "lo'  # cut mid-write
    (run / "metrics.jsonl").write_text(text)
    curve = loss_curve(run / "metrics.jsonl")
    assert curve["bucket"] == 4 and len(curve["step"]) == 250
    assert curve["step"][0] == curve["loss"][0] == 2.5  # mean of steps 1..4
    assert curve["eval_step"] == list(range(100, 1001, 100)) and curve["eval_loss"][-1] == 500
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "lmforge.json").write_text("{not json")
    nodes = {n["id"]: n for n in scan(tmp_path)["data"]}
    assert nodes["run"]["unfinished"] and nodes["run"]["loss"] == curve
    assert nodes["broken"]["kind"] is None and "not valid JSON" in nodes["broken"]["error"]
