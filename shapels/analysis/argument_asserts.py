"""Which of a constructor call's arguments an `assert` in `__init__` reads.

`ViT(image_size=32, patch_size=6)` fails `assert image_height % patch_height == 0` in `ViT.__init__`:
the assert is the class's contract, stated by its author; what breaks it is the arguments the caller
wrote. The person to edit is the caller, so the failure is shown at the call. That holds only where
the assert reads nothing but the constructor's parameters (directly, or through names and `self.`
attributes the constructor computed from them before the assert): a size read from a tensor, a global
state or an attribute set elsewhere may be what is wrong instead, and the assert's own line stays the
place then.

The same reading of a function's assignments answers two questions the fixes ask (repair.py, calls.py):
whether an argument only renames a parameter (`parameter_alias`: fixed where the caller wrote it), and
whether it is computed from the parameters at all (`reads_parameters`: no number is written over it).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.positions import Loc
from shapels.values import Tensor


def arguments_read(test: cst.BaseExpression, unit: cst.CSTNode, env: dict, param_locs: dict) -> Optional[dict]:
    """{parameter: where the caller wrote its argument} for the parameters the assert reads, when it
    reads only parameters (and constants) of `__init__` and the caller wrote at least one of them;
    else None."""
    read = parameters_read(test, unit, env)
    written = {name: param_locs[name] for name in sorted(read) if name in param_locs} if read is not None else None
    return written or None


def parameters_read(test: cst.BaseExpression, unit: cst.CSTNode, env: dict) -> Optional[set]:
    """The `__init__` parameters (none of them a tensor) an expression in it reads, where it reads nothing
    else but constants; else None."""
    if not isinstance(unit, cst.FunctionDef) or unit.name.value != "__init__":
        return None
    params = {p.name.value for p in list(unit.params.posonly_params) + list(unit.params.params)
              + list(unit.params.kwonly_params)}
    sources = _assignments_before(unit, test)
    read: set = set()
    if not _leaves(test, sources, params, read, set()):
        return None
    if any(isinstance(env.get(name), Tensor) for name in read):
        return None  # a tensor's sizes are the input's question, not the hyperparameters'
    return read


def parameter_alias(expr: cst.BaseExpression, unit: cst.CSTNode) -> Optional[str]:
    """The parameter a name stands for where it is only another name for it: `input_channels = channels`
    (or `self.input_channels = channels`), the one assignment of that name in the function; else None."""
    if _name_of(expr) is None or not isinstance(unit, cst.FunctionDef):
        return None
    params, sources = _renamings(unit)
    for _ in range(MAX_ALIASES):
        name = _name_of(expr)
        if name is None:
            return None
        if name in params and name not in sources:
            return name
        values = sources.get(name, [])
        if len(values) != 1:
            return None
        expr = values[0]
    return None


@functools.lru_cache(maxsize=256)
def _renamings(unit: cst.FunctionDef) -> tuple:
    """(the function's parameters, every name's assignments in it), read once per function: a layer's
    arguments are traced on every construction the interpreter runs."""
    return _parameters(unit), _assignments_before(unit, None)


def reads_parameters(expr: cst.BaseExpression, unit: cst.CSTNode, env: Optional[dict]) -> bool:
    """Whether the value of `expr`, written in function `unit`, is computed from the function's own
    parameters other than tensors (directly, or through names and `self.` attributes assigned from them
    before it): then it differs from one call of the function to the next, and a number in its place
    would fit only the call analysed."""
    params = _parameters(unit)
    if not params:
        return False
    sources = _assignments_before(unit, expr)
    pending, seen = list(_names_read(expr)), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in params and not isinstance((env or {}).get(name), Tensor):
            return True
        for value in sources.get(name, []):
            pending.extend(_names_read(value))
    return False


MAX_ALIASES = 8  # `a = b`, `b = c`, ...: a chain of plain renamings followed back to a parameter


def _parameters(unit: cst.CSTNode) -> set:
    if not isinstance(unit, cst.FunctionDef):
        return set()
    params = unit.params
    return {p.name.value for p in list(params.posonly_params) + list(params.params) + list(params.kwonly_params)} - {"self"}


def _name_of(expr: cst.BaseExpression) -> Optional[str]:
    """`a` or `self.a`, as `_names_read` spells them; None for anything else."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return f"self.{expr.attr.value}"
    return None


MAX_LIFTS = 4  # constructors nested in constructors, climbed to the arguments' author


def lift_to_authors(written: dict, caller) -> dict:
    """`Attention(dim=layer_dim, ...)` inside `MaxViT.__init__`, where `layer_dim` is computed from MaxViT's
    own `dim`: the arguments are lifted to MaxViT's caller, who wrote `dim=31`, as long as each argument
    expression reads only the enclosing constructor's parameters; otherwise they stay where they are."""
    for _ in range(MAX_LIFTS):
        here = {name: loc for name, loc in written.items() if caller is not None and loc.unit is caller.unit}
        if not here:
            return written  # each already traced to its author (a bare parameter passed on), or no caller
        lifted = {name: loc for name, loc in written.items() if name not in here}
        for loc in here.values():
            above = arguments_read(loc.node, caller.unit, caller.env, caller.param_locs)
            if above is None:
                return written
            lifted.update(above)
        written, caller = lifted, caller.caller
    return written


def call_holding(unit: cst.CSTNode, locs: list) -> Optional[Loc]:
    """The call in `unit` whose arguments are all these locations' nodes: where to show them together."""
    wanted = {id(loc.node) for loc in locs if loc.unit is unit}
    if len(wanted) != len(locs):
        return None
    finder = _CallFinder(wanted)
    unit.visit(finder)
    return Loc(unit, finder.found) if finder.found is not None else None


def _leaves(node: cst.CSTNode, sources: dict, params: set, read: set, seen: set) -> bool:
    """Collect into `read` the parameters `node` depends on; False where it depends on anything else."""
    for name in _names_read(node):
        if name in seen:
            continue
        seen.add(name)
        if name in sources:
            if not all(_leaves(value, sources, params, read, seen) for value in sources[name]):
                return False
        elif name in params and name != "self":
            read.add(name)
        elif name.startswith("self."):
            return False  # set outside this constructor (or a base's): not only the caller's arguments
        # other names are module-level constants or functions (`pair`): the caller cannot change them
    return True


def _names_read(node: cst.CSTNode) -> Iterator[str]:
    """`a`, and `self.b` as one name; a called function's own name is not read."""
    reader = _Reader()
    node.visit(reader)
    return iter(reader.names)


def _assignments_before(unit: cst.FunctionDef, test: Optional[cst.BaseExpression]) -> dict:
    """name (or `self.attr`) -> the expressions assigned to it in the constructor's top-level statements
    before the assert. A name assigned in a branch or loop may hold another value: its expression is
    still read, and a branch on an unknown makes the assert's own analysis uncertain anyway.
    `[Attention(dim=d) for d in dims]`: a comprehension's variable anywhere in the body follows its
    iterable (after the assignments), wherever the assert is.

    One walk over the body's fields, not a libcst visitor: libcst's `visit` rebuilds (and validates)
    every node it passes, which cost ~15 ms a constructor, 15-25% of a driver run on maxvit, swin
    and efficientnet. Assignments are read in libcst's visiting order up to `test` (`_CHILD_FIELDS`);
    the order of one name's expressions decides nothing (every reader follows all of them, or asks
    whether there is exactly one)."""
    sources: dict = {}
    comprehensions: dict = {}
    stack = [(unit.body, False)]  # (node, inside a nested def, class or lambda)
    pop, push = stack.pop, stack.append
    assigning = True  # until the assert is reached
    while stack:
        node, nested = pop()
        kind = type(node)
        if assigning and not nested:
            if node is test:
                assigning = False
            elif kind is cst.Assign:
                for target in node.targets:
                    for name in _targets(target.target):
                        sources.setdefault(name, []).append(node.value)
            elif kind is cst.AugAssign or kind is cst.For or (kind is cst.AnnAssign and node.value is not None):
                for name in _targets(node.target):
                    sources.setdefault(name, []).append(node.iter if kind is cst.For else node.value)
        if kind is cst.CompFor:
            for name in _targets(node.target):
                comprehensions.setdefault(name, []).append(node.iter)
        inner = nested or kind in _SCOPES
        children = []
        for field in _child_fields(kind):
            value = getattr(node, field)
            if type(value) in _SEQUENCES:
                children.extend((item, inner) for item in value if _walked(type(item)))
            elif _walked(type(value)):
                children.append((value, inner))
        for child in reversed(children):
            push(child)
    for name, values in comprehensions.items():
        sources.setdefault(name, []).extend(values)
    return sources


_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)  # their assignments are not the constructor's
_SEQUENCES = (list, tuple)
# Where a node's fields are not in libcst's visiting (source) order and statements lie in a later one:
# a handler's type and a case's guard come before its body.
_CHILD_FIELDS = {cst.ExceptHandler: ("type", "name", "body"), cst.ExceptStarHandler: ("type", "name", "body"),
                 cst.MatchCase: ("pattern", "guard", "body")}
_WALKED: dict = {}


def _child_fields(kind: type) -> tuple:
    """The fields of a node class that may hold a walked node, in libcst's visiting order. A field
    declared to hold only whitespace, operators, parentheses or plain values (`lpar`, `comma`,
    `whitespace_after_arg`: most of an expression's fields) is not read: their getattr and type checks
    were a third of the walk."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind) if _may_hold_walked(f.type))
    return fields


def _may_hold_walked(annotation) -> bool:
    """Whether a field's declared type admits a walked node (`_walked`); True where it cannot be read
    (a name as a string, a literal): such a field is read, as every field was."""
    if isinstance(annotation, type):
        return issubclass(annotation, cst.CSTNode) and _walked(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:  # `Arg.star: Literal["", "*", "**"]`
        return False
    arguments = typing.get_args(annotation)
    if origin is None or not arguments:
        return True
    return any(_may_hold_walked(argument) for argument in arguments)


def _walked(kind: type) -> bool:
    """A libcst node that may hold statements or comprehensions (whitespace, operators and brackets hold
    neither)."""
    walked = _WALKED.get(kind)
    if walked is None:
        walked = _WALKED[kind] = (issubclass(kind, cst.CSTNode) and not issubclass(kind, _WHITESPACE_ONLY)
                                  and kind.__module__ not in ("libcst._nodes.whitespace", "libcst._nodes.op"))
    return walked


# Brackets and `async` are expression nodes that hold whitespace alone (every parenthesized
# expression has them): not walked.
_WHITESPACE_ONLY = (cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
                    cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.Asynchronous)


class _Reader(cst.CSTVisitor):
    def __init__(self):
        self.names: list = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            self.names.append(f"self.{node.attr.value}")
            return False
        node.value.visit(self)  # `cfg.dim`: cfg is read, dim is not a name
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        if not isinstance(node.func, cst.Name):
            node.func.visit(self)  # `self.f(x)` reads self.f; `pair(x)` reads only x
        for arg in node.args:
            arg.value.visit(self)
        return False


def _targets(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        yield f"self.{target.attr.value}"
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _targets(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _targets(target.value)


class _CallFinder(cst.CSTVisitor):
    def __init__(self, wanted: set):
        self.wanted = wanted
        self.found: Optional[cst.Call] = None

    def visit_Call(self, node: cst.Call) -> None:
        if self.found is None and self.wanted <= {id(arg.value) for arg in node.args}:
            self.found = node
