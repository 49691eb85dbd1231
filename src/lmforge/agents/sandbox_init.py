"""The sandbox's first process: set up the jail, start the code, wait, report its end.

`lmforge.agents.sandbox` runs this file with the interpreter in isolated mode (`python -I`),
inside fresh network, PID, mount, IPC and UTS namespaces made by `unshare` (strict mode), as
root of those namespaces, so it can use `mount`. It uses the standard library only and never
imports lmforge: it runs before any of the caller's code is trusted or needed.

Strict mode, in order: /tmp, /var/tmp, /dev/shm and /run are covered by empty tmpfs mounts
(no host Unix sockets or shared memory to reach); a size-limited tmpfs becomes the private
working directory (only this mount namespace sees it) and receives the job's files;
directories the unprivileged uid could not traverse on the way to the interpreter (e.g.
/root for a pyenv Python) are masked by an empty tmpfs holding only what the interpreter
needs; then every mount but the working directory is remounted read-only. The code then runs
in a forked child: resource limits, no-new-privileges, a fresh unprivileged uid/gid with no
groups, a scrubbed environment, exec. This process stays PID 1 of the namespace and reaps
orphans; when it exits the kernel kills whatever is left, so a fork bomb cannot outlive the
run. Weak mode skips the namespaces and mounts (the caller opted in) and keeps the limits.

The end status goes as one JSON line to the status pipe: exit code or signal, CPU seconds.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import sys
from pathlib import Path

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
# remounting read-only must keep the flags a mount already has, or the kernel may refuse
_KEPT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 36, 38
# world-writable meeting points of the host: a Unix socket there would be a way out of the
# network namespace, so the jail sees them empty
SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run")
SETUP_FAILED = 125  # exit code of a child that could not even start the code
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    result = _libc.mount(
        encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data or None)
    )
    _check(result, f"mount {target}")


def mask_shared_dirs(exposed: list[str]) -> None:
    """Empty the directories processes share things through (Unix sockets, shared memory)."""
    for directory in SHARED_DIRS:
        if not os.path.isdir(directory) or os.path.islink(directory):
            continue
        # the interpreter may live there (a venv under /tmp): keep only the entries leading to
        # it, read-only like everything else; every other entry, sockets included, is hidden
        inside = [Path(p) for p in exposed if Path(p).is_relative_to(directory)]
        keep = sorted({Path(directory, p.relative_to(directory).parts[0]) for p in inside
                       if p != Path(directory)})  # fmt: skip
        if keep:
            _mask(Path(directory), keep)
        else:
            flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
            _mount("tmpfs", directory, "tmpfs", flags, "size=64k,mode=0755")


def private_workdir(workdir: str, files: dict[str, str], uid: int, disk_bytes: int) -> None:
    """A tmpfs of `disk_bytes` over the working directory, holding the job's files."""
    os.makedirs(workdir, exist_ok=True)  # inside a masked /tmp it must be made again
    data = f"size={disk_bytes},mode=0700,uid={uid},gid={uid}"
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, data)
    for name, text in files.items():
        path = Path(workdir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        for p in (path, *path.relative_to(workdir).parents):
            os.chown(Path(workdir, p), uid, uid)


def expose(paths: list[str]) -> None:
    """Make `paths` reachable by any uid: mask each closed ancestor with only what is needed."""
    needed: set[Path] = set()
    for p in paths:
        path = Path(p)
        needed.update([path, *path.parents])
    for directory in sorted(needed, key=lambda p: len(p.parts)):  # top-down
        if directory.is_dir() and not os.stat(directory).st_mode & 0o001:
            _mask(directory, sorted(n for n in needed if n.parent == directory and n != directory))


def _mask(directory: Path, children: list[Path]) -> None:
    # keep handles on the real children, cover the directory, then bind them back in
    handles = [(c, os.open(c, os.O_PATH)) for c in children if os.path.lexists(c)]
    _mount("tmpfs", str(directory), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    for child, fd in handles:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            child.mkdir()
        else:
            child.touch()
        _mount(f"/proc/self/fd/{fd}", str(child), None, MS_BIND)
        os.close(fd)


def read_only_everywhere(keep_writable: str) -> None:
    """Remount every mount of this namespace read-only, except the working directory."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        target = _unescape(fields[4])
        if target == keep_writable:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        flags |= sum(_KEPT_FLAGS.get(o, 0) for o in set(fields[5].split(",")))
        try:
            _mount(None, target, None, flags)
        except OSError:
            if target == "/":  # the root must be read-only; others are also closed by the uid
                raise


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040)
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def set_limits(limits: dict[str, int]) -> None:
    """The hard resource limits of the code's process (and of every process it starts)."""
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    for name, key in (
        ("RLIMIT_AS", "memory_bytes"),
        ("RLIMIT_NPROC", "processes"),
        ("RLIMIT_FSIZE", "file_bytes"),
        ("RLIMIT_NOFILE", "open_files"),
    ):
        resource.setrlimit(getattr(resource, name), (limits[key], limits[key]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def start_code(spec: dict) -> None:
    """In the forked child: limits, privileges dropped, environment scrubbed, exec."""
    os.nice(spec["nice"])
    set_limits(spec["limits"])
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    uid = spec["uid"]
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.chdir(spec["workdir"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def wait_for(pid: int) -> dict:
    """Reap every child (PID 1 inherits orphans) until `pid` ends; its status and CPU use."""
    while True:
        done, status, usage = os.wait4(-1, 0)
        if done == pid:
            cpu = usage.ru_utime + usage.ru_stime
            if os.WIFSIGNALED(status):
                return {"exit_code": None, "signal": os.WTERMSIG(status), "cpu_seconds": cpu}
            return {"exit_code": os.WEXITSTATUS(status), "signal": None, "cpu_seconds": cpu}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    status_fd = int(sys.argv[2])
    try:
        if spec["mode"] == "strict":
            uid = spec["uid"]
            mask_shared_dirs(spec["expose"])
            private_workdir(spec["workdir"], spec["files"], uid, spec["limits"]["disk_bytes"])
            expose(spec["expose"])
            read_only_everywhere(spec["workdir"])
        else:
            _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(subreaper)")
            for name, text in spec["files"].items():
                Path(spec["workdir"], name).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"lmforge-sandbox-setup: {e}", file=sys.stderr, flush=True)
        sys.exit(SETUP_FAILED)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(status_fd)
            start_code(spec)
        except BaseException as e:  # whatever it was, the code did not start
            os.write(2, f"lmforge-sandbox-setup: {e}\n".encode())
        os._exit(SETUP_FAILED)
    os.write(status_fd, (json.dumps(wait_for(pid)) + "\n").encode())
    os._exit(0)


if __name__ == "__main__":
    main()
