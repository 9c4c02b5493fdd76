"""A merge keeps the batch of the keras.Input both its branches came from (shapels/rules/keras_layers/merge.py),
so calling the functional model on data gives the data's batch, as Keras's run does: a ResNet-style residual
block (Add), a squeeze-and-excitation gate (Multiply), a difference (Subtract)."""

from __future__ import annotations

import os
import textwrap

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from shapels.analysis.engine import analyze  # noqa: E402

PROGRAM = """
import numpy as np
from keras import layers
from keras.src.models import Functional

image = layers.Input(shape=(16, 16, 3))
x = layers.Conv2D(8, 3, padding="same")(image)
shortcut = layers.Conv2D(8, 1)(image)
x = layers.{merge}()([x, shortcut])
gate = layers.GlobalAveragePooling2D(keepdims=True)(x)
x = layers.Multiply()([x, gate])
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(10)(x)
model = Functional(image, x)
out = model(np.zeros((2, 16, 16, 3), "float32"))
"""


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum"])
def test_the_output_has_the_datas_batch_after_a_merge(merge):
    source = textwrap.dedent(PROGRAM.format(merge=merge))
    namespace: dict = {}
    exec(compile(source, "<program>", "exec"), namespace)
    ran = [int(d) for d in namespace["out"].shape]
    result = analyze(source)
    assert [f for f in result.findings if f.severity == "error"] == []
    [model] = [m for m in result.modules if m.name == "model"]
    assert ran == [2, 10]
    assert model.output.shape.to_json() == ran
