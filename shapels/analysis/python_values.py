"""Known values as the Python objects they stand for, and back: `plain`, dict keys, numbers, ranges."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional


from shapels.rules.base import from_python
from shapels.symbolic import dims as D
from shapels.values import UNKNOWN, Const, FunctionRef, Number, Seq, Value


@dataclass(eq=False)
class RangeValue(Value):
    start: int
    stop: int
    step: int

    def items(self) -> Optional[list]:
        r = range(self.start, self.stop, self.step)
        if len(r) > 4096:
            return None
        return [Number(int(i)) for i in r]


@dataclass(eq=False)
class IteratorValue(Value):
    """`iter(items)` of known items: `next(it)` hands them out in order (x-transformers'
    `**next(attn_kwargs_iter)` per layer). Once a `next` may not run, or a loop consumed it, the position is
    unknown and so is every later item."""

    items: list
    position: int = 0
    uncertain: bool = False


MISSING_VALUE = object()


def dict_key(value: Value):
    """A dict key as the Python value it is: a string, bool or None, or a known int or float
    (`{0.5: (48, 96), 1: (116, 232)}[net_size]`); else MISSING_VALUE. Python's own dict then decides
    which keys are the same (1 == 1.0 == True)."""
    if isinstance(value, Const):
        return value.value if isinstance(value.value, (str, bool, type(None))) else MISSING_VALUE
    if isinstance(value, Number):
        return plain(value)
    return MISSING_VALUE


def key_value(key) -> Value:
    """A dict's key back as a Value: a Number for an int or float key, else a Const."""
    return from_python(key)


# Float constants of the math libraries model code scales by (`freqs * 2 * math.pi`, `from math import pi`).
LIBRARY_CONSTANTS = {f"{module}.{name}": getattr(math, name)
                     for module in ("math", "torch", "numpy") for name in ("pi", "e", "inf")}
LIBRARY_CONSTANTS.update({"math.tau": math.tau, "numpy.nan": math.nan, "math.nan": math.nan, "torch.nan": math.nan})


def library_constant(qualname: str) -> Optional[Value]:
    """`math.pi` and the like as the float it is; None for any other name."""
    value = LIBRARY_CONSTANTS.get(qualname)
    return Number(value) if value is not None else None


def library_name(qualname: str) -> Value:
    """A library's name as a value: the constant it is (`math.pi`), or a reference to what it names.
    library_constant's lookup is written out here: every read of an imported name asks (1,066 times on
    efficientnet with its driver)."""
    value = LIBRARY_CONSTANTS.get(qualname)
    return Number(value) if value is not None else FunctionRef(qualname)


def python_number(value) -> Value:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return UNKNOWN
    return Number(int(value)) if isinstance(value, int) else Number(float(value))


def plain(value: Value):
    """A known value as the Python object it stands for (for computed names); else MISSING_VALUE."""
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Number):
        if isinstance(value.value, float):
            return value.value
        n = D.as_int(value.value)
        return n if n is not None else MISSING_VALUE
    if isinstance(value, Seq):
        items = tuple(plain(i) for i in value.items)
        return MISSING_VALUE if any(i is MISSING_VALUE for i in items) else items
    return MISSING_VALUE
