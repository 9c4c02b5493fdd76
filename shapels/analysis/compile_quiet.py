"""Python's own compiler (`ast.parse`, `compile`) on the user's text, with its warnings silenced.

An invalid escape sequence in the user's file is not a finding of ours, so the warnings are ignored for
the duration. Nothing heavy is imported here: the notebook reader uses it too, before any analysis.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from typing import Iterator

_WARNING_FILTERS = threading.Lock()


@contextmanager
def warnings_silenced() -> Iterator:
    """`warnings.catch_warnings()` with every warning ignored. One thread at a time: catch_warnings saves
    the process-wide filter list on entry and puts it back on exit, so two threads that overlap (the
    language server analyses in threads) and leave in the other order would put back the first one's
    "ignore" for good, and the server would never show a warning again."""
    with _WARNING_FILTERS, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
