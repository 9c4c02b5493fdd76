"""The linker on its own: names across the files of small projects, read through a real FileLoader.

Each project is written to disk; the linker of an interpreter for its main file resolves names as
`python main.py` would bind them, and where Python itself can import the project the values are
compared with what it gives.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst

from shapels.analysis.interpreter import Budget, Interpreter
from shapels.analysis.linker import Linker
from shapels.analysis.objects import ClassRef, ModuleRef, PendingImport, UserFunction
from shapels.analysis.recorder import Recorder
from shapels.analysis.scopes import Scope, make_scope
from shapels.imports import FileLoader
from shapels.values import FunctionRef, Number, Unknown


def _write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _interpreter(root: Path, main: str, files: dict) -> Interpreter:
    """An interpreter for `main` (a path under root) whose loader reads the project's files only."""
    _write(root, files)
    path = root / main
    text = path.read_text()
    scope = make_scope("__main__", str(path), cst.parse_module(text), text)
    return Interpreter(scope, Recorder(), Budget(None), FileLoader(roots=[root], include_site_packages=False))


def _count_runs(interp: Interpreter, monkeypatch) -> list:
    """The names of the modules whose top level the linker asks the interpreter to run, in order."""
    runs: list = []
    real = Interpreter.run_imported

    def counting(self, scope: Scope) -> None:
        runs.append(scope.name)
        real(self, scope)

    monkeypatch.setattr(Interpreter, "run_imported", counting)
    return runs


def _python(root: Path, module: str, expression: str) -> str:
    """repr() of `expression` after Python imports `module` from the project (in a fresh process)."""
    code = f"import {module} as m; print(repr(({expression})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _library(value) -> str:
    """The qualified name of a library name (values compare by identity)."""
    assert isinstance(value, FunctionRef), value
    return value.qualname


def _size(value) -> int:
    assert isinstance(value, Number), value
    return value.value


# -- star imports ------------------------------------------------------------------------------------
STARS = {
    "shapes.py": """
        __all__ = ["WIDTH", "Block"]
        WIDTH = 8
        HIDDEN = 3  # not in __all__: a star import leaves it out
        class Block:
            pass
        """,
    "sizes.py": """
        from shapes import *
        DEPTH = WIDTH * 2
        _PRIVATE = 1
        """,
    "later.py": "WIDTH = 32\n",
    "main.py": "from sizes import *\n",
    "both.py": "from sizes import *\nfrom later import *\n",
}


def test_a_star_import_brings_what_the_module_exports_through_a_chain(tmp_path):
    interp = _interpreter(tmp_path, "main.py", STARS)
    linker, main = interp.linker, interp.main
    assert _size(linker.lookup_global("DEPTH", main)) == 16 == int(_python(tmp_path, "main", "m.DEPTH"))
    assert _size(linker.lookup_global("WIDTH", main)) == 8 == int(_python(tmp_path, "main", "m.WIDTH"))
    block = linker.lookup_global("Block", main)
    assert isinstance(block, ClassRef) and block.info.name == "Block"
    assert block.info.scope.path == str(tmp_path / "shapes.py")
    # __all__ leaves HIDDEN out, and a star import never brings a name that starts with _
    assert isinstance(linker.lookup_global("HIDDEN", main), Unknown)
    assert isinstance(linker.lookup_global("_PRIVATE", main), Unknown)
    assert _python(tmp_path, "main", "hasattr(m, 'HIDDEN'), hasattr(m, '_PRIVATE')") == "(False, False)"


def test_the_loader_is_asked_each_question_once_per_analysis(tmp_path):
    # load_scope and the star lookups ask for a module again each time one of its names is read; the
    # loader stats a dozen candidate files per question, so the linker keeps its answers for the analysis
    interp = _interpreter(tmp_path, "both.py", STARS)
    asked: list = []
    real = interp.linker.loader

    def counting(importer: str, module: str):
        asked.append((importer, module))
        return real(importer, module)

    interp.linker.loader = counting
    linker, main = interp.linker, interp.main
    for name in ("WIDTH", "DEPTH", "Block", "HIDDEN", "_PRIVATE"):
        linker.lookup_global(name, main)
    assert _size(linker.lookup_global("WIDTH", main)) == 32 and _size(linker.lookup_global("DEPTH", main)) == 16
    assert asked and len(asked) == len(set(asked)), sorted(asked)
    assert (str(tmp_path / "both.py"), "later") in asked and (str(tmp_path / "sizes.py"), "shapes") in asked


def test_a_module_changed_during_an_analysis_is_read_as_first_found(tmp_path):
    # an analysis reads each file once: a file edited while it runs (the server's next keystroke in an
    # imported file) is seen by the next analysis, as a file already loaded always was
    interp = _interpreter(tmp_path, "main.py", STARS)
    linker, main = interp.linker, interp.main
    assert _size(linker.lookup_global("DEPTH", main)) == 16
    (tmp_path / "shapes.py").write_text("__all__ = ['WIDTH']\nWIDTH = 100\n")
    (tmp_path / "later.py").unlink()
    assert linker.star_lookup("WIDTH", main) is not None
    assert _size(linker.lookup_global("WIDTH", main)) == 8
    fresh = _interpreter(tmp_path / "again", "main.py", dict(STARS, **{"shapes.py": "__all__ = ['WIDTH']\nWIDTH = 100\n"}))
    assert _size(fresh.linker.lookup_global("WIDTH", fresh.main)) == 100


def test_the_last_star_import_that_exports_a_name_binds_it(tmp_path):
    interp = _interpreter(tmp_path, "both.py", STARS)
    assert _size(interp.linker.lookup_global("WIDTH", interp.main)) == 32 == int(_python(tmp_path, "both", "m.WIDTH"))
    assert _size(interp.linker.lookup_global("DEPTH", interp.main)) == 16  # only sizes.py has it


# -- a package's re-exports, relative imports ----------------------------------------------------------
PACKAGE = {
    "pkg/__init__.py": """
        from .create_attn import create_attn
        from .blocks import Block
        """,
    "pkg/create_attn.py": """
        def create_attn(channels):
            return channels
        """,
    "pkg/blocks.py": """
        WIDTH = 24
        class Block:
            pass
        """,
    "pkg/sub/__init__.py": "",
    "pkg/sub/net.py": """
        from ..blocks import WIDTH
        from . import helpers
        from .helpers import SCALE
        HEADS = WIDTH // SCALE
        """,
    "pkg/sub/helpers.py": "SCALE = 4\n",
    "main.py": """
        from pkg import create_attn, Block
        import pkg.sub.net
        """,
}


def test_a_package_name_that_rebinds_a_submodule_is_the_function_it_imports(tmp_path):
    # pkg/__init__.py's `from .create_attn import create_attn` makes pkg.create_attn the function,
    # not the submodule of that name, as in Python
    interp = _interpreter(tmp_path, "main.py", PACKAGE)
    value = interp.linker.resolve_external("pkg.create_attn", interp.main)
    assert isinstance(value, UserFunction) and value.node.name.value == "create_attn"
    assert _python(tmp_path, "main", "type(m.create_attn).__name__, m.create_attn.__name__") == "('function', 'create_attn')"


def test_a_class_a_package_re_exports_is_the_class_its_submodule_defines(tmp_path):
    interp = _interpreter(tmp_path, "main.py", PACKAGE)
    block = interp.linker.lookup_global("Block", interp.main)
    assert isinstance(block, ClassRef) and block.info.scope.path == str(tmp_path / "pkg" / "blocks.py")
    assert _python(tmp_path, "main", "m.Block.__module__") == "'pkg.blocks'"


def test_relative_imports_resolve_against_the_importing_file(tmp_path):
    interp = _interpreter(tmp_path, "pkg/sub/net.py", PACKAGE)
    linker, net = interp.linker, interp.main
    assert _size(linker.resolve_external("..blocks.WIDTH", net)) == 24
    helpers = linker.resolve_external(".helpers", net)
    assert isinstance(helpers, ModuleRef) and helpers.scope.path == str(tmp_path / "pkg" / "sub" / "helpers.py")
    # a module that imports relatively, loaded from the main file by its absolute name
    main = _interpreter(tmp_path, "main.py", {})
    assert _size(main.linker.resolve_external("pkg.sub.net.HEADS", main.main)) == 6
    assert int(_python(tmp_path, "main", "m.pkg.sub.net.HEADS")) == 6


# -- loading once, cycles --------------------------------------------------------------------------------
CYCLE = {
    "first.py": """
        import second
        SIZE = second.WIDTH + 1
        """,
    "second.py": """
        import first
        WIDTH = 3
        BACK = first.SIZE  # first is half run when second runs: Python raises here, shapels does not know
        """,
    "main.py": "from first import SIZE\nfrom second import BACK\n",
}


def test_a_circular_import_loads_each_file_once_and_ends_in_unknown(tmp_path, monkeypatch):
    interp = _interpreter(tmp_path, "main.py", CYCLE)
    runs = _count_runs(interp, monkeypatch)
    linker, main = interp.linker, interp.main
    assert _size(linker.lookup_global("SIZE", main)) == 4
    assert runs == ["first", "second"]
    second = linker.resolve_external("second", main)
    assert isinstance(second, ModuleRef) and _size(second.scope.globals["WIDTH"]) == 3
    assert isinstance(second.scope.globals["BACK"], Unknown)  # first.SIZE, read while first ran
    assert linker.resolve_external("second.BACK", main) is None
    assert _size(linker.lookup_global("SIZE", main)) == 4 and runs == ["first", "second"]  # loaded once
    assert len(linker.sources()) == 3 and linker.sources()[0] == (tmp_path / "main.py").read_text()


def test_an_import_statement_binds_a_pending_import_that_loads_when_read(tmp_path, monkeypatch):
    interp = _interpreter(tmp_path, "main.py", CYCLE)
    runs = _count_runs(interp, monkeypatch)
    linker, main = interp.linker, interp.main
    bound = linker.bind_import("second.WIDTH", main)
    assert isinstance(bound, PendingImport) and bound is linker.bind_import("second.WIDTH", main)
    assert runs == []  # nothing is read before the name is
    assert _size(linker.settle(bound)) == 3 and runs == ["second", "first"]
    assert _library(linker.bind_import("torch.nn.Linear", main)) == "torch.nn.Linear"  # a library: never loaded


# -- classes across files, names that cannot be found --------------------------------------------------
BASES = {
    "base.py": """
        import torch.nn as nn
        class Backbone(nn.Module):
            pass
        """,
    "parts.py": "import torch.nn as nn\n",
    "main.py": """
        import torch
        from base import Backbone
        from parts import *
        from missing_package import Thing
        class Net(Backbone):
            pass
        class UNet(nn.Module):
            pass
        class Other(Thing):
            pass
        """,
}


def test_a_base_class_from_another_file_joins_the_mro_and_makes_a_module(tmp_path):
    interp = _interpreter(tmp_path, "main.py", BASES)
    classes = interp.main.table.classes
    assert not classes["Net"].is_module and not classes["UNet"].is_module  # unlinked: what the file alone says
    interp.linker.link_bases(interp.main)
    net, unet = classes["Net"], classes["UNet"]
    assert [b.name for b in net.bases] == ["Backbone"] and net.is_module
    assert net.bases[0].scope.path == str(tmp_path / "base.py")
    # `nn` came in through parts.py's star import: nn.Module is torch's
    assert unet.base_names == ["torch.nn.Module"] and unet.is_module


def test_a_name_no_file_gives_is_a_library_name_and_its_class_is_reported(tmp_path):
    interp = _interpreter(tmp_path, "main.py", BASES)
    linker, main = interp.linker, interp.main
    assert linker.resolve_external("missing_package.Thing", main) is None
    assert _library(linker.lookup_global("Thing", main)) == "missing_package.Thing"
    assert linker.unresolved_bases(main.path) == []
    linker.link_bases(main)
    other = main.table.classes["Other"]
    assert linker.unresolved_bases(main.path) == [(other, "missing_package.Thing", "Thing")]
    assert not other.is_module


def test_a_star_import_that_cannot_be_read_is_reported_for_the_class_it_should_give(tmp_path):
    interp = _interpreter(tmp_path, "main.py", {"main.py": "from nowhere import *\nclass M(Base):\n    pass\n"})
    interp.linker.link_bases(interp.main)
    m = interp.main.table.classes["M"]
    assert interp.linker.unresolved_bases(interp.main.path) == [(m, None, "nowhere")]
    assert isinstance(interp.linker.lookup_global("Base", interp.main), Unknown)


def test_without_a_loader_no_file_is_read(tmp_path):
    _write(tmp_path, BASES)
    text = (tmp_path / "main.py").read_text()
    main = make_scope("__main__", str(tmp_path / "main.py"), cst.parse_module(text), text)
    interp = Interpreter(main, Recorder(), Budget(None), None)
    linker: Linker = interp.linker
    assert _library(linker.lookup_global("Backbone", main)) == "base.Backbone"
    assert _library(linker.bind_import("base.Backbone", main)) == "base.Backbone"
    linker.link_bases(main)
    assert not main.table.classes["Net"].is_module and linker.unresolved_bases(main.path) == []
    assert linker.sources() == [text]


# -- infrastructure packages -------------------------------------------------------------------------
INSTALLED_INFRASTRUCTURE = {
    # stand-ins for copies installed beside shapels, where a loader finds them as it finds any package
    "tqdm/__init__.py": """
        class tqdm:
            def __init__(self, iterable=None, **options):
                self.iterable = iterable
            def __iter__(self):
                for item in self.iterable:
                    yield item
        """,
    "packaging/__init__.py": "",
    "packaging/version.py": """
        import re
        class Version:
            def __init__(self, text):
                self._match = re.compile(r"(\\d+)\\.(\\d+)").search(text)
        def parse(text):
            return Version(text)
        """,
    "main.py": """
        from tqdm import tqdm
        from packaging import version
        import packaging.version
        NEW_TORCH = version.parse("2.4") >= version.parse("2.1")
        """,
}


def test_an_installed_infrastructure_package_is_never_read(tmp_path):
    # which packages sit in site-packages must not change the analysis: tqdm stays the library name its
    # handler models, and packaging's version parser (~700 runs a transformers file) is not interpreted
    interp = _interpreter(tmp_path, "main.py", INSTALLED_INFRASTRUCTURE)
    asked: list = []
    real = interp.linker.loader

    def counting(importer: str, module: str):
        asked.append(module)
        return real(importer, module)

    interp.linker.loader = counting
    linker, main = interp.linker, interp.main
    assert _library(linker.lookup_global("tqdm", main)) == "tqdm.tqdm"
    assert _library(linker.bind_import("packaging.version.parse", main)) == "packaging.version.parse"
    assert linker.resolve_external("packaging.version.Version", main) is None
    assert asked == []
