"""A functional model's input check (shapels/rules/keras_layers/models.py) at the same rank: Keras's InputSpec
squeezes a last axis of 1 on either side before it compares, so the model itself never refuses data for
its last axis there; the layers after it decide. Each program is run with Keras and analysed."""

from __future__ import annotations

import os
import textwrap

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("numpy")

from shapels.analysis.engine import analyze  # noqa: E402

PROGRAMS = {
    # 1 channel where the Input has 3: a per-channel Normalization broadcasts it to 3 (EfficientNet's stem)
    "one channel into a broadcasting stem": ("(8, 8, 3)", "(2, 8, 8, 1)", """
        x = layers.Rescaling(1.0 / 255)(image)
        x = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[1.0, 1.0, 1.0])(x)
        x = layers.Conv2D(4, 3)(x)
    """),
    # 5 channels where the Input has 1: nothing after it is built on the channels
    "five channels into an Input of one": ("(8, 8, 1)", "(2, 8, 8, 5)", """
        x = layers.Rescaling(1.0 / 255)(image)
    """),
    # 1 channel where the Input has 3, into a convolution built for 3: the model's check lets it through,
    # the convolution refuses it (the call is where Keras raises)
    "one channel into a convolution built for three": ("(8, 8, 3)", "(2, 8, 8, 1)", """
        x = layers.Rescaling(1.0 / 255)(image)
        x = layers.Conv2D(4, 3)(x)
    """),
    # another channel count, not 1 on either side: the model refuses it
    "two channels into an Input of three": ("(8, 8, 3)", "(2, 8, 8, 2)", """
        x = layers.Rescaling(1.0 / 255)(image)
    """),
}


def _program(name: str) -> str:
    shape, data, body = PROGRAMS[name]
    return textwrap.dedent("""\
        import numpy as np
        from keras import layers
        from keras.src.models import Functional

        image = layers.Input(shape={shape})
        {body}
        x = layers.GlobalAveragePooling2D()(x)
        model = Functional(image, x)
        out = model(np.zeros({data}, "float32"))
    """).format(shape=shape, data=data, body=textwrap.dedent(body).strip())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_model_checks_the_last_axis_as_keras_does(name):
    source = _program(name)
    try:
        exec(compile(source, "<program>", "exec"), {})
        raised = False
    except ValueError:
        raised = True
    errors = [f.span.start_line for f in analyze(source).findings if f.severity == "error"]
    call_line = len(source.rstrip("\n").splitlines())
    if raised:
        assert errors == [call_line]
    else:
        assert errors == []
    assert raised == (name in ("two channels into an Input of three", "one channel into a convolution built for three"))
