"""The nine Keras seed examples (../shared/examples/keras/) with the Keras layer rules in place.

Today's guarantee, before the Keras model front end (issue 22): no diagnostic off the lines
expected.json records. Seed 003's functional models (Input -> GRU -> Flatten/GlobalAveragePooling1D
-> Dense) reach the rules now; seed 001's Sequential models and seed 002's `tf.random.normal` data are
the front end's (seed002_ex1's error on line 13 is then required, not only allowed).
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


@pytest.mark.parametrize("name,spec", keras_examples(), ids=[n for n, _ in keras_examples()])
def test_no_diagnostic_off_the_recorded_lines(name, spec):
    result = run_shapels("check", "--format", "json", str(EXAMPLES / name))
    assert result.returncode in (0, 1), result.stderr
    rows = {d["location"]["row"] for d in json.loads(result.stdout) if d["severity"] in ("error", "warning")}
    allowed = {f["line"] for f in spec["flags"]}
    assert rows <= allowed, f"false positives on {rows - allowed}"
