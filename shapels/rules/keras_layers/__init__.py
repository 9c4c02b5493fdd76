"""Keras 3 layer rules (`keras.layers.Dense`, ...), in the same registry as torch's.

Keyed by the public Keras name; the other spellings (`tensorflow.keras.layers.Dense`,
`tf.keras.layers.Dense`, `keras.src.layers.core.dense.Dense`) are mapped onto it by
shapels/analysis/library_names.py. The registry imports the family modules on the first lookup of a
`keras.` name (`register_all`, deferred by shapels/rules/__init__.py): a torch file never needs them.
The analysis imports a few of them itself (spec, merge, models, weights) for what they define.
"""

import importlib
import pkgutil


def register_all() -> None:
    """Import every family module (weights last: it annotates the layers the others registered)."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name not in ("spec", "weights"))
    for name in names + ["weights"]:
        importlib.import_module(f"{__name__}.{name}")
