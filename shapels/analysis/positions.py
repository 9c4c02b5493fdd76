"""Source positions for libcst nodes, from one light code-generation pass per document.

libcst's PositionProvider costs about twice the parse (it builds CodePosition objects for every
node and a deep copy). This pass runs libcst's own code generation with a state that only counts
lines and columns and keeps plain tuples: the same ranges (checked in the tests against
PositionProvider) at about a fifth of its cost. It runs lazily, the first time a position is asked.

Where only statements' spans are asked (`shapels check`: each module class and its forward), the
pass runs over a few lines of each instead, started at the line Python's `ast` gives it
(`Positions`, `_StatementPlaces`): the same ranges (checked in the tests against the whole pass).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Optional

import libcst as cst
from libcst._nodes.internal import CodegenState  # the hook libcst's own position provider uses

from shapels.analysis.gc_quiet import fewer_collections
from shapels.analysis.python_trees import python_tree


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
    # a tuple per node, usually asked after an analysis, whose objects fill the heap: at the default
    # thresholds the collector walks it again and again (4x the pass's own cost on transformers' files)
    with fewer_collections():
        module._codegen(state)
    return state.table


class Positions:
    """Spans of a module's nodes, computed when first asked.

    `shapels check` asks few: its findings' and the spans of each module class and its forward. Those
    of statements (a class, a def, a line of simple statements: any statement of a block) come from a
    code generation of the statement's first lines and of the last line it holds, started where
    Python's own parser (`ast`, in C) puts it (`_StatementPlaces`). Any other node, or a statement
    that cannot be placed so (a file `ast` cannot parse, a disagreement with it), takes the pass over
    the whole module (`node_ranges`), once; after it every span is a look-up. A statement that is
    none of the module's (a forward a class inherits from another file) has no span, as that pass
    would say, without it. `text` is the module's source (without it, the whole pass only)."""

    def __init__(self, module: cst.Module, text: Optional[str] = None):
        self._module = module
        self._table: Optional[dict] = None
        self._places: Optional[_StatementPlaces] = None
        self._text = text  # None: no per-statement spans (not given, or given up on)
        self._known: dict = {}  # ranges found by per-statement passes

    def expect_many(self) -> None:
        """Many spans of all kinds are coming (the modules' reports: every name and layer call, for
        hover and inlay hints): the whole pass now, so that no per-statement pass runs before it for
        nothing."""
        if self._table is None:
            self._table = node_ranges(self._module)

    def span(self, loc: Optional[Loc]) -> Optional[Span]:
        return self.node_span(loc.node) if loc is not None else None

    def node_span(self, node: cst.CSTNode) -> Optional[Span]:
        if self._table is None:
            r = self._known.get(node)
            if r is None:
                r = self._statement_range(node)
            if r is _ABSENT:
                return None
            if r is not None:
                return Span(*r)
            self._table = node_ranges(self._module)
        r = self._table.get(node)
        return Span(*r) if r is not None else None

    def _statement_range(self, node):
        """The node's range from passes over its statement alone; _ABSENT: a statement, not of this
        module (another file's: a forward a class inherits); None: not a statement of a block, or no
        per-statement pass for this module."""
        if self._text is None or not isinstance(node, cst.BaseStatement):
            return None
        try:
            with fewer_collections():  # as node_ranges: ast's tree, the passes' tuples
                if self._places is None:
                    self._places = _StatementPlaces(self._module, self._text)
                return self._places.statement_range(node, self._known)
        except Exception:  # noqa: BLE001 - anything unexpected: the whole pass, as before
            self._text, self._known = None, {}
            return None


# -- per-statement spans -----------------------------------------------------------------------------
_ABSENT = object()  # a statement that is none of this module's


class _Stop(Exception):
    """Ends a partial code generation where it has what was asked."""


class _Mismatch(Exception):
    """libcst's statements and `ast`'s do not pair up as expected: no per-statement spans."""


class _StartState(_CountingState):
    """Counts only up to where `target`'s own range starts (after its leading lines and decorators)."""

    def __init__(self, default_indent: str, default_newline: str, target):
        super().__init__(default_indent, default_newline)
        self.target = target

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        if node is self.target:
            raise _Stop
        return _Record(self, node, start_node, end_node)


_AST_COMPOUND = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.Match: (ast.Match,),
}
if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):
    _AST_COMPOUND[cst.TryStar] = (ast.TryStar,)
_AST_COMPOUND_TYPES = tuple(t for types in _AST_COMPOUND.values() for t in types)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line ends `ast` counts (not str.splitlines' \f, \v, \x1c, ...)


class _StatementPlaces:
    """Where each statement of a block (the module's, a class's, a function's, an if's...) starts its
    code generation: the line of its first token in `ast`'s parse, less its leading lines (comments and
    blank lines that libcst keeps in the statement), under the indentation of the blocks around it.
    libcst's statements pair with `ast`'s in order: a line of simple statements with as many of
    `ast`'s as it holds (`a; b`), a compound statement with one of the same kind, whose blocks pair
    in turn. Each placed statement is checked against `ast` where its range is generated; a file
    `ast` cannot parse, or any disagreement, raises, and its caller falls back to the whole-module
    pass. Every statement of the module is recorded (libcst keeps statements only in blocks and as
    `elif`s), so a statement that is not is another file's: its span is None, as the whole pass
    would say, without that pass."""

    def __init__(self, module: cst.Module, text: str):
        self.module = module
        self.text = text
        self.ascii = text.isascii()
        self._lines: Optional[list] = None
        # mostly the tree the screen built for this text; only positions are kept after the pairing
        tree = python_tree(text)
        # every statement of the module -> (codegen's first line, indent tokens, ast's start, ast's end
        # or None: both (line, UTF-8 byte offset), the end only for lines of simple statements), or
        # None where it is not placed (an elif)
        self.places: dict = {}
        self._place_block(module.body, tree.body, ())

    # -- pairing libcst's statements with ast's
    def _place_block(self, body, ast_body: list, indents: tuple) -> None:
        i = 0
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                group = ast_body[i:i + len(stmt.body)]
                i += len(stmt.body)
                if not group or len(group) != len(stmt.body) or any(isinstance(a, _AST_COMPOUND_TYPES) for a in group):
                    raise _Mismatch(stmt)
                first, last = group[0], group[-1]
                self.places[stmt] = (first.lineno - len(stmt.leading_lines), indents, (first.lineno, first.col_offset),
                                     (last.end_lineno, last.end_col_offset))
                continue
            if i >= len(ast_body) or not isinstance(ast_body[i], _AST_COMPOUND.get(type(stmt), ())):
                raise _Mismatch(stmt)
            a = ast_body[i]
            i += 1
            decorators = getattr(a, "decorator_list", None)
            first = decorators[0].lineno if decorators else a.lineno
            self.places[stmt] = (first - len(stmt.leading_lines), indents, (a.lineno, a.col_offset), None)
            for block, ast_block, outer in self._blocks(stmt, a):
                if isinstance(block, cst.IndentedBlock):  # (a suite on the header's line holds no statement)
                    inner = tuple(self.module.default_indent if indent is None else indent
                                  for indent in outer + (block.indent,))
                    self._place_block(block.body, ast_block, indents + inner)
        if i != len(ast_body):
            raise _Mismatch(body)

    def _blocks(self, stmt, a) -> list:
        """(libcst suite, ast statement list, the indentation libcst adds between the statement and the
        suite: a match's, for its cases) of each block of a compound statement. An `elif` is a statement
        of libcst's outside any block: recorded as one of this module's, unplaced."""
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)):
            return [(stmt.body, a.body, ())]
        if isinstance(stmt, (cst.If, cst.For, cst.While)):
            blocks = [(stmt.body, a.body, ())]
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):  # elif: ast's orelse is that one if
                if len(a.orelse) != 1 or not isinstance(a.orelse[0], ast.If):
                    raise _Mismatch(orelse)
                self.places[orelse] = None
                blocks += self._blocks(orelse, a.orelse[0])
            elif orelse is not None:
                blocks.append((orelse.body, a.orelse, ()))
            return blocks
        if isinstance(stmt, cst.Match):
            if len(stmt.cases) != len(a.cases):
                raise _Mismatch(stmt)
            return [(case.body, ast_case.body, (stmt.indent,)) for case, ast_case in zip(stmt.cases, a.cases)]
        # try (and try*): body, handlers, else, finally
        if len(stmt.handlers) != len(a.handlers):
            raise _Mismatch(stmt)
        blocks = [(stmt.body, a.body, ())] + [(h.body, ah.body, ()) for h, ah in zip(stmt.handlers, a.handlers)]
        if stmt.orelse is not None:
            blocks.append((stmt.orelse.body, a.orelse, ()))
        if stmt.finalbody is not None:
            blocks.append((stmt.finalbody.body, a.finalbody, ()))
        return blocks

    # -- ranges
    def statement_range(self, stmt, known: dict):
        """stmt's range; None where it cannot be placed (an elif), _ABSENT where it is no statement of
        this module (another file's: a forward a class inherits); the ranges the passes found go into
        `known`."""
        place = self.places.get(stmt, _ABSENT)
        if place is None or place is _ABSENT:
            return place
        if isinstance(stmt, cst.SimpleStatementLine):
            return self._line_range(stmt, known)
        return self._start(stmt) + self._end(stmt, known)

    def _generate(self, stmt, state: _CountingState) -> _CountingState:
        line, indents = self.places[stmt][:2]
        state.line = line
        state.indent_tokens = list(indents)
        stmt._codegen(state)
        return state

    def _new_state(self) -> _CountingState:
        return _CountingState(self.module.default_indent, self.module.default_newline)

    def _line_range(self, stmt: cst.SimpleStatementLine, known: dict) -> tuple:
        """A line of simple statements (with its leading lines), generated alone; checked against ast."""
        table = self._generate(stmt, self._new_state()).table
        r = table[stmt]
        _, _, start, end = self.places[stmt]
        if r[:2] != self._column(start) or r[2:] != self._column(end):
            raise _Mismatch(stmt)
        known.update(table)
        return r

    def _start(self, stmt) -> tuple:
        """Where a compound statement's range starts (its keyword), from a pass over its leading lines
        and decorators only; checked against ast's start, which counts neither."""
        state = _StartState(self.module.default_indent, self.module.default_newline, stmt)
        try:
            self._generate(stmt, state)
        except _Stop:
            start = (state.line, state.column)
            if start != self._column(self.places[stmt][2]):
                raise _Mismatch(stmt) from None
            return start
        raise _Mismatch(stmt)  # its range never started

    def _end(self, stmt, known: dict) -> tuple:
        """Where a compound statement's range ends: where its last block's last statement ends, as
        libcst records it (its `end_node`s). Followed down to the last line of simple statements,
        which is generated alone; a block on the header's line (`else: pass`), or statements left
        unplaced (a match's), take a pass over the deepest placed statement on the way."""
        owner = stmt
        while True:
            part = _end_node(owner)
            while not isinstance(part, cst.BaseSuite):
                part = _end_node(part)
            last = part.body[-1] if isinstance(part, cst.IndentedBlock) and part.body else None
            if last is None or self.places.get(last) is None:
                table = self._generate(owner, self._new_state()).table
                if table[owner][:2] != self._column(self.places[owner][2]):
                    raise _Mismatch(owner)
                known.update(table)
                return table[owner][2:]
            if isinstance(last, cst.SimpleStatementLine):
                return self._line_range(last, known)[2:]
            owner = last

    def _column(self, where: tuple) -> tuple:
        """ast's (line, UTF-8 byte offset) as libcst's (line, code-point column)."""
        line, offset = where
        if self.ascii:
            return where
        if self._lines is None:
            self._lines = _LINE_BREAK.split(self.text)
        return line, len(self._lines[line - 1].encode("utf-8")[:offset].decode("utf-8"))


def _end_node(node):
    """The child whose range ends a compound statement's or clause's range, as its libcst codegen
    records it (`record_syntactic_position(self, end_node=...)`)."""
    if isinstance(node, _ENDS_WITH_BODY):
        return node.body
    if isinstance(node, (cst.If, cst.For, cst.While)):
        return node.body if node.orelse is None else node.orelse
    if isinstance(node, _TRY_TYPES):
        end = node.handlers[-1] if node.handlers else node.body
        end = end if node.orelse is None else node.orelse
        return end if node.finalbody is None else node.finalbody
    if isinstance(node, cst.Match):
        return node.cases[-1]
    raise _Mismatch(node)


_ENDS_WITH_BODY = tuple(t for t in (cst.FunctionDef, cst.ClassDef, cst.With, cst.Else, cst.ExceptHandler, cst.Finally,
                                    cst.MatchCase, getattr(cst, "ExceptStarHandler", None)) if t is not None)
_TRY_TYPES = tuple(t for t in (cst.Try, getattr(cst, "TryStar", None)) if t is not None)
