"""Jupyter notebooks through the real CLI (issue 24): check, shapes, --fix/--diff and confirm on
notebooks the tests write, positions checked exactly (cell, row, column, the fix's edit)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import EXAMPLES, run_shapels
from notebook_helpers import (DRIVER_CELL, FC1_CELL, FC1_ROW, FIVE_CELLS, nbformat, split_into_cells,
                              write_notebook)

from shapels.notebooks import build_program, parse_notebook

SEEDS = sorted((EXAMPLES / "torch").glob("*.py"))


def _check_json(path, cwd):
    result = run_shapels("check", "--format", "json", path.name, cwd=cwd)
    assert "Traceback" not in result.stderr
    return result, json.loads(result.stdout)


# -- the seed examples, split into cells ------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_examples_split_into_cells_give_the_files_findings_in_their_cells(tmp_path, seed):
    source = seed.read_text()
    cells, where = split_into_cells(source)
    shutil.copy(seed, tmp_path / seed.name)
    notebook = write_notebook(tmp_path / f"{seed.stem}.ipynb", cells)
    file_run, file_findings = _check_json(tmp_path / seed.name, tmp_path)
    nb_run, nb_findings = _check_json(notebook, tmp_path)
    assert nb_run.returncode == file_run.returncode
    assert len(nb_findings) == len(file_findings)
    for f, n in zip(file_findings, nb_findings):
        assert (n["code"], n["severity"], n["message"], n["filename"]) == (f["code"], f["severity"], f["message"], notebook.name)
        cell, row = where[f["location"]["row"]]
        assert n["cell"] == cell
        assert n["location"] == {"row": row, "column": f["location"]["column"]}
        assert n["end_location"]["column"] == f["end_location"]["column"]
        if f["fix"] is None:
            assert n["fix"] is None
            continue
        for fe, ne in zip(f["fix"]["edits"], n["fix"]["edits"]):
            edit_cell, edit_row = where[fe["location"]["row"]]
            assert ne == {"content": fe["content"], "location": {"row": edit_row, "column": fe["location"]["column"]},
                          "end_location": {"row": edit_row, "column": fe["end_location"]["column"]}, "cell": edit_cell}
        for fr, nr in zip(f["related"], n["related"]):
            assert (nr["cell"], nr["location"]["row"]) == where[fr["location"]["row"]]


def test_seed_004_ex1_in_cells_names_the_cell_as_ruff_does(tmp_path):
    cells, where = split_into_cells((EXAMPLES / "torch/seed004_ex1.py").read_text())
    write_notebook(tmp_path / "nb.ipynb", cells)
    result = run_shapels("check", "nb.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    cell, row = where[11]  # expected.json: the flag is on line 11, nn.Linear(10 * 10 * 20, 10)
    [line, help_line] = result.stdout.strip().splitlines()
    assert line.startswith(f"nb.ipynb:cell {cell}:{row}:29: linear-in-features ")
    assert help_line == "  help: Set in_features to 5120"
    assert "1 error in 1 file" in result.stderr


# -- a model over five cells, magics and markdown between ----------------------------------------
def test_five_cells_with_magics_text_and_json(tmp_path):
    write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    text = run_shapels("check", "five.ipynb", cwd=tmp_path)
    assert text.returncode == 1
    assert text.stdout.splitlines()[0].startswith(f"five.ipynb:cell {FC1_CELL}:{FC1_ROW}:30: linear-in-features ")
    _, [diag] = _check_json(tmp_path / "five.ipynb", tmp_path)
    assert diag["cell"] == FC1_CELL
    assert diag["location"] == {"row": FC1_ROW, "column": 30} and diag["end_location"] == {"row": FC1_ROW, "column": 34}
    assert diag["fix"] == {"message": "Set in_features to 4096", "edits": [
        {"content": "4096", "location": {"row": FC1_ROW, "column": 30}, "end_location": {"row": FC1_ROW, "column": 34},
         "cell": FC1_CELL}]}
    related = {(r["cell"], r["location"]["row"], r["location"]["column"]): r["message"] for r in diag["related"]}
    # the input comes from the driver's cell: related information points into it
    assert related[(DRIVER_CELL, 1, 5)] == "input gives (4, 3, 32, 32)"
    assert related[(FC1_CELL, 11, 16)] == "fc1 is called here"


def test_five_cells_sarif_carries_the_cell(tmp_path):
    write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    doc = json.loads(run_shapels("check", "--format", "sarif", "five.ipynb", cwd=tmp_path).stdout)
    [result] = doc["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "five.ipynb"
    assert location["region"] == {"startLine": FC1_ROW, "startColumn": 30, "endLine": FC1_ROW, "endColumn": 34,
                                  "properties": {"cell": FC1_CELL}}
    [fix] = result["fixes"][:1]
    [replacement] = fix["artifactChanges"][0]["replacements"]
    assert replacement["deletedRegion"]["properties"] == {"cell": FC1_CELL}
    assert replacement["insertedContent"] == {"text": "4096"}
    assert any(r["physicalLocation"]["region"].get("properties") == {"cell": DRIVER_CELL}
               for r in result["relatedLocations"])


def test_shapes_of_a_notebook_name_cells(tmp_path):
    write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    result = run_shapels("shapes", "--format", "json", "five.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [module] = json.loads(result.stdout)["modules"]
    assert (module["name"], module["row"], module["cell"]) == ("SmallCNN", 1, FC1_CELL)
    assert module["inputs"] == {"x": [4, 3, 32, 32]}
    layers = {l["name"]: l for l in module["layers"]}
    assert (layers["fc1"]["cell"], layers["fc1"]["row"]) == (FC1_CELL, FC1_ROW)
    assert (layers["conv1"]["cell"], layers["conv1"]["row"]) == (FC1_CELL, 4)
    bindings = [(b["cell"], b["row"], b["column"], b["name"], b["shape"]) for b in module["bindings"]]
    assert bindings[:2] == [(FC1_CELL, 9, 9, "x", [4, 16, 16, 16]), (FC1_CELL, 10, 9, "x", [4, 4096])]
    table = run_shapels("shapes", "five.ipynb", cwd=tmp_path).stdout
    assert table.startswith(f"SmallCNN (cell {FC1_CELL}, line 1, inputs from driver): (x: (4, 3, 32, 32))")
    assert "cell:line" in table and f" {FC1_CELL}:{FC1_ROW} " in table


def test_directories_pick_up_notebooks_but_not_checkpoints(tmp_path):
    write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints" / "five-checkpoint.ipynb", FIVE_CELLS)
    shutil.copy(EXAMPLES / "torch/seed004_ex1.py", tmp_path / "model.py")
    result = run_shapels("check", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert sorted(d["filename"] for d in json.loads(result.stdout)) == ["five.ipynb", "model.py"]
    only_notebooks = tmp_path / "only"
    only_notebooks.mkdir()
    write_notebook(only_notebooks / "a.ipynb", FIVE_CELLS)
    assert run_shapels("check", "only", cwd=tmp_path).returncode == 1  # a folder of notebooks is not "no Python file"


# -- --diff and --fix ----------------------------------------------------------------------------
def test_diff_shows_the_cell_and_changes_nothing(tmp_path):
    path = write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    before = path.read_bytes()
    result = run_shapels("check", "--diff", "five.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(f"--- five.ipynb:cell {FC1_CELL}\n+++ five.ipynb:cell {FC1_CELL}\n")
    assert "-        self.fc1 = nn.Linear(2000, num_classes)\n+        self.fc1 = nn.Linear(4096, num_classes)\n" in result.stdout
    assert f"five.ipynb:cell {FC1_CELL}:{FC1_ROW}: would fix linear-in-features: Set in_features to 4096" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("style", ["nbformat", "string-sources", "two-space-indent"])
def test_fix_rewrites_only_the_fixed_line(tmp_path, style):
    path = write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    doc = json.loads(path.read_text())
    doc["cells"][DRIVER_CELL - 1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["é ✓\n"]}]
    if style == "string-sources":
        for cell in doc["cells"]:
            cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        raw = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    elif style == "two-space-indent":
        raw = json.dumps(doc, indent=2)  # ASCII-escaped, no final newline, keys in file order
    else:
        raw = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(raw, encoding="utf-8")
    result = run_shapels("check", "--fix", "five.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"five.ipynb:cell {FC1_CELL}:{FC1_ROW}: fixed linear-in-features: Set in_features to 4096" in result.stderr
    after = path.read_text(encoding="utf-8")
    assert after == raw.replace("nn.Linear(2000, num_classes)", "nn.Linear(4096, num_classes)")  # byte for byte
    nbformat.validate(nbformat.reads(after, as_version=4))
    assert run_shapels("check", "five.ipynb", cwd=tmp_path).returncode == 0


def test_fix_of_a_seed_notebook(tmp_path):
    cells, where = split_into_cells((EXAMPLES / "torch/seed004_ex1.py").read_text())
    path = write_notebook(tmp_path / "nb.ipynb", cells)
    assert run_shapels("check", "--fix", "nb.ipynb", cwd=tmp_path).returncode == 0
    nb = nbformat.read(str(path), as_version=4)
    cell, row = where[11]
    assert nb.cells[cell - 1].source.splitlines()[row - 1] == \
        "        self.fc = nn.Linear(5120, 10) # Note the intended size prior to the bug below"


# -- malformed notebooks --------------------------------------------------------------------------
MALFORMED = {
    "bad-json": ('{"cells": [', "invalid JSON at line 1 column 12"),
    "array": ("[1, 2]", "the JSON is an array"),
    "nbformat-2": (json.dumps({"nbformat": 2, "worksheets": []}), "nbformat 2 is not supported"),
    "no-cells": (json.dumps({"nbformat": 4, "metadata": {}}), "\"cells\" is missing or not a list"),
    "cell-not-object": (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [3]}), "cell 1 is not an object"),
    "source-number": (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "markdown", "source": "x", "metadata": {}},
        {"cell_type": "code", "source": 7, "metadata": {}, "outputs": [], "execution_count": None}]}),
        "cell 2: its source is a number; expected a string or a list of strings"),
    "not-utf8": (b'{"cells": ["\xff"]}', "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_notebooks_get_a_clear_message(tmp_path, case):
    content, message = MALFORMED[case]
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    shutil.copy(EXAMPLES / "torch/seed004_ex1.py", tmp_path / "model.py")
    for command in (["check", "bad.ipynb", "model.py"], ["check", "--fix", "bad.ipynb"], ["shapes", "bad.ipynb"],
                    ["check", "--format", "json", "."]):
        result = run_shapels(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        assert "bad.ipynb: " in result.stderr and message in result.stderr, result.stderr
        if command[-1] == "model.py" or command[-1] == ".":
            assert "model.py" in result.stdout  # the other files are still reported


def test_nbformat_3_is_read(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{"metadata": {}, "cells": [
        {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["A model"]},
        {"cell_type": "code", "language": "python", "metadata": {}, "outputs": [], "collapsed": False,
         "input": ["import torch\n", "import torch.nn as nn\n", "fc = nn.Linear(2000, 10)"]},
        {"cell_type": "code", "language": "python", "metadata": {}, "outputs": [], "collapsed": False,
         "input": "x = torch.randn(4, 4096)\ny = fc(x)"}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3, indent=1))
    result = run_shapels("check", "old.ipynb", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("old.ipynb:cell 2:3:16: linear-in-features ")
    assert run_shapels("check", "--fix", "old.ipynb", cwd=tmp_path).returncode == 0
    fixed = json.loads(path.read_text())
    assert fixed["worksheets"][0]["cells"][1]["input"] == ["import torch\n", "import torch.nn as nn\n",
                                                          "fc = nn.Linear(4096, 10)"]
    assert path.read_text() == json.dumps(v3, indent=1).replace("Linear(2000", "Linear(4096")


def test_a_cell_that_does_not_parse_is_reported_and_the_others_analysed(tmp_path):
    cells = list(FIVE_CELLS) + [("code", "def broken(:\n    pass")]
    write_notebook(tmp_path / "nb.ipynb", cells)
    result = run_shapels("check", "--format", "json", "nb.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    found = {(d["code"], d["cell"], d["location"]["row"], d["location"]["column"]) for d in json.loads(result.stdout)}
    assert ("syntax-error", len(cells), 1, 12) in found
    assert ("linear-in-features", FC1_CELL, FC1_ROW, 30) in found


# -- the program ----------------------------------------------------------------------------------
def _program(cells):
    raw = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": src} for kind, src in cells]})
    return build_program(parse_notebook(raw).cells)


def test_ipython_lines_are_blanked_in_place():
    program = _program([
        ("markdown", "# title"),
        ("code", "%load_ext autoreload\nimport os\nfiles = !ls\nos.path?\nfor i in range(2):\n    !echo {i}\ndisplay(\n    os)\nx = 1"),
        ("code", "%%bash\necho hi"),
        ("code", "%%timeit\ny = 2"),
    ])
    assert program.text.splitlines() == ["", "import os", "", "", "for i in range(2):", "    pass", "", "", "x = 1",
                                         "", "", "", "y = 2"]
    assert program.locate(2) == (1, 2) and program.locate(13) == (3, 2)
    assert program.program_line(3, 2) == 13 and program.program_line(0, 1) is None
    assert not program.broken


def test_a_source_list_and_a_string_read_alike():
    as_list = _program([("code", ["a = 1\n", "b = 2"])])
    as_string = _program([("code", "a = 1\nb = 2")])
    assert as_list.text == as_string.text == "a = 1\nb = 2\n"


# -- confirm --------------------------------------------------------------------------------------
def test_confirm_runs_the_cells_in_order_and_names_cells(tmp_path):
    pytest.importorskip("torch")
    write_notebook(tmp_path / "five.ipynb", FIVE_CELLS)
    result = run_shapels("confirm", "--device", "cpu", "--format", "json", "five.ipynb", cwd=tmp_path, timeout=300)
    assert result.returncode == 1, result.stderr  # it raised, as check said it would
    report = json.loads(result.stdout)
    assert report["filename"] == "five.ipynb"
    error = report["error"]
    assert error["message"] == "mat1 and mat2 shapes cannot be multiplied (4x4096 and 2000x10)"
    assert (error["cell"], error["row"]) == (FC1_CELL, 11)  # return self.fc1(x)
    assert (error["constructor_cell"], error["constructor_row"]) == (FC1_CELL, FC1_ROW)
    assert {(l["name"], l["cell"], l["row"]) for l in report["layers"]} == {
        ("conv1", FC1_CELL, 4), ("pool", FC1_CELL, 5), ("fc1", FC1_CELL, FC1_ROW)}
    assert all(v["verdict"] == "agreed" for v in report["verdicts"])  # `!pip install` was not run
    text = run_shapels("confirm", "--device", "cpu", "five.ipynb", cwd=tmp_path, timeout=300).stdout
    assert f"error: cell {FC1_CELL}, line 11: RuntimeError: mat1 and mat2" in text
    assert f"built at cell {FC1_CELL}, line {FC1_ROW}" in text
