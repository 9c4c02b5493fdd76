"""The CLI a CI pipeline can trust (issue #20), each point through the real CLI in a subprocess:
syntax errors are findings that fail the run, at Python's own position; an empty path and an input
entry naming nothing are usage errors; a class left unchecked for lack of an input gets a note
(--strict fails on it); filenames are relative to the current directory in every command."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_shapels

MLP = textwrap.dedent("""\
    import torch.nn as nn


    class MnistMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc2(self.fc1(x.flatten(1)))
""")

UNCLOSED = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__(
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)
""")


def _python_position(source: str) -> tuple:
    try:
        compile(source, "m.py", "exec")
    except SyntaxError as error:
        return error.lineno, error.offset, error.msg
    raise AssertionError("the source compiles")


# -- syntax errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("source", [
    UNCLOSED,
    "import torch\nx = (1,\n     2\ny = 3\n",
    "def f():\n    return 1\n      x = 2\n",  # IndentationError
    "s = 'ü' $ 1\n",  # a column after a non-ASCII character counts characters
])
def test_syntax_error_is_a_finding_at_pythons_position(tmp_path, source):
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    line, column, message = _python_position(source)
    text = run_shapels("check", "m.py", cwd=tmp_path)
    assert text.returncode == 1, text.stderr
    first = text.stdout.splitlines()[0]
    assert first.startswith(f"m.py:{line}:{column}: syntax-error SyntaxError: {message}")
    assert "1 error in 1 file" in text.stderr

    [diag] = json.loads(run_shapels("check", "--format", "json", "m.py", cwd=tmp_path).stdout)
    assert diag["code"] == "syntax-error" and diag["severity"] == "error"
    assert diag["location"] == {"row": line, "column": column}
    assert diag["filename"] == "m.py" and diag["fix"] is None

    sarif = run_shapels("check", "--format", "sarif", "m.py", cwd=tmp_path)
    assert sarif.returncode == 1
    run = json.loads(sarif.stdout)["runs"][0]
    [result] = run["results"]
    assert result["ruleId"] == "syntax-error" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == line
    assert result["locations"][0]["physicalLocation"]["region"]["startColumn"] == column
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["syntax-error"]


def test_unclosed_paren_points_at_the_paren():
    """The issue's example: Python says line 7 (the unclosed '(' of super().__init__(); libcst said 10:9."""
    line, column, _ = _python_position(UNCLOSED)
    assert (line, column) == (7, 25)


def test_a_syntax_error_fails_among_good_files(tmp_path):
    (tmp_path / "good.py").write_text(MLP + "\nimport torch\nMnistMLP()(torch.randn(2, 1, 28, 28))\n")
    (tmp_path / "bad.py").write_text(UNCLOSED)
    result = run_shapels("check", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert [(d["filename"], d["code"]) for d in json.loads(result.stdout)] == [("bad.py", "syntax-error")]


def test_shapes_of_a_file_with_a_syntax_error_fails(tmp_path):
    (tmp_path / "m.py").write_text(UNCLOSED)
    result = run_shapels("shapes", "m.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "m.py:7:25: syntax-error" in result.stderr


# -- paths that hold nothing -----------------------------------------------------------------------
def test_a_folder_without_python_files_is_a_usage_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("no code here\n")
    for folder in ("empty", "docs"):
        result = run_shapels("check", folder, cwd=tmp_path)
        assert result.returncode == 2
        assert f"{folder}: no Python file" in result.stderr and result.stdout == ""
    (tmp_path / "m.py").write_text(MLP)
    assert run_shapels("check", "m.py", "empty", cwd=tmp_path).returncode == 2
    assert run_shapels("shapes", "empty", cwd=tmp_path).returncode == 2


# -- input entries that name nothing ---------------------------------------------------------------
def test_input_naming_a_missing_parameter_lists_the_parameters(tmp_path):
    (tmp_path / "m.py").write_text(MLP)
    result = run_shapels("check", "--input", "MnistMLP:y=(1,1,28,28)", "m.py", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "MnistMLP.forward has no parameter 'y'; its parameters: x" in result.stderr
    assert run_shapels("check", "--input", "MnistMLP:x=(1,1,28,28)", "m.py", cwd=tmp_path).returncode == 0
    (tmp_path / "k.py").write_text("import torch.nn as nn\nclass K(nn.Module):\n"
                                   "    def forward(self, x, *, mask=None):\n        return x\n")
    result = run_shapels("check", "--input", "K:mask=(1, 4)", "k.py", cwd=tmp_path)
    assert result.returncode == 2 and "not the keyword-only 'mask'; its parameters: x" in result.stderr


def test_input_naming_a_missing_class_lists_the_classes(tmp_path):
    (tmp_path / "m.py").write_text(MLP)
    for command in (["check"], ["shapes"], ["confirm", "--device", "cpu"]):
        result = run_shapels(*command, "--input", "Nope:x=(1,1,28,28)", "m.py", cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "no class Nope in the files checked" in result.stderr
        assert "classes with a forward there: MnistMLP" in result.stderr


def test_pyproject_inputs_are_checked_too(tmp_path):
    (tmp_path / "m.py").write_text(MLP)
    (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"MnistMLP.images" = [1, 784]\n')
    result = run_shapels("check", "m.py", cwd=tmp_path)
    assert result.returncode == 2
    assert '[tool.shapels] inputs "MnistMLP.images"' in result.stderr and "its parameters: x" in result.stderr

    (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"Missing.x" = [1, 784]\n')
    result = run_shapels("check", "m.py", cwd=tmp_path)
    assert result.returncode == 2 and "no class Missing in the files checked or any Python file under" in result.stderr

    (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"MnistMLP.x" = "a (b"\n')
    result = run_shapels("check", "m.py", cwd=tmp_path)
    assert result.returncode == 2 and "is not a shape" in result.stderr


def test_pyproject_input_for_a_class_in_another_file_of_the_project_is_fine(tmp_path):
    """pre-commit checks only the files a commit changes: the configured class lives elsewhere."""
    (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"MnistMLP.x" = [1, 784]\n')
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mlp.py").write_text(MLP)
    (tmp_path / "other.py").write_text("import torch\nprint(torch.zeros(2).shape)\n")
    result = run_shapels("check", "other.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"MnistMLP.y" = [1, 784]\n')
    result = run_shapels("check", "other.py", cwd=tmp_path)
    assert result.returncode == 2 and "its parameters: x" in result.stderr


# -- classes without an input ----------------------------------------------------------------------
KERAS_BLOCK = """import keras
from keras import layers


class Block(layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.dense = layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs)
"""


def test_a_keras_layer_without_input_gets_the_note_in_kerass_terms(tmp_path):
    """`call` is its forward and images are channels-last; the shape the note suggests is one it takes."""
    (tmp_path / "m.py").write_text(KERAS_BLOCK)
    [line] = run_shapels("check", "m.py", cwd=tmp_path).stdout.splitlines()
    assert "call's inputs has no shape" in line and "--input 'Block:inputs=(1, 64, 64, 3)'" in line
    assert "above def call" in line and "forward" not in line and "Float[Tensor" not in line
    given = run_shapels("shapes", "--format", "json", "--input", "Block:inputs=(1, 64, 64, 3)", "m.py", cwd=tmp_path)
    [module] = json.loads(given.stdout)["modules"]
    assert module["inputs"] == {"inputs": [1, 64, 64, 3]} and module["output"][:3] == [1, 64, 64]


def test_a_class_without_input_gets_a_note_and_strict_fails(tmp_path):
    (tmp_path / "m.py").write_text(MLP)
    result = run_shapels("check", "m.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # information, not an error
    [line] = result.stdout.splitlines()
    assert line.startswith("m.py:4:7: missing-input MnistMLP was not checked against an input: forward's x has no shape")
    for how in ("--input 'MnistMLP:x=", "[tool.shapels.inputs]", "# shapels: input x=", "Float[Tensor,"):
        assert how in line
    assert "1 class not checked for lack of an input shape" in result.stderr

    [note] = json.loads(run_shapels("check", "--format", "json", "m.py", cwd=tmp_path).stdout)
    assert note["code"] == "missing-input" and note["severity"] == "information"
    assert (note["location"], note["end_location"]) == ({"row": 4, "column": 7}, {"row": 4, "column": 15})
    sarif = json.loads(run_shapels("check", "--format", "sarif", "m.py", cwd=tmp_path).stdout)
    assert sarif["runs"][0]["results"][0]["level"] == "note"

    strict = run_shapels("check", "--strict", "--format", "json", "m.py", cwd=tmp_path)
    assert strict.returncode == 1
    assert json.loads(strict.stdout)[0]["severity"] == "error"

    given = run_shapels("check", "--strict", "--input", "MnistMLP:x=(2, 1, 28, 28)", "m.py", cwd=tmp_path)
    assert given.returncode == 0 and given.stdout == ""


@pytest.mark.parametrize("how", [
    "driver", "comment", "annotation", "pyproject", "ignored",
])
def test_no_note_where_an_input_is_given(tmp_path, how):
    source = MLP
    if how == "driver":
        source += "\n\nimport torch\nMnistMLP()(torch.randn(2, 1, 28, 28))\n"
    elif how == "comment":
        source = source.replace("    def forward(self, x):", "    # shapels: input x=(2, 1, 28, 28)\n    def forward(self, x):")
    elif how == "annotation":
        source = source.replace("def forward(self, x):", 'def forward(self, x: Float[Tensor, "B 1 28 28"]):')
        source = "from jaxtyping import Float\nfrom torch import Tensor\n" + source
    elif how == "pyproject":
        (tmp_path / "pyproject.toml").write_text('[tool.shapels.inputs]\n"MnistMLP.x" = [2, 784]\n')
    elif how == "ignored":
        source = source.replace("class MnistMLP(nn.Module):", "class MnistMLP(nn.Module):  # shapels: ignore[missing-input]")
    (tmp_path / "m.py").write_text(source)
    result = run_shapels("check", "--strict", "--format", "json", "m.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_a_block_called_by_an_unchecked_model_is_noted_once(tmp_path):
    """The note goes on the model; its blocks are checked once the model has an input."""
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc = nn.Linear(d, d)

            def forward(self, x):
                return self.fc(x)


        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.block = Block(16)

            def forward(self, x):
                return self.block(x)
    """))
    notes = json.loads(run_shapels("check", "--format", "json", "m.py", cwd=tmp_path).stdout)
    assert [(n["code"], n["location"]["row"]) for n in notes] == [("missing-input", 13)]
    assert notes[0]["message"].startswith("Model was not checked")


def test_confirm_without_any_input_says_how_to_give_one(tmp_path):
    (tmp_path / "m.py").write_text(MLP)
    result = run_shapels("confirm", "--device", "cpu", "m.py", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nothing was confirmed" in result.stdout and "--input 'MnistMLP:x=" in result.stdout
    given = run_shapels("confirm", "--device", "cpu", "--format", "json", "--input", "MnistMLP:x=(2, 1, 28, 28)",
                        "m.py", cwd=tmp_path)
    assert given.returncode == 0, given.stdout + given.stderr
    data = json.loads(given.stdout)
    assert data["output_shape"] == [2, 10]
    assert data["filename"] == "m.py"  # relative, as check prints it


# -- one way of writing filenames ------------------------------------------------------------------
def test_filenames_are_relative_to_the_current_directory(tmp_path):
    (tmp_path / "pkg").mkdir()
    model = tmp_path / "pkg" / "m.py"
    model.write_text((EXAMPLES / "torch" / "seed004_ex1.py").read_text())
    for arg in (str(model), "pkg/m.py", "./pkg/m.py", "pkg"):
        [diag] = json.loads(run_shapels("check", "--format", "json", arg, cwd=tmp_path).stdout)
        assert diag["filename"] == os.path.join("pkg", "m.py"), arg
        assert {r["filename"] for r in diag["related"]} == {os.path.join("pkg", "m.py")}
        sarif = json.loads(run_shapels("check", "--format", "sarif", arg, cwd=tmp_path).stdout)
        assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/m.py"
        shapes = json.loads(run_shapels("shapes", "--format", "json", arg, cwd=tmp_path).stdout)
        assert shapes["filename"] == os.path.join("pkg", "m.py")
    # outside the current directory: absolute
    elsewhere = tmp_path / "pkg"
    [diag] = json.loads(run_shapels("check", "--format", "json", str(model), cwd=ROOT).stdout)
    assert diag["filename"] == str(model)
    assert Path(diag["filename"]).is_absolute() and not str(elsewhere).startswith(str(ROOT))


def test_every_bad_input_entry_is_listed(tmp_path):
    (tmp_path / "m.py").write_text(MLP)
    result = run_shapels("check", "--input", "Nope:x=(1, 784)", "--input", "MnistMLP:q=(1, 784)", "m.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "shapels: --input 'Nope:x=(1, 784)': no class Nope in the files checked; classes with a forward there: MnistMLP",
        "shapels: --input 'MnistMLP:q=(1, 784)': MnistMLP.forward has no parameter 'q'; its parameters: x",
    ]


def test_a_failure_in_the_notes_keeps_the_findings_and_exits_2(tmp_path, monkeypatch, capsys):
    """A bug while deriving the missing-input notes is an internal failure (exit 2), not a lost report."""
    from shapels import cli, cli_findings

    def broken(result, strict=False):
        raise KeyError("injected")

    monkeypatch.setattr(cli_findings, "missing_input_notes", broken)
    path = tmp_path / "m.py"
    path.write_text((EXAMPLES / "torch" / "seed004_ex1.py").read_text())
    assert cli.main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "linear-in-features" in out and "analysis-internal-error" in out and "KeyError" in out
