"""Shape rules, one module per op family, collected into one registry at import.

Every module in this package registers its rules with `layer(...)` / `function(...)`; importing
the package imports them all, so a new family is a new file and nothing else. Keras's layer rules
(`keras_layers/`) register on the first lookup of a `keras.` name instead (registry.defer); code that
iterates REGISTRY calls `load_deferred()` first.
"""

import importlib
import pkgutil

from shapels.rules.registry import (REGISTRY, Example, Rule, T, container_for, defer, ex, function, layer,
                                    load_deferred, lookup, window_layers, window_of)

_SKIP = {"base", "registry", "common", "parameters", "keras_layers"}

for _info in pkgutil.iter_modules(__path__):
    if _info.name not in _SKIP:
        importlib.import_module(f"{__name__}.{_info.name}")

defer("keras.", "shapels.rules.keras_layers")

__all__ = ["REGISTRY", "Example", "Rule", "T", "container_for", "ex", "function", "layer", "load_deferred", "lookup",
           "window_layers", "window_of"]
