"""The collector's thresholds are raised while an analysis runs and always restored after."""

from __future__ import annotations

import gc
import threading

import pytest

from shapels.analysis import engine
from shapels.analysis.gc_quiet import ANALYSIS_THRESHOLD, fewer_collections

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
