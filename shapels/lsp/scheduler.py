"""Per-document scheduling: debounce, analysis off the event loop, stale results dropped.

Each `schedule(uri, version, text, delay)` supersedes every earlier request for that uri: a pending
timer is cancelled, a job still queued skips its work, and a job already running has its result
dropped. So an older version can never overwrite a newer one. Knows nothing of pygls.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)


class _Ticket:
    __slots__ = ("uri", "version", "text")

    def __init__(self, uri: str, version: Optional[int], text: str):
        self.uri, self.version, self.text = uri, version, text


class Scheduler:
    def __init__(
        self,
        work: Callable[[str, Optional[int], str], Any],
        on_result: Callable[[str, Optional[int], Any], None],
        on_error: Callable[[str, Optional[int], BaseException], None],
        executor: Optional[Executor] = None,
    ):
        self._work = work
        self._on_result = on_result
        self._on_error = on_error
        # One worker: the engine is CPU-bound Python (the GIL gives nothing to a second thread), and
        # queued stale jobs skip themselves, so the newest version is never behind more than one job.
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="shapels-analysis")
        self._current: dict[str, _Ticket] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self.dropped = 0  # results computed for a superseded request (for tests and benchmarks)
        self.runs = 0  # analyses actually run (a superseded request skipped before its work is not one)

    def schedule(self, uri: str, version: Optional[int], text: str, delay: float = 0.0) -> asyncio.Task:
        ticket = _Ticket(uri, version, text)
        self._current[uri] = ticket
        pending = self._tasks.get(uri)
        if pending is not None and not pending.done():
            pending.cancel()
        task = asyncio.get_running_loop().create_task(self._run(ticket, delay))
        self._tasks[uri] = task
        return task

    def cancel(self, uri: str) -> None:
        self._current.pop(uri, None)
        task = self._tasks.pop(uri, None)
        if task is not None and not task.done():
            task.cancel()

    def is_current(self, ticket: _Ticket) -> bool:
        return self._current.get(ticket.uri) is ticket

    async def _run(self, ticket: _Ticket, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if not self.is_current(ticket):
            return
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self._job, ticket)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a failing analysis must never stop the server
            if self.is_current(ticket):
                self._on_error(ticket.uri, ticket.version, error)
            return
        if result is _SKIPPED:
            return
        if not self.is_current(ticket):
            self.dropped += 1
            return
        self._on_result(ticket.uri, ticket.version, result)

    def _job(self, ticket: _Ticket) -> Any:
        if not self.is_current(ticket):  # superseded while queued
            return _SKIPPED
        self.runs += 1
        return self._work(ticket.uri, ticket.version, ticket.text)

    def shutdown(self) -> None:
        for uri in list(self._tasks):
            self.cancel(uri)
        self._executor.shutdown(wait=False, cancel_futures=True)


_SKIPPED = object()
