"""The example models shipped in examples/ do what examples/expected.json says, statically and under torch."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, run_python, run_shapels

BUNDLED = ROOT / "examples"
EXPECTED = {k: v for k, v in json.loads((BUNDLED / "expected.json").read_text()).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_static_findings(name):
    spec = EXPECTED[name]
    diags = json.loads(run_shapels("check", "--format", "json", str(BUNDLED / name)).stdout)
    errors = {(d.get("cell"), d["location"]["row"], d["fix"]["edits"][0]["content"] if d["fix"] else None)
              for d in diags if d["severity"] in ("error", "warning")}
    assert errors == {(f.get("cell"), f["line"], str(f["fix"])) for f in spec["flags"]}
    offered = {(e["location"]["row"], e["content"]) for d in diags for a in d["alternatives"] for e in a["edits"]}
    assert {(f["line"], str(f["fix"])) for f in spec.get("alternatives", [])} <= offered
    if "output_shape" in spec:
        doc = json.loads(run_shapels("shapes", "--format", "json", str(BUNDLED / name)).stdout)
        assert doc["modules"][-1]["output"] == spec["output_shape"]


@pytest.mark.parametrize("name", sorted(n for n, s in EXPECTED.items() if s["runs"] is not None))
def test_torch_agrees(name, tmp_path):
    spec = EXPECTED[name]
    path = BUNDLED / name
    if path.suffix == ".ipynb":  # its code cells in order, as a kernel would run them (magics left out)
        from shapels.notebooks import program_of, read_notebook

        path = tmp_path / "notebook.py"
        path.write_text(program_of(read_notebook(BUNDLED / name)).text)
    result = run_python(path)
    assert (result.returncode == 0) == spec["runs"], result.stderr[-1500:]
    if not spec["runs"]:
        assert "shapes cannot be multiplied" in result.stderr
