"""Run untrusted Python code in a separate, jailed process, and say how it ended.

    from lmforge.agents.sandbox import Sandbox, SandboxLimits
    result = Sandbox(SandboxLimits(cpu_seconds=2)).run("print(2 ** 100)")
    result.stdout, result.exit_code, result.limits_hit, result.summary()

Strict isolation (the default) is built from kernel mechanisms, not from Python-level checks:
`unshare` gives the code fresh network (only a downed loopback: no network at all), PID, mount,
IPC and UTS namespaces; `sandbox_init.py` (PID 1 there) mounts a private size-limited tmpfs as
the working directory, remounts everything else read-only, and starts the code as a fresh
unprivileged uid with no groups and no-new-privileges, under setrlimit limits (CPU time,
address space, processes, file size, open files), with a scrubbed environment (no inherited
secrets). This side enforces the wall-clock limit and the output cap, and kills the whole
process group, which takes down the namespace and everything left in it.

Strict isolation needs root on Linux and `unshare`; where they are missing the sandbox refuses
with an error instead of quietly running with less. `isolation="weak"` is an explicit opt-in
that keeps only the limits, a private working directory and the scrubbed environment: the
code can reach the network and write wherever the user can (and as root the process limit
does not apply).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.errors import LmforgeError

KiB, MiB = 1024, 1024 * 1024
ISOLATIONS = ("strict", "weak")
LAUNCHER = Path(__file__).with_name("sandbox_init.py")
# no PYTHON* variables, no user site-packages, no .pyc writes, unbuffered output (so what the
# code printed before a kill still arrives); the script's directory stays importable
CODE_FLAGS = ("-E", "-s", "-B", "-u")
SETUP_MARK = "lmforge-sandbox-setup:"  # what sandbox_init prints when it cannot start the code
SETUP_FAILED = 125
_CODE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",  # numerical libraries would start a thread per core
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# what the code's own error output says when it ran into a limit it can observe
_STDERR_SIGNS = {
    "memory": ("MemoryError", "Cannot allocate memory", "bad_alloc"),
    "processes": ("BlockingIOError", "Resource temporarily unavailable"),
    "file-size": ("File too large",),
    "disk": ("No space left on device",),
}
# ... and when the jail refused something it tried
_BLOCKED_SIGNS = {
    "network": ("Network is unreachable", "Temporary failure in name resolution"),
    "read-only-filesystem": ("Read-only file system",),
    "permission": ("Permission denied", "Operation not permitted"),
}


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 5
    wall_seconds: float = 10.0
    memory_bytes: int = 512 * MiB  # address space, so a 10 GB allocation fails at once
    processes: int = 32  # processes and threads of the sandbox's uid
    file_bytes: int = 16 * MiB  # largest file the code may write
    disk_bytes: int = 64 * MiB  # size of the private working directory
    open_files: int = 64
    output_bytes: int = 64 * KiB  # per stream; past it the run is stopped

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise LmforgeError(f"sandbox limit {name} is {value}.", "Use a positive value.")


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: int | None  # None when a signal ended the code or it was stopped
    signal: str | None = None  # e.g. "SIGXCPU", "SIGKILL"
    limits_hit: list[str] = field(default_factory=list)  # "cpu-time", "wall-time", ...
    cpu_seconds: float | None = None
    wall_seconds: float = 0.0
    uid: int | None = None  # the uid the code ran as (strict mode)
    blocked: list[str] = field(default_factory=list)  # what the jail refused: "network", ...

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.limits_hit

    def summary(self) -> str:
        """One line: how the run ended."""
        if self.limits_hit:
            how = f"stopped: {', '.join(self.limits_hit)} limit"
        elif self.signal:
            how = f"killed by {self.signal}"
        else:
            how = f"exit code {self.exit_code}"
        blocked = f"; blocked: {', '.join(self.blocked)}" if self.blocked else ""
        return f"{how}{blocked} ({self.wall_seconds:.1f} s)"


class Sandbox:
    """Runs code under `limits`; one instance can run many jobs, each in a fresh jail."""

    def __init__(self, limits: SandboxLimits | None = None, isolation: str = "strict") -> None:
        if isolation not in ISOLATIONS:
            raise LmforgeError(f"unknown sandbox isolation {isolation!r}.", "Use strict or weak.")
        self.limits = limits or SandboxLimits()
        self.isolation = isolation
        self._checked = False

    def check(self) -> None:
        """Refuse, with the reason, when this host cannot give the promised isolation."""
        if self._checked or self.isolation == "weak":
            return
        problem = strict_problem()
        if problem is None:
            problem = self._probe()
        if problem is not None:
            raise LmforgeError(
                f"the Python sandbox cannot isolate code on this host: {problem}.",
                "Run as root on Linux with util-linux `unshare`, or opt in to weak isolation "
                "(--weak-sandbox, Sandbox(isolation='weak')): limits, a private directory and "
                "a clean environment only, with network access and the user's file rights.",
            )
        self._checked = True

    def _probe(self) -> str | None:
        """Why a real run does not come out network-less, or None if it does."""
        try:
            probe = self._run("import socket\nprint(*sorted(n for _, n in socket.if_nameindex()))")
        except LmforgeError as e:
            return e.what
        if probe.stdout.split() != ["lo"] or not probe.ok:
            return (
                f"a probe run saw network interfaces {probe.stdout.strip()!r} ({probe.summary()}, "
                f"stderr {probe.stderr.strip()[-300:]!r})"
            )
        return None

    def run(self, code: str, files: dict[str, str] | None = None) -> SandboxResult:
        """Run `code` as main.py in a fresh working directory holding `files` (name: text)."""
        self.check()
        return self._run(code, files)

    def _run(self, code: str, files: dict[str, str] | None = None) -> SandboxResult:
        workdir = Path(tempfile.mkdtemp(prefix="lmforge-sandbox-"))
        spec = {"uid": None}
        try:
            spec = self._spec(workdir, {**(files or {}), "main.py": code})
            (workdir / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            return self._launch(workdir, spec["uid"])
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            if spec["uid"] is not None:
                _wait_gone(spec["uid"])

    def _spec(self, workdir: Path, files: dict[str, str]) -> dict:
        for name in files:
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise LmforgeError(f"sandbox file name {name!r} leaves the working directory.")
        strict = self.isolation == "strict"
        limits = {k: int(v) for k, v in vars(self.limits).items()}
        return {
            "mode": self.isolation,
            "workdir": str(workdir),
            "files": files,
            "uid": _fresh_uid() if strict else None,
            "limits": limits,
            "nice": 10,  # the machine is shared: runaway code yields to everything else
            "expose": _interpreter_paths() if strict else [],
            "argv": [sys.executable, *CODE_FLAGS, "main.py"],
            "env": {**_CODE_ENV, "HOME": str(workdir), "TMPDIR": str(workdir)},
        }

    def _launch(self, workdir: Path, uid: int | None) -> SandboxResult:
        status_r, status_w = os.pipe()
        command = [sys.executable, "-I", str(LAUNCHER), str(workdir / "spec.json"), str(status_w)]
        if self.isolation == "strict":
            flags = ["--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"]
            command = [shutil.which("unshare") or "unshare", *flags, "--ipc", "--uts", *command]
        started = time.monotonic()
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(status_w,), start_new_session=True, cwd=workdir,
            env={"PATH": _CODE_ENV["PATH"], "LANG": "C.UTF-8"},
        )  # fmt: skip
        os.close(status_w)
        streams, stopped_for = self._collect(proc, status_r, started)
        wall = time.monotonic() - started
        status = _parse_status(streams["status"])
        stderr = streams["stderr"].decode("utf-8", "replace")
        failed = "exit_code" not in status or (
            status["exit_code"] == SETUP_FAILED and stderr.startswith(SETUP_MARK)
        )
        if stopped_for is None and failed:
            raise LmforgeError(f"the sandbox could not start the code: {stderr.strip()[-500:]!r}.")
        return _result(streams, status, stopped_for, self.limits, wall, uid)

    def _collect(self, proc, status_r: int, started: float) -> tuple[dict[str, bytes], str | None]:
        """Read the streams until they close, a cap is passed or the wall clock runs out."""
        out = {"stdout": b"", "stderr": b"", "status": b""}
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
        selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
        selector.register(status_r, selectors.EVENT_READ, "status")
        deadline = started + self.limits.wall_seconds
        stopped_for = None
        try:
            while selector.get_map() and stopped_for is None:
                left = deadline - time.monotonic()
                if left <= 0:  # checked every round: a steady trickle of output must not
                    stopped_for = "wall-time"  # keep the run alive
                    break
                for key, _ in selector.select(left):
                    data = os.read(key.fd, 65536)
                    if not data:
                        selector.unregister(key.fileobj)
                        continue
                    out[key.data] += data
                    if len(out[key.data]) > self.limits.output_bytes and key.data != "status":
                        stopped_for = "output-size"
        finally:
            selector.close()
            _kill_group(proc)
            os.close(status_r)
        return out, stopped_for


def strict_problem() -> str | None:
    """Why this host cannot give strict isolation (None when it can): Linux, root, and an
    `unshare` that can actually make the namespaces."""
    if not sys.platform.startswith("linux"):
        return f"namespaces need Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "it needs root (to make namespaces and drop to an unprivileged uid)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return "the `unshare` command (util-linux) is not installed"
    flags = ["--net", "--pid", "--fork", "--mount", "--mount-proc", "--ipc", "--uts"]
    tried = subprocess.run([unshare, *flags, "true"], capture_output=True, text=True, timeout=30)
    if tried.returncode != 0:
        return f"`unshare` cannot make namespaces here ({tried.stderr.strip()[-200:]})"
    return None


def _fresh_uid() -> int:
    """A uid no file and no other process uses, so the process limit counts only this run."""
    uid = 2_000_000 + secrets.randbelow(1_000_000)
    ranges = Path("/proc/self/uid_map").read_text().split()
    mapped = any(
        int(inside) <= uid < int(inside) + int(count)
        for inside, count in zip(ranges[0::3], ranges[2::3], strict=True)
    )
    return uid if mapped else 65534  # inside a smaller user namespace: nobody


def _interpreter_paths() -> list[str]:
    """What the interpreter must reach: its real file, prefixes, and module paths."""
    paths = {os.path.realpath(sys.executable), sys.prefix, sys.base_prefix}
    paths.update(p for p in sys.path if p and os.path.isdir(p) and p != os.getcwd())
    return sorted({os.path.realpath(p) for p in paths} | paths)


def _kill_group(proc: subprocess.Popen) -> None:
    # SIGKILL to the group ends unshare and the namespace's PID 1, and with it every process
    # inside; waiting reaps unshare so nothing is left behind
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        stream.close()


def _wait_gone(uid: int, timeout: float = 5.0) -> None:
    """Return once no process runs as the sandbox's uid: the namespace's teardown is
    asynchronous, and a caller may check (or start the next run) right away."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        _uid_of(p) == uid for p in Path("/proc").glob("[0-9]*")
    ):
        time.sleep(0.02)


def _uid_of(proc_dir: Path) -> int | None:
    try:
        status = (proc_dir / "status").read_text()
    except OSError:  # the process ended while we looked
        return None
    match = re.search(r"^Uid:\s+(\d+)", status, flags=re.M)
    return int(match.group(1)) if match else None


def _parse_status(raw: bytes) -> dict:
    try:
        return json.loads(raw.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}  # the launcher ended before the code did: setup failed, or it was killed


def _result(
    streams: dict[str, bytes],
    status: dict,
    stopped_for: str | None,
    limits: SandboxLimits,
    wall: float,
    uid: int | None,
) -> SandboxResult:
    stdout, stderr = (_text(streams[k], limits.output_bytes) for k in ("stdout", "stderr"))
    signum = status.get("signal")
    name = signal.Signals(signum).name if signum else None
    cpu = status.get("cpu_seconds")
    hit = [stopped_for] if stopped_for else []
    if name == "SIGXCPU" or (name == "SIGKILL" and cpu is not None and cpu >= limits.cpu_seconds):
        hit.append("cpu-time")
    if name == "SIGXFSZ":
        hit.append("file-size")
    tail = stderr[-4000:]
    hit += [k for k, signs in _STDERR_SIGNS.items() if k not in hit and _any_in(signs, tail)]
    blocked = [k for k, signs in _BLOCKED_SIGNS.items() if _any_in(signs, tail)]
    exit_code = None if stopped_for else status.get("exit_code")
    return SandboxResult(stdout, stderr, exit_code, name, hit, cpu, wall, uid, blocked)


def _any_in(signs: tuple[str, ...], text: str) -> bool:
    return any(re.search(rf"\b{re.escape(s)}\b", text) for s in signs)


def _text(raw: bytes, cap: int) -> str:
    text = raw[:cap].decode("utf-8", "replace")
    return text + f"\n[... output cut at {cap} bytes]" if len(raw) > cap else text
