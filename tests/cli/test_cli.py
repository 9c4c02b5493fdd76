"""The CLI contracts of DESIGN.md part B: formats, exit codes, --input, and no torch import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import EXAMPLES, ROOT, run_shapels

BROKEN = EXAMPLES / "torch/seed004_ex1.py"
CORRECT = EXAMPLES / "torch/seed004_ex3.py"


def test_text_format_and_exit_status():
    result = run_shapels("check", str(BROKEN))
    assert result.returncode == 1
    [line, help_line] = result.stdout.strip().splitlines()
    assert line.startswith(f"{BROKEN}:11:29: linear-in-features ")
    assert help_line == "  help: Set in_features to 5120"  # the fix, as ruff shows it
    assert run_shapels("check", str(CORRECT)).returncode == 0


def test_directories_are_walked():
    result = run_shapels("check", "--format", "json", str(EXAMPLES / "torch"))
    assert result.returncode == 1
    files = {d["filename"].rsplit("/", 1)[-1] for d in json.loads(result.stdout)}
    assert files == {"seed000_ex3.py", "seed004_ex1.py", "seed004_ex2.py"}


def test_usage_errors_exit_2():
    assert run_shapels("check", "/no/such/file.py").returncode == 2
    assert run_shapels("check").returncode == 2
    assert run_shapels("check", "--format", "yaml", str(BROKEN)).returncode == 2
    assert run_shapels("check", "--input", "garbage", str(BROKEN)).returncode == 2


def test_json_matches_the_ruff_shape():
    [diag] = json.loads(run_shapels("check", "--format", "json", str(BROKEN)).stdout)
    contract = {"filename", "code", "severity", "message", "location", "end_location", "fix", "related"}
    assert set(diag) == contract | {"alternatives"}  # extended, never changed
    assert diag["severity"] == "error"
    assert diag["fix"]["message"] == "Set in_features to 5120"
    assert diag["fix"]["edits"] == [{"content": "5120", "location": {"row": 11, "column": 29},
                                     "end_location": {"row": 11, "column": 41}}]
    [lazy] = diag["alternatives"]
    assert lazy["message"].startswith("Use nn.LazyLinear(10)")
    assert lazy["edits"][0]["content"] == "nn.LazyLinear(10)"


def test_sarif_is_valid_2_1_0():
    doc = json.loads(run_shapels("check", "--format", "sarif", str(BROKEN)).stdout)
    assert doc["version"] == "2.1.0"
    [result] = doc["runs"][0]["results"]
    assert result["ruleId"] == "linear-in-features" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 11
    assert doc["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "linear-in-features"


def test_shapes_json_contract():
    doc = json.loads(run_shapels("shapes", "--format", "json", str(CORRECT)).stdout)
    [m] = doc["modules"]
    assert m["name"] == "AdaptivePoolingModel" and m["row"] == 5
    assert m["inputs"] == {"x": [1, 3, 64, 64]} and m["output"] == [1, 10]
    assert m["bindings"][0] == {"row": 14, "column": 9, "name": "x", "shape": [1, 10, 64, 64]}
    assert [b["row"] for b in m["bindings"]] == [14, 15, 16, 17, 18]
    assert m["layers"][2] == {"row": 10, "name": "adaptive_pool", "type": "torch.nn.AdaptiveAvgPool2d",
                              "input": [1, 20, 64, 64], "output": [1, 20, 5, 5],
                              "calls": [{"row": 16, "input": [1, 20, 64, 64], "output": [1, 20, 5, 5]}]}


def test_shapes_text_table():
    out = run_shapels("shapes", str(CORRECT)).stdout
    assert "AdaptivePoolingModel" in out and "(1, 20, 5, 5)" in out and "-> (1, 10)" in out


def test_input_option_overrides_discovery(tmp_path):
    model = tmp_path / "m.py"
    model.write_text(textwrap.dedent("""
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.fc = nn.Linear(8 * 30 * 30, 10)
            def forward(self, x):
                return self.fc(self.conv(x).flatten(1))
    """))
    assert run_shapels("check", str(model)).returncode == 0  # unknown input: silent
    assert run_shapels("check", "--input", "Net:x=(2,3,32,32)", str(model)).returncode == 0
    bad = run_shapels("check", "--format", "json", "--input", "Net:x=(2,3,64,64)", str(model))
    assert bad.returncode == 1
    assert json.loads(bad.stdout)[0]["fix"]["edits"][0]["content"] == str(8 * 62 * 62)


def test_pyproject_inputs_are_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"Net.x" = [1, 4]\n')
    (tmp_path / "m.py").write_text("import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n"
                                   "        super().__init__()\n        self.fc = nn.Linear(8, 2)\n"
                                   "    def forward(self, x):\n        return self.fc(x)\n")
    result = run_shapels("check", "--format", "json", str(tmp_path / "m.py"))
    assert result.returncode == 1 and json.loads(result.stdout)[0]["code"] == "linear-in-features"


ARGS_SCRIPT = """\
import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument('--dataset', required=True)
parser.add_argument('--imageSize', type=int, default=28)
opt = parser.parse_args()
net = nn.Linear(opt.imageSize * opt.imageSize, 10)
out = net(torch.randn(2, 28, 28).flatten(1))
"""


@pytest.mark.parametrize("args, fails", [('dataset = "mnist"\n', False), ('dataset = "mnist"\nimageSize = 32\n', True)])
def test_pyproject_args_are_the_command_line(tmp_path, args, fails):
    """[tool.shapels.args] gives argparse what the command line would (by dest); the run with that argv agrees."""
    (tmp_path / "pyproject.toml").write_text("[tool.shapels.args]\n" + args)
    (tmp_path / "train.py").write_text(ARGS_SCRIPT)
    argv = [part for line in args.splitlines() for part in ("--" + line.split(" = ")[0], line.split(" = ")[1].strip('"'))]
    ran = subprocess.run([sys.executable, str(tmp_path / "train.py"), *argv], capture_output=True, text=True)
    assert (ran.returncode != 0) == fails, ran.stderr
    result = run_shapels("check", "--no-cache", "--format", "json", str(tmp_path / "train.py"))
    assert result.returncode == (1 if fails else 0), result.stdout
    if fails:
        assert json.loads(result.stdout)[0]["code"] == "linear-in-features"


def test_python_dash_m_and_console_script_agree():
    script = ROOT / ".venv" / "bin" / "shapels"
    direct = subprocess.run([str(script) if script.exists() else "shapels", "check", str(BROKEN)],
                            capture_output=True, text=True)
    assert direct.stdout == run_shapels("check", str(BROKEN)).stdout


def test_static_path_never_imports_torch():
    code = textwrap.dedent(f"""
        import sys
        from shapels.cli import main
        for args in (["check", {str(EXAMPLES / 'torch')!r}], ["shapes", {str(CORRECT)!r}]):
            try:
                main(args)
            except SystemExit:
                pass
        bad = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        print("IMPORTED:", bad)
        assert not bad
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "IMPORTED: []" in result.stdout
