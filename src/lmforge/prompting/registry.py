"""A prompt registry: named, versioned prompt templates in an embedded SQLite file.

    from lmforge.prompting.registry import PromptRegistry
    registry = PromptRegistry("lmforge-prompts.sqlite")
    registry.add("support", "You answer questions about {{ product }}. Be brief.")  # -> v1
    registry.get("support").version, registry.get("support@1").content
    registry.render("support", {"product": "Kamori Copper"})

    lmforge prompts add support --file support.txt     # a new version each time it changes
    registry.list_prompts()            # the latest version of each name

    lmforge prompts list | show support@2 | render support --var product=X

Each `add` stores a new version (1, 2, ...) unless the same content (sha256) is already a
version of that name, which is then returned instead of a duplicate. Templates are Jinja2
(`{{ variable }}`, `{% if %}`), rendered in a sandbox with strict variables, so a missing
variable is an error naming it rather than an empty hole in the prompt. `lmforge serve`
reads the same file for `GET /v1/prompts` and a chat request's `"prompt": {"name": ...}`.
The schema version is SQLite's `user_version`; the file is opened in WAL mode so the server
reads while the CLI writes.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError

DEFAULT_DB = "lmforge-prompts.sqlite"
ENV_DB = "LMFORGE_PROMPTS_DB"
SCHEMA_VERSION = 1
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
SCHEMA = """
CREATE TABLE IF NOT EXISTS prompts (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    description TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (name, version),
    UNIQUE (name, sha256)
);
"""


def default_db() -> Path:
    """$LMFORGE_PROMPTS_DB, else ./lmforge-prompts.sqlite."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB)


@cache
def _environment():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # a sandbox: templates may come from anyone with write access to the file
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class PromptVersion:
    """One stored version of a named template."""

    name: str
    version: int
    content: str
    sha256: str
    created: str
    description: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def variables(self) -> list[str]:
        """The template's free variables, sorted."""
        from jinja2 import meta

        return sorted(meta.find_undeclared_variables(_environment().parse(self.content)))

    def render(self, variables: dict[str, Any] | None = None) -> str:
        from jinja2 import TemplateError, UndefinedError

        try:
            return _environment().from_string(self.content).render(**(variables or {}))
        except UndefinedError as e:
            raise LmforgeError(
                f"prompt {self.ref}: {e.message}.",
                f"Give every variable it uses: {', '.join(self.variables) or 'none'}.",
            ) from None
        except TemplateError as e:
            raise LmforgeError(f"prompt {self.ref} cannot be rendered: {e}.") from None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "content": self.content,
                "sha256": self.sha256, "created": self.created,
                "description": self.description, "variables": self.variables}  # fmt: skip


def parse_ref(ref: str, version: int | None = None) -> tuple[str, int | None]:
    """`name` or `name@3` -> (name, version); an explicit `version` wins."""
    name, sep, number = ref.partition("@")
    if sep:
        if not number.isdigit():
            raise LmforgeError(f"{ref!r}: the version after @ must be a number.", "e.g. name@2.")
        version = version if version is not None else int(number)
    return name, version


def parse_variables(items: list[str]) -> dict[str, str]:
    """`["product=Kamori", ...]` (the CLI's --var) as a dict."""
    variables = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LmforgeError(f"--var {item!r} is not key=value.", "Write e.g. --var product=X.")
        variables[key.strip()] = value
    return variables


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise LmforgeError(
            f"{name!r} is not a valid prompt name.",
            "Use letters, digits, '_', '.' and '-' (at most 128), starting with a letter/digit.",
        )
    return name


class PromptRegistry:
    """Named, versioned templates in the SQLite file `path` (one short connection per call,
    so one registry object may be shared by threads)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db()

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection | None]:
        if not write and not self.path.exists():
            yield None  # reading a registry nobody created yet: it is empty
            return
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as db:
                _prepare(db, self.path)
                with db:  # one transaction
                    if write:  # take the write lock now: two adds cannot pick the same version
                        db.execute("BEGIN IMMEDIATE")
                    yield db
        except sqlite3.DatabaseError as e:
            raise LmforgeError(f"{self.path}: {e}.", "Is it a prompt registry file?") from None

    def add(self, name: str, content: str, description: str | None = None) -> PromptVersion:
        """Store `content` as the next version of `name`; identical content is not duplicated."""
        check_name(name)
        _check_template(name, content)
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        with self._connect(write=True) as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM prompts WHERE name = ? AND sha256 = ?", (name, digest)
            ).fetchone()
            if row is not None:
                return PromptVersion(*row)
            (last,) = db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM prompts WHERE name = ?", (name,)
            ).fetchone()
            created = datetime.now(UTC).isoformat(timespec="seconds")
            stored = PromptVersion(name, last + 1, content, digest, created, description)
            db.execute(
                f"INSERT INTO prompts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (name, stored.version, content, digest, created, description),
            )
        return stored

    def add_file(self, name: str, path: str | Path, description: str | None = None):
        """`add` with the content of a UTF-8 text file."""
        path = Path(path)
        if not path.is_file():
            raise LmforgeError(f"{path} is not a file.", "Give the template's text file.")
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise LmforgeError(f"{path} is not UTF-8 text.") from None
        return self.add(name, content, description)

    def get(self, name: str, version: int | None = None) -> PromptVersion:
        """A version of `name` (`name@3` works too); the latest when no version is given."""
        name, version = parse_ref(name, version)
        query = f"SELECT {_COLUMNS} FROM prompts WHERE name = ?"
        args: tuple = (name,)
        if version is not None:
            query, args = query + " AND version = ?", (name, version)
        with self._connect() as db:
            found = db.execute(query + " ORDER BY version DESC", args) if db else None
            row = found.fetchone() if found else None
        if row is None:
            what = f"{name}@{version}" if version is not None else name
            raise LmforgeError(
                f"no prompt {what!r} in {self.path}.",
                "See `lmforge prompts list`, or add it with `lmforge prompts add NAME --file F`.",
            )
        return PromptVersion(*row)

    def versions(self, name: str) -> list[PromptVersion]:
        with self._connect() as db:
            rows = [] if db is None else db.execute(
                f"SELECT {_COLUMNS} FROM prompts WHERE name = ? ORDER BY version", (name,)
            ).fetchall()  # fmt: skip
        return [PromptVersion(*row) for row in rows]

    def list_prompts(self) -> list[PromptVersion]:
        """The latest version of every name, sorted by name."""
        query = (
            f"SELECT {_COLUMNS} FROM prompts p WHERE version = "
            "(SELECT MAX(version) FROM prompts WHERE name = p.name) ORDER BY name"
        )
        with self._connect() as db:
            rows = [] if db is None else db.execute(query).fetchall()
        return [PromptVersion(*row) for row in rows]

    def render(
        self, name: str, variables: dict[str, Any] | None = None, version: int | None = None
    ) -> str:
        return self.get(name, version).render(variables)


_COLUMNS = "name, version, content, sha256, created, description"


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """WAL mode and the current schema; refuses a file written by a newer lmforge."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found > SCHEMA_VERSION:
        raise LmforgeError(
            f"{path} has prompt-registry schema {found}; this lmforge reads {SCHEMA_VERSION}.",
            "Upgrade lmforge.",
        )
    if found < SCHEMA_VERSION:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.commit()


def _check_template(name: str, content: str) -> None:
    from jinja2 import TemplateSyntaxError

    if not content.strip():
        raise LmforgeError(f"prompt {name!r} is empty.", "Give the template some text.")
    try:
        _environment().parse(content)
    except TemplateSyntaxError as e:
        raise LmforgeError(
            f"prompt {name!r}, line {e.lineno}: {e.message}.",
            "Templates are Jinja2: {{ variable }}, {% if x %}...{% endif %}.",
        ) from None
