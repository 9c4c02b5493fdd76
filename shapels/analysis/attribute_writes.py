"""`hasattr(self, 'shortcut')`: which attribute names the source shapels knows could ever write.

An attribute that no code writes is certainly absent, so `hasattr` of it is False, as torch would
find it. Only certain where nothing could write it: no `self.shortcut = ...` in a method of a class of
the instance's hierarchy, no `x.shortcut = ...` (any other receiver) and no `setattr`/`add_module`/
`register_buffer` of that name anywhere in the files the analysis read, and no write under a name it
cannot read (`setattr(self, k, v)`, `self.__dict__`, `vars(self)`, `self._modules[k]`) anywhere in them.

The files are read with Python's `ast` (a libcst walk of a large file costs seconds), once per text.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from typing import Optional

from shapels.analysis.python_trees import python_tree

# The public attributes every nn.Module has (torch 2.13's dir(nn.Module) and an instance's __dict__).
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu",
    "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
    "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad",
})

# Calls that set an attribute named by their first argument (after the object, for setattr).
_NAMING_METHODS = {"add_module", "register_module", "register_buffer", "register_parameter"}
_TABLES = {"_modules", "_parameters", "_buffers"}


@dataclass
class Writes:
    """What one file's source may write: names written through `self` (or bound in the class body) for
    each top-level class, by name; names written on any other receiver, or by name (setattr); patterns
    of computed names; and whether some write's name cannot be read at all."""

    by_class: dict = field(default_factory=dict)  # top-level class name -> {names}
    anywhere: set = field(default_factory=set)
    patterns: list = field(default_factory=list)  # compiled regexes of computed names (f'level_{i}')
    dynamic: bool = False


@functools.lru_cache(maxsize=64)
def writes_of(text: str) -> Writes:
    writes = Writes()
    try:
        tree = python_tree(text)  # mostly the screen's tree of the analysed file
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        writes.dynamic = True  # not read: anything may be written
        return writes
    _Scan(writes).module(tree)
    return writes


class _Scan:
    def __init__(self, writes: Writes):
        self.writes = writes

    def module(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef):
                names = self.writes.by_class.setdefault(stmt.name, set())
                self._class_body(stmt, names)
            else:
                self._walk(stmt, None, None)

    def _class_body(self, cls: ast.ClassDef, names: set) -> None:
        """Names the class body binds, and what its methods write through their first parameter."""
        stack = list(cls.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
                params = node.args.posonlyargs + node.args.args
                receiver = params[0].arg if params else None
                for child in node.args.defaults + node.args.kw_defaults + node.decorator_list:
                    if child is not None:
                        self._walk(child, None, None)
                for stmt in node.body:
                    self._walk(stmt, names, receiver)
                continue
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
                self._class_body(node, set())  # a nested class: its own self
                continue
            for target in _bound_targets(node):
                self._class_level_target(target, names)
            if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        stack.append(child)  # an `if` or `for` in the class body: still its body
                    else:
                        self._walk(child, None, None)

    def _class_level_target(self, target, names: set) -> None:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._class_level_target(element, names)
        elif isinstance(target, ast.Starred):
            self._class_level_target(target.value, names)
        else:
            self._target(target, None, None)

    def _walk(self, node, names: Optional[set], receiver: Optional[str]) -> None:
        """Every write under node; `names`/`receiver`: the method's class and its self (else None)."""
        for child in ast.walk(node):
            if isinstance(child, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With,
                                  ast.AsyncWith, ast.NamedExpr, ast.Delete)):
                for target in _bound_targets(child):
                    self._target(target, names, receiver)
            elif isinstance(child, ast.Call):
                self._call(child)
            elif isinstance(child, ast.Name) and child.id == "vars":
                self.writes.dynamic = True  # vars(self)[k] = v
            elif isinstance(child, ast.Attribute) and child.attr == "__dict__":
                self.writes.dynamic = True
            elif isinstance(child, ast.ClassDef) and names is None and receiver is None:
                pass  # a class inside a function: its own self writes are its own
            # a def nested in a method keeps the method's self: ast.walk reaches its body with the same receiver

    def _target(self, target, names: Optional[set], receiver: Optional[str]) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element, names, receiver)
        elif isinstance(target, ast.Starred):
            self._target(target.value, names, receiver)
        elif isinstance(target, ast.Attribute):
            if names is not None and isinstance(target.value, ast.Name) and target.value.id == receiver:
                names.add(target.attr)
            else:
                self.writes.anywhere.add(target.attr)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) \
                and target.value.attr in _TABLES:
            self.writes.dynamic = True  # self._modules[name] = m: nn.Module's own tables

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "setattr":
            candidates = [1]
        elif isinstance(func, ast.Attribute) and func.attr == "__setattr__":
            candidates = [0, 1]  # self.__setattr__(name, v) or object.__setattr__(self, name, v)
        elif isinstance(func, ast.Attribute) and func.attr in _NAMING_METHODS:
            candidates = [0]
        else:
            return
        if any(isinstance(a, ast.Starred) for a in node.args) or not node.args:
            self.writes.dynamic = True
            return
        patterns = [_name_pattern(node.args[i]) if i < len(node.args) else None for i in candidates]
        known = [p for p in patterns if p is not None]
        if not known or len(candidates) == 1 and None in patterns:
            self.writes.dynamic = True  # setattr(self, k, v): any name
        for pattern in known:
            if isinstance(pattern, str):
                self.writes.anywhere.add(pattern)
            else:
                self.writes.patterns.append(pattern)


def _bound_targets(node) -> list:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
        return [node.target]
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [item.optional_vars for item in node.items if item.optional_vars is not None]
    if isinstance(node, ast.Delete):
        return list(node.targets)  # `del self.x` changes hasattr too
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [ast.Name((alias.asname or alias.name).split(".")[0]) for alias in node.names]
    return []


def _regex(pieces: list) -> "re.Pattern":
    """Literal pieces at even places, computed ones at odd places."""
    return re.compile("".join(".*" if i % 2 else re.escape(p) for i, p in enumerate(pieces)) + r"\Z", re.DOTALL)


def _name_pattern(expr):
    """A constant name as a str; a computed one whose literal parts are known as a regex
    (f'level_{i}', 'level_%d' % i, 'level_{}'.format(i)); else None."""
    if isinstance(expr, ast.Constant):
        return expr.value if isinstance(expr.value, str) else None
    if isinstance(expr, ast.JoinedStr):
        parts = [re.escape(part.value) if isinstance(part, ast.Constant) and isinstance(part.value, str) else ".*"
                 for part in expr.values]
        return re.compile("".join(parts) + r"\Z", re.DOTALL)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod) and isinstance(expr.left, ast.Constant) \
            and isinstance(expr.left.value, str):
        return _regex(re.split(r"(%[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%])", expr.left.value))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format" \
            and isinstance(expr.func.value, ast.Constant) and isinstance(expr.func.value.value, str):
        return _regex(re.split(r"(\{[^{}]*\})", expr.func.value.value))
    return None


def may_be_written(name: str, classes: list, texts: list) -> bool:
    """Whether any of the source could write attribute `name` of an instance of the class whose MRO
    is `classes` (ClassInfo, each a top-level class of its file), given the text of every file the
    analysis read."""
    class_names = {info.name for info in classes}
    for text in texts:
        writes = writes_of(text)
        if writes.dynamic or name in writes.anywhere or any(p.match(name) for p in writes.patterns):
            return True
        if any(name in writes.by_class.get(cls, ()) for cls in class_names):
            return True
    return False
