"""Minimal Keras programs for violations the Keras program fuzzer found, one test per bug, checked with
the fuzzer's own properties against real Keras (torch backend)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("keras")

from .keras_program_gen import HEADER, KerasProgram  # noqa: E402
from .test_keras_program_differential import check_program, run_for_real  # noqa: E402


def program(body: str) -> KerasProgram:
    return KerasProgram(HEADER + body, None, None)


# A functional model's InputSpec compares the data as passed (a last axis of 1 dropped on either side,
# over the axes both have) before the rank is adjusted: a (4, 12, 1) image meets a (None, 12, 12, 1)
# Input on (12,) only, is expanded to (4, 12, 1, 1) and runs. shapels called it an input-shape error.
EXPANDED_OTHER_SIZE = """\
inputs = keras.Input(shape=(12, 12, 1))
x = layers.LayerNormalization()(inputs)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, x)
out = model.predict(np.random.rand(4, 12, 1), verbose=0)
"""

STRIDED_CONV_ON_EXPANDED = """\
inputs = keras.Input(shape=(32, 32, 1))
x = layers.Conv2D(16, 3, strides=2, padding="same")(inputs)
x = layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, x)
out = model(np.random.rand(4, 32, 1))
"""


@pytest.mark.parametrize("body", [EXPANDED_OTHER_SIZE, STRIDED_CONV_ON_EXPANDED])
def test_functional_input_expanded_to_another_size_runs(body):
    assert run_for_real(HEADER + body).error is None
    check_program(program(body))

