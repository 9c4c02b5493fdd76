"""Free memory handed back to the operating system after an analysis, in a long-lived process.

CPython asks the C library's malloc for every object bigger than its own 512-byte blocks (dict
tables, lists, long strings), and glibc's malloc keeps the pages an analysis freed for later use
instead of returning them. So a language server's resident memory ratchets up with each analysis
of a large file: the 1,000-line file of benchmarks/bench_lsp.py leaves ~20 MB of free pages
behind each time, enough to take the server past its 150 MB target with 20 files open.
`malloc_trim(0)` returns them (about 2.5 ms after that file). Where there is no glibc (macOS,
Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Callable, Optional

_UNSET = object()
_trim: object = _UNSET  # glibc's malloc_trim, None where there is none; looked up on first use


def _malloc_trim() -> Optional[Callable]:
    global _trim
    if _trim is _UNSET:
        _trim = None
        if sys.platform.startswith("linux"):
            try:
                function = ctypes.CDLL(None).malloc_trim  # the process's own C library
            except (OSError, AttributeError):  # not glibc
                function = None
            if function is not None:
                function.argtypes, function.restype = [ctypes.c_size_t], ctypes.c_int
                _trim = function
    return _trim


def release_free_memory() -> bool:
    """Give the C heap's free pages back to the operating system; False where that cannot be done."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
