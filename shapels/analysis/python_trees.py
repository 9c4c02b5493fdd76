"""Python's own parse (`ast.parse`) of a file's text, shared by the readers of one analysis.

Three readers want a file's `ast` tree: the screen before the libcst parse (limits.py), hasattr's
scan of attribute writes (attribute_writes.py) and the statement spans (positions.py). Each parsed
the text itself: `check` on 59 transformers modeling files ran 251 parses of 129 texts, the analysed
file's three times. The tree of the last call is kept here with its text, so that the next reader of
the same text takes the tree the first one built: the analysis's hasattr and spans mostly follow
its screen with no other file screened between (check on those 59 files: 143 parses).

One tree only. Kept trees cost more than their memory: the collector walks them at each collection
while they live. With the last trees of up to 200,000 characters of source kept (135 parses on the
59 files), the collections on 3 files (s3) cost 100 M instructions more, more than the parses
saved; the imported files' trees, screened one after the other, are rarely read again soon (6 of
those 135 parses, each 30 to 130 texts after the screen). A text of more than KEPT_CHARACTERS (a
tree costs ~25-35 bytes a character) is not kept.

A tree is shared: its readers only read it. A failed parse raises as `ast.parse` does, every time.
"""

from __future__ import annotations

import ast

from shapels.analysis.compile_quiet import warnings_silenced

KEPT_CHARACTERS = 500_000

_last: tuple = ("", None)  # (text, its tree) of the last call: one tuple, replaced whole, for threads


def python_tree(text: str) -> ast.Module:
    """`ast.parse(text)`, with its warnings ignored (an invalid escape sequence is not a finding of
    ours), or the tree of the last call if it was for the same text. Not to be changed by the caller."""
    global _last
    last_text, last_tree = _last
    if last_tree is not None and last_text == text:
        return last_tree
    with warnings_silenced():
        tree = ast.parse(text)
    _last = (text, tree) if len(text) <= KEPT_CHARACTERS else ("", None)
    return tree
