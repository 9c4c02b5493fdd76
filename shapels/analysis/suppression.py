"""The suppression comment, read in one place by the engine, the CLI's notes and the editor's
"Ignore on this line" action, so that they agree on what a comment silences:

    # shapels: ignore              every finding on the line
    # shapels: ignore[a, b]        the findings with code a or b
    # shapels: ignore[]            nothing: the list names no code

An empty list silences nothing rather than everything: a list says "only these", and a list left
empty (or emptied by hand) must not hide every error on the line. The editor's action fills it in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

_COMMENT = re.compile(r"#\s*shapels:\s*ignore\b(?:\[([^\]\n]*)\])?")


@dataclass(frozen=True)
class Suppression:
    codes: Optional[tuple]  # the codes named, in order; None for a bare `ignore` (every code)
    start: int  # the comment's columns in its line, for an edit that rewrites it
    end: int

    def silences(self, code: str) -> bool:
        return self.codes is None or code in self.codes


def suppression_in(line: str) -> Optional[Suppression]:
    """The suppression comment on this line of source, if any."""
    match = _COMMENT.search(line)
    if match is None:
        return None
    listed = match.group(1)
    codes = None if listed is None else tuple(c.strip() for c in listed.split(",") if c.strip())
    return Suppression(codes, match.start(), match.end())


def silenced(line: str, code: str) -> bool:
    """Whether this line's comment silences findings of `code`."""
    found = suppression_in(line)
    return found is not None and found.silences(code)


def comment_for(codes: tuple) -> str:
    """The comment that silences exactly these codes."""
    return f"# shapels: ignore[{', '.join(codes)}]"
