"""Acceptance (issue 22): the nine Keras seed examples (../shared/examples/keras/) behave as
expected.json records: only seed002_ex1 gets an error, on line 13 (the Dense called on a rank-1
tf.random.normal), with the fix that gives the data a batch axis; the other eight get none, and the
model each calls on data has the recorded output shape (`shapes --format json`, Keras's None as null).
"""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLES, run_shapels


def keras_examples() -> list:
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    return [(name, spec) for name, spec in expected.items() if name.startswith("keras/")]


def test_there_are_nine():
    assert len(keras_examples()) == 9


def _diagnostics(name: str) -> list:
    result = run_shapels("check", "--format", "json", str(EXAMPLES / name))
    assert result.returncode in (0, 1), result.stderr
    return [d for d in json.loads(result.stdout) if d["severity"] in ("error", "warning")]


@pytest.mark.parametrize("name,spec", keras_examples(), ids=[n for n, _ in keras_examples()])
def test_errors_exactly_on_the_recorded_lines(name, spec):
    rows = {d["location"]["row"] for d in _diagnostics(name)}
    assert rows == {f["line"] for f in spec["flags"]}


def test_the_rank_1_input_gets_its_batch_axis_as_the_fix():
    [diagnostic] = _diagnostics("keras/seed002_ex1.py")
    assert "found ndim=1" in diagnostic["message"] and "(1, 64)" in diagnostic["message"]
    [edit] = diagnostic["fix"]["edits"]
    assert edit["location"]["row"] == 6 and edit["content"] == "tf.random.normal(shape=(1, 64))"


RUNS = [(name, spec) for name, spec in keras_examples() if spec["runs"]]


@pytest.mark.parametrize("name,spec", RUNS, ids=[n for n, _ in RUNS])
def test_output_shape_is_the_recorded_one(name, spec):
    result = run_shapels("shapes", "--format", "json", str(EXAMPLES / name))
    assert result.returncode == 0, result.stderr
    outputs = [m["output"] for m in json.loads(result.stdout)["modules"]]
    assert outputs == [spec["output_shape"]]
