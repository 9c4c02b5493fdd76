"""A Keras model whose output meets its targets at `fit` with another shape: Keras raises there ("Arguments
`target` and `output` must have the same shape"), but the edit belongs at the layer that made the output's
odd size. The targets are the truth of intent: the last layer's width must be theirs (widths.py's
width_the_target_names), and an autoencoder's map must come out at their size (fit_targets.py, read by
keras_geometry.py's window cause). Each program is run against real Keras 3 (torch backend): the original
runs, the mistake raises, shapels reports it on the mistake's line, and its fix gives back the original."""

from __future__ import annotations

import os
import textwrap

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from conftest import apply_fix  # noqa: E402
from shapels.analysis.engine import analyze  # noqa: E402
from test_keras_models import HEADER, run_for_real  # noqa: E402

CLASSIFIER = """
    num_classes = 10
    x_train = np.zeros((8, 28, 28, 1), "float32")
    y_train = keras.utils.to_categorical(np.zeros((8,)), num_classes)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)
"""

BINARY = """
    x_train = np.zeros((8, 16), "float32")
    y_train = np.zeros((8,), "float32")
    model = keras.Sequential([keras.Input(shape=(16,)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)
"""

AUTOENCODER = """
    images = np.zeros((8, 28, 28, 1), "float32")
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(inputs)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(8, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    autoencoder = keras.Model(inputs, x)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    autoencoder.fit(x=images, y=images, epochs=1, batch_size=4, verbose=0)
"""

SEQUENCE = """
    series = np.zeros((8, 64, 1), "float32")
    model = keras.Sequential([
        layers.Input(shape=(64, 1)),
        layers.Conv1D(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ])
    model.compile(optimizer="adam", loss="mse")
    model.fit(series, series, epochs=1, batch_size=4, verbose=0)
"""


@pytest.mark.parametrize("program, written, mistake, fix", [
    (CLASSIFIER, 'layers.Dense(num_classes, activation="softmax")',
     'layers.Dense(num_classes * 2, activation="softmax")', "num_classes"),
    (BINARY, 'layers.Dense(1, activation="sigmoid")', 'layers.Dense(2, activation="sigmoid")', "1"),
    (AUTOENCODER, 'layers.Conv2D(1, (3, 3), activation="sigmoid"', 'layers.Conv2D(2, (3, 3), activation="sigmoid"', "1"),
    (AUTOENCODER, "strides=2, activation", "strides=1, activation", "2"),
    (AUTOENCODER, 'layers.MaxPooling2D((2, 2), padding="same")', 'layers.MaxPooling2D((3, 2), padding="same")',
     "2, 2"),  # written inside the tuple's parentheses
    (SEQUENCE, 'layers.Conv1D(filters=8, kernel_size=7, padding="same"',
     'layers.Conv1D(filters=8, kernel_size=7, padding="valid"', '"same"'),
], ids=["dense-units-name", "dense-units-labels", "conv-filters-channels", "transpose-strides", "pool-size",
        "conv1d-padding"])
def test_the_layer_that_made_the_outputs_odd_size_is_blamed_and_fixed(program, written, mistake, fix):
    source = HEADER + textwrap.dedent(program)
    assert run_for_real(source)[0] is None
    mutant = source.replace(written, mistake, 1)  # the first of the layers written alike
    assert run_for_real(mutant)[0] is not None  # Keras raises at fit
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    line = mutant.splitlines()[error.span.start_line - 1]
    assert mistake in line, (line, error.message)
    assert error.fix is not None and error.fix.content == fix, error.fix
    assert apply_fix(mutant, error.fix) == source


def test_a_window_no_other_layer_writes_otherwise_stays_at_fit():
    """One transposed convolution, strides 1 where the output needs 2: no other window layer writes strides,
    so nothing says which layer was meant (a pool could as well have been left out); the error stays at fit."""
    source = HEADER + textwrap.dedent(AUTOENCODER)
    mutant = source.replace("strides=2, activation", "strides=1, activation")
    mutant = mutant.replace("    x = layers.Conv2DTranspose(8, (3, 3), strides=1, activation=\"relu\", padding=\"same\")(x)\n", "", 1)
    mutant = mutant.replace("    x = layers.MaxPooling2D((2, 2), padding=\"same\")(x)\n", "", 1)
    assert run_for_real(mutant)[0] is not None
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert "autoencoder.fit(" in mutant.splitlines()[error.span.start_line - 1] and error.fix is None


def test_targets_cut_where_they_are_passed_keep_the_error_at_fit():
    """`fit(x, y[:, :5])`: the targets as passed were cut, so they may be the slip; the Dense is not blamed."""
    source = HEADER + textwrap.dedent(CLASSIFIER)
    mutant = source.replace("model.fit(x_train, y_train,", "model.fit(x_train, y_train[:, :5],")
    assert run_for_real(mutant)[0] is not None
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert "model.fit(" in mutant.splitlines()[error.span.start_line - 1] and error.fix is None


RESIDUAL_BLOCKS = """
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(16, 3, strides=2, padding="same")(inputs)
    previous = x
    for filters in [32, 64]:
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    model = keras.Model(inputs, x)
    out = model(np.zeros((2, 32, 32, 3), "float32"))
"""


def test_a_branch_width_written_as_an_expression_keeps_the_part_that_holds_the_other_branchs():
    """`SeparableConv2D(filters * 2, ...)` meets a shortcut of `filters` channels at the add: the part of its
    width that holds the shortcut's (`filters`, the loop's size in that block) is the fix, in every block."""
    source = HEADER + textwrap.dedent(RESIDUAL_BLOCKS)
    assert run_for_real(source)[0] is None
    mutant = source.replace("layers.SeparableConv2D(filters,", "layers.SeparableConv2D(filters * 2,")
    assert run_for_real(mutant)[0] is not None  # Keras raises at the add
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert "SeparableConv2D(filters * 2," in mutant.splitlines()[error.span.start_line - 1], error.message
    assert error.fix.content == "filters" and apply_fix(mutant, error.fix) == source


RECOMMENDER = """
    from keras import ops
    x_train, y_train = np.zeros((8, 2), "int64"), np.zeros((8,))

    class RecommenderNet(keras.Model):
        def __init__(self, num_users, num_movies, embedding_size):
            super().__init__()
            self.user_embedding = layers.Embedding(num_users, embedding_size)
            self.user_bias = layers.Embedding(num_users, 1)
            self.movie_embedding = layers.Embedding(num_movies, embedding_size)
            self.movie_bias = layers.Embedding(num_movies, 1)

        def call(self, inputs):
            user_vector = self.user_embedding(inputs[:, 0])
            user_bias = self.user_bias(inputs[:, 0])
            movie_vector = self.movie_embedding(inputs[:, 1])
            movie_bias = self.movie_bias(inputs[:, 1])
            dot_user_movie = ops.tensordot(user_vector, movie_vector, 2)
            x = dot_user_movie + user_bias + movie_bias
            return ops.nn.sigmoid(x)

    model = RecommenderNet(610, 9724, 50)
    model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer="adam")
    out = model(x_train[:2])
    model.fit(x=x_train, y=y_train, batch_size=4, epochs=1, verbose=0)
"""


@pytest.mark.parametrize("written, mistake", [
    ("self.user_bias = layers.Embedding(num_users, 1)", "self.user_bias = layers.Embedding(num_users, 2)"),
    ("self.movie_bias = layers.Embedding(num_movies, 1)", "self.movie_bias = layers.Embedding(num_movies, 2)"),
], ids=["first-added", "second-added"])
def test_a_width_one_operand_of_a_sum_brought_is_traced_to_that_operand(written, mistake):
    """`dot + user_bias + movie_bias`, the dot a scalar and a bias Embedding's width 2 where the labels are (N,):
    the sum's width came from the bias, not from the first operand the result's trace goes on with, so the
    bias's output_dim is the edit (Step.joins keeps the operands a broadcast joined)."""
    source = HEADER + textwrap.dedent(RECOMMENDER)
    assert run_for_real(source)[0] is None
    mutant = source.replace(written, mistake)
    assert run_for_real(mutant)[0] is not None  # Keras raises at fit
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert mistake in mutant.splitlines()[error.span.start_line - 1], error.message
    assert error.fix is not None and error.fix.content == "1" and apply_fix(mutant, error.fix) == source


@pytest.mark.parametrize("written, mistake", [
    ("self.user_embedding = layers.Embedding(num_users, embedding_size)",
     "self.user_embedding = layers.Embedding(num_users, embedding_size * 2)"),
    ("self.movie_embedding = layers.Embedding(num_movies, embedding_size)",
     "self.movie_embedding = layers.Embedding(num_movies, embedding_size * 2)"),
], ids=["first-operand", "second-operand"])
def test_a_contraction_whose_sizes_differ_is_blamed_on_the_width_written_otherwise(written, mistake):
    """`ops.tensordot(user_vector, movie_vector, 2)` in a subclassed model's call on data: torch refuses the
    contracted sizes 100 and 50. The Embedding whose width is written `embedding_size * 2` made the odd one;
    the part that holds the other's size is the fix."""
    source = HEADER + textwrap.dedent(RECOMMENDER)
    mutant = source.replace(written, mistake)
    assert run_for_real(mutant)[0] is not None  # torch raises in the call
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert error.code == "matmul-mismatch" and mistake in mutant.splitlines()[error.span.start_line - 1], error.message
    assert error.fix.content == "embedding_size" and apply_fix(mutant, error.fix) == source


def test_a_contraction_on_kerass_symbolic_tensors_is_not_claimed():
    """A mismatch on keras.Input's tensors (every size known): Keras's symbolic shape inference does not compare
    the contracted sizes, so the model builds (it would fail only once called on data); nothing is claimed."""
    source = HEADER + textwrap.dedent("""
        from keras import ops
        a, b = keras.Input(batch_shape=(2, 100)), keras.Input(batch_shape=(50, 7))
        dot = ops.tensordot(a, b, 1)
        model = keras.Model([a, b], dot)
    """)
    assert run_for_real(source)[0] is None
    assert [f for f in analyze(source).findings if f.severity == "error"] == []
