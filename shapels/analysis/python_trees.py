"""Python's own parse (`ast.parse`) of a file's text, shared by the readers of one analysis.

Three readers want a file's `ast` tree: the screen before the libcst parse (limits.py), hasattr's
scan of attribute writes (attribute_writes.py) and the statement spans (positions.py). Each parsed
the text itself: `check` on 59 transformers modeling files ran 251 parses of 129 texts, the analysed
file's three times. The last few trees are kept here, keyed by their text, so that the next reader of
the same text takes the tree the first one built (135 parses). The readers of a text come close
together (the screen, then the analysis's hasattr and spans), so a few trees are enough; a tree costs
~25-35 bytes per character of source, so they are kept up to KEPT_CHARACTERS of source in all (the
largest transformers modeling file has 196,000), and a longer text's tree is not kept. Nor are the
imported files' trees kept for later analyses: of the 135 parses above, 6 were of a text parsed
before (an imported file hasattr's scan read, 30 to 130 texts after its screen), and the trees of
every imported file would stay for the whole process.

A tree is shared: its readers only read it. A failed parse raises as `ast.parse` does, every time.
"""

from __future__ import annotations

import ast
import threading
from collections import OrderedDict

from shapels.analysis.compile_quiet import warnings_silenced

KEPT_CHARACTERS = 200_000

_kept: "OrderedDict[str, ast.Module]" = OrderedDict()  # text -> its tree, the most recently used last
_kept_characters = 0
_lock = threading.Lock()  # the language server analyses in threads


def python_tree(text: str) -> ast.Module:
    """`ast.parse(text)`, with its warnings ignored (an invalid escape sequence is not a finding of
    ours), or the tree already built for the same text. Not to be changed by the caller."""
    with _lock:
        tree = _kept.get(text)
        if tree is not None:
            _kept.move_to_end(text)
            return tree
    with warnings_silenced():
        tree = ast.parse(text)
    _keep(text, tree)
    return tree


def _keep(text: str, tree: ast.Module) -> None:
    global _kept_characters
    if len(text) > KEPT_CHARACTERS:
        return
    with _lock:
        if text in _kept:  # another thread parsed it meanwhile
            return
        _kept[text] = tree
        _kept_characters += len(text)
        while _kept_characters > KEPT_CHARACTERS:
            oldest, _ = _kept.popitem(last=False)
            _kept_characters -= len(oldest)
