"""Shape rules, one module per op family, collected into one registry at import.

Every module in this package registers its rules with `layer(...)` / `function(...)`; importing
the package imports them all, so a new family is a new file and nothing else.
"""

import importlib
import pkgutil

from shapels.rules.registry import (REGISTRY, Example, Rule, T, container_for, ex, function, layer, lookup, window_layers,
                                     window_of)

_SKIP = {"base", "registry", "common", "parameters"}

for _info in pkgutil.iter_modules(__path__):
    if _info.name not in _SKIP:
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["REGISTRY", "Example", "Rule", "T", "container_for", "ex", "function", "layer", "lookup", "window_layers",
           "window_of"]
