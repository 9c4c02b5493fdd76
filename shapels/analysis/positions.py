"""Source positions for libcst nodes, resolved lazily one function (or statement) at a time.

libcst's PositionProvider over a whole module costs about twice the parse. The engine only needs
positions inside the functions it interprets (forward, __init__, drivers), so it resolves each such
"unit" alone, as a one-statement module, and shifts the result by the unit's first line and
indentation, which the stdlib `ast` (a tenth of libcst's parse cost) tells us.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider


@dataclass(frozen=True)
class Loc:
    """A node inside a unit; resolved to a range only when someone asks."""

    unit: cst.CSTNode
    node: cst.CSTNode


@dataclass(frozen=True)
class Span:
    """1-based lines, 0-based code-point columns (libcst's convention)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


class Positions:
    def __init__(self, module: cst.Module, text: str):
        self._module = module
        self._text = text
        self._anchors: Optional[dict] = None
        self._resolved: dict[int, dict] = {}
        self._whole: Optional[dict] = None

    def span(self, loc: Optional[Loc]) -> Optional[Span]:
        if loc is None:
            return None
        rng = self._range(loc)
        if rng is None:
            return None
        return Span(rng.start.line, rng.start.column, rng.end.line, rng.end.column)

    def _range(self, loc: Loc) -> Optional[CodeRange]:
        table = self._unit_table(loc.unit)
        if table is not None and loc.node in table:
            return table[loc.node]
        whole = self._whole_table()
        return whole.get(loc.node)

    def _unit_table(self, unit: cst.CSTNode) -> Optional[dict]:
        key = id(unit)
        if key in self._resolved:
            return self._resolved[key]
        anchor = self._anchor_map().get(key)
        if anchor is None or not isinstance(unit, cst.BaseStatement):
            self._resolved[key] = None
            return None
        row, col = anchor
        wrapper = MetadataWrapper(
            self._module.with_changes(body=[unit], header=[], footer=[]), unsafe_skip_copy=True
        )
        raw = wrapper.resolve(PositionProvider)
        start = raw[unit].start
        drow, dcol = row - start.line, col - start.column
        table = {
            node: CodeRange(
                start=type(r.start)(r.start.line + drow, r.start.column + dcol),
                end=type(r.end)(r.end.line + drow, r.end.column + dcol),
            )
            for node, r in raw.items()
        }
        self._resolved[key] = table
        return table

    def _whole_table(self) -> dict:
        if self._whole is None:
            self._whole = dict(MetadataWrapper(self._module, unsafe_skip_copy=True).resolve(PositionProvider))
        return self._whole

    def _anchor_map(self) -> dict:
        """id(libcst statement) -> (first line, column), for top-level and class-body statements."""
        if self._anchors is None:
            self._anchors = {}
            try:
                tree = ast.parse(self._text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return self._anchors
            self._pair(self._module.body, tree.body)
        return self._anchors

    def _pair(self, cst_body, ast_body) -> None:
        i = 0
        for stmt in cst_body:
            if isinstance(stmt, cst.SimpleStatementLine):
                count = len(stmt.body)
                group = ast_body[i : i + count]
                i += count
                if group:
                    self._anchors[id(stmt)] = (group[0].lineno, group[0].col_offset)
                continue
            if i >= len(ast_body):
                return
            node = ast_body[i]
            i += 1
            # libcst's range of a decorated def starts at `def`, as ast's lineno does.
            self._anchors[id(stmt)] = (node.lineno, node.col_offset)
            inner = getattr(stmt, "body", None)
            if isinstance(stmt, (cst.ClassDef, cst.FunctionDef, cst.If, cst.With)) and isinstance(
                inner, cst.IndentedBlock
            ):
                self._pair(inner.body, node.body)
