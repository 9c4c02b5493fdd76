"""keras.datasets' image sets, as Keras documents and asserts them (the `assert x_train.shape == ...`
lines in keras/src/datasets/*.py, which tests/rules/test_keras_datasets.py reads from the installed
Keras): `(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()`.

Loading downloads them, so these are facts about the library rather than rules run in the tests. CIFAR
is channels-last under Keras's default image_data_format (the one shapels assumes everywhere).
"""

from __future__ import annotations

from shapels.rules.base import RuleCall
from shapels.rules.registry import function
from shapels.symbolic.shape import Shape

# (train images, train labels, test images, test labels)
SPLITS = {
    "mnist": ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)),
    "fashion_mnist": ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)),
    "cifar10": ((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1)),
    "cifar100": ((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1)),
}


def _splits(name: str):
    def load(call: RuleCall):
        x_train, y_train, x_test, y_test = (Shape.of(s) for s in SPLITS[name])
        return ((x_train, y_train), (x_test, y_test))
    return load


for _name in SPLITS:
    function(f"keras.datasets.{_name}.load_data", signature="*args, **kwargs", label="input")(_splits(_name))
