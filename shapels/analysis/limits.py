"""Cheap screening before the libcst parse, which cannot be interrupted once started.

libcst takes ~27 s on a 5,000-term `1+1+...` chain and seconds on a 170 KB line, so such files are
declined up front with a note. The stdlib `ast` costs about a tenth of libcst's parse.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from shapels.analysis.ast_depth import depth_past
from shapels.analysis.python_trees import python_tree

MAX_BYTES = 4_000_000
MAX_LINE = 20_000
MAX_DEPTH = 120


@dataclass
class Screen:
    tree: Optional[ast.Module]
    reason: Optional[str]  # why the file is not analysed, or None


def screen(text: str) -> Screen:
    if len(text) > MAX_BYTES:
        return Screen(None, f"the file has {len(text):,} characters, more than shapels analyses ({MAX_BYTES:,})")
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > MAX_LINE:
        return Screen(None, f"the file has a line of {longest:,} characters (limit {MAX_LINE:,})")
    try:
        tree = python_tree(text)  # the tree the analysis's other readers of this text take
    except RecursionError:
        return Screen(None, "the file nests expressions too deeply to analyse")
    except SyntaxError as error:
        if "too many nested" in str(error.msg):  # libcst would take many seconds to say less
            return Screen(None, f"the file nests expressions too deeply to analyse ({error.msg})")
        return Screen(None, None)  # libcst reports the syntax error itself
    except (ValueError, MemoryError):
        return Screen(None, None)
    depth = depth_past(tree, MAX_DEPTH)
    if depth > MAX_DEPTH:
        return Screen(None, f"the file nests expressions {depth} levels deep (limit {MAX_DEPTH})")
    return Screen(tree, None)


LINES_PER_BUDGET_SECOND = 6000  # libcst parses about 15,000 lines a second here; keep room to interpret


def line_limit(budget_seconds: Optional[float]) -> Optional[int]:
    return None if budget_seconds is None else max(2000, int(budget_seconds * LINES_PER_BUDGET_SECOND))


def statement_prefix(text: str, max_lines: int) -> Optional[str]:
    """The longest prefix of at most `max_lines` lines that ends between top-level statements, so a
    file too long to parse within the budget is still analysed up to there."""
    lines = text.splitlines(keepends=True)
    if len(lines) <= max_lines:
        return None
    cut = max_lines
    for _ in range(50):
        while cut > 0 and (not lines[cut][:1].strip() or lines[cut][:1] in ")]}#@"):
            cut -= 1
        if cut <= 0:
            return ""
        prefix = "".join(lines[:cut])
        try:
            python_tree(prefix)  # kept: the screen of this prefix, the text analysed, reads the same tree
            return prefix
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            cut -= 1
    return ""


STATEMENT_LINES_PER_BUDGET_SECOND = 1500  # one statement is parsed and interpreted in one go


def blank_long_statements(text: str, budget_seconds: Optional[float]) -> tuple:
    """Top-level statements too long to parse and interpret within the budget (a 10,000-layer
    Sequential in one class) are replaced by blank lines, so line numbers stay and the rest is still
    analysed. Returns (text, [(first line, last line, what)])."""
    if budget_seconds is None:
        return text, []
    cap = max(1000, int(budget_seconds * STATEMENT_LINES_PER_BUDGET_SECOND))
    if text.count("\n") <= cap:
        return text, []
    try:
        tree = python_tree(text)  # kept: where nothing is blanked, the screen reads the same text
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text, []
    long = [n for n in tree.body if (n.end_lineno or n.lineno) - n.lineno + 1 > cap]
    if not long:
        return text, []
    lines = text.splitlines(keepends=True)
    skipped = []
    for node in long:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        last = node.end_lineno or node.lineno
        for i in range(first - 1, last):
            lines[i] = "\n"
        what = f"{type(node).__name__.replace('Def', '').lower()} {node.name}" if hasattr(node, "name") else "a statement"
        skipped.append((first, last, what))
    return "".join(lines), skipped
