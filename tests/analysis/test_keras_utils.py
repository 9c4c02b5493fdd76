"""Keras's helpers that application code calls to choose its shapes (shapels/analysis/keras_utils.py):
each model agrees with Keras 3's own function, and a file written like keras/src/applications gets its
shapes, and its errors, through them."""

from __future__ import annotations

import itertools
import os

import pytest

from conftest import apply_fix
from shapels.analysis import keras_utils
from shapels.analysis.engine import analyze
from shapels.rules.keras_layers.spec import none_dim
from shapels.symbolic.shape import Shape
from shapels.values import Const, Number, Seq, Step, Tensor


def _imagenet_utils():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    from keras.src.applications import imagenet_utils

    return imagenet_utils


def _plain(value):
    if isinstance(value, Seq):
        return tuple(_plain(i) for i in value.items)
    if isinstance(value, Number):
        return int(value.value)
    assert isinstance(value, Const), value
    return value.value


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_obtain_input_shape_agrees_with_keras():
    imagenet_utils = _imagenet_utils()
    shapes = [None, (64, 64, 3), (3, 64, 64), (16, 16, 3), (64, 64, 1), (None, None, 3), (64, 64), (224, 224, 3)]
    checked = 0
    for shape, fmt, flatten, weights in itertools.product(shapes, ["channels_last", "channels_first"], [True, False],
                                                          [None, "imagenet"]):
        args = [shape, 224, 32, fmt, flatten, weights]
        try:
            expected = imagenet_utils.obtain_input_shape(*args)
        except ValueError:
            expected = "raises"
        value = keras_utils.call("keras.src.applications.imagenet_utils.obtain_input_shape",
                                 [Seq(tuple(Const(None) if d is None else Number(d) for d in shape)) if shape else Const(None)]
                                 + [Number(224), Number(32), Const(fmt), Const(flatten)], {"weights": Const(weights)})
        got = "raises" if value is keras_utils.UNKNOWN else _plain(value)
        assert got == (tuple(expected) if expected != "raises" else expected), (args, got, expected)
        checked += 1
    assert checked == 64


def test_obtain_input_shape_with_an_unknown_argument_is_not_modelled():
    from shapels.values import UNKNOWN

    value = keras_utils.call("keras.src.applications.imagenet_utils.obtain_input_shape",
                             [UNKNOWN, Number(224), Number(32), Const("channels_last"), Const(True)], {})
    assert value is None


@pytest.mark.parametrize("side, kernel", [(64, 3), (65, 3), (33, 5), (None, 3), (64, (3, 5))])
def test_correct_pad_agrees_with_keras(side, kernel):
    imagenet_utils = _imagenet_utils()
    import keras

    expected = imagenet_utils.correct_pad(keras.Input(shape=(side, side, 8)), kernel)
    dim = none_dim() if side is None else side
    tensor = Tensor(Shape.of([none_dim(), dim, dim, 8]))
    kernel_value = Seq(tuple(Number(k) for k in kernel)) if isinstance(kernel, tuple) else Number(kernel)
    value = keras_utils.call("keras.src.applications.imagenet_utils.correct_pad", [tensor, kernel_value], {})
    assert _plain(value) == expected


def test_image_data_format_is_keras_default():
    _imagenet_utils()
    import keras

    for name in ("keras.config.image_data_format", "keras.backend.image_data_format",
                 "keras.src.backend.image_data_format"):
        assert keras_utils.call(name, [], {}).value == keras.config.image_data_format() == "channels_last"


# A block written as keras/src/applications writes them: the input shape comes from obtain_input_shape, the
# batch-norm and concat axis from image_data_format, the padding from correct_pad.
APPLICATION = """\
from keras.src import backend
from keras.src import layers
from keras.src.applications import imagenet_utils


def Net(input_shape=None, branch_filters=32):
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=backend.image_data_format(), require_flatten=True)
    img_input = layers.Input(shape=input_shape)
    channel_axis = 3 if backend.image_data_format() == "channels_last" else 1
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(img_input, 3))(img_input)
    x = layers.Conv2D(32, 3, strides=2, padding="valid")(x)
    y = layers.Conv2D(branch_filters, 1, strides=2)(img_input)
    x = layers.Concatenate(axis=channel_axis - 1)([x, y])
    x = layers.BatchNormalization(axis=channel_axis)(x)
    return x


out = Net(input_shape=(64, 64, 3))
"""


def _errors(text: str) -> list:
    return [(f.span.start_line, f.code) for f in _error_findings(text)]


def _error_findings(text: str) -> list:
    return [f for f in analyze(text).findings if f.severity == "error"]



def _keras_raises(text: str) -> bool:
    _imagenet_utils()
    try:
        exec(compile(text, "<application>", "exec"), {})
    except ValueError:
        return True
    return False


VARIANTS = {
    # Keras: the conv after correct_pad gives (None, 32, 32, 32), the strided 1x1 conv (None, 32, 32, 32);
    # concatenated on axis 2 (channel_axis - 1) they agree: this runs
    "as written": APPLICATION,
    # 16 filters in the branch: the concat on axis 2 meets 32 against 16 channels
    "branch filters": APPLICATION.replace("branch_filters=32", "branch_filters=16"),
    # the padding is the one correct_pad gives: without it, 64 -> 31 against the branch's 32
    "no padding": APPLICATION.replace("padding=imagenet_utils.correct_pad(img_input, 3)", "padding=0"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_an_application_style_file_is_followed_through_the_helpers(variant):
    text = VARIANTS[variant]
    line = APPLICATION.splitlines().index("    x = layers.Concatenate(axis=channel_axis - 1)([x, y])") + 1
    if _keras_raises(text):
        assert variant != "as written"
        errors = _error_findings(text)
        assert errors, variant
        for error in errors:  # where Keras raises, or at the layer to change with a fix that makes Keras run it
            assert error.span.start_line == line or error.fix is not None and not _keras_raises(apply_fix(text, error.fix))
    else:
        assert variant == "as written"
        assert _errors(text) == []


def test_is_keras_tensor_and_get_source_inputs_of_a_keras_input():
    _imagenet_utils()
    import keras
    from keras.src.ops import operation_utils

    real = keras.Input(shape=(8, 8, 3))
    assert keras.backend.is_keras_tensor(real) and operation_utils.get_source_inputs(real) == [real]
    assert not keras.backend.is_keras_tensor(keras.ops.zeros((2, 8, 8, 3)))
    symbolic = Tensor(Shape.of([none_dim(), 8, 8, 3]), trace=(Step("Input", Shape.of([none_dim(), 8, 8, 3]), None),))
    assert keras_utils.call("keras.backend.is_keras_tensor", [symbolic], {}).value is True
    [source] = keras_utils.call("keras.src.ops.operation_utils.get_source_inputs", [symbolic], {}).items
    assert source is symbolic
    # an array (sizes all known) is not decided; nor are the Inputs behind a computed tensor
    assert keras_utils.call("keras.backend.is_keras_tensor", [Tensor(Shape.of([2, 8, 8, 3]))], {}) is None
    computed = Tensor(symbolic.shape, trace=symbolic.trace + (Step("conv", symbolic.shape, None),))
    assert keras_utils.call("keras.utils.get_source_inputs", [computed], {}) is None
