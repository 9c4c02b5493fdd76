"""A user's model built on keras.applications (transfer learning) is followed into Keras's own application
source (keras/src/applications, read from the installed keras as `shapels check` reads packages), under
the spellings people write; each program is run with Keras on the torch backend and analysed."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("numpy")

from shapels.analysis.engine import Options, analyze  # noqa: E402
from shapels.imports import FileLoader  # noqa: E402

SPELLINGS = {
    "keras.applications": ("import keras\n", "keras.applications.ResNet50"),
    "from keras.applications import": ("import keras\nfrom keras.applications import ResNet50\n", "ResNet50"),
    "tf.keras (as keras)": ("import keras\nfrom tensorflow import keras as tf_keras\n", "tf_keras.applications.ResNet50"),
}

PROGRAM = """\
import numpy as np
from keras import layers
{imports}
base = {builder}(weights=None, include_top=False, input_shape=(64, 64, 3))
x = layers.Reshape(({cells}, 2048))(base.output)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(5)(x)
model = keras.Model(base.input, outputs)
out = model(np.zeros((2, 64, 64, 3), "float32"))
"""


def _run(source: str):
    namespace: dict = {}
    try:
        exec(compile(source.replace("from tensorflow import keras as tf_keras", "tf_keras = keras"), "<program>", "exec"),
             namespace)
    except ValueError:
        return None
    return [int(d) for d in namespace["out"].shape]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("cells", [4, 5])
def test_a_model_on_a_keras_application_gets_kerass_verdict(spelling, cells):
    imports, builder = SPELLINGS[spelling]
    source = PROGRAM.format(imports=imports, builder=builder, cells=cells)
    ran = _run(source)
    result = analyze(source, "/tmp/transfer.py", Options(loader=FileLoader()))
    errors = [f.span.start_line for f in result.findings if f.severity == "error"]
    reshape_line = source.splitlines().index(f"x = layers.Reshape(({cells}, 2048))(base.output)") + 1
    if ran is None:  # ResNet50's features at 64x64 are (2, 2, 2048): 4 cells, not 5
        assert cells == 5
        assert errors == [reshape_line]
    else:
        assert cells == 4 and ran == [2, 5]
        assert errors == []
        [model] = [m for m in result.modules if m.name == "model"]
        assert model.output.shape.to_json() == ran


INPUT_TENSOR = """\
import numpy as np
import keras
from keras import layers

model_input = keras.Input(shape=(64, 64, 3))
base = keras.applications.ResNet50(weights=None, include_top=False, input_tensor=model_input)
x = layers.Reshape(({cells}, 2048))(base.output)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(3)(x)
model = keras.Model(model_input, outputs)
out = model(np.zeros((2, 64, 64, 3), "float32"))
"""


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cells", [4, 5])
def test_an_application_given_an_input_tensor_builds_on_it(cells):
    # the builder takes the keras.Input as its input (backend.is_keras_tensor, get_source_inputs)
    source = INPUT_TENSOR.format(cells=cells)
    ran = _run(source)
    result = analyze(source, "/tmp/transfer.py", Options(loader=FileLoader()))
    errors = [f.span.start_line for f in result.findings if f.severity == "error"]
    if ran is None:
        assert cells == 5
        assert errors == [source.splitlines().index("x = layers.Reshape((5, 2048))(base.output)") + 1]
    else:
        assert cells == 4 and ran == [2, 3] and errors == []
        [model] = [m for m in result.modules if m.name == "model"]
        assert model.output.shape.to_json() == ran
