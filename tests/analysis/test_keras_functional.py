"""Keras layers called at the top level of a file on a keras.Input reach the Keras rules through every
import spelling (keras, tensorflow.keras, tf.keras), and only certain mismatches are reported.

This is what the rules give before the Keras model front end (issue 22): each layer call is checked
by its rule; Sequential and Model are not followed yet.
"""

from __future__ import annotations

import textwrap

import pytest

from shapels.analysis.engine import analyze


def findings(source: str) -> list:
    result = analyze(textwrap.dedent(source))
    return [(f.span.start_line if f.span else None, f.code) for f in result.findings if f.severity in ("error", "warning")]


SPELLINGS = {
    "keras": ("import keras\nfrom keras import layers\n", "keras.Input"),
    "tensorflow.keras": ("from tensorflow import keras\nfrom tensorflow.keras import layers\n", "keras.Input"),
    "tf.keras": ("import tensorflow as tf\nlayers = tf.keras.layers\n", "tf.keras.Input"),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_model_that_builds_gets_no_finding(spelling):
    imports, make_input = SPELLINGS[spelling]
    source = imports + textwrap.dedent(f"""
        images = {make_input}(shape=(28, 28, 1))
        x = layers.Conv2D(32, (3, 3), activation="relu")(images)
        x = layers.MaxPooling2D((2, 2))(x)
        x = layers.Conv2D(64, (3, 3), activation="relu")(x)
        x = layers.MaxPooling2D((2, 2))(x)
        x = layers.Dense(256)(x)
        x = layers.Reshape((-1, 256))(x)
        x = layers.Bidirectional(layers.GRU(16, return_sequences=True))(x)
        x = layers.GlobalAveragePooling1D()(x)
        out = layers.Dense(10)(x)
    """)
    assert findings(source) == []


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_rank_keras_refuses_is_reported_on_its_line(spelling):
    imports, make_input = SPELLINGS[spelling]
    source = imports + textwrap.dedent(f"""
        sequence = {make_input}(shape=(20, 32))
        x = layers.Dense(10)(sequence)
        x = layers.RepeatVector(3)(x)
    """)
    line = source.splitlines().index("x = layers.RepeatVector(3)(x)") + 1
    assert findings(source) == [(line, "layer-input-rank")]


def test_groups_the_channels_cannot_take():
    source = """\
        import keras
        from keras import layers

        images = keras.Input(shape=(32, 32, 3))
        x = layers.Conv2D(16, 3, padding="same")(images)
        x = layers.GroupNormalization()(x)
    """
    assert findings(source) == [(6, "groupnorm-groups")]


def test_an_axis_keras_needs_defined():
    source = """\
        import keras

        tokens = keras.Input(shape=(8, None))
        x = keras.layers.LSTM(4)(tokens)
    """
    assert findings(source) == [(4, "undefined-dim")]


def test_an_input_mismatch_lands_on_the_call_not_the_constructor():
    """Seed 002 example 1's shape, with a keras.Input of rank 1: the Dense's constructor has nothing to
    change; the call is where Keras raises, and the message says how the input would fit."""
    source = """\
        from tensorflow import keras

        input_data = keras.Input(batch_shape=(64,))
        dense_layer = keras.layers.Dense(units=10)
        output = dense_layer(input_data)
    """
    result = analyze(textwrap.dedent(source))
    [finding] = [f for f in result.findings if f.severity == "error"]
    assert (finding.span.start_line, finding.code) == (5, "layer-input-rank")
    assert "found ndim=1" in finding.message and "(1, 64)" in finding.message


def test_a_constructor_argument_keras_refuses_stays_on_the_constructor():
    source = """\
        import keras

        x = keras.Input(shape=(10, 4))
        pool = keras.layers.Conv1D(8, 3, strides=2, dilation_rate=2)
        y = pool(x)
    """
    result = analyze(textwrap.dedent(source))
    [finding] = [f for f in result.findings if f.severity == "error"]
    assert (finding.span.start_line, finding.code) == (4, "call-mismatch")
