"""Source positions for libcst nodes, from one light code-generation pass per document.

libcst's PositionProvider costs about twice the parse (it builds CodePosition objects for every
node and a deep copy). This pass runs libcst's own code generation with a state that only counts
lines and columns and keeps plain tuples: the same ranges (checked in the tests against
PositionProvider) at about a fifth of its cost. It runs lazily, the first time a position is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import libcst as cst
from libcst._nodes.internal import CodegenState  # the hook libcst's own position provider uses


class Loc:
    """A node inside a unit (the function or top-level statement it was interpreted in).

    Never changed after construction; equal and hashed by the identity of (unit, node), as libcst
    nodes compare. A plain slotted class: a frozen dataclass pays for object.__setattr__ on each of
    the tens of thousands built in one run."""

    __slots__ = ("unit", "node", "env")

    def __init__(self, unit: cst.CSTNode, node: cst.CSTNode, env: Any = None):
        self.unit = unit
        self.node = node
        self.env = env  # the names in scope where an argument was written (fixes that name a variable)

    def __eq__(self, other):
        if other.__class__ is not Loc:
            return NotImplemented
        return self.unit is other.unit and self.node is other.node

    def __hash__(self):
        return hash((id(self.unit), id(self.node)))

    def __repr__(self) -> str:  # the nodes' own reprs print whole trees
        return f"Loc({type(self.node).__name__})"


@dataclass(frozen=True)
class Span:
    """1-based lines, 0-based code-point columns (libcst's convention)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


class _Record:
    """`record_syntactic_position` as a plain context manager (a generator one costs more)."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state, node, start_node, end_node):
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self):
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *exc):
        state = self.state
        table = state.table
        start = table[self.start_node][:2] if self.start_node is not None else self.start
        end = table[self.end_node][2:] if self.end_node is not None else (state.line, state.column)
        table[self.node] = start + end
        return False


class _CountingState(CodegenState):
    """Generates no text: counts lines and columns, and records each node's range as a tuple."""

    def __init__(self, default_indent: str, default_newline: str):
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        self.line, self.column = 1, 0
        self.table: dict = {}
        self._stack: list = []

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.column += len(token)

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            parts = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            self.line += len(parts) - 1
            self.column = len(parts[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node) -> None:
        self._stack.append((self.line, self.column))

    def after_codegen(self, node) -> None:
        start = self._stack.pop()
        if node not in self.table:  # a syntactic range, recorded inside, wins
            self.table[node] = start + (self.line, self.column)

    def pop_trailing_newline(self) -> None:
        pass

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        return _Record(self, node, start_node, end_node)


def node_ranges(module: cst.Module) -> dict:
    """node -> (start line, start column, end line, end column), as PositionProvider gives them."""
    state = _CountingState(module.default_indent, module.default_newline)
    module._codegen(state)
    return state.table


class Positions:
    def __init__(self, module: cst.Module):
        self._module = module
        self._table: Optional[dict] = None

    def span(self, loc: Optional[Loc]) -> Optional[Span]:
        return self.node_span(loc.node) if loc is not None else None

    def node_span(self, node: cst.CSTNode) -> Optional[Span]:
        if self._table is None:
            self._table = node_ranges(self._module)
        r = self._table.get(node)
        return Span(*r) if r is not None else None
