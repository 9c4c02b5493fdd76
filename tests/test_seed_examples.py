"""Acceptance: the six torch seed examples behave as ../shared/examples/expected.json says."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import EXAMPLES, run_python, run_shapels, torch_examples

EXAMPLE_IDS = [name for name, _ in torch_examples()]


def _check_json(path) -> list:
    result = run_shapels("check", "--format", "json", str(path))
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name,spec", torch_examples(), ids=EXAMPLE_IDS)
def test_flags_exactly_the_expected_lines(name, spec):
    diags = _check_json(EXAMPLES / name)
    rows = {d["location"]["row"] for d in diags if d["severity"] in ("error", "warning")}
    wanted = {f["line"] for f in spec["flags"]}
    allowed = wanted | {f["line"] for f in spec.get("also_wrong", [])}
    assert wanted <= rows, f"missing diagnostics on {wanted - rows}: {diags}"
    assert rows <= allowed, f"false positives on {rows - allowed}"


@pytest.mark.parametrize("name,spec", [(n, s) for n, s in torch_examples() if s["runs"]],
                         ids=[n for n, s in torch_examples() if s["runs"]])
def test_correct_models_output_shape(name, spec):
    result = run_shapels("shapes", "--format", "json", str(EXAMPLES / name))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    outputs = [m["output"] for m in doc["modules"]]
    assert outputs == [spec["output_shape"]]


@pytest.mark.parametrize("name,spec", [(n, s) for n, s in torch_examples() if any("fix" in f for f in s["flags"])],
                         ids=[n for n, s in torch_examples() if any("fix" in f for f in s["flags"])])
def test_fix_makes_the_example_run(name, spec, tmp_path):
    target = tmp_path / "model.py"
    shutil.copy(EXAMPLES / name, target)
    diags = _check_json(target)
    for flag in spec["flags"]:
        diag = next(d for d in diags if d["location"]["row"] == flag["line"] and d["severity"] == "error")
        assert diag["fix"] is not None
        assert diag["fix"]["edits"][0]["content"] == str(flag["fix"])
        apply_edits(target, diag["fix"]["edits"])
    before = run_python(EXAMPLES / name)
    assert before.returncode != 0
    after = run_python(target)
    assert after.returncode == 0, after.stderr[-2000:]
    assert _check_json(target) == [] or all(d["severity"] not in ("error", "warning") for d in _check_json(target))


def apply_edits(path, edits) -> None:
    """Apply ruff-style edits (1-based rows and columns), last first."""
    lines = path.read_text().splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: (e["location"]["row"], e["location"]["column"]), reverse=True):
        start, end = edit["location"], edit["end_location"]
        assert start["row"] == end["row"]
        line = lines[start["row"] - 1]
        lines[start["row"] - 1] = line[: start["column"] - 1] + edit["content"] + line[end["column"] - 1 :]
    path.write_text("".join(lines))


def test_why_chain_names_every_step():
    diags = _check_json(EXAMPLES / "torch/seed004_ex1.py")
    [diag] = diags
    assert diag["message"].endswith(
        "input (1, 3, 32, 32) → conv1 (1, 10, 32, 32) → conv2 (1, 20, 32, 32) → pool (1, 20, 16, 16) → view (1, 5120)"
    )
    assert "2000" in diag["message"] and "5120" in diag["message"]
    related_rows = [r["location"]["row"] for r in diag["related"]]
    assert 20 in related_rows  # the forward call self.fc(x)
    assert {15, 16, 17, 18} <= set(related_rows)  # the chain


def test_embedding_dim_comes_from_the_call_site():
    [diag] = _check_json(EXAMPLES / "torch/seed000_ex3.py")
    assert "embedding (1, 10, 512)" in diag["message"]
    assert (diag["location"], diag["end_location"]) == ({"row": 9, "column": 26}, {"row": 9, "column": 30})


def test_seed000_ex1_is_silent_and_shows_8192_before_fc1():
    result = run_shapels("shapes", "--format", "json", str(EXAMPLES / "torch/seed000_ex1.py"))
    [module] = json.loads(result.stdout)["modules"]
    fc1 = next(layer for layer in module["layers"] if layer["name"] == "fc1")
    assert fc1["input"] == [1, 8192]
