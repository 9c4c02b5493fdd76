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


# Fitted and called on data with 3 channels where the Input has 1: Keras runs the graph on the data
# (the Permute puts the 28 columns last, the Dense keeps them), and its output is (4, 10).
FIT_OTHER_CHANNELS = """\
inputs = keras.Input(shape=(16, 28, 1))
x = layers.Permute((3, 1, 2))(inputs)
x = layers.GlobalAveragePooling2D()(x)
y = layers.Dense(28)(x)
x = layers.add([x, y])
x = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, x)
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(np.zeros((4, 16, 28, 3)), np.zeros((4, 10)), epochs=1, verbose=0)
out = model(np.zeros((4, 16, 28, 3)))
"""


def test_functional_output_on_data_of_other_channels():
    check_program(program(FIT_OTHER_CHANNELS))
