"""Modules from other files of the workspace, resolved through imports; never a crash, never torch."""

from __future__ import annotations

import json
import textwrap

from shapels.analysis.engine import Options, analyze
from shapels.imports import FileLoader

from conftest import run_shapels

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
