"""Python's warnings, silenced for `ast.parse` of the user's text, are put back as they were whatever
threads overlap (shapels/analysis/compile_quiet.py)."""

from __future__ import annotations

import threading
import time
import warnings

from shapels.analysis.compile_quiet import warnings_silenced


def test_silenced_warnings_leave_the_filters_as_they_were_when_threads_overlap():
    before = list(warnings.filters)
    first_inside, release_first, release_second = threading.Event(), threading.Event(), threading.Event()

    def first():
        with warnings_silenced():
            first_inside.set()
            release_first.wait(10)

    def second():
        with warnings_silenced():  # waits for the first: entered alongside, it would leave after it
            release_second.wait(10)

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    first_inside.wait(10)
    two.start()
    time.sleep(0.2)  # the second reaches its `with` while the first is inside
    release_first.set()
    one.join(10)
    release_second.set()
    two.join(10)
    assert warnings.filters == before  # not the first one's "ignore" left in place for good
