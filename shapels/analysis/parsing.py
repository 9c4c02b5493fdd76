"""libcst's parse of a whole file, without re-validating the nodes its own parser builds.

Every libcst node checks itself when constructed (`CSTNode.__post_init__` calls `_validate`), also
the nodes the native parser builds from source it has just accepted. On large model files that is
about a sixth to a quarter of the parse. libcst's own comment on that hook says as much: moving
validation out of construction "would allow us to avoid validating the tree when parsing a file".
The analysis parses with the hook switched off for the duration of the parse; the tree is the same
(tests compare `deep_equals` and the round-tripped code on the corpus files). If libcst changes the
hook, the stock parse is used.
"""

from __future__ import annotations

import threading

import libcst as cst

try:
    from libcst._nodes.base import CSTNode
except ImportError:  # a libcst without this layout: parse as it is
    CSTNode = None

_VALIDATE_HOOK = CSTNode.__dict__.get("__post_init__") if CSTNode is not None else None
_SWITCH = threading.Lock()  # the hook is class-wide: one unvalidated parse at a time


# The hook's replacement during the parse: a callable that takes no argument and does nothing (the
# dataclass __init__ calls `self.__post_init__()` and drops its result). The `tuple` type: fetched
# from the class it is not bound to the node (a type is no descriptor), and `tuple()` returns the one
# empty tuple. A Python function instead would run a frame for every node (14,500 on efficientnet:
# 1.8 M of the parse's 335 M instructions).
_NO_VALIDATION = tuple


def parse_module(text: str) -> cst.Module:
    """`libcst.parse_module(text)`, the same tree and the same errors, with validation skipped."""
    if _VALIDATE_HOOK is None:
        return cst.parse_module(text)
    with _SWITCH:
        CSTNode.__post_init__ = _NO_VALIDATION
        try:
            return cst.parse_module(text)
        finally:
            CSTNode.__post_init__ = _VALIDATE_HOOK
