"""Keras 3 layer rules (`keras.layers.Dense`, ...), in the same registry as torch's.

Keyed by the public Keras name; the other spellings (`tensorflow.keras.layers.Dense`,
`tf.keras.layers.Dense`, `keras.src.layers.core.dense.Dense`) are mapped onto it by
shapels/analysis/library_names.py. Importing the package imports every family module.
"""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if _info.name != "spec":
        importlib.import_module(f"{__name__}.{_info.name}")
