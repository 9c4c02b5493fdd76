"""What a layer builds from its constructor arguments, declared in its registry entry: its parameters
and buffers (`weight`, `bias`, `running_mean`...) with the argument each dim comes from, and the
arguments torch keeps as tuples (`kernel_size=3` in a Conv2d is `(3, 3)`).

The analysis reads `conv.weight` through these declarations (shapels/analysis/attributes.py), and
blames a mismatch in `F.conv2d(x, self.weight)` on the argument the mismatched dim comes from
(shapels/analysis/report.py). tests/rules/test_layer_parameters.py builds every declaring layer in
torch and compares each declared shape, and each dim's source argument, with torch's.

Evaluation works on bound constructor arguments (parameter name -> Value), so that a layer of any
framework declares its parameters the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.values import Const, ListValue, Number, Seq, Value


@dataclass(frozen=True)
class Size:
    """One dim, the value of a constructor argument (`out_features`), divided by another where torch
    splits it into groups (`in_channels // groups`: a grouped convolution's weight)."""

    arg: str
    divided_by: Optional[str] = None


@dataclass(frozen=True)
class Sizes:
    """As many dims as an int-or-sequence argument holds: `normalized_shape=(4, 5)` is two dims; an int
    stands for `count` equal dims (`kernel_size=3` in a Conv2d is two)."""

    arg: str
    count: int = 1


@dataclass(frozen=True)
class Parameter:
    """A tensor the constructor makes: `Parameter("weight", (Size("out_features"), Size("in_features")))`.

    `present_if`: flags that must all be true for it to exist; with any of them false torch sets the
    attribute to None (`bias=False`, `affine=False`, `track_running_stats=False`). `given_by`: an
    argument that, when not None, is the tensor itself (Embedding's `_weight`)."""

    name: str
    dims: tuple
    present_if: tuple = ()
    given_by: Optional[str] = None


@dataclass(frozen=True)
class StoredTuple:
    """A constructor argument torch keeps as a tuple of ints: an int becomes `count` copies of it.

    `traced`: its items name the layer as their origin, so that a functional call given them
    (`F.layer_norm(x, self.normalized_shape)` in a subclass's forward) is blamed on the argument."""

    arg: str
    count: int = 1
    traced: bool = False


# A parameter's state under some constructor arguments: absent (the attribute is None), or not known.
ABSENT = "absent"


def presence(parameter: Parameter, args: dict) -> Optional[bool]:
    """True: the parameter exists; False: a flag turns it off (the attribute is None); None: unknown."""
    flags = [args.get(flag) for flag in parameter.present_if]
    if any(isinstance(f, Const) and f.value is False for f in flags):
        return False
    if all(isinstance(f, Const) and f.value is True for f in flags):
        return True
    return None


def _items(value: Optional[Value], count: int) -> Optional[list]:
    """An int-or-sequence argument's items: an int as `count` copies, a tuple or list as it is."""
    if isinstance(value, Number) and not isinstance(value.value, float):
        return [value] * count
    if isinstance(value, Seq) or isinstance(value, ListValue) and not value.uncertain:
        return list(value.items)
    return None  # (a list appended to where the code may not run holds items that may not be its own)


def _expand(parameter: Parameter, args: dict) -> Optional[list]:
    """[(dim spec, item value)] per dim of the parameter, or None when how many dims is not known."""
    expanded = []
    for spec in parameter.dims:
        if isinstance(spec, Sizes):
            items = _items(args.get(spec.arg), spec.count)
            if items is None:
                return None
            expanded.extend((spec, item) for item in items)
        else:
            expanded.append((spec, args.get(spec.arg)))
    return expanded


def dims(parameter: Parameter, args: dict) -> Optional[list]:
    """The parameter's dims under these constructor arguments (its flags aside), or None when unknown.
    A grouped size counts only where the groups certainly divide it: torch's constructor raises
    otherwise, which the layer's rule reports."""
    expanded = _expand(parameter, args)
    if expanded is None:
        return None
    out = []
    for spec, value in expanded:
        dim = to_dim(value) if value is not None else None
        if dim is None:
            return None
        if isinstance(spec, Size) and spec.divided_by is not None:
            groups = to_dim(args[spec.divided_by]) if spec.divided_by in args else None
            if groups is None or D.divides(groups, dim) is not True:
                return None
            dim = D.floordiv(dim, groups)
        out.append(dim)
    return out


def shape(parameter: Parameter, args: dict) -> Union[list, str, None]:
    """The parameter's dims, ABSENT when a flag turns it off, None when unknown."""
    present = presence(parameter, args)
    if present is False:
        return ABSENT
    found = dims(parameter, args)
    return found if present and found is not None else None


def sources(parameter: Parameter, args: dict) -> Optional[list]:
    """The constructor argument each dim comes from (`in_channels` for a conv weight's dim 1, also
    when grouped), or None when how many dims is not known."""
    expanded = _expand(parameter, args)
    return None if expanded is None else [spec.arg for spec, _ in expanded]


def stored_items(stored: StoredTuple, args: dict) -> Optional[list]:
    """The items torch keeps for the argument (an int repeated `count` times), or None when unknown."""
    return _items(args.get(stored.arg), stored.count)
