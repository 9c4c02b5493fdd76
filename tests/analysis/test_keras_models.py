"""Keras models (shapels/analysis/keras_models.py) against real Keras 3 on the torch backend.

Each program is run for real (its statements in order; the first exception ends it) and analysed.
Where Keras raises, shapels must report an error inside the statement that raised (a Sequential built
at construction: on the layer in its list), and nowhere else; where it runs, no error, and the model
named `model` (or the layer called on data) has the output shape the run gave.
"""

from __future__ import annotations

import os
import textwrap
import traceback
import warnings

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import libcst as cst  # noqa: E402

from conftest import apply_fix  # noqa: E402
from shapels.analysis.engine import analyze  # noqa: E402

HEADER = "import numpy as np\nimport keras\nfrom keras import layers\n"

PROGRAMS = {
    "sequential_input_shape": """
        model = keras.Sequential([
            layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(10),
        ])
        out = model(np.zeros((4, 28, 28, 1), "float32"))
    """,
    "data_shuffled_by_a_permutation": """
        x_train = np.zeros((8, 500))
        idx = np.random.permutation(len(x_train))
        x_train = x_train[idx].reshape((8, 500, 1))
        model = keras.Sequential([keras.Input(shape=(500, 1)), layers.Conv1D(4, 3), layers.GlobalAveragePooling1D(),
                                  layers.Dense(2)])
        out = model(x_train[np.arange(3)])
    """,
    "conv_lstm_over_frames_of_any_count": """
        inp = layers.Input(shape=(None, 16, 16, 1))
        x = layers.ConvLSTM2D(filters=4, kernel_size=3, padding="same", return_sequences=True)(inp)
        x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), padding="same")(x)
        model = keras.Model(inp, x)
        out = model(np.zeros((2, 5, 16, 16, 1), "float32"))
    """,
    "two_inputs_given_one": """
        a = keras.Input(shape=(8,))
        b = keras.Input(shape=(8,))
        model = keras.Model([a, b], layers.Dense(2)(layers.Concatenate()([a, b])))
        out = model([np.zeros((4, 8), "float32")])
    """,
    "two_inputs_given_two": """
        a = keras.Input(shape=(8,))
        b = keras.Input(shape=(8,))
        model = keras.Model([a, b], layers.Dense(2)(layers.Concatenate()([a, b])))
        out = model([np.zeros((4, 8), "float32"), np.ones((4, 8), "float32")])
    """,
    "lambda_runs_its_function": """
        from keras import ops
        inputs = keras.Input(shape=(16, 8))
        x = layers.Dense(4)(inputs)
        x = layers.Lambda(lambda t: ops.divide(t, ops.convert_to_tensor(1e-9) + ops.sum(t, axis=-1, keepdims=True)))(x)
        x = layers.Flatten()(x)
        model = keras.Model(inputs, layers.Dense(3)(x))
        out = model(np.zeros((2, 16, 8), "float32"))
    """,
    "lambda_of_a_def_in_a_sequential": """
        from keras import ops

        def pairwise(t):
            return ops.transpose(ops.reshape(t, (-1, 4, 6)), axes=(0, 2, 1))

        model = keras.Sequential([keras.Input(shape=(24,)), layers.Lambda(pairwise), layers.Dense(5)])
        out = model(np.zeros((3, 24), "float32"))
    """,
    "lambda_whose_function_fails": """
        from keras import ops
        inputs = keras.Input(shape=(10, 4))
        x = layers.Lambda(lambda t: ops.multiply(t, ops.sum(t, axis=2)))(inputs)
        model = keras.Model(inputs, x)
    """,
    "custom_layer_of_patches": """
        from keras import ops

        class Patches(layers.Layer):
            def __init__(self, size):
                super().__init__()
                self.size = size

            def call(self, images):
                batch = ops.shape(images)[0]
                patches = ops.image.extract_patches(images, self.size)
                return ops.reshape(patches, (batch, -1, patches.shape[-1]))

        inputs = keras.Input(shape=(32, 32, 3))
        x = Patches(8)(inputs)
        x = layers.Dense(16)(x)
        x = layers.GlobalAveragePooling1D()(x)
        model = keras.Model(inputs, layers.Dense(10)(x))
        out = model(np.zeros((2, 32, 32, 3), "float32"))
    """,
    "sequential_input_first_and_add": """
        model = keras.Sequential()
        model.add(keras.Input(shape=(16,)))
        model.add(layers.Dense(8))
        model.add(layers.Reshape((2, 4)))
        out = model(np.random.rand(3, 16))
    """,
    "sequential_wrong_channels": """
        model = keras.Sequential([
            layers.Conv2D(8, 3, input_shape=(28, 28, 1)),
            layers.Flatten(),
            layers.Dense(10),
        ])
        out = model(np.zeros((2, 28, 28, 3), "float32"))
    """,
    "sequential_wrong_image_size": """
        model = keras.Sequential([
            layers.Conv2D(8, 3, input_shape=(28, 28, 1)),
            layers.Flatten(),
            layers.Dense(10),
        ])
        out = model(np.zeros((2, 30, 30, 1), "float32"))
    """,
    "sequential_rank_expanded": """
        model = keras.Sequential([layers.Conv2D(8, 3, input_shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10)])
        out = model(np.zeros((2, 28, 28), "float32"))
    """,
    "sequential_build_fails_in_constructor": """
        model = keras.Sequential([
            layers.Dense(4, input_shape=(3,)),
            layers.Reshape((5,)),
        ])
        out = model(np.zeros((2, 3), "float32"))
    """,
    "sequential_add_fails_when_built": """
        model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4)])
        model.add(layers.Reshape((3, 2)))
        out = model(np.zeros((2, 6), "float32"))
    """,
    "sequential_unbuilt_rank_1": """
        model = keras.Sequential([layers.Dense(4), layers.Dense(3)])
        out = model(np.zeros((5,), "float32"))
    """,
    "sequential_build_method": """
        model = keras.Sequential([layers.Dense(4), layers.Dense(3)])
        model.build((None, 8))
        out = model(np.ones((2, 8)))
    """,
    "sequential_lstm_called_on_other_features": """
        model = keras.Sequential([layers.LSTM(8, input_shape=(5, 8))])
        out = model(np.random.rand(1, 8, 5))
    """,
    "sequential_bidirectional_gru_called_on_other_features": """
        model = keras.Sequential([keras.Input(shape=(5, 8)), layers.Bidirectional(layers.GRU(4))])
        out = model.predict(np.random.rand(2, 5, 6), verbose=0)
    """,
    "sequential_rnn_called_on_other_timesteps": """
        model = keras.Sequential([keras.Input(shape=(5, 8)), layers.SimpleRNN(4, return_sequences=True)])
        out = model(np.random.rand(2, 9, 8))
    """,
    "sequential_layer_normalization_called_on_other_features": """
        model = keras.Sequential([keras.Input(shape=(20, 3)), layers.LayerNormalization(), layers.Flatten()])
        out = model(np.random.rand(4, 20, 2))
    """,
    "sequential_layer_normalization_called_on_other_timesteps": """
        model = keras.Sequential([keras.Input(shape=(20, 3)), layers.LayerNormalization()])
        out = model(np.random.rand(4, 12, 3))
    """,
    "sequential_batch_normalization_called_on_other_channels": """
        model = keras.Sequential([keras.Input(shape=(20, 3)), layers.BatchNormalization()])
        out = model(np.random.rand(4, 20, 2))
    """,
    "sequential_time_distributed_dense_called_on_other_features": """
        model = keras.Sequential([keras.Input(shape=(5, 16)), layers.TimeDistributed(layers.Dense(4))])
        out = model(np.random.rand(2, 5, 18))
    """,
    "sequential_time_distributed_dense_called_on_other_timesteps": """
        model = keras.Sequential([keras.Input(shape=(5, 16)), layers.TimeDistributed(layers.Dense(4))])
        out = model(np.random.rand(2, 7, 16))
    """,
    "functional_ok": """
        inputs = keras.Input(shape=(20, 32))
        x = layers.GRU(64)(inputs)
        outputs = layers.Dense(10)(x)
        model = keras.Model(inputs=inputs, outputs=outputs)
        out = model(np.random.rand(10, 20, 32))
    """,
    "functional_wrong_features": """
        inputs = keras.Input(shape=(20, 32))
        outputs = layers.Dense(10)(layers.GRU(64)(inputs))
        model = keras.Model(inputs, outputs)
        out = model(np.random.rand(10, 20, 33))
    """,
    "functional_trailing_one_squeezed": """
        inputs = keras.Input(shape=(20, 32))
        outputs = layers.Dense(10)(layers.GRU(64)(inputs))
        model = keras.Model(inputs, outputs)
        out = model(np.random.rand(10, 20, 32, 1))
    """,
    "functional_missing_batch": """
        inputs = keras.Input(shape=(20, 32))
        outputs = layers.Dense(10)(layers.GRU(64)(inputs))
        model = keras.Model(inputs, outputs)
        out = model(np.random.rand(20, 32))
    """,
    "functional_two_inputs": """
        a = keras.Input(shape=(8,))
        b = keras.Input(shape=(4,))
        merged = layers.Concatenate()([layers.Dense(6)(a), b])
        model = keras.Model(inputs=[a, b], outputs=layers.Dense(2)(merged))
        out = model([np.zeros((3, 8)), np.zeros((3, 4))])
    """,
    "functional_predict_wrong": """
        inputs = keras.Input(shape=(12,))
        model = keras.Model(inputs, layers.Dense(3)(inputs))
        out = model.predict(np.zeros((5, 13)), verbose=0)
    """,
    "fit_sparse_ok": """
        inputs = keras.Input(shape=(12,))
        model = keras.Model(inputs, layers.Dense(3, activation="softmax")(inputs))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(np.random.rand(8, 12), np.random.randint(0, 3, size=(8,)), epochs=1, verbose=0)
        out = model(np.zeros((8, 12)))
    """,
    "fit_sparse_one_hot_targets": """
        inputs = keras.Input(shape=(12,))
        model = keras.Model(inputs, layers.Dense(3, activation="softmax")(inputs))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(np.random.rand(8, 12), np.zeros((8, 5)), epochs=1, verbose=0)
    """,
    "fit_categorical_wrong_width": """
        model = keras.Sequential([keras.Input(shape=(12,)), layers.Dense(4, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(np.random.rand(8, 12), keras.utils.to_categorical(np.random.randint(0, 10, size=8), 10), epochs=1,
                  verbose=0)
    """,
    "fit_dense_on_conv_output_meets_2d_targets": """
        model = keras.Sequential([
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, 3),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(np.random.rand(4, 8, 8, 1), np.zeros((4, 10)), epochs=1, verbose=0)
    """,
    "functional_dense_on_conv_output_meets_2d_targets": """
        inputs = keras.Input(shape=(8, 8, 1))
        x = layers.Conv2D(4, 3)(inputs)
        outputs = layers.Dense(10, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(np.random.rand(4, 8, 8, 1), np.zeros((4, 10)), epochs=1, verbose=0)
    """,
    "fit_mse_ok": """
        model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.random.rand(6, 3), np.random.rand(6), epochs=1, verbose=0)
        out = model(np.zeros((6, 3)))
    """,
    "shared_dense_other_width": """
        dense = layers.Dense(5)
        a = dense(np.zeros((2, 8), "float32"))
        out = dense(np.zeros((2, 9), "float32"))
    """,
    "subclass_ok": """
        class Linear(layers.Layer):
            def __init__(self, units=32):
                super().__init__()
                self.units = units

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
                self.b = self.add_weight(shape=(self.units,), initializer="zeros")

            def call(self, inputs):
                return keras.ops.matmul(inputs, self.w) + self.b

        class Classifier(keras.Model):
            def __init__(self, classes=10):
                super().__init__()
                self.conv = layers.Conv2D(16, 3, activation="relu")
                self.pool = layers.GlobalAveragePooling2D()
                self.hidden = Linear(64)
                self.head = layers.Dense(classes)

            def call(self, inputs):
                return self.head(self.hidden(self.pool(self.conv(inputs))))

        model = Classifier()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        images = np.random.rand(8, 32, 32, 3).astype("float32")
        model.fit(images, np.random.randint(0, 10, size=(8,)), epochs=1, verbose=0)
        out = model(images)
    """,
    "subclass_fit_wrong_targets": """
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.flat = layers.Flatten()
                self.head = layers.Dense(10, activation="softmax")

            def call(self, x):
                return self.head(self.flat(x))

        model = Net()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(np.random.rand(8, 28, 28), np.random.randint(0, 10, size=(8, 3)), epochs=1, verbose=0)
    """,
    "subclass_layer_weight_against_other_width": """
        class Linear(keras.layers.Layer):
            def __init__(self, units):
                super().__init__()
                self.units = units

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units))

            def call(self, inputs):
                return keras.ops.matmul(inputs, self.w)

        class Model(keras.Model):
            def __init__(self):
                super().__init__()
                self.proj = Linear(4)

            def call(self, x):
                return self.proj(keras.ops.reshape(x, (-1, 6)))

        model = Model()
        out = model(np.zeros((3, 6), "float32"))
    """,
    "expand_dims_data": """
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10)])
        images = np.random.rand(16, 28, 28)
        out = model(np.expand_dims(images, -1))
    """,
}


# Where the error belongs elsewhere than the statement Keras raises in (the issue: "report it at the
# Dense, or at the missing Flatten, with the fix"): the text on the line it is reported on.
REPORTED_AT = {
    "fit_categorical_wrong_width": 'keras.Sequential([keras.Input(shape=(12,)), layers.Dense(4, activation="softmax")])',
    "fit_dense_on_conv_output_meets_2d_targets": 'layers.Dense(10, activation="softmax")',
    "functional_dense_on_conv_output_meets_2d_targets": 'outputs = layers.Dense(10, activation="softmax")(x)',
}


def run_for_real(source: str) -> tuple:
    """(line of the statement that raised or None, output shape of `out` or None)."""
    namespace: dict = {"__name__": "__main__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(source, "<program>", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - any error Keras raises is the label
            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "<program>"]
            return frames[-1].lineno, None
    out = namespace.get("out")
    return None, tuple(int(d) for d in out.shape) if out is not None else None


def statement_lines(source: str, line: int) -> range:
    """The lines of the top-level statement that starts at `line`."""
    module = cst.MetadataWrapper(cst.parse_module(source))
    positions = module.resolve(cst.metadata.PositionProvider)
    for stmt in module.module.body:
        where = positions[stmt]
        if where.start.line == line:
            return range(where.start.line, where.end.line + 1)
    return range(line, line + 1)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_like_keras(name):
    source = HEADER + textwrap.dedent(PROGRAMS[name])
    raised_at, shape = run_for_real(source)
    result = analyze(source)
    errors = sorted(f.span.start_line for f in result.findings if f.severity == "error")
    if raised_at is None:
        assert errors == [], f"{name}: Keras runs it; shapels reports {[(f.span.start_line, f.message) for f in result.findings]}"
        outputs = {m.name: m.output for m in result.modules}
        named = outputs.get("model", outputs.get("dense", outputs.get("Classifier", outputs.get("Model"))))
        assert named is not None and named.shape.to_json() == list(shape), f"{name}: keras {shape}, shapels {outputs}"
    else:
        if name in REPORTED_AT:
            lines = [i for i, text in enumerate(source.splitlines(), 1) if REPORTED_AT[name] in text]
        else:
            lines = statement_lines(source, raised_at)
        assert errors and errors[0] in lines, f"{name}: Keras raises on line {raised_at}; shapels errors on {errors}"
        first = min((f for f in result.findings if f.severity == "error"), key=lambda f: f.span.start_line)
        if first.fix is not None:  # the fix offered makes the program run, as the re-analysis said it would
            fixed = apply_fix(source, first.fix)
            assert run_for_real(fixed)[0] is None, f"{name}: the fix {first.fix.content!r} does not run:\n{fixed}"



def test_the_output_keeps_kerass_none_where_the_data_is_symbolic():
    source = HEADER + textwrap.dedent("""
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10)])
        inner = keras.Input(shape=(28, 28, 1))
        out = model(inner)
        model.summary()
    """)
    result = analyze(source)
    assert [f for f in result.findings if f.severity == "error"] == []
    [model] = [m for m in result.modules if m.name == "model"]
    assert model.output.shape.to_json() == [None, 10]


def test_output_shape_attribute_reads_as_keras_prints_it():
    source = HEADER + textwrap.dedent("""
        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3)])
        if model.output_shape != (None, 3):
            raise SystemExit
        bad = layers.Dense(2)(np.zeros((5,)))
    """)
    result = analyze(source)
    # the raise is certainly not taken: the error after it is reached, as in a real run
    assert [(f.span.start_line, f.code) for f in result.findings if f.severity == "error"] == [(8, "layer-input-rank")]  # with its fix: a batch axis on the data


def test_a_residual_branch_of_another_width_is_blamed_on_a_conv_with_the_other_branchs_expression():
    """ResNet's bottleneck with the shortcut's filters doubled: Keras fails at the Add, but the width was
    made by a conv; the fix writes the other branch's own expression (4 * filters), valid in every block."""
    source = HEADER + textwrap.dedent("""
        def block(x, filters, conv_shortcut=True):
            shortcut = layers.Conv2D(2 * 4 * filters, 1)(x) if conv_shortcut else x
            x = layers.Conv2D(filters, 1)(x)
            x = layers.Conv2D(filters, 3, padding="same")(x)
            x = layers.Conv2D(4 * filters, 1)(x)
            return layers.Add()([shortcut, x])

        inputs = keras.Input(shape=(8, 8, 16))
        x = block(inputs, 8)
        x = block(x, 8, conv_shortcut=False)
        x = block(x, 16)
        model = keras.Model(inputs, x)
        out = model(np.zeros((2, 8, 8, 16), "float32"))
    """)
    assert run_for_real(source)[0] is not None
    [error] = [f for f in analyze(source).findings if f.severity == "error"]
    line = source.splitlines()[error.span.start_line - 1]
    assert "layers.Conv2D(2 * 4 * filters, 1)" in line and error.fix.content == "4 * filters"
    assert run_for_real(apply_fix(source, error.fix)) == (None, (2, 8, 8, 64))


BOTTLENECK = """
    def block(x, filters, stride=1):
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride)(x)
        x = layers.Conv2D(filters, 1, strides=stride)(x)
        x = layers.Conv2D(filters, 3, padding="same")(x)
        x = layers.Conv2D(4 * filters, 1)(x)
        return layers.Add()([shortcut, x])

    inputs = keras.Input(shape=(16, 16, 8))
    x = block(inputs, 4)
    x = block(x, 8, stride=2)
    model = keras.Model(inputs, x)
    out = model(np.zeros((2, 16, 16, 8), "float32"))
"""


@pytest.mark.parametrize("written, mistake, fix", [
    ("layers.Conv2D(4 * filters, 1, strides=stride)", "layers.Conv2D(4 * filters, 1, strides=stride * 2)", "stride"),
    ('layers.Conv2D(filters, 3, padding="same")', 'layers.Conv2D(filters, 3, padding="valid")', '"same"'),
], ids=["strides", "padding"])
def test_a_branch_whose_window_differs_is_blamed_where_it_differs(written, mistake, fix):
    """Keras fails at the Add; the window argument that differs from the other window layers' is where the
    author wrote the mistake, and theirs (their own expression) is the fix, in every block. (A convolution's
    kernel is not compared: a bottleneck mixes 1 and 3, and either branch's could be made to agree.)"""
    source = HEADER + textwrap.dedent(BOTTLENECK)
    assert run_for_real(source)[0] is None
    mutant = source.replace(written, mistake)
    assert run_for_real(mutant)[0] is not None
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert mistake in mutant.splitlines()[error.span.start_line - 1] and error.fix.content == fix
    assert apply_fix(mutant, error.fix) == source


MIXER = """
    from keras import ops
    num_patches, embedding_dim = 16, 32

    class MixerBlock(layers.Layer):
        def __init__(self, num_patches, hidden_units):
            super().__init__()
            self.mlp1 = keras.Sequential([layers.Dense(units=num_patches, activation="gelu"),
                                          layers.Dense(units=num_patches)])
            self.mlp2 = keras.Sequential([layers.Dense(units=num_patches, activation="gelu"),
                                          layers.Dense(units=hidden_units)])
            self.normalize = layers.LayerNormalization(epsilon=1e-6)

        def call(self, inputs):
            x = self.normalize(inputs)
            x_channels = ops.transpose(x, axes=(0, 2, 1))
            mlp1_outputs = ops.transpose(self.mlp1(x_channels), axes=(0, 2, 1))
            x = mlp1_outputs + inputs
            return x + self.mlp2(self.normalize(x))

    inputs = keras.Input(shape=(num_patches, 12))
    x = layers.Dense(units=embedding_dim)(inputs)
    x = MixerBlock(num_patches, embedding_dim)(x)
    model = keras.Model(inputs, layers.GlobalAveragePooling1D()(x))
    out = model(np.zeros((2, num_patches, 12), "float32"))
"""


@pytest.mark.parametrize("written, mistake, fix", [
    ("layers.Dense(units=num_patches)]", "layers.Dense(units=num_patches * 2)]", "num_patches"),
    ("x = layers.Dense(units=embedding_dim)(inputs)", "x = layers.Dense(units=embedding_dim * 2)(inputs)",
     "embedding_dim"),
], ids=["token-mixing-across-transposes", "channels-through-transposes"])
def test_a_width_moved_by_a_transpose_is_traced_back_to_the_dense_that_made_it(written, mistake, fix):
    """MLP-Mixer: mlp1 mixes the patches with its Dense on the transposed map; a width doubled there meets
    the block's input on the middle axis after the transpose back (Keras fails at the add). Each step that
    only moved axes (Step.axes_from) leads the size back to the Dense's last axis, and the part of its units
    that holds the other operand's size is the fix."""
    source = HEADER + textwrap.dedent(MIXER)
    assert run_for_real(source) == (None, (2, 32))
    mutant = source.replace(written, mistake)
    assert run_for_real(mutant)[0] is not None
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert mistake in mutant.splitlines()[error.span.start_line - 1], error.message
    assert error.fix.content == fix and apply_fix(mutant, error.fix) == source


PAIRS = """
    x_train = np.zeros((8, 2), "int64")

    class PairModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.first = layers.Embedding(10, 4)
            self.second = layers.Embedding(20, 4)

        def call(self, inputs):
            return self.first(inputs[:, 0]) + self.second(inputs[:, 1])

    model = PairModel()
    out = model(x_train[:2])
"""


def test_data_cut_where_it_is_passed_is_blamed_where_it_is_cut():
    """`model(x_train[:2, :1])` where the call reads `inputs[:, 1]`: torch's IndexError is in the call, but the
    array has the column; the slice written where the data is passed took it, and is the edit."""
    source = HEADER + textwrap.dedent(PAIRS)
    assert run_for_real(source) == (None, (2, 4))
    mutant = source.replace("out = model(x_train[:2])", "out = model(x_train[:2, :1])")
    assert run_for_real(mutant)[0] is not None
    [error] = [f for f in analyze(mutant).findings if f.severity == "error"]
    assert "out = model(x_train[:2, :1])" in mutant.splitlines()[error.span.start_line - 1], error.message
    assert error.fix.content == "x_train[:2]" and apply_fix(mutant, error.fix) == source


def test_data_made_without_the_column_is_not_blamed_where_it_is_passed():
    """The array itself has one column: nothing was cut where it is passed, so the call's slice is not the edit."""
    source = HEADER + textwrap.dedent(PAIRS).replace('np.zeros((8, 2), "int64")', 'np.zeros((8, 1), "int64")')
    assert run_for_real(source)[0] is not None
    [error] = [f for f in analyze(source).findings if f.severity == "error"]
    assert "out = model(" not in source.splitlines()[error.span.start_line - 1], error.message
