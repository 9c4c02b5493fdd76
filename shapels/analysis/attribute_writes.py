"""`hasattr(self, 'shortcut')`: which attribute names the source shapels knows could ever write.

An attribute that no code writes is certainly absent, so `hasattr` of it is False, as torch would
find it. Only certain where nothing could write it: no `self.shortcut = ...` in a method of a class of
the instance's hierarchy, no `x.shortcut = ...` (any other receiver) and no `setattr`/`add_module`/
`register_buffer` of that name anywhere in the files the analysis read, and no write under a name it
cannot read (`setattr(self, k, v)`, `self.__dict__`, `vars(self)`) anywhere in them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

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
_NAMING_METHODS = {"add_module", "register_module", "register_buffer", "register_parameter", "__setattr__"}


@dataclass
class Writes:
    """What one file's source may write: names written through `self` in each class's methods, names
    written on any other receiver (or by name: setattr), patterns of computed names, and whether some
    write's name cannot be read at all."""

    by_class: dict = field(default_factory=dict)  # ClassDef node -> {names written as self.NAME in its methods}
    anywhere: set = field(default_factory=set)
    patterns: list = field(default_factory=list)  # compiled regexes of computed names (f'level_{i}')
    dynamic: bool = False


def writes_of(module: cst.Module, cache: dict) -> Writes:
    """The module's writes, scanned once per analysis (`cache` lives as long as the Interpreter: a
    parsed module cannot be weakly referenced, and a global cache would keep every tree alive)."""
    found = cache.get(id(module))
    if found is None or found[0] is not module:
        found = cache[id(module)] = (module, _scan(module))
    return found[1]


def _scan(module: cst.Module) -> Writes:
    writes = Writes()
    _Visitor(writes).visit_module(module)
    return writes


class _Visitor:
    """A plain walk (libcst's visitor machinery is slow on big files): the enclosing class's method and
    its first parameter's name, for `self.NAME = ...`."""

    def __init__(self, writes: Writes):
        self.writes = writes

    def visit_module(self, module: cst.Module) -> None:
        self._walk(module, None, None)

    def _walk(self, node: cst.CSTNode, cls: Optional[cst.ClassDef], receiver: Optional[str]) -> None:
        stack = [(node, cls, receiver, False)]
        while stack:
            node, cls, receiver, in_class_body = stack.pop()
            if isinstance(node, cst.ClassDef):
                if cls is not None and receiver is None:
                    self.writes.by_class[cls].add(node.name.value)  # a class nested in a class body
                self.writes.by_class.setdefault(node, set())
                stack.extend((child, node, None, True) for child in node.body.children)
                continue
            if isinstance(node, cst.FunctionDef) and cls is not None and receiver is None:
                self.writes.by_class[cls].add(node.name.value)  # a def in the class body (under an `if` too)
            if isinstance(node, cst.FunctionDef):
                params = list(node.params.posonly_params) + list(node.params.params)
                first = params[0].name.value if params and in_class_body else None
                # a def nested in a method keeps the method's `self` (a closure writes through it)
                stack.extend((child, cls if in_class_body or receiver else None, first or receiver, False)
                             for child in node.children)
                continue
            if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr)):
                targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                for target in targets:
                    self._target(target, cls, receiver)
            elif isinstance(node, cst.AsName) and isinstance(node.name, (cst.Name, cst.Tuple, cst.List)):
                self._target(node.name, cls, receiver)  # `import x as y`, `with ... as y` in a class body
            elif isinstance(node, cst.Call):
                self._call(node)
            elif isinstance(node, cst.Name) and node.value == "vars":
                self.writes.dynamic = True  # vars(self)[k] = v
            elif isinstance(node, cst.Attribute) and node.attr.value == "__dict__":
                self.writes.dynamic = True
            stack.extend((child, cls, receiver, in_class_body and isinstance(child, cst.BaseSuite))
                         for child in node.children)

    def _target(self, target, cls, receiver) -> None:
        if isinstance(target, cst.Name) and cls is not None and receiver is None:
            self.writes.by_class[cls].add(target.value)  # `a = b = None` in the class body: a class attribute
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Attribute) \
                and target.value.attr.value in ("_modules", "_parameters", "_buffers"):
            self.writes.dynamic = True  # self._modules[name] = m: nn.Module's own tables
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value, cls, receiver)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value, cls, receiver)
        elif isinstance(target, cst.Attribute):
            name = target.attr.value
            if cls is not None and receiver is not None and isinstance(target.value, cst.Name) \
                    and target.value.value == receiver:
                self.writes.by_class[cls].add(name)
            else:
                self.writes.anywhere.add(name)

    def _call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "setattr":
            candidates = [1]
        elif isinstance(func, cst.Attribute) and func.attr.value == "__setattr__":
            candidates = [0, 1]  # self.__setattr__(name, v) or object.__setattr__(self, name, v)
        elif isinstance(func, cst.Attribute) and func.attr.value in _NAMING_METHODS:
            candidates = [0]
        else:
            return
        patterns = []
        for index in candidates:
            arg = node.args[index] if index < len(node.args) else None
            if arg is None or arg.keyword is not None or arg.star:
                continue
            patterns.append(_name_pattern(arg.value))
        known = [p for p in patterns if p is not None]
        if not known or len(candidates) == 1 and None in patterns:
            self.writes.dynamic = True  # setattr(self, k, v): any name
        for pattern in known:
            if isinstance(pattern, str):
                self.writes.anywhere.add(pattern)
            else:
                self.writes.patterns.append(pattern)


def _name_pattern(expr):
    """A constant name as a str; a computed one whose literal parts are known as a regex
    (f'level_{i}', 'level_%d' % i, 'level_{}'.format(i)); else None."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(re.escape(part.value))
            else:
                parts.append(".*")
        return re.compile("".join(parts) + r"\Z", re.DOTALL)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo) \
            and isinstance(expr.left, cst.SimpleString) and isinstance(expr.left.evaluated_value, str):
        pieces = re.split(r"(%[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%])", expr.left.evaluated_value)
        return re.compile("".join(".*" if i % 2 else re.escape(p) for i, p in enumerate(pieces)) + r"\Z", re.DOTALL)
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format" \
            and isinstance(expr.func.value, cst.SimpleString) and isinstance(expr.func.value.evaluated_value, str):
        pieces = re.split(r"(\{[^{}]*\})", expr.func.value.evaluated_value)
        return re.compile("".join(".*" if i % 2 else re.escape(p) for i, p in enumerate(pieces)) + r"\Z", re.DOTALL)
    return None


def may_be_written(name: str, classes: list, modules: list, cache: dict) -> bool:
    """Whether any of the source could write attribute `name` of an instance of the class whose MRO
    is `classes` (ClassInfo), given every file the analysis read (`modules`)."""
    nodes = {id(info.node) for info in classes}
    for module in modules:
        writes = writes_of(module, cache)
        if writes.dynamic or name in writes.anywhere or any(p.match(name) for p in writes.patterns):
            return True
        for cls, names in writes.by_class.items():
            if id(cls) in nodes and name in names:
                return True
    return False
