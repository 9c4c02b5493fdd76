"""The Keras corpus (corpus/keras_apps.py): Keras 3's own application files, read in place from the installed
keras, with the corpus's driver appended.

Always (static only, about 20 s): no error on any unmutated builder: they are the models Keras ships, and
each one runs (its label says so where the labels are cached, with the output (2, 10)); the static output
is that (2, 10) on at least 80% of them.
Opt-in, SHAPELS_KERAS_CORPUS=1 (the mutants: a few minutes): with the labels cached in .tools/keras_corpus
by `.venv/bin/python corpus/keras_apps.py`, no error on a mutant that runs, no engine crash, and the
recall and output-shape figures at their targets (the on-line figure is not: corpus/README.md says why).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "corpus"))

import keras_apps  # noqa: E402

pytestmark = pytest.mark.skipif(not keras_apps.sources_present(),
                                reason="keras is not installed in .venv: its application files are the corpus")


def test_no_error_on_the_unmutated_builders():
    cache = keras_apps.load_cache()
    alarms, analysed, exact = [], 0, 0
    for entry in keras_apps.model_entries(keras_apps.BUILDERS):
        label = cache.get(keras_apps._key(entry["text"]))
        if label is not None:
            assert label["runs"] and label["output_shape"] == [2, keras_apps.CLASSES], (entry["id"], label)
        result, out, _ = keras_apps._static_out(entry["text"], entry["path"])
        analysed += 1
        exact += keras_apps.concrete(out) == [2, keras_apps.CLASSES]  # what every builder's run gives
        alarms += [(entry["id"], e["line"], e["code"], e["message"]) for e in keras_apps._errors(result)]
        assert not result.partial and not keras_apps._internal(result), entry["id"]
    assert analysed == sum(len(builders) for _, builders in keras_apps.BUILDERS.values())
    assert not alarms
    assert exact / analysed >= keras_apps.TARGETS["output_exact"], (exact, analysed)


@pytest.mark.skipif(os.environ.get("SHAPELS_KERAS_CORPUS") != "1", reason="opt-in: SHAPELS_KERAS_CORPUS=1")
def test_no_error_on_the_mutants_that_run():
    if not keras_apps.CACHE.is_file():
        pytest.skip("no labels: run .venv/bin/python corpus/keras_apps.py (runs Keras on the torch backend)")
    report = keras_apps.evaluate(label=False, progress=lambda *_: None)
    s = report["summary"]
    assert s["mutants"] >= 100 and s["failing"] >= 30, s
    assert s["false_positives"] == 0, s
    alarms = [(m["id"], m["errors"]) for m in report["mutants"] if not m["fails"] and m["errors"]]
    assert not alarms
    assert s["partial"] == 0 and s["internal"] == 0 and s["unlabelled"] == 0, s
    assert s["recall"] >= keras_apps.TARGETS["recall"], s
    assert s["output_exact"] >= keras_apps.TARGETS["output_exact"], s


def test_an_application_built_in_another_application_file_is_followed():
    # resnet_v2.py's builders call resnet.ResNet (keras.src.applications is read as source, its
    # imagenet_utils modelled): every layer of ResNet50V2 is applied on known shapes
    entry = keras_apps.model_entries(["resnet_v2"])[0]
    _, _, applied = keras_apps._static_out(entry["text"], entry["path"])
    assert len(applied) > 150
    assert all(output_known and inputs_known is not False for _, _, inputs_known, output_known in applied)
