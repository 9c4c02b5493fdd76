"""The collector's thresholds are raised while an analysis runs and always restored after; a batch of
files (`shapels check DIR`) freezes what each file leaves and hands it back at the end."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from shapels.analysis import engine
from shapels.analysis.gc_quiet import ANALYSIS_THRESHOLD, fewer_collections, files_apart, freeze_survivors

from producer_models import LINEAR_PRODUCER_BUG as PRODUCER_BUG


def test_raised_during_an_analysis_and_restored_after_its_trials():
    before = gc.get_threshold()
    seen = []
    real = engine._analyze

    def spy(*args):
        seen.append(gc.get_threshold())
        return real(*args)

    engine._analyze = spy
    try:
        result = engine.analyze(PRODUCER_BUG, "m.py")  # blame is decided by trial analyses, nested
    finally:
        engine._analyze = real
    assert any(f.severity == "error" for f in result.findings)
    assert len(seen) >= 2 and set(seen) == {ANALYSIS_THRESHOLD}
    assert gc.get_threshold() == before


def test_restored_when_the_analysis_raises():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with fewer_collections():
            raise RuntimeError("boom")
    assert gc.get_threshold() == before


def test_overlapping_threads_restore_once_both_are_done():
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def hold():
        with fewer_collections():
            inside.set()
            release.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    inside.wait(10)
    with fewer_collections():
        pass
    assert gc.get_threshold() == ANALYSIS_THRESHOLD  # the other analysis still runs
    release.set()
    other.join(10)
    assert gc.get_threshold() == before


def test_a_batch_freezes_what_each_file_leaves_and_hands_it_back_at_the_end():
    assert gc.get_freeze_count() == 0
    kept = []
    with files_apart():
        kept.append([object() for _ in range(100)])  # what the first file leaves: a parsed import, say
        freeze_survivors()
        assert gc.get_freeze_count() >= 100  # later collections no longer walk it
    assert gc.get_freeze_count() == 0


def test_a_batch_leaves_a_callers_own_freeze_alone():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with files_apart():
            freeze_survivors()
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_freeze_survivors_collects_the_files_cycles_first():
    class Node:
        pass

    collected = []
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle, as an analysis's frames and closures make
    weakref.finalize(a, collected.append, "a")
    del a, b
    with files_apart():
        freeze_survivors()
    assert collected == ["a"]  # freed, not frozen for the rest of the batch


def test_a_workers_file_is_collected_once():
    """A check worker's file: the one collection is freeze_survivors' at its end. Without the raised
    thresholds around the whole file, the analysis's end restored the defaults with its objects young,
    and collections walked them before that one did."""
    from shapels import check_cache, parallel_check  # noqa: F401 - imported before: a first import allocates
    from shapels.analysis.engine import Options

    generations = []

    def seen(phase, info):
        if phase == "start":
            generations.append(info["generation"])

    parallel_check._start_worker(Options(), False, None)
    frozen = gc.get_freeze_count()
    gc.collect()  # as a worker starts each file: its last one's collection left no young objects
    gc.callbacks.append(seen)
    try:
        index, transfer, stderr = parallel_check._work(0, "m.py", PRODUCER_BUG, None, None)
    finally:
        gc.callbacks.remove(seen)
        parallel_check._worker.clear()
        if frozen == 0:
            gc.unfreeze()  # what this test froze goes back to the collector, as files_apart does
    assert index == 0 and transfer is not None and stderr == ""
    assert generations == [2]
