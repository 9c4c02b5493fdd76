"""The one spelling of a library name that the rule registry keys on."""

from __future__ import annotations


# Library paths that name the same thing as a canonical rule key, first match wins. The Keras rules
# are keyed by Keras 3's public names (keras.layers.Dense, keras.Input): tf.keras is Keras under
# TensorFlow's name (`from tensorflow import keras`, `import tensorflow as tf; tf.keras...`), and
# keras.src / keras.api are the packages behind the public names.
_PREFIX_ALIASES = [
    ("torch.nn.modules.", "torch.nn."),
    ("torch.functional.", "torch."),
    ("torch.nn.functional.F.", "torch.nn.functional."),
    ("tensorflow.keras.", "keras."),
    ("tf.keras.", "keras."),
    ("tensorflow.python.keras.", "keras."),
    ("keras.api.", "keras."),
    ("keras.src.layers.", "keras.layers."),
    ("keras.src.models.", "keras."),
    ("keras.models.", "keras."),
]
# Prefixes whose tail is a module path then the name (torch.nn.modules.linear.Linear): only the
# last part is kept.
_MODULE_PATHS = {"torch.nn.modules.", "keras.src.layers.", "keras.src.models."}


def canonical(qualname: str) -> str:
    found = _CANONICAL.get(qualname)
    if found is None:
        found = _canonical(qualname)
        if len(_CANONICAL) < MAX_REMEMBERED:
            _CANONICAL[qualname] = found
    return found


# Every library call asks (torch.nn.functional.gelu, thousands of times in a concrete forward pass);
# the answers are remembered, up to a size a long-running server would not notice.
_CANONICAL: dict = {}
MAX_REMEMBERED = 65536


def _canonical(qualname: str) -> str:
    for old, new in _PREFIX_ALIASES:
        if qualname.startswith(old):
            tail = qualname[len(old):]
            if old in _MODULE_PATHS:
                tail = tail.rsplit(".", 1)[-1]  # keras.src.layers.core.dense.Dense -> keras.layers.Dense
            return _canonical(new + tail)
    return qualname
