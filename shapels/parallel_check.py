"""`shapels check` over many files: each answered from the cache where it can be (check_cache.py), the
rest analysed in worker processes, one per CPU (`--jobs N`; 1 analyses in this process, as before;
by default a few small files, under MIN_PARALLEL_CHARS of source, are analysed here too, where
starting the workers would cost more than it saves).

The outcomes come back in the order of the files, whatever order the workers finish in, and what a
worker writes on stderr (a file not analysed for an internal error) is printed here in the order of
the files too, so the output is the same for any number of jobs. The biggest files are sent first,
so that no worker is left with a big one at the end. A worker that dies (killed, out of memory)
costs nothing but time: what it did not finish is analysed in this process.

Shared imports are parsed once per run, not once per worker. A process keeps every import it parsed
(analysis/scopes.py's parse_cached, keyed by the text) and the texts it read (imports.FileLoader, while their
stat is unchanged), so every file a worker takes after its first reuses them, whatever the size of its
tasks. Where the workers are forked (Linux), this process first analyses the smallest file itself
(`warm-up`), and the workers start with its imports parsed and the analysis code imported: on
transformers' modeling files that is the ~45 modules every model imports (modeling_utils.py and the
like, ~2.5 s of parsing) and ~0.6 s of imports, which each worker paid again before. What a file's
analysis makes of its imports (their top levels run, their classes linked) is its own, as in one
process: no state of one file's analysis reaches another's.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import sys
from dataclasses import dataclass
from typing import Optional

from shapels.analysis.gc_quiet import fewer_collections, files_apart, freeze_survivors


@dataclass
class Stats:
    """What the last run did, for tests and the benchmark."""

    files: int = 0
    hits: int = 0  # answered from the cache
    analysed: int = 0
    stored: int = 0  # of those analysed here (workers store their own)
    workers: int = 0  # 0: all in this process
    warmed: int = 0  # files analysed here before the workers were forked (their imports parsed for them)


last_stats = Stats()
MIN_PARALLEL_CHARS = 50_000  # of source to analyse, for the default --jobs to start workers (~0.1 s each)


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def analyse_files(files: list, texts: dict, notebooks: dict, options, strict: bool = False,
                  jobs: Optional[int] = None, use_cache: bool = True, cache_root=None) -> list:
    """analyse_file's outcome for each file, in the order of `files`."""
    from shapels.check_cache import Cache, result_of
    from shapels.notebooks import NotebookError

    global last_stats
    stats = last_stats = Stats(files=len(files))
    cache = Cache(options, strict, cache_root) if use_cache else None
    outcomes: list = [None] * len(files)
    todo = []  # (index, key): not in the cache
    for index, path in enumerate(files):
        notebook = notebooks.get(path)
        key = None
        if cache is not None and not isinstance(notebook, NotebookError):
            key = cache.key(path, texts[path], notebook)
            record = cache.load(key)
            if record is not None:
                outcomes[index] = result_of(record, path, texts[path], notebook)
                stats.hits += 1
                continue
        todo.append((index, key))
    stats.analysed = len(todo)
    if jobs is None:  # one worker per CPU, where there is enough to analyse to pay for starting them
        jobs = default_jobs() if sum(len(texts[files[index]]) for index, _ in todo) >= MIN_PARALLEL_CHARS else 1
    with files_apart():
        if jobs > 1 and len(todo) > 1:
            todo = _in_workers(todo, files, texts, notebooks, options, strict, cache, min(jobs, len(todo)),
                               outcomes)
        for n, (index, key) in enumerate(todo):
            if n:
                freeze_survivors()  # the files before: one collection now, none of their heap again
            path = files[index]
            outcomes[index] = analyse_one(path, texts[path], options, strict, notebooks.get(path), cache, key)
    if cache is not None:
        stats.stored += cache.stored
    return outcomes


def analyse_one(path, text: str, options, strict: bool, notebook, cache, key: Optional[str]):
    """analyse_file, with the import loader's answers recorded and the result kept under `key`."""
    from shapels.check_cache import RecordingLoader, record_of
    from shapels.file_check import analyse_file

    recorder = None
    if key is not None and getattr(options, "loader", None) is not None:
        recorder = RecordingLoader(options.loader)
        options = copy.copy(options)
        options.loader = recorder
    result = analyse_file(path, text, options, strict, notebook)
    if key is not None:
        record = record_of(result)
        if record is not None:
            cache.store(key, record, recorder.answers if recorder is not None else {})
    return result


def _in_workers(todo: list, files: list, texts: dict, notebooks: dict, options, strict: bool, cache,
                workers: int, outcomes: list) -> list:
    """Analyse `todo` in `workers` processes; fill `outcomes`, print the workers' stderr in file order,
    and return what is left (a worker died)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from shapels.check_cache import result_of

    last_stats.workers = workers
    errors: dict = {}
    done: set = set()
    order = sorted(todo, key=lambda item: -len(texts[files[item[0]]]))
    context = _fork_context()
    if context is not None and len(order) > workers:  # warm-up: its parsed imports pass to every worker
        index, key = order.pop()
        path = files[index]
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            outcomes[index] = analyse_one(path, texts[path], options, strict, notebooks.get(path), cache, key)
        errors[index] = stderr.getvalue()
        done.add(index)
        last_stats.warmed = 1
        freeze_survivors()  # before the fork, as CPython advises: the workers' collections skip this heap
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                                 initargs=(options, strict, cache)) as pool:
            futures = [pool.submit(_work, index, files[index], texts[files[index]], notebooks.get(files[index]), key)
                       for index, key in order]
            for future in as_completed(futures):
                try:
                    index, transfer, stderr = future.result()
                except BrokenProcessPool:
                    break
                path = files[index]
                if transfer is not None:
                    outcomes[index] = result_of(transfer, path, texts[path], notebooks.get(path))
                errors[index] = stderr
                done.add(index)
    except (BrokenProcessPool, OSError, NotImplementedError, ImportError):
        pass  # no pool (no semaphores on this system, a worker killed): this process does the rest
    for index in sorted(errors):
        if errors[index]:
            sys.stderr.write(errors[index])
    sys.stderr.flush()
    return [item for item in todo if item[0] not in done]


def _fork_context():
    """multiprocessing's fork context where workers are forked by default or safely can be (Linux: a
    forked worker starts with this process's parsed imports), else None (the platform's default start,
    where a worker shares nothing with this process and a warm-up would only delay it)."""
    import multiprocessing

    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


_worker: dict = {}


def _start_worker(options, strict: bool, cache) -> None:
    _worker.update(options=options, strict=strict, cache=cache)


def _work(index: int, path, text: str, notebook, key: Optional[str]) -> tuple:
    """In a worker: (index, the result's findings/syntax error/partial or None, what it wrote on stderr)."""
    from shapels.check_cache import transfer_of

    stderr = io.StringIO()
    # The file's one collection is freeze_survivors' below. Outside this span, the analysis's end (and
    # each span computed after it, positions.py) restores the default thresholds with its objects still
    # young, and the collections that follow walk them first (~1% of a transformers modeling file).
    with fewer_collections():
        with contextlib.redirect_stderr(stderr):
            result = analyse_one(path, text, _worker["options"], _worker["strict"], notebook, _worker["cache"], key)
        reply = index, None if result is None else transfer_of(result), stderr.getvalue()
        del result
        freeze_survivors()  # this worker's next file: its collections walk only what that file makes
    return reply
