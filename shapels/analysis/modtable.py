"""The module table: what a file's names mean (imports, classes, functions) before anything runs."""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass, field, fields, replace
from typing import Any, Optional

import libcst as cst

from shapels.analysis.library_names import canonical

MODULE_BASES = {"torch.nn.Module", "torch.nn.modules.module.Module"}
# Keras's model and layer classes, by their canonical names (library_names.canonical): a subclass is a
# module whose `call` is its forward, built by `build(input_shape)` at its first call
KERAS_MODULE_BASES = {"keras.Model", "keras.layers.Layer", "keras.Layer"}


def library_module_base(qualname: str) -> bool:
    """`torch.nn.Sequential`, `torch.nn.Conv2d`: a torch module class a user class may extend."""
    if not qualname.startswith("torch.nn.") or qualname.startswith("torch.nn.functional"):
        return False
    return qualname.rsplit(".", 1)[-1][:1].isupper()


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`torch.nn.functional` for the expression `torch.nn.functional`, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _import_alias_target(alias: cst.ImportAlias) -> str:
    return dotted_name(alias.name) or ""


@dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    base_names: list  # qualified names (imports resolved) or local class names
    methods: dict = field(default_factory=dict)  # name -> cst.FunctionDef
    attributes: dict = field(default_factory=dict)  # class-level `expansion = 4` -> expression
    bases: list = field(default_factory=list)  # ClassInfo of user-defined bases, resolved later
    is_module: bool = False
    is_keras: bool = False  # a Keras model or layer subclass: `call` is its forward
    fields: list = field(default_factory=list)  # annotated class-level names, in order: (name, default)
    is_dataclass: bool = False
    _scope_ref: Any = field(default=None, repr=False, compare=False)

    @property
    def scope(self) -> Any:
        """The Scope (file) it is defined in, while the analysis that made it runs. Held weakly: the
        scope's table holds this class, and a strong reference back made every analysis a reference
        cycle that kept its whole syntax tree alive until a full garbage collection."""
        return self._scope_ref() if self._scope_ref is not None else None

    @scope.setter
    def scope(self, value: Any) -> None:
        self._scope_ref = weakref.ref(value) if value is not None else None

    def find_method(self, name: str) -> Optional[tuple]:
        """(ClassInfo that defines it, FunctionDef) along a left-to-right depth-first MRO."""
        seen = set()
        stack = [self]
        while stack:
            cls = stack.pop(0)
            if id(cls) in seen:
                continue
            seen.add(id(cls))
            if name in cls.methods:
                return cls, cls.methods[name]
            stack.extend(cls.bases)
        return None

    @property
    def forward_name(self) -> str:
        return "call" if self.is_keras else "forward"

    def find_forward(self) -> Optional[tuple]:
        """(owner, FunctionDef) of the method a call of an instance runs: torch's forward, Keras's call."""
        return self.find_method(self.forward_name)

    def library_base(self) -> Optional[str]:
        """The torch module class this class extends, other than nn.Module itself (e.g. Sequential)."""
        for cls in [self] + self.mro_after(self):
            for base in cls.base_names:
                if library_module_base(base) and base not in MODULE_BASES:
                    return base
        return None

    def find_attribute(self, name: str) -> Optional[tuple]:
        seen = set()
        stack = [self]
        while stack:
            cls = stack.pop(0)
            if id(cls) in seen:
                continue
            seen.add(id(cls))
            if name in cls.attributes:
                return cls, cls.attributes[name]
            stack.extend(cls.bases)
        return None

    def mro_after(self, owner: "ClassInfo") -> list:
        """Classes after `owner` in this class's MRO, for super()."""
        order: list = []
        stack = [self]
        while stack:
            cls = stack.pop(0)
            if cls not in order:
                order.append(cls)
                stack.extend(cls.bases)
        return order[order.index(owner) + 1 :] if owner in order else []


@dataclass
class ModuleTable:
    aliases: dict = field(default_factory=dict)  # local name -> qualified name
    classes: dict = field(default_factory=dict)  # name -> ClassInfo
    functions: dict = field(default_factory=dict)  # name -> cst.FunctionDef
    star_imports: list = field(default_factory=list)  # `from .activations import *`: ".activations", in order

    def module_classes(self) -> list:
        return [c for c in self.classes.values() if c.is_module]


def add_import(aliases: dict, stmt) -> None:
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            target = _import_alias_target(alias)
            if alias.asname is not None:
                aliases[alias.asname.name.value] = target
            else:
                head = target.split(".")[0]
                aliases[head] = head
    elif isinstance(stmt, cst.ImportFrom) and not isinstance(stmt.names, cst.ImportStar):
        # Relative imports keep their leading dots (".blocks.Block"); the loader resolves them.
        dots = "." * len(stmt.relative)
        module = dotted_name(stmt.module) if stmt.module else ""
        if not module and not dots:
            return
        prefix = f"{dots}{module}"
        for alias in stmt.names:
            name = _import_alias_target(alias)
            local = alias.asname.name.value if alias.asname is not None else name
            aliases[local] = f"{prefix}.{name}" if module else f"{prefix}{name}"


def star_module(stmt) -> Optional[str]:
    """The module of `from MODULE import *` (relative ones keep their dots), else None."""
    if not isinstance(stmt, cst.ImportFrom) or not isinstance(stmt.names, cst.ImportStar):
        return None
    module = dotted_name(stmt.module) if stmt.module else ""
    return "." * len(stmt.relative) + module if module or stmt.relative else None


def _class_info(node: cst.ClassDef, aliases: dict) -> ClassInfo:
    bases = []
    for arg in node.bases:
        name = dotted_name(arg.value)
        if name:
            head, _, rest = name.partition(".")
            qual = aliases.get(head, head) + (f".{rest}" if rest else "")
            bases.append(qual)
    info = ClassInfo(node.name.value, node, bases)
    for decorator in node.decorators:
        expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        info.is_dataclass = info.is_dataclass or (dotted_name(expr) or "").rsplit(".", 1)[-1] == "dataclass"
    # `class Wide(Base): expansion = 4` has a one-line suite: small statements, as in one line of a block
    statements = node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body]
    for stmt in statements:
        if isinstance(stmt, cst.FunctionDef):
            info.methods[stmt.name.value] = stmt
        elif isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        info.attributes[target.value] = small.value
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    info.fields.append((small.target.value, small.value))
                    if small.value is not None:
                        info.attributes[small.target.value] = small.value
    return info


def build_table(module: cst.Module) -> ModuleTable:
    table = ModuleTable()
    for stmt in _top_level_statements(module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                add_import(table.aliases, small)
                star = star_module(small)
                if star is not None:
                    table.star_imports.append(star)
        elif isinstance(stmt, cst.ClassDef):
            table.classes[stmt.name.value] = _class_info(stmt, table.aliases)
        elif isinstance(stmt, cst.FunctionDef):
            table.functions[stmt.name.value] = stmt
    _resolve_bases(table)
    return table


def copy_table(table: ModuleTable) -> ModuleTable:
    """A table equal to `table` whose every container and ClassInfo is its own (an analysis writes to
    them: linked bases, a class's scope); the syntax nodes, which nothing changes, shared. A base in
    the same file is the copy's own ClassInfo too, as _resolve_bases made it."""
    infos = {id(info): _own_containers(info) for info in table.classes.values()}
    for info in infos.values():
        info.bases = [infos.get(id(base), base) for base in info.bases]
    return ModuleTable(dict(table.aliases), {name: infos[id(info)] for name, info in table.classes.items()},
                       dict(table.functions), list(table.star_imports))


def _own_containers(info: ClassInfo) -> ClassInfo:
    """`info` with a copy of each of its lists and dicts, whatever fields ClassInfo gains."""
    return replace(info, **{f.name: copy.copy(getattr(info, f.name)) for f in fields(info)
                            if type(getattr(info, f.name)) in (list, dict)})


def _top_level_statements(body):
    """Top-level statements, looking inside `try:`/`if` blocks where imports often hide."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, cst.Try) and isinstance(stmt.body, cst.IndentedBlock):
            yield from (s for s in stmt.body.body if isinstance(s, cst.SimpleStatementLine))


def _resolve_bases(table: ModuleTable) -> None:
    for info in table.classes.values():
        info.bases = [table.classes[b] for b in info.base_names if b in table.classes and table.classes[b] is not info]
    mark_modules(table.classes.values())


def mark_modules(classes) -> None:
    """A class is an nn.Module when a base is torch.nn.Module or a class that is one; a Keras model or
    layer (a module too) when a base is Keras's Model or Layer or a class that is one."""
    classes = list(classes)
    for info in classes:
        info.is_keras = info.is_keras or any(canonical(b) in KERAS_MODULE_BASES for b in info.base_names)
        info.is_module = info.is_module or info.is_keras or any(b in MODULE_BASES or library_module_base(b)
                                                                for b in info.base_names)
    changed = True
    while changed:
        changed = False
        for info in classes:
            if not info.is_module and any(b.is_module for b in info.bases):
                info.is_module = True
                changed = True
            if not info.is_keras and any(b.is_keras for b in info.bases):
                info.is_keras = True
                changed = True
