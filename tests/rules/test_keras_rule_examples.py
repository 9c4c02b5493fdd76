"""Every Keras rule's examples, run against the rule and against real Keras 3 on the torch backend.

For each example Keras runs eagerly (on arrays) and symbolically (on KerasTensors, as keras.Input and
the functional API do): both and the rule must give the example's `out`, or all raise and the rule
with the example's `error` code (tests/rules/_keras_harness.py).
"""

from __future__ import annotations

import pytest

from harnesses import load  # tests/ is on sys.path: pytest's rootdir import mode

H = load("_keras_harness")
CASES = H.all_examples()


def test_there_are_keras_examples():
    assert len(CASES) > 30


@pytest.mark.parametrize("rule, example", [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_keras_rule_example(rule, example):
    H.check_example(rule, example)


def _unrunnable(name: str) -> bool:
    """Rules with no Keras call to run: a model's input standardization (tests/analysis/test_keras_models.py drives
    it with models), Lambda, whose function the analysis runs (tests/analysis/test_keras_models.py), and
    keras.datasets, which download (tests/rules/test_keras_datasets.py)."""
    return name in ("keras.Model.__call__", "keras.layers.Lambda") or name.startswith("keras.datasets.")


def test_every_keras_rule_has_an_example_that_runs_and_one_keras_refuses_or_keeps_shape():
    """A rule without examples is not checked against Keras at all (see _unrunnable)."""
    bare = sorted({r.name for r in H.REGISTRY.values() if H.is_keras(r) and not r.examples and not _unrunnable(r.name)})
    assert not bare, f"Keras rules without examples: {bare}"


def test_keras_example_codes_exist():
    from shapels.codes import CODES

    unknown = sorted({e.error for _, _, e in CASES if e.error is not None and e.error not in CODES})
    assert not unknown, f"examples use codes missing from shapels/codes.py: {unknown}"


def test_every_keras_name_is_the_class_keras_exports_under_it():
    """A rule's aliases (Convolution2D for Conv2D, MaxPool2D for MaxPooling2D) are the same Keras object."""
    for rule in {id(r): r for r in H.REGISTRY.values() if H.is_keras(r)}.values():
        first = H.resolve(rule.name)
        for name in rule.qualnames[1:]:
            if name.startswith("tensorflow."):
                continue  # TensorFlow's twin of a Keras function (tf.zeros): TensorFlow is not installed here
            assert H.resolve(name) is first, f"{name} is not {rule.name} in keras"


@pytest.mark.parametrize("spelling, name", [
    ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
    ("tf.keras.layers.Conv2D", "keras.layers.Conv2D"),
    ("keras.src.layers.core.dense.Dense", "keras.layers.Dense"),
    ("keras.api.layers.Dense", "keras.layers.Dense"),
    ("tensorflow.keras.Input", "keras.Input"),
    ("tensorflow.keras.models.Sequential", "keras.Sequential"),
    ("keras.src.models.sequential.Sequential", "keras.Sequential"),
    ("torch.nn.modules.linear.Linear", "torch.nn.Linear"),
])
def test_import_spellings_meet_the_registry_key(spelling, name):
    from shapels.analysis.library_names import canonical

    assert canonical(spelling) == name
