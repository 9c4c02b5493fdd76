"""Room on Python's frame stack for an analysis, so that its recursion does not map and unmap memory.

Since 3.11, CPython keeps a thread's Python frames in chunks of a data stack: 16 KiB each, mapped
(mmap) when a call does not fit in the current chunk and unmapped as soon as the frame at the chunk's
base returns. The abstract interpreter recurses a few dozen frames for every call it follows
(eval -> eval_Call -> calls.call -> invoke -> exec_block -> exec_stmt -> ...), up and down across
chunk boundaries all the time: on transformers' modeling files, ~15,000 mmap/munmap pairs per file,
each new chunk's pages faulted in again, ~15% of the CPU time in the kernel (`check` of 538 files:
98 s of system time of 609 s).

`with_stack_room(fn, *args)` calls `fn` from a frame whose code declares a value stack of ~1 MiB that
it never uses: that frame gets a chunk of 2 MiB to itself, and the frames of `fn` and of everything it
calls fill the other half instead of chunks of their own, up to ~5,000 small frames (the default
recursion limit is 1,000). Pages never written are never faulted in, so the unused stack costs no
memory; the chunk is unmapped when `fn` returns. Nothing else changes: the frames, the recursion
limit (counted in frames, not bytes) and the C stack are the same, so are results and exceptions.
Where frames are not kept in chunks (another Python implementation), the call is a plain call.
"""

from __future__ import annotations

from typing import Any, Callable

# Value-stack slots (8 bytes each) of the wrapping frame: just over 1 MiB, so that CPython sizes its
# chunk at the next power of two (2 MiB) and leaves ~1 MiB after it for the frames it calls.
ROOM_SLOTS = 131_072


def _call(fn: Callable, args: tuple) -> Any:
    return fn(*args)


try:
    _call.__code__ = _call.__code__.replace(co_stacksize=ROOM_SLOTS)
except (AttributeError, TypeError, ValueError):  # no such code objects: a plain call
    pass


def with_stack_room(fn: Callable, *args) -> Any:
    """fn(*args), its frames on a data-stack chunk of their own (module docstring)."""
    return _call(fn, args)
