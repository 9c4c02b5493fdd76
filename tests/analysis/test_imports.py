"""Modules from other files of the workspace, resolved through imports; never a crash, never torch."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time

from shapels.analysis.engine import Options, analyze
from shapels.imports import FileLoader

from conftest import run_shapels
from two_file_project import BLOCKS as WIDE_BLOCK
from two_file_project import MODEL as HEAD_OF_64

BLOCKS = """
import torch.nn as nn

class Block(nn.Module):
    expansion = 2
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * self.expansion, 3, padding=1)
    def forward(self, x):
        return self.conv(x)

def make_head(features, classes):
    return nn.Linear(features, classes)

if __name__ == "__main__":
    raise SystemExit("the imported module's driver must not run")
"""

MODEL = """
import torch
import torch.nn as nn
{imports}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(3, 8)
        self.head = make_head({features}, 10)
    def forward(self, x):
        x = self.block(x).mean((2, 3))
        return self.head(x)

Net()(torch.randn(2, 3, 16, 16))
"""


def _write_project(tmp_path, imports: str, features: int):
    pkg = tmp_path / "proj" / "models"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text(textwrap.dedent(BLOCKS))
    model = pkg / "net.py"
    model.write_text(textwrap.dedent(MODEL.format(imports=imports, features=features)))
    return model


def _analyze(model, **kw):
    return analyze(model.read_text(), str(model), Options(loader=FileLoader(**kw)))


def test_sibling_module_absolute_import(tmp_path):
    model = _write_project(tmp_path, "from blocks import Block, make_head", features=16)
    result = _analyze(model, include_site_packages=False)
    assert [f.code for f in result.findings] == []
    net = next(m for m in result.modules if m.name == "Net")
    assert net.output.shape.show() == "(2, 10)"


def test_relative_import_and_module_alias(tmp_path):
    model = _write_project(tmp_path, "from . import blocks\nfrom .blocks import make_head\nBlock = blocks.Block",
                           features=12)
    result = _analyze(model, include_site_packages=False)
    [f] = [f for f in result.findings if f.severity == "error"]
    assert f.code == "linear-in-features" and f.fix.content == "16"
    assert f.span.start_line == model.read_text().splitlines().index("        self.head = make_head(12, 10)") + 1


def test_package_import_from_a_workspace_root(tmp_path):
    model = _write_project(tmp_path, "from models.blocks import Block, make_head", features=16)
    other = tmp_path / "elsewhere.py"
    other.write_text(model.read_text())
    result = analyze(other.read_text(), str(other), Options(loader=FileLoader([tmp_path / "proj"], False)))
    assert next(m for m in result.modules if m.name == "Net").output.shape.show() == "(2, 10)"


def test_import_cycles_and_missing_modules_are_unknown(tmp_path):
    (tmp_path / "a.py").write_text("from b import thing\nimport torch.nn as nn\nclass A(nn.Module):\n    pass\n")
    (tmp_path / "b.py").write_text("from a import A\nthing = A\n")
    main = tmp_path / "m.py"
    main.write_text("from a import A\nfrom nowhere import Z\nimport torch.nn as nn\nclass M(A):\n"
                    "    def __init__(self):\n        super().__init__()\n        self.z = Z(3)\n"
                    "    def forward(self, x):\n        return self.z(x)\nM()(1)\n")
    result = _analyze(main, include_site_packages=False)
    assert result.findings == []
    assert [m.name for m in result.modules] == ["M"]  # nn.Module through the imported base


def test_cli_reads_sibling_files(tmp_path):
    model = _write_project(tmp_path, "from blocks import Block, make_head", features=12)
    result = run_shapels("check", "--format", "json", str(model))
    assert result.returncode == 1
    assert [d["code"] for d in json.loads(result.stdout)] == ["linear-in-features"]


def test_absolute_import_of_the_files_own_package(tmp_path):
    model = _write_project(tmp_path, "from models.blocks import Block, make_head", features=12)
    result = _analyze(model, include_site_packages=False)  # no roots: found from the package itself
    assert [f.code for f in result.findings if f.severity == "error"] == ["linear-in-features"]


# -- defaults are evaluated where the function is defined ------------------------------------------
LAYERS = """
import torch.nn as nn

HIDDEN = 16

class Mlp(nn.Module):
    def __init__(self, dim, act_layer=nn.GELU, hidden=HIDDEN):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden, dim)
    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))

def make_head(classes, features=HIDDEN):
    return nn.Linear(features, classes)
"""

CALLER = """
import sys
sys.path.insert(0, {folder!r})
import torch
from layers import Mlp, make_head

HIDDEN = 32  # the caller's own HIDDEN: not the one the defaults above name

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = Mlp(8)
        self.proj = torch.nn.Linear(8, 16)
        self.head = make_head(10)
    def forward(self, x):
        return self.head(self.proj(self.mlp(x)))

out = Net()(torch.randn(2, 8))
"""


def test_defaults_of_an_imported_function_use_its_own_module(tmp_path):
    """`act_layer=nn.GELU` means layers.py's `nn` (the caller has none), and `features=HIDDEN` layers.py's
    16, not the caller's 32: read in the caller's scope, the first lost every shape after Mlp and the
    second built make_head's Linear with in_features 32."""
    (tmp_path / "layers.py").write_text(LAYERS)
    main = tmp_path / "main.py"
    main.write_text(CALLER.format(folder=str(tmp_path)))
    scope = {"__name__": "__main__"}
    exec(compile(main.read_text(), str(main), "exec"), scope)  # torch runs it
    sys.modules.pop("layers", None)
    assert tuple(scope["out"].shape) == (2, 10)
    result = _analyze(main, include_site_packages=False)
    assert [f.code for f in result.findings if f.severity in ("error", "warning")] == []
    net = next(m for m in result.modules if m.name == "Net")
    assert net.output.shape.show() == "(2, 10)"
    layers = {layer.name: layer for layer in net.layers}
    assert layers["mlp"].kind == "Mlp" and layers["mlp"].output.show() == "(2, 8)"
    assert layers["head"].args["in_features"].value == 16


CLOSURE_DEFAULT = """
import torch
import torch.nn as nn

def build(width):
    def head(classes, features=width):  # a default naming the enclosing function's local
        return nn.Linear(features, classes)
    return nn.Sequential(nn.Linear(4, width), head(3))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = build({width})
    def forward(self, x):
        return self.body(x)

out = Net()(torch.randn(2, 4))
"""


def test_a_default_may_name_the_enclosing_functions_local():
    source = CLOSURE_DEFAULT.format(width=6)
    scope = {"__name__": "__main__"}
    exec(compile(source, "<model>", "exec"), scope)
    assert tuple(scope["out"].shape) == (2, 3)
    [net] = [m for m in analyze(source, "m.py").modules if m.name == "Net"]
    assert net.output.shape.show() == "(2, 3)"


# -- star imports -----------------------------------------------------------------------------------
ACTIVATIONS = """
import torch
from torch import nn as nn

class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)

_PRIVATE_WIDTH = 99
WIDTH = 12
"""

LISTED = """
import torch.nn as nn
__all__ = ['Wide']
WIDTH = 5  # not listed: a star import does not bring it

class Wide(nn.Linear):
    pass
"""

FACTORY = """
from .activations import *
from .listed import *

_LAYERS = dict(swish=Swish, relu=nn.ReLU)

def make(name, features):
    return nn.Sequential(Wide(features, WIDTH), _LAYERS[name]())
"""

STAR_MAIN = """
import sys
sys.path.insert(0, {root!r})
import torch
from pkg.factory import make

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = make('swish', 4)
        self.head = torch.nn.Linear({head_in}, 3)
    def forward(self, x):
        return self.head(self.body(x))

out = Net()(torch.randn(2, 4))
"""


def _star_project(tmp_path, head_in: int):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "activations.py").write_text(ACTIVATIONS)
    (pkg / "listed.py").write_text(LISTED)
    (pkg / "factory.py").write_text(FACTORY)
    main = tmp_path / "main.py"
    main.write_text(STAR_MAIN.format(root=str(tmp_path), head_in=head_in))
    return main


def _torch_run(main):
    scope = {"__name__": "__main__"}
    try:
        exec(compile(main.read_text(), str(main), "exec"), scope)
        return tuple(scope["out"].shape)
    except RuntimeError as error:
        return str(error)
    finally:
        for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
            del sys.modules[name]


def test_names_from_star_imports_resolve(tmp_path):
    """factory.py's `nn`, `Swish` and `WIDTH` come from `from .activations import *` (public names,
    imports included) and `Wide` from `from .listed import *` (its __all__, so its WIDTH stays out)."""
    main = _star_project(tmp_path, head_in=12)
    assert _torch_run(main) == (2, 3)
    result = _analyze(main, include_site_packages=False)
    assert [f.code for f in result.findings if f.severity in ("error", "warning")] == []
    net = next(m for m in result.modules if m.name == "Net")
    assert net.output.shape.show() == "(2, 3)"
    assert {layer.name: layer.output.show() for layer in net.layers}["body"] == "(2, 12)"


def test_a_star_imported_width_is_checked(tmp_path):
    main = _star_project(tmp_path, head_in=5)  # listed.py's WIDTH, which the star import leaves out
    assert "cannot be multiplied" in _torch_run(main)
    result = _analyze(main, include_site_packages=False)
    [f] = [f for f in result.findings if f.severity == "error"]
    assert f.code == "linear-in-features" and f.fix.content == "12"


def test_star_import_cycles_and_missing_modules_are_unknown(tmp_path):
    (tmp_path / "a.py").write_text("from b import *\nimport torch.nn as nn\nA_WIDTH = 3\n")
    (tmp_path / "b.py").write_text("from a import *\nfrom nowhere import *\n")
    main = tmp_path / "m.py"
    main.write_text("import torch\nfrom b import *\nclass M(torch.nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.fc = nn.Linear(4, A_WIDTH)\n        self.extra = UNDEFINED\n"
                    "    def forward(self, x):\n        return self.fc(x)\nout = M()(torch.randn(2, 4))\n")
    result = _analyze(main, include_site_packages=False)
    assert [f.code for f in result.findings if f.severity in ("error", "warning")] == []
    [m] = [m for m in result.modules if m.name == "M"]
    assert m.output.shape.show() == "(2, 3)"  # A_WIDTH through b's star import of a


def test_the_loader_never_returns_the_importing_file_itself(tmp_path):
    """`import timm` inside a file named timm.py (or through a symlink to it) means another module."""
    (tmp_path / "proj").mkdir()
    importer = tmp_path / "proj" / "timm.py"
    importer.write_text("import timm\n")
    (tmp_path / "proj" / "alias.py").symlink_to(importer)
    elsewhere = tmp_path / "site" / "timm"
    elsewhere.mkdir(parents=True)
    (elsewhere / "__init__.py").write_text("WIDTH = 3\n")
    loader = FileLoader(roots=[tmp_path / "site"], include_site_packages=False)
    assert loader(str(importer), "timm") == (str(elsewhere / "__init__.py"), "WIDTH = 3\n")
    assert loader(str(importer), "alias") is None
    assert FileLoader(include_site_packages=False)(str(importer), "timm") is None
    assert loader(str(tmp_path / "proj" / "other.py"), "alias") == (str(tmp_path / "proj" / "alias.py"), "import timm\n")


class _RecordingLoader(FileLoader):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.asked: list = []

    def __call__(self, importer_path, dotted):
        self.asked.append(dotted)
        return super().__call__(importer_path, dotted)


def test_an_import_that_ran_is_loaded_only_when_its_name_is_read(tmp_path):
    """A package __init__ imports every model under `if TYPE_CHECKING or SLOW_IMPORT:` and reads none."""
    model = _write_project(tmp_path, "from .blocks import Block, make_head", 16)
    init = model.parent / "__init__.py"
    init.write_text("from typing import TYPE_CHECKING\nSLOW = slow()\nif TYPE_CHECKING or SLOW:\n"
                    "    from .blocks import Block\n    from .net import Net\nelse:\n    lazy = 1\n")
    loader = _RecordingLoader(include_site_packages=False)
    result = analyze(init.read_text(), str(init), Options(loader=loader))
    assert not result.findings and ".blocks" not in loader.asked and ".net" not in loader.asked


def test_an_import_in_a_try_block_or_a_function_resolves_when_read(tmp_path):
    imports = ("try:\n    from .blocks import Block, make_head\nexcept ImportError:\n    Block = None\n"
               "    make_head = None\n")
    model = _write_project(tmp_path, imports, 16)  # the head wants 16 features; the block gives 16
    assert not [f for f in _analyze(model).findings if f.severity == "error"]
    wrong = _write_project(tmp_path / "b", imports, 12)
    assert [f.code for f in _analyze(wrong).findings if f.severity == "error"] == ["linear-in-features"]
    in_function = _write_project(tmp_path / "c", "def _head(f, c):\n    from .blocks import make_head\n"
                                 "    return make_head(f, c)\nfrom .blocks import Block\n", 12)
    in_function.write_text(in_function.read_text().replace("make_head(12, 10)", "_head(12, 10)"))
    assert [f.code for f in _analyze(in_function).findings if f.severity == "error"] == ["linear-in-features"]


def test_a_module_first_read_inside_a_class_run_is_not_part_of_that_run(tmp_path):
    """Its top level records nothing into the run and its error does not demote the run's own error
    to a warning ("once the earlier error is fixed")."""
    (tmp_path / "noisy.py").write_text("import torch\nimport torch.nn as nn\n"
                                       "BROKEN = nn.Linear(4, 3)(torch.randn(2, 5))\nWIDTH = 8\n")
    main = tmp_path / "net.py"
    main.write_text("import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n"
                    "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 2)\n\n"
                    "    def forward(self, x):\n        from noisy import WIDTH\n"
                    "        x = x.view(-1, WIDTH)\n        return self.fc(x[:, :4])\n\n"
                    "Net()(torch.randn(3, 8))\n")
    result = analyze(main.read_text(), str(main), Options(loader=FileLoader(include_site_packages=False)))
    problems = [(f.code, f.severity, f.span.start_line) for f in result.findings if f.severity in ("error", "warning")]
    assert problems == [("linear-in-features", "error", 7)]


# -- one loader over many analyses (a worker's files, the server's edits) -------------------------

def _errors(model, loader) -> list:
    result = analyze(model.read_text(), str(model), Options(loader=loader))
    return [f.code for f in result.findings if f.severity == "error"]


def _edit_keeping_size_and_mtime(path, old: str, new: str) -> None:
    """An edit of the same size whose mtime is the old one: what an edit in the clock tick of the last
    write looks like (or `cp -p`, `touch -r`)."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_mtime_ns, path.stat().st_size) == (before.st_mtime_ns, before.st_size)


def test_an_import_edited_between_two_files_of_one_loader_is_read_again(tmp_path):
    """Two files that import one block, analysed with one loader (as a worker analyses its files): the
    block edited between them, in the same size and with its mtime unchanged, is read again for the
    second, which then gets the error the edit makes."""
    (tmp_path / "blocks.py").write_text(WIDE_BLOCK)
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(HEAD_OF_64)
    second.write_text(HEAD_OF_64)
    loader = FileLoader(include_site_packages=False)
    assert _errors(first, loader) == []
    _edit_keeping_size_and_mtime(tmp_path / "blocks.py", "WIDTH = 64", "WIDTH = 48")
    assert _errors(second, loader) == ["linear-in-features"]
    assert _errors(second, FileLoader(include_site_packages=False)) == ["linear-in-features"]  # as a fresh one


def test_a_settled_import_is_read_once_and_again_when_its_ctime_changes(tmp_path, monkeypatch):
    """A file that had settled when it was read is kept, and read again once its stat changes: an edit
    that restores the mtime still changes the ctime, which the system sets."""
    import shapels.imports as imports

    monkeypatch.setattr(imports, "RACY_NS", 0)  # every file has settled: only the stat decides
    reads = []
    real = imports.read_source
    monkeypatch.setattr(imports, "read_source", lambda path: reads.append(str(path)) or real(path))
    (tmp_path / "blocks.py").write_text(WIDE_BLOCK)
    model = tmp_path / "a.py"
    model.write_text(HEAD_OF_64)
    loader = FileLoader(include_site_packages=False)
    assert _errors(model, loader) == [] and _errors(model, loader) == []
    assert reads == [str(tmp_path / "blocks.py")]
    time.sleep(0.05)  # past the tick of the write: the edit's ctime differs
    _edit_keeping_size_and_mtime(tmp_path / "blocks.py", "WIDTH = 64", "WIDTH = 48")
    assert _errors(model, loader) == ["linear-in-features"] and len(reads) == 2


def test_a_file_that_just_changed_is_not_kept(tmp_path, monkeypatch):
    """Within RACY_NS of its last change a file is not kept (its stat may not show the next edit) and
    is read at each question; once settled it is kept."""
    import shapels.imports as imports

    (tmp_path / "blocks.py").write_text("WIDTH = 64\n")
    importer, path = str(tmp_path / "a.py"), str(tmp_path / "blocks.py")
    loader = FileLoader(include_site_packages=False)
    assert loader(importer, "blocks") == (path, "WIDTH = 64\n") and path not in loader._cache
    monkeypatch.setattr(imports, "RACY_NS", 0)
    assert loader(importer, "blocks") == (path, "WIDTH = 64\n") and path in loader._cache
