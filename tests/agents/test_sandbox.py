"""The Python sandbox against real escape attempts: each must be contained and reported.

These run real code in real namespaces (the tests run as root on Linux, like the CI). Limits
are tight so a fork bomb or a 10 GB allocation cannot disturb other work on the machine.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from lmforge.agents.sandbox import Sandbox, SandboxLimits, strict_problem
from lmforge.errors import LmforgeError

TIGHT = SandboxLimits(
    cpu_seconds=1, wall_seconds=3.0, memory_bytes=256 * 2**20, processes=8, output_bytes=16384
)
# CPU-bound code on a busy machine gets a small share of the wall clock: give it room, so
# the CPU limit (what these tests check) is always the one that ends it
PATIENT = replace(TIGHT, wall_seconds=60.0)
HOST_PROBLEM = strict_problem()  # the host's own limits, tested apart from lmforge's code
strict = pytest.mark.skipif(HOST_PROBLEM is not None, reason=f"no strict isolation: {HOST_PROBLEM}")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:  # the host can isolate (see `strict`): lmforge's check must pass
    box = Sandbox(TIGHT)
    box.check()
    return box


@pytest.fixture
def listener():
    """A TCP server on the host's loopback: reachable from the host, not from the jail."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server.getsockname()[1]
    server.close()


def _connect_code(port: int) -> str:
    return (
        "import socket\n"
        f"socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "print('connected')"
    )


def _uid_processes(uid: int) -> list[str]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"Uid:\t{uid}\t" in (proc / "status").read_text():
                found.append(proc.name)
        except OSError:
            continue
    return found


@strict
def test_code_runs_as_a_fresh_uid_in_a_private_directory(sandbox):
    code = (
        "import os\nopen('note.txt', 'w').write('kept')\n"
        "print(os.getuid(), open('note.txt').read(), os.getcwd())"
    )
    result = sandbox.run(code)
    uid, text, cwd = result.stdout.split()
    assert result.ok and result.exit_code == 0
    assert int(uid) == result.uid and int(uid) not in (0, os.getuid())
    assert text == "kept"
    assert not Path(cwd).exists()  # the working directory was the jail's own tmpfs, now gone


@strict
def test_files_are_given_to_the_code(sandbox):
    result = sandbox.run(
        "import helper\nprint(helper.VALUE * 2)", files={"helper.py": "VALUE = 21"}
    )
    assert result.stdout.strip() == "42"


@strict
def test_network_is_unreachable_but_reachable_without_the_jail(sandbox, listener):
    code = _connect_code(listener)
    jailed = sandbox.run(code)
    assert "connected" not in jailed.stdout and jailed.exit_code != 0
    assert "network" in jailed.blocked, jailed.stderr
    # the same code outside the jail does connect: the test can tell the difference
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert plain.stdout.strip() == "connected"
    outside = sandbox.run("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)")
    assert "network" in outside.blocked


@strict
def test_host_unix_sockets_are_out_of_reach(sandbox):
    path = Path("/tmp") / f"lmforge-test-{uuid.uuid4().hex}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    os.chmod(path, 0o777)  # world-writable: any uid could connect, were it visible
    server.listen(1)
    code = (
        "import socket\ns = socket.socket(socket.AF_UNIX)\n"
        f"try:\n    s.connect({str(path)!r})\n    print('connected')\n"
        "except OSError as e:\n    print(type(e).__name__)"
    )
    try:
        assert sandbox.run(code).stdout.strip() == "FileNotFoundError"
        weak = Sandbox(TIGHT, isolation="weak").run(code)
        assert weak.stdout.strip() == "connected"  # the control: the socket does accept
    finally:
        server.close()
        path.unlink()


@strict
def test_writes_outside_the_working_directory_fail(sandbox, tmp_path):
    name = f"lmforge-escape-{uuid.uuid4().hex}"
    targets = [Path.home() / name, Path("/tmp") / name, tmp_path / name]
    code = "\n".join(
        f"try:\n    open({str(t)!r}, 'w').write('x')\n    print('WROTE')\n"
        "except OSError:\n    print('refused')"
        for t in targets
    )
    result = sandbox.run(code)
    assert "WROTE" not in result.stdout
    assert result.stdout.split() == ["refused"] * 3
    assert not any(t.exists() for t in targets)
    assert sandbox.run(f"open({str(Path.home() / '.bashrc')!r}, 'a')").exit_code != 0


@strict
def test_no_secrets_are_inherited(sandbox, monkeypatch):
    monkeypatch.setenv("LMFORGE_TEST_SECRET", "hunter2-secret")
    code = (
        "import os\nprint(sorted(os.environ))\nprint(os.environ.get('LMFORGE_TEST_SECRET'))\n"
        f"for pid in ('1', '{os.getpid()}'):\n"
        "    try:\n        print(open(f'/proc/{pid}/environ').read())\n"
        "    except OSError as e:\n        print('refused', e.errno)\n"
    )
    result = sandbox.run(code)
    assert "hunter2-secret" not in result.stdout + result.stderr
    keys = set(ast.literal_eval(result.stdout.splitlines()[0]))
    assert keys <= {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS"}  # fmt: skip
    assert result.stdout.splitlines()[1] == "None"


@pytest.mark.parametrize(
    "bomb, reported",
    [
        ("import os\nwhile True:\n    os.fork()", "processes"),
        ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
         "wall-time"),
    ],
)  # fmt: skip
@strict
def test_a_fork_bomb_is_contained_and_leaves_nothing_behind(sandbox, bomb, reported):
    result = sandbox.run(bomb)
    assert reported in result.limits_hit
    assert result.wall_seconds < TIGHT.wall_seconds + 2
    assert _uid_processes(result.uid) == []


@strict
def test_an_infinite_loop_hits_the_cpu_limit():
    result = Sandbox(PATIENT).run("while True:\n    pass")
    assert result.limits_hit == ["cpu-time"] and result.signal == "SIGXCPU"
    assert "cpu-time" in result.summary()


@strict
def test_sleeping_forever_hits_the_wall_clock_limit(sandbox):
    result = sandbox.run("import time\nprint('started', flush=True)\ntime.sleep(600)")
    assert result.limits_hit == ["wall-time"] and result.exit_code is None
    assert result.stdout.strip() == "started"  # what it printed before it was stopped
    assert result.wall_seconds < TIGHT.wall_seconds + 2


@strict
def test_a_slow_steady_printer_still_hits_the_wall_clock_limit(sandbox):
    code = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)"
    result = sandbox.run(code)
    assert result.limits_hit == ["wall-time"] and result.stdout.startswith("tick\n")
    assert result.wall_seconds < TIGHT.wall_seconds + 2


@strict
def test_allocating_10_gb_fails_inside_the_jail(sandbox):
    result = sandbox.run("x = bytearray(10 * 1024**3)\nprint('allocated')")
    assert "memory" in result.limits_hit and "MemoryError" in result.stderr
    assert "allocated" not in result.stdout
    growing = Sandbox(replace(PATIENT, cpu_seconds=20))  # page faults cost CPU under load
    grow = growing.run("chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024**2))")
    assert "memory" in grow.limits_hit


@strict
def test_printing_1_gb_is_cut_at_the_output_cap(sandbox):
    result = sandbox.run("import sys\nfor _ in range(1024):\n    sys.stdout.write('x' * 2**20)")
    assert "output-size" in result.limits_hit
    assert result.stdout.count("x") == TIGHT.output_bytes
    assert "output cut" in result.stdout
    assert result.wall_seconds < TIGHT.wall_seconds


@strict
def test_a_huge_file_is_refused(sandbox):
    result = sandbox.run(
        "with open('big', 'wb') as f:\n    for _ in range(100):\n        f.write(b'x' * 2**20)"
    )
    assert {"file-size", "disk"} & set(result.limits_hit), result.stderr


@strict
def test_privileges_cannot_be_regained(sandbox):
    result = sandbox.run("import os\nos.setuid(0)")
    assert "permission" in result.blocked and result.exit_code != 0
    mount = sandbox.run(
        "import subprocess\n"
        "r = subprocess.run(['mount', '-o', 'remount,rw', '/'], capture_output=True)\n"
        "print(r.returncode)"
    )
    assert mount.stdout.strip() not in ("", "0")


def test_strict_isolation_refuses_when_the_host_cannot_give_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `unshare` to be found
    with pytest.raises(LmforgeError, match=r"cannot isolate code.*unshare.*weak"):
        Sandbox(TIGHT).run("print(1)")


def test_weak_isolation_keeps_the_limits_but_not_the_network(listener):
    weak = Sandbox(PATIENT, isolation="weak")
    assert "cpu-time" in weak.run("while True:\n    pass").limits_hit
    reach = weak.run(_connect_code(listener))
    assert (
        reach.stdout.strip() == "connected"
    )  # as documented: weak mode does not isolate the network


def test_bad_limits_and_file_names_are_refused():
    with pytest.raises(LmforgeError, match="cpu_seconds"):
        SandboxLimits(cpu_seconds=0)
    with pytest.raises(LmforgeError, match="isolation"):
        Sandbox(isolation="none")
    with pytest.raises(LmforgeError, match="leaves the working directory"):
        Sandbox(TIGHT).run("print(1)", files={"../x.py": ""})
