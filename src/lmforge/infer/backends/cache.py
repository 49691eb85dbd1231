"""An on-disk cache of backend calls: the same deterministic call is answered from disk.

The key is sha256 of (backend identity, method, prompt, options). Only deterministic calls are
cached: generation at temperature 0 or with a seed, and log-likelihoods; streams pass through.
Entries are JSON files written atomically, so a cache directory survives a killed run.

    cached = CachedBackend(load_backend("models/sft"), ".cache/prompting")
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lmforge.infer.backends.base import Backend, Completion, Prompt


class CachedBackend(Backend):
    def __init__(self, backend: Backend, directory: str | Path) -> None:
        self.backend = backend
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.capabilities = backend.capabilities
        self.context_window = backend.context_window
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def identity(self) -> str:
        return self.backend.identity

    def count_tokens(self, prompt: Prompt) -> int | None:
        return self.backend.count_tokens(prompt)

    def render(self, prompt: Prompt) -> str | None:
        return self.backend.render(prompt)

    def key(self, method: str, prompt: Any, options: dict[str, Any]) -> str:
        payload = json.dumps([self.identity, method, prompt, options], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _generate(self, prompt: Prompt, options: dict[str, Any]) -> Completion:
        if options["temperature"] > 0 and options["seed"] is None:  # a fresh sample each time
            return self.backend.generate(prompt, **options)
        key = self.key("generate", prompt, options)
        found = self._read(key)
        if found is not None:
            return Completion(**found)
        completion = self.backend.generate(prompt, **options)
        self._write(key, asdict(completion))
        return completion

    def _stream(self, prompt: Prompt, options: dict[str, Any]) -> Iterator[str]:
        return self.backend.stream(prompt, **options)

    def _loglikelihoods(self, requests: list[tuple[str, str]]) -> list[float]:
        keys = [self.key("loglikelihood", list(r), {}) for r in requests]
        values = [self._read(k) for k in keys]
        todo = [i for i, v in enumerate(values) if v is None]
        if todo:  # one batched call for all the misses
            fresh = self.backend.loglikelihoods([requests[i] for i in todo])
            for i, value in zip(todo, fresh, strict=True):
                self._write(keys[i], value)
                values[i] = value
        return [float(v) for v in values]

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _read(self, key: str) -> Any:
        path = self._path(key)
        if not path.is_file():
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(path.read_text(encoding="utf-8"))

    def _write(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, path)
