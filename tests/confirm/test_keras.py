"""Confirm on Keras files: Keras 3 on the torch backend in the worker, no TensorFlow.

The nine Keras seeds give expected.json's outcome (tf.keras mapped to keras by the worker's stand-in
for tensorflow); a Keras file's layers are compared with the static shapes line by line; a file that
needs TensorFlow itself, or a worker without keras, says how to install what is missing.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from shapels.confirm.api import confirm_file
from shapels.confirm.pool import WorkerPool
from shapels.confirm.report import AGREED, RUNTIME_ONLY, STATIC_MISSED, STATIC_WRONG
from tests.confirm.conftest import EXAMPLES, EXPECTED

if importlib.util.find_spec("keras") is None:  # not imported here: keras picks its backend on import
    pytest.skip("keras is not installed (pip install 'shapels[keras]')", allow_module_level=True)
torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
KERAS_EXAMPLES = sorted((EXAMPLES / "keras").glob("*.py"))
IDS = [p.name for p in KERAS_EXAMPLES]


def expected_for(path) -> dict:
    return EXPECTED[f"keras/{path.name}"]


def test_there_are_nine_keras_seeds():
    assert len(KERAS_EXAMPLES) == 9


@pytest.mark.parametrize("path", KERAS_EXAMPLES, ids=IDS)
def test_keras_seed_matches_expected(pool, path):
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.device == "cpu"
    assert report.keras_version.startswith("3.") and report.to_dict()["keras"] == report.keras_version
    expected = expected_for(path)
    if expected["runs"]:
        assert report.ok and report.error is None, report.error
        assert report.output_shape == expected["output_shape"]
    else:
        assert not report.ok and not report.cannot_run
        assert report.error.kind == "exception" and report.error.type == "ValueError"
        assert report.error.line == expected["call_line"]
        # Keras's own words (3.15 also names the input: "Input 0 with name 'None' of layer 'dense'")
        assert "of layer 'dense' is incompatible with the layer: expected min_ndim=2, found ndim=1. " \
               "Full shape received: (64,)" in report.error.message
        # the Dense that raised, mapped back to the line that built it
        assert report.error.layer == "dense" and report.error.layer_type == "keras.layers.Dense"
        assert report.error.constructor_line == 9
    # per layer: the line that built it, Keras's name for it, and no disagreement with the static shapes
    assert report.layers and all(l.type.startswith("keras.layers.") for l in report.layers)
    assert not report.disagreements, [v.message for v in report.disagreements]
    agreed = {v.line for v in report.verdicts if v.verdict == AGREED}
    assert {l.line for l in report.layers} <= agreed
    if not expected["runs"]:
        assert any(v.verdict == AGREED and "flagged it" in v.message for v in report.verdicts)


def test_seed_layers_lines_names_and_shapes(pool):
    """seed001_ex1 (tf.keras.Sequential with `from tensorflow.keras import layers`): each layer's row is the
    line of its constructor inside the list, named as Keras names it (dense_2 as the file names it), with
    the shapes the run saw; a fresh Keras session per run, so the names do not grow across runs."""
    path = EXAMPLES / "keras" / "seed001_ex1.py"
    for _ in range(2):
        report = confirm_file(str(path), device="cpu", pool=pool)
    assert [(l.line, l.name, l.type, l.input, l.output) for l in report.layers] == [
        (6, "conv2d", "keras.layers.Conv2D", [16, 28, 28, 1], [16, 26, 26, 32]),
        (7, "max_pooling2d", "keras.layers.MaxPooling2D", [16, 26, 26, 32], [16, 13, 13, 32]),
        (8, "conv2d_1", "keras.layers.Conv2D", [16, 13, 13, 32], [16, 11, 11, 64]),
        (9, "max_pooling2d_1", "keras.layers.MaxPooling2D", [16, 11, 11, 64], [16, 5, 5, 64]),
        (10, "flatten", "keras.layers.Flatten", [16, 5, 5, 64], [16, 1600]),
        (11, "dense_2", "keras.layers.Dense", [16, 1600], [16, 256]),
    ]
    assert report.model == "Sequential" and report.model_line == 5
    # the model's output against the static module `model`, found by the line that built it
    assert any(v.line == 5 and v.verdict == AGREED and "model returns (16, 256)" in v.message for v in report.verdicts)


def test_keras_file_where_static_and_run_agree(pool, script):
    """A functional model with two inputs, a shared layer and a Concatenate, written with `import keras`:
    every layer shape the static side claims agrees with the run (it has no shape for the shared
    layer's second call: that one is runtime-only)."""
    path = script("""
        import numpy as np
        import keras
        from keras import layers

        left = keras.Input(shape=(12,))
        right = keras.Input(shape=(12,))
        shared = layers.Dense(8)
        merged = layers.Concatenate()([shared(left), shared(right)])
        outputs = layers.Dense(3)(merged)
        model = keras.Model(inputs=[left, right], outputs=outputs)
        out = model([np.zeros((5, 12)), np.ones((5, 12))])
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.output_shape == [5, 3]
    rows = {(l.line, l.type): l for l in report.layers}
    assert rows[(8, "keras.layers.Dense")].calls == 2
    assert rows[(9, "keras.layers.Concatenate")].output == [5, 16]
    assert report.agreed and not report.disagreements
    agreed = {(v.line, v.name) for v in report.verdicts if v.verdict == AGREED}
    assert agreed == {(8, "dense"), (9, "concatenate"), (10, "dense_1"), (11, "model output")}
    assert [(v.name, v.verdict) for v in report.verdicts if (v.line, v.name) not in agreed] == [
        ("dense (call 2, line 12)", RUNTIME_ONLY)]


def test_keras_file_where_the_run_differs(pool, script, tmp_path):
    """Data read from a file has no static shape (no guessing), so shapels is silent; the run finds it
    rank 1 and the Dense raises: confirm reports what static analysis missed, on the call's line."""
    import numpy as np

    np.save(tmp_path / "features.npy", np.zeros(64, dtype="float32"))
    path = script("""
        import numpy as np
        import keras

        features = np.load("features.npy")
        dense = keras.layers.Dense(10)
        print(dense(features).shape)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert not report.ok and report.error.kind == "exception"
    assert report.error.line == 7 and report.error.constructor_line == 6
    assert "expected min_ndim=2, found ndim=1" in report.error.message
    missed = [v for v in report.disagreements if v.verdict == STATIC_MISSED]
    assert len(missed) == 1 and missed[0].line == 6
    assert "the run raised at line 7" in missed[0].message and "shapels did not flag it" in missed[0].message
    assert not [v for v in report.verdicts if v.verdict == STATIC_WRONG]


def test_keras_none_batch_matches_only_where_the_static_side_says_none():
    """Keras's None (JSON null) on the static side claims nothing about the batch; an int claims it."""
    from shapels.confirm.compare import agrees

    assert agrees([None, 26, 26, 32], [16, 26, 26, 32]) is True
    assert agrees([None, 26, 26, 32], [16, 26, 26, 31]) is False
    assert agrees([8, 26, 26, 32], [16, 26, 26, 32]) is False
    # Keras's own shapes from a build (no data): None on the run's side claims nothing either
    assert agrees([8, 26, 26, 32], [None, 26, 26, 32]) is True
    assert agrees([8, 26, 26, 32], [None, 26, 26, 31]) is False


def test_tensorflow_beyond_tf_keras_says_how_to_install_it(pool, script):
    """tf.reduce_sum is TensorFlow itself: the run stops with how to install it, never a crash, even
    where the script catches the exception."""
    path = script("""
        import tensorflow as tf

        x = tf.random.normal(shape=(2, 3))
        try:
            total = tf.reduce_sum(x)
        except Exception as error:
            print("caught", type(error).__name__)
        y = tf.keras.layers.Dense(4)(x)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert not report.ok and report.cannot_run
    assert report.error.kind == "no-tensorflow"
    assert report.error.line == 6
    assert "tf.reduce_sum needs TensorFlow" in report.error.message
    assert "pip install tensorflow-cpu" in report.error.message
    assert "caught TensorFlowAttributeNeeded" in report.stdout


def test_tensorflow_import_beyond_keras_says_how_to_install_it(pool, script):
    path = script("""
        import tensorflow.compat.v1 as tf1
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.cannot_run and report.error.kind == "no-tensorflow"
    assert report.error.line == 2
    assert "import tensorflow.compat needs TensorFlow" in report.error.message
    assert "pip install tensorflow-cpu" in report.error.message


def test_tf_keras_imports_and_functions_run_on_keras(pool, script):
    """The imports people write for tf.keras and the TensorFlow functions the seeds use, on Keras 3."""
    path = script("""
        import tensorflow as tf
        import tensorflow.keras.layers as kl
        from tensorflow import keras
        from tensorflow.keras.models import Sequential
        import numpy as np
        model = Sequential([keras.Input(shape=(6,)), kl.Dense(4), tf.keras.layers.Dense(2)])
        tf.random.set_seed(0)
        a = model(tf.zeros((3, 6)))
        b = tf.reshape(tf.ones([2, 6], dtype=tf.float32), (6, 2))
        c = tf.random.uniform((1, 6), maxval=2.0) + tf.constant([[1.0] * 6]) + tf.convert_to_tensor(np.ones(6))
        try:
            keras.layers.Dense(2)(tf.random.normal(shape=(6,)))
        except tf.errors.InvalidArgumentError:
            print("not what Keras 3 raises")
        except ValueError:
            print("ValueError")
        print(tuple(a.shape), tuple(b.shape), tuple(c.shape))
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.stdout.split("\n")[:2] == ["ValueError", "(3, 2) (6, 2) (1, 6)"]
    assert report.output_shape == [3, 2]
    assert report.agreed, [v.message for v in report.disagreements]
    # the Dense on a rank-1 tf.random.normal: shapels flagged it, and the run raised there
    assert any(v.line == 13 and v.verdict == AGREED and "raised" in v.message for v in report.verdicts)


@pytest.mark.skipif(CUDA, reason="CUDA is available: auto is CUDA there (test_keras_follows_the_device)")
def test_keras_auto_falls_back_to_the_cpu(pool, script):
    path = script("""
        import keras
        out = keras.layers.Dense(3)(keras.ops.ones((2, 4)))
        print(out.device)
    """)
    report = confirm_file(str(path), device="auto", pool=pool)
    assert report.ok, report.error
    assert report.device == "cpu"
    assert report.stdout.strip() == "cpu"


@pytest.mark.parametrize("device", ["auto", "cpu", "meta"] + (["cuda"] if CUDA else []))
def test_keras_follows_the_device(pool, script, device):
    """Keras on torch places tensors on its own default device (CUDA when there is one); confirm puts the
    run's device in scope, so `--device cpu` is the CPU on a GPU machine too."""
    path = script("""
        import numpy as np
        import keras
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
        out = model(np.ones((2, 4)))
        print(out.device.type, model.layers[0].kernel.value.device.type)
    """)
    report = confirm_file(str(path), device=device, pool=pool)
    assert report.ok, report.error
    ran_on = ("cuda" if CUDA else "cpu") if device == "auto" else device
    assert report.device == ran_on
    assert report.stdout.strip() == f"{ran_on} {ran_on}"
    assert report.output_shape == [2, 3]


def test_missing_keras_says_how_to_install_it(tmp_path):
    """A worker whose Python has no keras: a Keras file says how to install the extra; torch files still run."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "keras.py").write_text("raise ModuleNotFoundError(\"No module named 'keras'\", name='keras')\n")
    keras_file = tmp_path / "k.py"
    keras_file.write_text("import keras\nout = keras.layers.Dense(2)(keras.ops.ones((1, 3)))\n")
    torch_file = tmp_path / "t.py"
    torch_file.write_text("import torch\nout = torch.nn.Linear(3, 2)(torch.ones(1, 3))\n")
    no_keras = WorkerPool(env=dict(os.environ, PYTHONPATH=str(shadow)))
    try:
        report = confirm_file(str(keras_file), device="cpu", pool=no_keras)
        torch_report = confirm_file(str(torch_file), device="cpu", pool=no_keras)
    finally:
        no_keras.close()
    assert not report.ok and report.cannot_run
    assert report.error.kind == "no-keras"
    assert "pip install 'shapels[keras]'" in report.error.message
    assert sys.executable in report.error.message
    assert torch_report.ok and torch_report.layers[0].output == [1, 2]


def test_a_model_called_twice_is_compared_at_its_first_call(pool, script):
    """The static result describes a model's first call; the run's model output is that call's too (it
    was the last call's: a second batch size read as a wrong static shape)."""
    path = script("""
        import numpy as np
        import keras

        model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(4), keras.layers.Dense(2)])
        a = model(np.zeros((3, 6)))
        b = model(np.zeros((5, 6)))
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.model == "Sequential" and report.model_input == [3, 6] and report.output_shape == [3, 2]
    assert not report.disagreements, [v.message for v in report.disagreements]
    assert any(v.name == "model output" and v.verdict == AGREED for v in report.verdicts)
    dense = next(l for l in report.layers if l.name == "dense")
    assert dense.calls == 2 and [c["input"] for c in dense.every] == [[3, 6], [5, 6]]


def test_the_tensorflow_stand_in_lasts_one_run(pool, script, tmp_path):
    """The stand-in exists only while a file that imports tensorflow runs: the next Keras file (and Keras,
    which calls tf.random.set_seed from keras.utils.set_random_seed when it finds tensorflow imported)
    sees no TensorFlow. tf.random.set_seed makes tf.random draws repeat, as in TensorFlow."""
    tf_file = script("""
        import tensorflow as tf
        import keras
        tf.random.set_seed(3)
        a = tf.random.normal((2, 2))
        keras.utils.set_random_seed(3)
        tf.random.set_seed(3)
        b = tf.random.normal((2, 2))
        print(bool((a == b).all()))
    """, "with_tf.py")
    keras_file = script("""
        import importlib.util, sys
        import keras
        from keras.src.utils import module_utils
        keras.utils.set_random_seed(0)
        print("tensorflow" in sys.modules, importlib.util.find_spec("tensorflow") is None,
              module_utils.tensorflow.available)
    """, "keras_only.py")
    first = confirm_file(str(tf_file), device="cpu", pool=pool)
    assert first.ok, first.error
    assert first.stdout.strip() == "True"
    second = confirm_file(str(keras_file), device="cpu", pool=pool)
    assert second.ok, second.error
    assert second.stdout.strip() == "False True False"


def test_a_sequential_that_fails_to_build_in_its_constructor(pool, script):
    """input_shape= builds the Sequential in its constructor, calling each layer on a symbolic tensor: the
    Reshape raises there. The error names that layer and the line that built it (the symbolic calls
    are not calls on data, but the failing one is known), matches shapels' flag on that line,
    and reads without the terminal's bold codes Keras puts in it."""
    path = script("""
        import keras
        from keras import layers

        model = keras.Sequential([
            layers.Dense(4, input_shape=(8,)),
            layers.Reshape((5,)),
        ])
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert not report.ok and report.error.kind == "exception" and report.error.type == "ValueError"
    assert report.error.constructor_line == 7 and report.error.layer == "reshape"
    assert report.error.layer_type == "keras.layers.Reshape"
    assert "The total size of the tensor must be unchanged" in report.error.message
    assert "\x1b[" not in report.error.message
    # the layers Keras built before it raised: its own shapes, batch None
    assert [(l.line, l.name, l.input, l.output, l.status) for l in report.layers] == [
        (6, "dense", [None, 8], [None, 4], "ok"), (7, "reshape", [None, 4], None, "raised")]
    assert not report.disagreements, [v.message for v in report.disagreements]
    assert any(v.verdict == AGREED and "flagged it" in v.message for v in report.verdicts)


def test_keras_itself_sees_no_tensorflow_in_a_tf_keras_file(pool, script):
    """Keras probes for TensorFlow (`tf.available`, then tf.TensorShape when it clones a Bidirectional's
    layer): the stand-in is the script's, not Keras's, so a tf.keras file with an RNN, compile, fit and
    evaluate runs, and every layer the static side has a shape for agrees (fit's batch_size is the data's)."""
    path = script("""
        import numpy as np
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras import layers

        tokens = keras.Input(shape=(12,), dtype="int32")
        x = layers.Embedding(1000, 16)(tokens)
        x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
        x = layers.TimeDistributed(layers.Dense(4))(x)
        out = layers.Dense(2, activation="softmax")(layers.GlobalMaxPooling1D()(x))
        model = keras.Model(tokens, out)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        data = np.random.randint(0, 1000, size=(6, 12))
        model.fit(data, np.random.randint(0, 2, size=(6,)), epochs=1, batch_size=6, verbose=0)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.output_shape == [6, 2]
    assert [(l.line, l.type, l.output) for l in report.layers] == [
        (8, "keras.layers.Embedding", [6, 12, 16]), (9, "keras.layers.Bidirectional", [6, 12, 16]),
        (10, "keras.layers.TimeDistributed", [6, 12, 4]), (11, "keras.layers.GlobalMaxPooling1D", [6, 4]),
        (11, "keras.layers.Dense", [6, 2])]
    assert not report.disagreements, [v.message for v in report.disagreements]


def test_a_model_built_but_never_called_on_data(pool, script):
    """A file that builds a functional model on keras.Input and prints its summary: nothing runs on data,
    so the rows are Keras's own shapes from the build, batch None, as model.summary() prints them."""
    path = script("""
        import keras
        from keras import layers

        inputs = keras.Input(shape=(28, 28, 1))
        x = layers.Conv2D(8, 3)(inputs)
        x = layers.Flatten()(x)
        outputs = layers.Dense(10)(x)
        model = keras.Model(inputs, outputs)
        model.summary()
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.output_shape is None and report.model is None
    assert [(l.line, l.name, l.input, l.output) for l in report.layers] == [
        (6, "conv2d", [None, 28, 28, 1], [None, 26, 26, 8]),
        (7, "flatten", [None, 26, 26, 8], [None, 5408]),
        (8, "dense", [None, 5408], [None, 10])]
    assert any("Keras's own shapes from building the model" in note for note in report.notes)
    assert not report.disagreements
    from shapels.confirm import render

    text = render.text(report)
    assert "(None, 26, 26, 8)" in text and "nothing to compare" not in text


def test_fit_that_fails_before_any_data_call(pool, script):
    """Keras's fit builds its loss symbolically on the first batch's shapes before it runs anything: the
    missing Flatten raises there, with no layer called on data. The rows are Keras's own shapes from the
    Sequential's build (batch None), which claim nothing about the batch the static side follows from the
    data; the error is where shapels flagged it."""
    path = script("""
        import numpy as np
        import keras
        from keras import layers

        model = keras.Sequential([
            layers.Conv2D(4, 3, input_shape=(8, 8, 1)),
            layers.Dense(10),
        ])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(np.zeros((4, 8, 8, 1)), np.zeros((4, 10)), epochs=1, verbose=0)
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert not report.ok and report.error.kind == "exception" and report.error.line == 11
    assert "Arguments `target` and `output` must have the same shape" in report.error.message
    assert [(l.line, l.output) for l in report.layers] == [(7, [None, 6, 6, 4]), (8, [None, 6, 6, 10])]
    assert not report.disagreements, [v.message for v in report.disagreements]
    assert {v.line for v in report.verdicts if v.verdict == AGREED} >= {7, 8}
