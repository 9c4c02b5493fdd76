"""Names across files: the modules an analysis reads, and what their imports bind.

The analysed file's `from .blocks import ResBlock`, `from models import *` or `class Net(base.Backbone)`
name things another file defines. The linker owns every file read so far (one Scope each), loads a
module through the caller's Loader the first time one of its names is read (an import statement only
binds a PendingImport), follows star imports and a package's re-exports, and joins base classes from
other files into a class's MRO. What it cannot find is None, which the interpreter reads as a library
name or unknown.

Running a loaded module's top level and reading an attribute are the interpreter's: the linker asks
for them through `ModuleHost`, held weakly (the interpreter owns the linker, and a strong reference
back would make every analysis a reference cycle that keeps every file's syntax tree alive until a
full garbage collection).
"""

from __future__ import annotations

import builtins
import sys
import weakref
from typing import Optional, Protocol

from shapels.analysis.env import join_all
from shapels.analysis.modtable import ClassInfo, dotted_name, mark_modules
from shapels.analysis.objects import Builtin, ClassRef, ModuleRef, PendingImport, UserFunction
from shapels.analysis.python_values import library_name
from shapels.analysis.scopes import (MAX_SCOPES, Loader, Scope, is_loadable, make_scope, modelled_inside, parse_cached,
                                     read_inside_library)
from shapels.values import NONE, Alternatives, Const, FunctionRef, ListValue, Seq, Unknown, Value

PENDING = (PendingImport, Alternatives)  # what a name lookup may have to settle (Linker.settle)

_PYTHON_BUILTINS = frozenset(dir(builtins))  # `class Error(Exception)`: no import gives it
BUILTIN_NAMES = {
    "len", "range", "int", "float", "list", "tuple", "enumerate", "zip", "min", "max", "sum", "abs", "isinstance",
    "print", "getattr", "setattr", "hasattr", "super", "dict", "bool", "str", "reversed", "round", "sorted", "any",
    "all", "type", "iter", "next", "divmod", "map", "callable", "set", "frozenset", "vars", "locals", "filter",
}


class ModuleHost(Protocol):
    """What the linker needs of the interpreter (Interpreter is one)."""

    def run_imported(self, scope: Scope) -> None:
        """Run a module's top level the first time it is loaded (its classes and functions are already
        in its table; its import lines bind when first read)."""

    def attribute_in(self, value: Value, name: str, scope: Scope) -> Value:
        """`value.name`, as code at the top level of `scope` reads it."""


class Linker:
    def __init__(self, main: Scope, loader: Optional[Loader], host: ModuleHost):
        self.loader = loader  # None: no other file is read, every import is a library name
        self._host = weakref.ref(host)
        self._scopes: dict = {main.path: main}  # path -> Scope of every file read, the analysed one first
        self._external: dict = {}  # (importing path, qualname) -> its value, None where not found
        self._pending: dict = {}  # (importing path, qualname) -> its PendingImport
        self._tables: dict = {}  # path -> Scope of a package whose import table is read, its top level not run
        self._star: dict = {}  # (path, name) -> what a star import binds that name to (None: nothing)
        self._unresolved: dict = {}  # path -> [(ClassInfo, qualname or None, import)], link_bases
        # (importing path, module name) -> the loader's answer, each a dozen stats: load_scope asks again
        # for a module already loaded (a fifth of the ~450 questions of a transformers modeling file), and
        # a file loaded keeps the text first read anyway (_scopes by path)
        self._found: dict = {}

    def _module_host(self) -> ModuleHost:
        host = self._host()
        assert host is not None, "the linker outlived the interpreter that owns it"
        return host

    # -- what the rest of the analysis asks ----------------------------------------------------
    def sources(self) -> list:
        """The text of every file read so far, the analysed one first."""
        return [scope.source for scope in self._scopes.values()]

    def files_read(self) -> int:
        """How many files sources() gives: files are only ever added, so the count names the list."""
        return len(self._scopes)

    def program_sources(self) -> list:
        """sources(), less the library code read for its shapes (an installed torchvision's models)."""
        return [scope.source for scope in self._scopes.values() if not scope.library]

    def unresolved_bases(self, path: str) -> list:
        """(ClassInfo, qualname or None for a star import, the import's name) for each base class of
        the file at `path` that an import should have given and did not."""
        return self._unresolved.get(path, [])

    def lookup_global(self, name: str, scope: Scope) -> Value:
        """A name at the top level of `scope`'s file: what it binds, defines or imports, a builtin, or
        unknown."""
        table = scope.table
        if name in scope.globals:
            value = scope.globals[name]
            if type(value) in PENDING:
                value = scope.globals[name] = self.settle(value)
            return value
        if name in table.classes:
            return ClassRef(table.classes[name])
        if name in table.functions:
            return UserFunction(table.functions[name], scope=scope)
        if name in table.aliases:
            qualname = table.aliases[name]
            return self.resolve_external(qualname, scope) or library_name(qualname)
        if table.star_imports and self.loader is not None:
            found = self.star_lookup(name, scope)
            if found is not None:
                return found
        if name in BUILTIN_NAMES:
            return Builtin(name)
        if name == "None":
            return NONE
        if name in ("True", "False"):
            return Const(name == "True")
        return Unknown(f"name {name}")

    def global_as_read(self, name: str, scope: Scope) -> Optional[Value]:
        """What lookup_global gives for `name`, where finding it takes no more than a read; None where it
        would settle an import, read another file or search star imports first (pure_calls.py asks before a
        call whose body reads the name, perhaps only on a path it does not take)."""
        table = scope.table
        if name in scope.globals:
            value = scope.globals[name]
            return None if type(value) in PENDING else value
        if name in table.classes or name in table.functions:
            return None  # the program's own (what pure_calls declines anyway), not made here
        if name in table.aliases:
            qualname = table.aliases[name]
            if self.loader is None or not is_loadable(qualname):
                return library_name(qualname)
            key = (scope.path, qualname)
            if key not in self._external:
                return None
            return self._external[key] or library_name(qualname)
        if table.star_imports and self.loader is not None:
            return None
        return Builtin(name) if name in BUILTIN_NAMES else None

    def module_attribute(self, name: str, scope: Scope) -> Value:
        """`module.name` of a module read as source: what its top level binds, except a name the analysis
        models (`resnet.resnet18` of an installed torchvision's models/resnet.py), which stays the library
        name, as `from torchvision.models.resnet import resnet18` gives it: what is modelled must not
        depend on how the program spells the import."""
        qualname = f"{scope.name}.{name}"
        if modelled_inside(qualname):
            return library_name(qualname)
        return self.lookup_global(name, scope)

    def bind_import(self, qualname: str, scope: Scope) -> Value:
        """What an import statement that runs binds: a library name as itself, a name another file may
        define as a PendingImport, loaded when first read (Linker.settle)."""
        if self.loader is None or not is_loadable(qualname):
            return library_name(qualname)
        key = (scope.path, qualname)  # one object per import: both branches' bindings join as the same
        if key not in self._pending:
            self._pending[key] = PendingImport(qualname, scope)
        return self._pending[key]

    def settle(self, value: Value) -> Value:
        """The value of a name an import bound (PendingImport), loading its module now; one of several
        values (Alternatives) with its imported options settled. Anything else as it is."""
        if type(value) is PendingImport:
            return self.resolve_external(value.qualname, value.scope) or library_name(value.qualname)
        if any(type(option) is PendingImport for option in value.options):
            return join_all([self.settle(option) for option in value.options])
        return value

    def settle_differing_imports(self, envs: list) -> None:
        """A name every path binds, to an import on one and something else on another (`try: from apex
        import X` / `except ImportError: X = nn.LayerNorm`): join what the imports are, as before
        imports were pending. A name one path alone binds is unknown after the join anyway, so its
        module is never loaded."""
        if not self._pending:  # no import statement has run: nothing to settle
            return
        for name in set(envs[0]).intersection(*envs[1:]):
            values = [env[name] for env in envs]
            if any(type(v) is PendingImport for v in values) and any(v is not values[0] for v in values):
                for env in envs:
                    if type(env[name]) in PENDING:
                        env[name] = self.settle(env[name])

    # -- other files ---------------------------------------------------------------------------
    def resolve_external(self, qualname: str, scope: Scope) -> Optional[Value]:
        """A name imported from another file of the workspace or a package, as a value; else None."""
        if self.loader is None or not is_loadable(qualname):
            return None
        key = (scope.path, qualname)
        if key not in self._external:
            self._external[key] = None  # an import cycle resolves to unknown, not to a loop
            self._external[key] = self._resolve_external(qualname, scope)
        return self._external[key]

    def _resolve_external(self, qualname: str, scope: Scope) -> Optional[Value]:
        dots = len(qualname) - len(qualname.lstrip("."))
        parts = qualname[dots:].split(".") if qualname[dots:] else []
        for cut in range(len(parts), -1, -1):
            module_name = "." * dots + ".".join(parts[:cut])
            if not module_name.strip("."):
                continue
            target = self.load_scope(scope, module_name)
            if target is None:
                continue
            if cut == len(parts) and (dots or cut >= 2):  # the name is a submodule: unless its package rebinds it
                rebound = self._package_binding(scope, "." * dots + ".".join(parts[:-1]), parts[-1])
                if rebound is not None:
                    return rebound
            value: Value = ModuleRef(target)
            for attr in parts[cut:]:
                value = self._module_host().attribute_in(value, attr, target)
                if isinstance(value, Unknown):
                    return None
            return value
        return None

    def star_lookup(self, name: str, scope: Scope) -> Optional[Value]:
        """A name that `from module import *` brought in: from the last such module that exports it
        (its `__all__`, else its public names), as Python binds them in order."""
        key = (scope.path, name)
        if key in self._star:
            return self._star[key]
        self._star[key] = None  # a cycle of star imports finds nothing, instead of looping
        found = None
        for module_name in reversed(scope.table.star_imports):
            target = self.load_scope(scope, module_name)
            if target is not None and self._exports(target, name) and not self._imports_back(target, name, scope):
                found = self.lookup_global(name, target)
                break
        self._star[key] = found
        return found

    def _imports_back(self, target: Scope, name: str, scope: Scope) -> bool:
        """`from models import BaseVAE` in models/vae.py, which models/__init__.py star-imports after
        `from .base import *`: when the star import runs, the name vae.py imported from the package is
        the one the package bound before, so an earlier star import gives it (a cycle, never a value)."""
        if name in target.globals or name in target.table.classes or name in target.table.functions:
            return False
        qualname = target.table.aliases.get(name)
        if qualname is None:
            return False
        dots = len(qualname) - len(qualname.lstrip("."))
        parts = qualname[dots:].split(".")[:-1]  # the module the name was imported from
        module_name = "." * dots + ".".join(parts)
        if not module_name.strip(".") and not dots:
            return False
        found = self._find(target, module_name)
        return found is not None and found[0] == scope.path

    def _exports(self, scope: Scope, name: str) -> bool:
        listed = scope.globals.get("__all__")
        if isinstance(listed, (ListValue, Seq)) and all(isinstance(i, Const) for i in listed.items):
            return name in {i.value for i in listed.items}
        if name.startswith("_"):
            return False
        table = scope.table
        if name in scope.globals or name in table.classes or name in table.functions or name in table.aliases:
            return True
        return bool(table.star_imports) and self.star_lookup(name, scope) is not None

    def _package_binding(self, importer: Scope, package: str, name: str) -> Optional[Value]:
        """`from pkg import name` takes pkg's attribute before a submodule of that name, as Python does:
        timm/layers/__init__.py's `from .create_attn import create_attn` makes `create_attn` the
        function, not the module. An imported name is followed from pkg's import table without running
        pkg's top level (which would import every submodule); a name pkg defines loads pkg."""
        found = self._find(importer, package)
        if found is None:
            return None
        path, text = found
        if path not in self._tables:
            module = parse_cached(text)
            self._tables[path] = (make_scope(package.lstrip("."), path, module, shared=True) if module is not None
                                  else None)
        unrun = self._tables[path]  # the package's names, its top level not run
        if unrun is None:
            return None
        if name in unrun.table.aliases:
            return self.resolve_external(unrun.table.aliases[name], unrun)
        if name in unrun.table.classes or name in unrun.table.functions:
            target = self.load_scope(importer, package)
            if target is not None:
                value = self._module_host().attribute_in(ModuleRef(target), name, target)
                return None if isinstance(value, Unknown) else value
        return None

    def _find(self, importer: Scope, module_name: str) -> Optional[tuple]:
        """The loader's (path, text) of an imported module, or None where it is not found or not read;
        asked once per analysis (an error other than these three propagates, and is asked again)."""
        key = (importer.path, module_name)
        if key in self._found:
            return self._found[key]
        try:
            found = self.loader(importer.path, module_name)
        except (OSError, ValueError, UnicodeDecodeError):
            found = None
        self._found[key] = found
        return found

    def load_scope(self, importer: Scope, module_name: str) -> Optional[Scope]:
        """The scope of a module `importer` imports (`.blocks`, `models.vae`): read, its bases linked
        and its top level run the first time; the same scope after. None where it is not found, does
        not parse, or MAX_SCOPES files are read already."""
        found = self._find(importer, module_name)
        if found is None:
            return None
        path, text = found
        if path in self._scopes:
            return self._scopes[path]
        if len(self._scopes) >= MAX_SCOPES:
            return None
        module = parse_cached(text)
        if module is None:
            return None
        scope = make_scope(module_name.lstrip("."), path, module, text, shared=True)
        scope.library = importer.library or read_inside_library(scope.name)
        self._scopes[path] = scope
        self.link_bases(scope)
        scope.globals["__name__"] = Const(scope.name)
        self._module_host().run_imported(scope)
        return scope

    # -- classes across files ------------------------------------------------------------------
    def link_bases(self, scope: Scope) -> None:
        """Bases imported from other files join the class's MRO (and may make it an nn.Module)."""
        changed = False
        for info in scope.table.classes.values():
            written_names = _written_bases(info)
            for n, base in enumerate(info.base_names):
                if base in scope.table.classes:
                    continue
                # qualified from the base as written (an import after the class counts too): `from tqdm
                # import tqdm` then `class T(tqdm)` is tqdm.tqdm, not tqdm.tqdm.tqdm
                written = written_names[n] if n < len(written_names) else base
                head = written.split(".")[0]
                qualname = scope.table.aliases[head] + written[len(head):] if head in scope.table.aliases else base
                value = self.resolve_external(qualname, scope)
                if value is None and scope.table.star_imports and self.loader is not None:
                    value = self._star_base(base, scope)  # `class UNet(nn.Module)` after `from .parts import *`
                    if isinstance(value, FunctionRef):
                        info.base_names[n] = value.qualname
                        changed = True
                        continue
                if isinstance(value, ClassRef) and value.info not in info.bases:
                    info.bases.append(value.info)
                    changed = True
                elif value is None and self.loader is not None:
                    self._record_unresolved(scope, info, n, qualname)
        if changed:
            mark_modules(scope.table.classes.values())

    def _star_base(self, base: str, scope: Scope) -> Optional[Value]:
        """A base class named through a star import: `nn.Module` where `nn` is the star-imported
        module's `import torch.nn as nn` (a library name, FunctionRef), or a class it defines."""
        parts = base.split(".")
        value = self.star_lookup(parts[0], scope)
        for attr in parts[1:]:
            if value is None or isinstance(value, Unknown):
                return None
            value = self._module_host().attribute_in(value, attr, scope)
        return value

    def _record_unresolved(self, scope: Scope, info: ClassInfo, n: int, qualname: str) -> None:
        """A base class that an import should have given and did not (its module was not found or not
        read): the class may be an nn.Module that goes unchecked, so the engine says so, once a file."""
        names = _written_bases(info)
        written = names[n] if n < len(names) else None
        head = (written or "").split(".")[0]
        table = scope.table
        if not head or head in table.classes or head in table.functions or head in _PYTHON_BUILTINS:
            return
        if head in table.aliases:
            if is_loadable(qualname) and qualname.lstrip(".").split(".")[0] not in sys.stdlib_module_names:
                self._unresolved.setdefault(scope.path, []).append((info, qualname, head))
            return
        missing = [m for m in table.star_imports if self.load_scope(scope, m) is None]
        if missing:  # a name no star import gave, while one of them could not be read
            self._unresolved.setdefault(scope.path, []).append((info, None, missing[0]))


def _written_bases(info: ClassInfo) -> list:
    """A class's bases as written (`nn.Module`), in the order of its base_names (as _class_info reads them)."""
    return [name for name in (dotted_name(arg.value) for arg in info.node.bases) if name]
