"""Calls of small pure functions on constants, answered from the first such call's result.

torchvision's maxvit builds its relative-position index with `_get_relative_position_index(size, size)` in
each of its 22 attention layers, always the same sizes: 7.6% of the instructions of maxvit's analysis with
its driver went into running that body (meshgrid, stack, flatten, permute, ...) again and again, and another
1.5% into torchvision's `_log_api_usage_once(stochastic_depth)` in each stochastic depth. Python would run it
again too, but a rerun can only repeat what the first run computed when all of the following hold, and the
analysis then takes the stored result instead:

- the function is a plain module-level `def` (no decorator, no receiver, no closure), and its body can only
  build new objects: it defines, imports, deletes and declares nothing (no nested def, class, lambda,
  global, nonlocal, yield, await), and it writes no attribute or item of a name it does not bind itself;
- every name it reads that it does not bind is, at the call, a library callable or module (`torch`, a
  `FunctionRef`) or a builtin other than those that reach into namespaces: nothing of the program's own
  state (a global list, a config object) that may have changed since;
- its arguments are known Python constants (ints, floats, str, bool, None) without provenance, or functions
  a module defines (one object each), so the body sees the same values; the call is made from the same call
  expression in the same unit, at the same depth, under the same certainty, source and first error (what a
  rerun's values and locations depend on);
- the first run left nothing the analysis shows (no finding, withheld or deduplicated, no name, layer
  call or run recorded, no first error, no batch merge, nothing cut short: function_caches'
  `what_calls_leave`), made no call of another user function, ran outside a loop probe, and returned
  tensors, numbers, constants or tuples of them.

The result given back is a copy with memories of its own (a fresh run's tensors share no memory with the
first run's, which the first caller may have written to in place), and the steps the first run took are
counted again, so that Budget.steps, the analysis's work, is what the rerun would have made it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst

from shapels.analysis.function_caches import what_calls_leave
from shapels.analysis.objects import Builtin, UserFunction
from shapels.analysis.tensor_values import Cell
from shapels.values import Const, FunctionRef, Number, Seq, Tensor, Value

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp

# Statements and expressions that define, import, delete, declare or suspend: a body holding one is not taken.
_IMPURE = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.Global, cst.Nonlocal, cst.Yield, cst.Await, cst.Import,
           cst.ImportFrom, cst.Del)
# Builtins that read or write namespaces and objects by name
_UNSAFE_BUILTINS = frozenset({"globals", "locals", "vars", "setattr", "delattr", "exec", "eval", "__import__",
                              "open", "input", "compile"})
_CONSTANT_NAMES = frozenset({"None", "True", "False"})
_KEY_TYPES = (int, str, bool, type(None))


class PureCalls:
    """The stored results of one analysis's pure calls (module docstring), by function, call site and arguments."""

    def __init__(self) -> None:
        # id(FunctionDef) -> (node, the names it reads without binding them, or None: never answered)
        self._bodies: dict = {}
        self._results: dict = {}  # key -> (result, steps the run took)

    def call(self, interp: Interp, key, run: Callable[[], Optional[Value]]) -> Optional[Value]:
        """The call's result: a copy of the first run's where the call's `key` has one, else `run()`'s, kept
        where that run may answer the later calls of the same key."""
        found = self._results.get(key)
        if found is not None:
            result, steps = found
            interp.budget.add_steps(steps)
            return _fresh(result, {})
        before = what_calls_leave(interp)
        invoked, steps = interp.invocations, interp.budget.steps
        result = run()
        if result is not None and interp.invocations == invoked and not interp.silenced \
                and what_calls_leave(interp) == before and _storable(result):
            self._results[key] = (_fresh(result, {}), interp.budget.steps - steps)
        return result

    def key(self, interp: Interp, function: UserFunction, args: list, kwargs: dict, frame: Frame, call_node):
        """What tells this call apart from others whose first run may answer it; None where none may (most
        calls: asked before anything is made for the call, so that they pay for no more than this)."""
        node = function.node
        if call_node is None or function.closure is not None or function.owner is not None \
                or interp.trial.arguments or interp.trial.calls:
            return None
        values = []  # first: most calls pass something other than constants, and then the body is not read
        for value in (*args, *kwargs.values()):
            python = _constant(value)
            if python is None:
                return None
            values.append(python)
        scope = function.scope or frame.scope or interp.main
        entry = self._bodies.get(id(node))
        if entry is None:
            entry = self._bodies[id(node)] = (node, _free_names(node, scope.table))
        free = entry[1]
        if free is None:
            return None
        for name in free:
            if name not in _CONSTANT_NAMES and not _library(interp.linker.global_as_read(name, scope)):
                return None
        return (id(node), id(scope), id(call_node), id(frame.unit), frame.certain, frame.conditional, frame.depth,
                interp.source, id(interp.recorder), id(interp.first_error), tuple(values), tuple(kwargs))


def _constant(value: Value) -> Optional[tuple]:
    """A known Python constant argument without provenance, keyed by what tells it apart in a run (its kind
    of Value, its Python type, a float's sign); None for anything else."""
    kind = type(value)
    if kind is Number and not value.trace or kind is Const:
        python = value.value
        if type(python) is float:  # 0.0 and -0.0 are equal keys, and NaN no key at all
            return (kind, float, python.hex()) if python == python else None
        if type(python) in _KEY_TYPES:
            return (kind, type(python), python)
    elif kind is UserFunction and value.closure is None and value.owner is None:
        # A module's function, made once: the same object at every call (torchvision's
        # `_log_api_usage_once(stochastic_depth)`, in each of maxvit's 54 stochastic depths). Its node and
        # scope live as long as the analysis, and so as long as the key.
        return (kind, id(value.node), id(value.scope))
    return None


def _library(value: Optional[Value]) -> bool:
    kind = type(value)
    return kind is FunctionRef or kind is Builtin and value.name not in _UNSAFE_BUILTINS


def _storable(value: Value) -> bool:
    kind = type(value)
    if kind is Seq:
        return all(_storable(item) for item in value.items)
    return kind is Tensor or kind is Number or kind is Const


def _fresh(value: Value, cells: dict) -> Value:
    """A copy of a stored result whose tensors have memories of their own (shared among its tensors as they
    were in the original: `cells`). Numbers and constants are immutable and shared, as literals are."""
    kind = type(value)
    if kind is Tensor:
        if value.data is None:
            return dataclasses.replace(value)
        cell = cells.get(id(value.data))
        if cell is None:
            cell = cells[id(value.data)] = Cell(value.data.elements)
        return dataclasses.replace(value, data=cell)
    if kind is Seq:
        return Seq(tuple(_fresh(item, cells) for item in value.items))
    return value


def _free_names(node, table) -> Optional[frozenset]:
    """The names `node`'s body reads without binding them; None where the body may do more than build new
    objects (module docstring), or reads a class or function its file (`table`) defines: the walk stops
    there (efficientnet's 100-line _efficientnet_conf, called on constants, names a config class first)."""
    if type(node) is not cst.FunctionDef or node.decorators or node.asynchronous is not None:
        return None
    names = _Names(table)
    if not names.walk(node.body):
        return None
    params = node.params
    bound = names.bound | {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if type(star) is cst.Param:
            bound.add(star.name.value)
    if any(root not in bound for root in names.written_roots):
        return None
    return frozenset(names.read - bound)


# Node types whose fields hold no names: not walked into (most of a body's nodes are its whitespace)
_LEAVES = (cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.Newline, cst.TrailingWhitespace, cst.EmptyLine,
           cst.Comment, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Comma, cst.Dot,
           cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.Colon, cst.AssignEqual,
           cst.BaseBinaryOp, cst.BaseAugOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseBooleanOp, cst.Semicolon)
# Bindings, by the field of the node type that holds the target
_TARGETS = {cst.AssignTarget: "target", cst.AugAssign: "target", cst.AnnAssign: "target", cst.For: "target",
            cst.CompFor: "target", cst.AsName: "name", cst.NamedExpr: "target"}


@functools.lru_cache(maxsize=None)
def _is_node(kind: type) -> bool:
    """By type, once: isinstance on libcst's abstract CSTNode walks the class tree again after any ABC
    registration (which the analysis's imports make), 40 times the cost of the walk itself."""
    return issubclass(kind, cst.CSTNode)


@functools.lru_cache(maxsize=None)
def _fields(kind: type) -> Optional[tuple]:
    """The fields of a node type that may hold names read, by type (as _is_node): none for a leaf, None for
    what a pure body may not hold. An attribute's `attr` and an argument's `keyword` are no names read."""
    if issubclass(kind, _IMPURE):
        return None
    if issubclass(kind, _LEAVES):
        return ()
    skip = {cst.Attribute: "attr", cst.Arg: "keyword"}.get(kind)
    return tuple(f.name for f in dataclasses.fields(kind) if f.name != skip)


class _Names:
    """What a function body reads, binds and writes into, by a walk of the nodes' fields (a libcst visitor
    costs several times as much: this runs on the first call of every function called on constants)."""

    def __init__(self, table) -> None:
        self._classes, self._functions = table.classes, table.functions  # the program's own: not read for long
        self.read: set = set()
        self.bound: set = set()
        self.written_roots: set = set()  # the names whose attributes or items are written

    def walk(self, node) -> bool:
        """Reads `node`; False where it holds what a pure body may not (module docstring)."""
        kind = type(node)
        if kind is cst.Name:
            name = node.value
            self.read.add(name)
            # (a local that shadows one of them declines a pure body too: rare, and declining is always safe)
            return name not in self._classes and name not in self._functions
        fields = _fields(kind)
        if fields is None:
            return False
        target = _TARGETS.get(kind)
        if target is not None and not self._target(getattr(node, target)):
            return False
        for field in fields:
            value = getattr(node, field)
            if type(value) in (tuple, list):
                for item in value:
                    if _is_node(type(item)) and not self.walk(item):
                        return False
            elif _is_node(type(value)) and not self.walk(value):
                return False
        return True

    def _target(self, target) -> bool:
        kind = type(target)
        if kind is cst.Name:
            self.bound.add(target.value)
        elif kind in (cst.Tuple, cst.List):
            return all(self._target(element.value) for element in target.elements)
        elif kind is cst.StarredElement:
            return self._target(target.value)
        elif kind in (cst.Attribute, cst.Subscript):
            root = target.value
            while type(root) in (cst.Attribute, cst.Subscript):
                root = root.value
            if type(root) is not cst.Name:
                return False  # `f()[0] = 1`: whose item, not followed
            self.written_roots.add(root.value)
        else:
            return False
        return True
