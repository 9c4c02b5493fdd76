"""Fewer garbage collections while an analysis runs.

Parsing and interpreting allocate hundreds of thousands of short-lived objects, and Python's cyclic
collector, at its default thresholds, walks the growing heap again and again meanwhile (5-15% of an
analysis). Like mypy, we raise the youngest generation's threshold for the duration and restore it
after. Process-wide, so the outermost analysis (of any thread) sets and restores it.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

ANALYSIS_THRESHOLD = (50_000, 20, 20)

_lock = threading.Lock()
_depth = 0
_saved: tuple = ()


@contextmanager
def fewer_collections():
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*ANALYSIS_THRESHOLD)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
