"""keras.datasets' shapes (shapels/rules/keras_layers/datasets.py) against the installed Keras's own
source: each load_data's docstring asserts its arrays' shapes (`assert x_train.shape == (60000, 28, 28)`),
and the analysis gives those shapes to the names a script unpacks them into."""

from __future__ import annotations

import ast
import importlib.util
import re
import textwrap
from pathlib import Path

import pytest

from shapels.analysis.engine import analyze
from shapels.rules.keras_layers.datasets import SPLITS

NAMES = ("x_train", "y_train", "x_test", "y_test")


def kerass_asserts(name: str) -> dict:
    spec = importlib.util.find_spec("keras")
    if spec is None or spec.origin is None:
        pytest.skip("keras is not installed")
    text = (Path(spec.origin).parent / "src" / "datasets" / f"{name}.py").read_text()
    found = re.findall(r"assert (\w+)\.shape == (\([\d, ]*\))", text)
    return {array: ast.literal_eval(shape) for array, shape in found}


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_shapes_are_the_ones_keras_asserts(name):
    asserted = kerass_asserts(name)
    assert set(asserted) == set(NAMES)
    assert dict(zip(NAMES, SPLITS[name])) == asserted


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_a_script_gets_them(name):
    source = textwrap.dedent(f"""
        import keras
        (x_train, y_train), (x_test, y_test) = keras.datasets.{name}.load_data()
    """)
    result = analyze(source)
    shapes = {b.name: tuple(b.shape.to_json()) for b in result.loop_names if b.write and b.shape is not None}
    assert shapes == dict(zip(NAMES, SPLITS[name]))
