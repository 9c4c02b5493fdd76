"""Worker-side isolation for one run: captured output, memory cap, cwd/argv/sys.path, stray children.

No torch here. Everything is undone by `Sandbox.__exit__`, so the warm worker looks the same before
each run.
"""

from __future__ import annotations

import functools
import os
import resource
import select
import signal
import sys
import sysconfig
import threading
import time

OUTPUT_LIMIT = 64 * 1024  # bytes of stdout/stderr kept per run


class Capture:
    """fd 1 and 2 go into a pipe; a thread keeps the first `limit` bytes and counts the rest.

    Working on file descriptors (not sys.stdout) catches C-level writes, subprocesses and forked
    children too. Nothing ever blocks on a full pipe: the reader drains and discards."""

    def __init__(self, limit: int = OUTPUT_LIMIT):
        self.limit = limit
        self.kept = bytearray()
        self.total = 0
        self._stop = threading.Event()

    def __enter__(self) -> "Capture":
        for stream in (sys.stdout, sys.stderr):
            _flush(stream)
        self._saved = (os.dup(1), os.dup(2))
        self._read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self._streams = (sys.stdout, sys.stderr)
        self._thread = threading.Thread(target=self._drain, name="shapels-capture", daemon=True)
        self._thread.start()
        return self

    def _drain(self) -> None:
        while True:
            ready, _, _ = select.select([self._read], [], [], 0.05)
            if not ready:
                if self._stop.is_set():
                    return
                continue
            try:
                chunk = os.read(self._read, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.total += len(chunk)
            room = self.limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr = self._streams
        for stream in (sys.stdout, sys.stderr):
            _flush(stream)
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        self._stop.set()  # a forked child may still hold the write end: stop when the pipe goes quiet
        self._thread.join(1.0)
        os.close(self._read)

    @property
    def text(self) -> str:
        return bytes(self.kept).decode("utf-8", errors="replace")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.kept)


def _flush(stream) -> None:
    try:
        stream.flush()
    except Exception:  # noqa: BLE001 - a user's broken stream must not break the worker
        pass


def vm_size() -> int:
    """Bytes of virtual memory the process has mapped now (VmSize)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class _ResourceCap:
    """Lower one rlimit for the duration of a run, and raise it back after."""

    resource_kind: int

    def __init__(self, amount):
        self.amount = amount
        self._old = None

    def limit(self) -> int:
        raise NotImplementedError

    def __enter__(self):
        if self.amount:
            soft, hard = resource.getrlimit(self.resource_kind)
            limit = self.limit()
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            try:
                resource.setrlimit(self.resource_kind, (limit, hard))
                self._old = (soft, hard)
            except (ValueError, OSError):
                self._old = None
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            resource.setrlimit(self.resource_kind, self._old)


class MemoryCap(_ResourceCap):
    """RLIMIT_AS set to what is mapped now plus `amount` MB: an allocation beyond it fails with ENOMEM.

    CUDA maps huge address ranges, so on CUDA the parent's RSS watch and torch's per-process GPU
    memory fraction are the caps instead."""

    resource_kind = resource.RLIMIT_AS

    def limit(self) -> int:
        return vm_size() + int(self.amount) * 2**20


class CpuCap(_ResourceCap):
    """RLIMIT_CPU: the run (and every child it forks, which inherits the limit) may use at most
    `amount` seconds of CPU beyond what the worker has used so far; past it the kernel sends SIGXCPU,
    which ends the worker (the parent reports it and starts a fresh one). A second line of defence
    behind the parent's wall-clock timeout, for a parent that cannot watch."""

    resource_kind = resource.RLIMIT_CPU

    def limit(self) -> int:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return int(usage.ru_utime + usage.ru_stime + self.amount) + 1


class ScriptEnvironment:
    """What `python FILE` gives a script: cwd, argv, sys.path[0], a `__main__` module; undone after.

    Modules the script imported from outside the Python installation (its own helpers) are
    forgotten afterwards, so an edited helper is re-read by the next confirm."""

    def __init__(self, path: str):
        self.path = path
        self.folder = os.path.dirname(path) or "."

    def __enter__(self) -> "ScriptEnvironment":
        self._cwd = os.getcwd()
        self._argv = sys.argv
        self._path = list(sys.path)
        self._modules = set(sys.modules)
        self._main = sys.modules.get("__main__")
        self._stdin = sys.stdin
        os.chdir(self.folder)
        sys.argv = [self.path]
        sys.path.insert(0, self.folder)
        return self

    def __exit__(self, *exc) -> None:
        try:
            os.chdir(self._cwd)
        except OSError:
            pass
        sys.argv = self._argv
        sys.path[:] = self._path
        sys.stdin = self._stdin
        if self._main is not None:
            sys.modules["__main__"] = self._main
        installed = _installation_dirs()
        for name in set(sys.modules) - self._modules:
            file = getattr(sys.modules.get(name), "__file__", None) or ""
            if file and not file.startswith(installed):
                sys.modules.pop(name, None)


@functools.lru_cache(maxsize=1)
def _installation_dirs() -> tuple:
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            dirs.add(sysconfig.get_paths()[key])
        except KeyError:
            pass
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dirs.add(os.path.join(here, "shapels"))
    return tuple(d for d in dirs if d)


def kill_children() -> int:
    """Kill and reap every child process the run left behind (forks, subprocesses). Returns how many."""
    killed = 0
    for pid in _children():
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.005)
    return killed


def _children() -> list:
    pids = []
    base = f"/proc/{os.getpid()}/task"
    try:
        tasks = os.listdir(base)
    except OSError:
        return pids
    for task in tasks:
        try:
            with open(f"{base}/{task}/children") as f:
                pids.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            pass
    return pids


def become_subreaper() -> None:
    """Orphaned grandchildren of a run are re-parented to the worker, so kill_children finds them."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:  # noqa: BLE001 - best effort; the process group kill remains
        pass


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this worker when the process that started it dies (a crashed editor must not leave a
    script looping forever). Linux only; best effort elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
