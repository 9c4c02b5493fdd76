"""The keras-io examples of the Keras corpus (corpus/keras_io.py), read as files from keras-core's
examples/keras_io; skipped where no copy of them is here (CI: they are never committed).

Static only (a few seconds): no error on any unmutated example (each one runs: its label says so where the
labels are cached), no engine crash. The mutants' figures are corpus/keras_io.py's run (opt-in).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "corpus"))

import keras_apps  # noqa: E402
import keras_io  # noqa: E402


def _present() -> bool:
    try:
        keras_io.source(keras_io.EXAMPLES["mnist_convnet"].path)
    except FileNotFoundError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _present(), reason="no copy of keras-core's examples/keras_io here")


@pytest.mark.parametrize("name", sorted(keras_io.EXAMPLES))
def test_no_error_on_the_unmutated_example(name):
    entry = keras_io.model_entries([name])[0]
    labels = keras_io.WORK / "labels.json"
    cache = json.loads(labels.read_text()) if labels.is_file() else {}
    label = cache.get(keras_apps._key(entry["text"]))
    if label is not None:
        assert label["runs"], (name, label)
    result, _, _ = keras_apps._static_out(entry["text"], entry["path"])
    assert not result.partial and not keras_apps._internal(result), name
    assert not keras_apps._errors(result), keras_apps._errors(result)
