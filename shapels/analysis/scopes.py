"""Files as scopes: the analysed file, and the modules it imports from the workspace or packages.

The engine stays pure: reading another file is the job of a `Loader` that the caller (CLI, server)
injects. A loaded module's top level runs with its own `__name__`, so its `if __name__ ==
"__main__":` driver does not; its classes and functions keep their own scope for name lookups.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Optional

import libcst as cst

from shapels.analysis.limits import screen
from shapels.analysis.modtable import ModuleTable, build_table, copy_table
from shapels.analysis.parsing import parse_module
from shapels.rules import vision_models

# (importing file's path, dotted module name with leading dots for relative imports) -> (path, text)
Loader = Callable[[str, str], Optional[tuple]]

# Never loaded as source: torch and Keras (under its own name or TensorFlow's) are modelled by the
# rules, and these are infrastructure, not models.
NOT_LOADED = {"torch", "keras", "tensorflow", "torchvision", "numpy", "typing", "typing_extensions", "collections", "functools", "math", "os", "sys",
              "builtins", "jaxtyping", "einops", "warnings", "abc", "dataclasses", "enum", "itertools", "copy"} | {
    # Infrastructure that model libraries import and that defines no model. Read as source, each is only
    # found where it happens to be installed beside shapels, so results depended on the environment, and it
    # cost much: transformers' version checks ran packaging's regex-based parser ~700 times a file, a third
    # of a modeling file's analysis, for versions that are unknown before anything runs anyway. tqdm and
    # PIL have handlers in analysis/library.py, which an installed copy's source used to take over.
    "packaging", "huggingface_hub", "safetensors", "tokenizers", "filelock", "requests", "tqdm", "PIL", "yaml",
    "regex", "fsspec"}
# Read as source although under a library name: Keras's application modules are model code written with its
# layers, as a user's (resnet_v2 builds on resnet.ResNet; a user's keras.applications.ResNet50 is the public
# name of keras.src.applications.resnet.ResNet50), except their helpers, modelled by keras_utils.py.
#
# torchvision is modelled as Keras is: its datasets and transforms by the facts of rules/vision_data.py
# (read as source, an installed copy took over from them, and an MNIST loop's images, which the facts know
# to be (N, 1, 28, 28), became unknown), its ResNet builders by vision_models.py. Its models and ops are
# model code, read where it is installed (a VGG or ViT is followed then, and is a library name without
# it), except the builders that are modelled (an installed copy gave other messages and fixes). Only the
# names under torchvision.models. and torchvision.ops. are read: `import torchvision` and
# `from torchvision import models` stay library names, so their attributes are looked up by name here
# (an installed package's own modules would bind the builders to its source).
LOADED_INSIDE = ("keras.src.applications.", "keras.applications", "torchvision.models.", "torchvision.ops.")
MODELLED_INSIDE = ("keras.src.applications.imagenet_utils", *vision_models.MODELLED)
MAX_SCOPES = 64


@dataclass(eq=False)
class Scope:
    name: str
    path: str
    module: cst.Module
    table: ModuleTable
    globals: dict = field(default_factory=dict)
    text: Optional[str] = None  # the source, where the caller has it (hasattr's scan reads it with ast)
    # library code read for its shapes (a name of LOADED_INSIDE, or a file such a file imports), not the program's
    library: bool = False

    @property
    def source(self) -> str:
        if self.text is None:
            self.text = self.module.code  # libcst's own rendering: the same source
        return self.text


@functools.lru_cache(maxsize=128)
def parse_cached(text: str) -> Optional[cst.Module]:
    """Imported files rarely change between analyses; a parsed module is immutable, so share it."""
    if screen(text).reason is not None:
        return None
    try:
        return parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, ValueError, MemoryError):
        return None


def make_scope(name: str, path: str, module: cst.Module, text: Optional[str] = None, shared: bool = False) -> Scope:
    """The scope of a parsed file. `shared`: the module is parse_cached's, which later analyses read
    again; its table is then built once and copied for each scope."""
    table = _table_of_shared(module) if shared else build_table(module)
    scope = Scope(name, path, module, table, text=text)
    for info in table.classes.values():
        info.scope = scope
    return scope


def _table_of_shared(module: cst.Module) -> ModuleTable:
    """A copy of the module's table (modtable.copy_table), built on the first call for this module. A
    transformers modeling file's analysis reads ~50 modules, the same ones file after file, and built
    their tables each time (3% of its analysis); a copy costs a fraction of a build."""
    entry = _SHARED_TABLES.get(id(module))
    if entry is None or entry[0] is not module:
        if len(_SHARED_TABLES) >= MAX_SHARED_TABLES:
            _SHARED_TABLES.clear()
        entry = _SHARED_TABLES[id(module)] = (module, build_table(module))
    return copy_table(entry[1])


# id of a parse_cached module -> (the module, its table, which no analysis writes to). As many as
# parse_cached keeps; the entry keeps its module alive, so the id is not reused while it is here.
_SHARED_TABLES: dict = {}
MAX_SHARED_TABLES = 128


@functools.lru_cache(maxsize=4096)
def read_inside_library(qualname: str) -> bool:
    """A name under a library that is read as source all the same (LOADED_INSIDE), unless modelled.
    Cached: asked at every attribute of a library name (`nn.Conv2d`, 600 times on efficientnet with its
    driver), and modelled_inside tries each of ~70 names."""
    return qualname.startswith(LOADED_INSIDE) and not modelled_inside(qualname)


@functools.lru_cache(maxsize=4096)
def modelled_inside(qualname: str) -> bool:
    """A name of MODELLED_INSIDE or one inside it (`torchvision.models.resnet18`, not `...resnet18_custom`)."""
    return any(qualname == name or qualname.startswith(name + ".") for name in MODELLED_INSIDE)


@functools.lru_cache(maxsize=4096)
def is_loadable(qualname: str) -> bool:
    """Whether a name may be read as source (not a library shapels models): asked at every read of an
    imported name (`torch` of each `torch.cat`), for a few dozen names a file."""
    head = qualname.lstrip(".").split(".")[0]
    if qualname.startswith(LOADED_INSIDE):
        return read_inside_library(qualname)
    return qualname.startswith(".") or head not in NOT_LOADED
