"""`GET /v1/runs`: every artifact of a workspace, its lineage, loss curves, evals and reports.

    lmforge serve --model ws/sft --workspace ws      # the web UI's Runs tab reads this route

The workspace is walked for artifact directories (a `lmforge.json` manifest, or the
`.lmforge-partial` mark of a run still being written). Each input of each manifest becomes
an edge from the artifact that owns it (`runs.owning_artifact`), followed outside the
workspace too, so the graph reaches back to the raw data as `lmforge lineage` does; plain
files are leaves. Content hashes are not recomputed here (a dashboard must stay cheap on
large corpora): `lmforge lineage DIR` says whether an input changed since it was used.
Loss curves come from `metrics.jsonl`, downsampled to `LOSS_POINTS` bucket means; eval
artifacts add their `results.json` tasks, curated ones their `report.md`, training runs a
row of the method comparison (PEFT method, trainable parameters, losses, speed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from lmforge.errors import LmforgeError
from lmforge.runs import MANIFEST, PARTIAL, owning_artifact, read_manifest
from lmforge.serve.errors import APIError

router = APIRouter()
SKIP_DIRS = {"checkpoints", "__pycache__", "node_modules", "site-packages"}
MAX_DEPTH = 6  # directory levels below the workspace that are searched for artifacts
MAX_NODES = 400  # artifacts and input files in one graph; more is unreadable anyway
LOSS_POINTS = 300
REPORT_CHARS = 200_000
TRAIN_METRICS = ("steps", "final_loss", "eval_loss", "tokens_per_s", "train_seconds",
                 "trainable_parameters", "total_parameters", "trainable_percent")  # fmt: skip


@router.get("/v1/runs")
def list_runs(request: Request) -> dict:
    """The workspace's artifacts (`data`), lineage `edges`, and the method comparison."""
    root = request.app.state.ui.workspace
    if root is None:
        raise APIError(404, "No workspace is shown: start the server with --workspace DIR.",
                       code="no_workspace")  # fmt: skip
    return scan(root)


def scan(root: Path) -> dict[str, Any]:
    """Nodes and edges of every artifact under `root` and of everything they were made from."""
    root = root.resolve()
    nodes: dict[Path, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []
    pending = find_artifacts(root)
    for path in pending:
        nodes[path] = artifact_node(path, root)
    done = 0
    while done < len(pending):
        path = pending[done]
        done += 1
        for role, source in _inputs(nodes[path], path):
            if source not in nodes:
                if len(nodes) >= MAX_NODES:
                    continue
                owner = (source / MANIFEST).is_file()
                nodes[source] = artifact_node(source, root) if owner else leaf_node(source, root)
                if owner:
                    pending.append(source)
            edges.append({"source": nodes[source]["id"], "target": nodes[path]["id"],
                          "role": role})  # fmt: skip
    data = list(nodes.values())
    for node in data:
        node.pop("_inputs", None)
    return {"object": "list", "workspace": str(root), "data": data, "edges": edges,
            "methods": method_rows(data, edges), "truncated": len(nodes) >= MAX_NODES}  # fmt: skip


def find_artifacts(root: Path) -> list[Path]:
    """Artifact directories under `root` (finished or being written), in path order."""
    found: list[Path] = []
    for folder, subdirs, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        keep = [d for d in subdirs if d not in SKIP_DIRS and not d.startswith(".")]
        subdirs[:] = sorted(keep) if depth < MAX_DEPTH else []
        if MANIFEST in files or PARTIAL in files:
            found.append(Path(folder))
            if len(found) >= MAX_NODES:
                break
    return found


def _inputs(node: dict[str, Any], path: Path) -> list[tuple[str, Path]]:
    """(role, the artifact holding the input or the input itself) for each recorded input."""
    pairs = []
    for role, info in node.get("_inputs", {}).items():
        where = (path / str(info.get("path", ""))).resolve()
        owner = owning_artifact(where)
        pairs.append((role, owner if owner is not None and owner != path else where))
    return pairs


def node_id(path: Path, root: Path) -> str:
    if not path.is_relative_to(root):
        return str(path)
    return path.relative_to(root).as_posix() or "."


def artifact_node(path: Path, root: Path) -> dict[str, Any]:
    """What the UI shows of one artifact: its manifest, loss curve, eval and curation report."""
    node: dict[str, Any] = {"id": node_id(path, root), "path": str(path),
                            "external": not path.is_relative_to(root)}  # fmt: skip
    try:
        manifest = read_manifest(path)
    except LmforgeError as e:  # one broken manifest must not hide the rest of the workspace
        return {**node, "kind": None, "error": str(e)}
    if manifest is None:
        node.update(kind=None, unfinished=True)
    else:
        node.update({key: manifest.get(key) for key in ("kind", "created", "command", "config",
                                                        "metrics", "versions")})  # fmt: skip
        node["_inputs"] = manifest.get("inputs") or {}
        node["inputs"] = {role: info.get("path") for role, info in node["_inputs"].items()}
    node["loss"] = loss_curve(path / "metrics.jsonl")
    node["eval"] = _eval_results(path / "results.json")
    node["report"] = _report(path / "report.md") if node.get("kind") == "curated" else None
    return node


def leaf_node(path: Path, root: Path) -> dict[str, Any]:
    kind = "directory" if path.is_dir() else "file"
    return {"id": node_id(path, root), "path": str(path), "kind": kind, "leaf": True,
            "external": not path.is_relative_to(root), "missing": not path.exists()}  # fmt: skip


def loss_curve(file: Path, points: int = LOSS_POINTS) -> dict[str, list[float]] | None:
    """Train loss as at most `points` bucket means (step, loss), and every eval loss."""
    if not file.is_file():
        return None
    train: list[tuple[float, float]] = []
    evals: list[tuple[float, float]] = []
    with file.open(encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a run being written may end in half a line
                continue
            if not isinstance(row, dict) or not isinstance(row.get("step"), int | float):
                continue
            if isinstance(row.get("loss"), int | float):
                train.append((row["step"], row["loss"]))
            if isinstance(row.get("eval_loss"), int | float):
                evals.append((row["step"], row["eval_loss"]))
    if not train and not evals:
        return None
    size = max(1, -(-len(train) // points))  # ceil: every bucket but the last holds `size`
    buckets = [train[i : i + size] for i in range(0, len(train), size)]
    means = [(sum(s for s, _ in b) / len(b), sum(v for _, v in b) / len(b)) for b in buckets]
    return {"step": [s for s, _ in means], "loss": [v for _, v in means], "bucket": size,
            "eval_step": [s for s, _ in evals], "eval_loss": [v for _, v in evals]}  # fmt: skip


def _eval_results(file: Path) -> dict[str, Any] | None:
    """Per-task metrics, chance and per-language scores of an evaluation (no samples)."""
    if not file.is_file():
        return None
    try:
        results = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    tasks = results.get("tasks") if isinstance(results, dict) else None
    if not isinstance(tasks, dict):
        return None
    keep = ("kind", "n", "metrics", "chance", "by_lang")
    return {name: {k: t.get(k) for k in keep} for name, t in tasks.items() if isinstance(t, dict)}


def _report(file: Path) -> str | None:
    if not file.is_file():
        return None
    text = file.read_text(encoding="utf-8", errors="replace")
    return text if len(text) <= REPORT_CHARS else text[:REPORT_CHARS] + "\n\n… (cut)\n"


def method_rows(nodes: list[dict[str, Any]], edges: list[dict[str, str]]) -> list[dict[str, Any]]:
    """One row per finished training run: its method (PEFT or full), base model and results."""
    bases = {e["target"]: e["source"] for e in edges if e["role"] == "model"}
    rows = []
    for node in nodes:
        config, metrics = node.get("config") or {}, node.get("metrics") or {}
        if not isinstance(metrics, dict) or "final_loss" not in metrics:
            continue
        peft = config.get("peft") if isinstance(config, dict) else None
        method = peft.get("method") if isinstance(peft, dict) else None
        rows.append({"id": node["id"], "kind": node.get("kind"),
                     "method": method if method and method != "none" else "full",
                     "base": bases.get(node["id"]),
                     **{k: metrics.get(k) for k in TRAIN_METRICS}})  # fmt: skip
    return rows
