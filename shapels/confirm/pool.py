"""Parent side: one warm worker process, its limits, and its replacement. No torch here.

`WorkerPool.run` sends one request and waits for the answer, enforcing:
- the timeout: the worker's whole process group is killed, a fresh worker is started at once
  (it warms up while the user reads the message), and the answer says "stopped after N s";
- the memory cap: the worker caps its own address space per run (RLIMIT_AS); the parent also
  watches the worker's RSS, which covers CUDA where an address-space cap cannot be used;
- cancellation (the editor's cancel button): a `threading.Event` checked while waiting.
A worker that dies mid-run (os._exit, a segfault, the OOM killer) is reported and replaced.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from shapels.confirm import messages

POLL = 0.02
CPU_SLACK = 5.0  # seconds of CPU beyond the timeout before RLIMIT_CPU stops a run
STARTUP_TIMEOUT = 180.0
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerUnavailable(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Worker:
    def __init__(self, python: str, env: Optional[dict]):
        full_env = dict(os.environ if env is None else env)
        parts = [p for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if PACKAGE_ROOT not in parts:
            parts.append(PACKAGE_ROOT)  # after any caller-given entries: shapels must be importable
        full_env["PYTHONPATH"] = os.pathsep.join(parts)
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(
            [python, "-m", "shapels.confirm.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd="/", env=full_env, start_new_session=True, close_fds=True,
        )
        self.started = time.monotonic()
        self.buffer = b""
        self.hello: Optional[dict] = None
        self.next_id = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def read_message(self, timeout: float) -> Optional[dict]:
        """One message, None on timeout; raises EOFError when the worker is gone."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except (OSError, AttributeError):
                pass

    def close(self) -> None:
        """The worker keeps no state worth a graceful exit (torch's teardown takes seconds): kill it."""
        self.kill()


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class WorkerPool:
    """One worker, started on demand and kept warm; `run` calls are serialised."""

    def __init__(self, python: Optional[str] = None, env: Optional[dict] = None,
                 startup_timeout: float = STARTUP_TIMEOUT):
        self.python = python or sys.executable
        self.env = env
        self.startup_timeout = startup_timeout
        self._worker: Optional[_Worker] = None
        self._lock = threading.Lock()
        self._spawn_lock = threading.Lock()
        self.restarts = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start a worker now (it imports torch in the background) unless one is running."""
        with self._spawn_lock:
            if self._worker is None or not self._worker.alive():
                if self._worker is not None:
                    self._worker.kill()
                self._worker = _Worker(self.python, self.env)

    def close(self) -> None:
        with self._spawn_lock:
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self.restarts += 1
        with self._spawn_lock:
            if self._worker is worker:
                self._worker = None
        self.start()

    @property
    def pid(self) -> Optional[int]:
        return self._worker.pid if self._worker is not None else None

    def _ready(self, worker: _Worker, cancel: Optional[threading.Event]) -> dict:
        if worker.hello is not None:
            return worker.hello
        deadline = worker.started + self.startup_timeout
        while True:
            if cancel is not None and cancel.is_set():
                raise WorkerUnavailable("cancelled", "cancelled while the worker was starting")
            try:
                hello = worker.read_message(min(0.1, max(0.0, deadline - time.monotonic())))
            except (EOFError, ValueError) as error:
                code = worker.proc.wait()
                raise WorkerUnavailable("crash", f"the confirm worker exited while starting (status {code})") from error
            if hello is not None:
                worker.hello = hello
                if not hello.get("ready"):
                    worker.kill()
                    with self._spawn_lock:
                        if self._worker is worker:
                            self._worker = None
                    if hello.get("kind") == "no-torch":
                        raise WorkerUnavailable("no-torch", messages.NO_TORCH.format(python=hello.get("python") or self.python)
                                                + f" ({hello.get('message')})")
                    raise WorkerUnavailable("internal", f"the confirm worker could not start: {hello.get('message')}")
                return hello
            if time.monotonic() >= deadline:
                self._replace(worker)
                raise WorkerUnavailable("timeout", f"the confirm worker did not start within {self.startup_timeout:.0f} s")

    # -- runs --------------------------------------------------------------------------------
    def run(self, request: dict, timeout: float = 60.0, memory_mb: Optional[int] = 4096,
            cancel: Optional[threading.Event] = None,
            while_waiting: Optional[Callable[[], None]] = None) -> dict:
        """Send one run request; return the worker's result dict (see worker.run_request).

        `while_waiting` runs after the request is sent (the static analysis overlaps the run)."""
        with self._lock:
            self.start()
            worker = self._worker
            assert worker is not None
            try:
                hello = self._ready(worker, cancel)
            except WorkerUnavailable as problem:
                if while_waiting:
                    while_waiting()
                return {"ok": False, "device": request.get("device"),
                        "error": {"kind": problem.kind, "message": problem.message}}
            worker.next_id += 1
            device = request.get("device") or "auto"
            if device == "auto":
                device = "cuda" if hello.get("cuda") else "cpu"
            # CPU limit (RLIMIT_CPU in the worker): the wall-clock timeout plus slack, so the parent's
            # timeout normally fires first and this only backs it up.
            cpu_seconds = request.get("cpu_seconds") or (timeout + CPU_SLACK if timeout else None)
            request = dict(request, id=worker.next_id, op="run", memory_mb=memory_mb, resolved=device,
                           cpu_seconds=cpu_seconds)
            baseline = rss_bytes(worker.pid)
            sent = time.monotonic()
            try:
                worker.send(request)
            except (BrokenPipeError, OSError, ValueError):
                self._replace(worker)
                return self._failed(request, "crash", "the confirm worker was gone; it has been restarted, try again")
            if while_waiting:
                while_waiting()
            result = self._wait(worker, request, sent, timeout, memory_mb, baseline, cancel)
            result.setdefault("torch", hello.get("torch"))
            return result

    def _wait(self, worker, request, sent, timeout, memory_mb, baseline, cancel) -> dict:
        limit = (baseline + memory_mb * 2**20) if memory_mb else None
        while True:
            try:
                message = worker.read_message(POLL * 5)
            except (EOFError, ValueError):
                code = worker.proc.wait()
                self._replace(worker)
                how = f"signal {-code}" if code < 0 else f"status {code}"
                text = f"the run ended the worker process ({how})"
                if code == -signal.SIGKILL and memory_mb:
                    text += f"; it may have exceeded the memory cap of {memory_mb} MB"
                if code == -signal.SIGXCPU:
                    return self._failed(request, "timeout", f"stopped at the CPU limit ({_seconds(request.get('cpu_seconds') or 0)} s "
                                        "of CPU); the worker was restarted")
                return self._failed(request, "crash", text)
            if message is not None:
                if message.get("id") != request["id"]:
                    continue
                result = message.get("result") or {}
                if result.get("replace_worker"):
                    self._replace(worker)
                return result
            elapsed = time.monotonic() - sent
            if cancel is not None and cancel.is_set():
                self._replace(worker)
                return self._failed(request, "cancelled", f"cancelled after {elapsed:.1f} s")
            if timeout and elapsed > timeout:
                self._replace(worker)
                return self._failed(request, "timeout", f"stopped after {_seconds(timeout)} s (the timeout); the worker was restarted")
            if limit and rss_bytes(worker.pid) > limit:
                self._replace(worker)
                return self._failed(request, "memory", messages.memory_message(memory_mb) + "; the worker was restarted")

    @staticmethod
    def _failed(request: dict, kind: str, message: str) -> dict:
        return {"ok": False, "device": request.get("resolved") or request.get("device"),
                "error": {"kind": kind, "message": message}}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
