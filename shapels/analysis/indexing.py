"""Subscripts: x[:, 0], x[..., None], x.shape[1:], self.layers[0], cfg["dim"]."""

from __future__ import annotations

from typing import Optional

import sympy

from shapels.analysis import dtypes, tensor_values
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import (
    extend_trace,
    UNKNOWN,
    Const,
    DictValue,
    Layer,
    ListValue,
    Number,
    Seq,
    SliceValue,
    Step,
    Tensor,
    Value,
)

MAX_TRACE = 12


def subscript(interp, base: Value, key: Value, frame, node) -> Value:
    if getattr(base, "base_layer", None) is not None:  # a user subclass of nn.Sequential: self[0]
        base = base.base_layer
    if isinstance(base, Tensor):
        tensor_values.forget([base])  # t[1:] is a view: a write through it changes t's values
        shape = tensor_index(base.shape, key)
        if shape is None:
            shape = integer_array_index(base.shape, key)
        if shape is None:
            return Tensor(Shape.unknown(), base.trace)
        if shape == base.shape:
            return Tensor(shape, base.trace, dtype=base.dtype)
        step = Step("index", shape, frame.loc(node))
        return Tensor(shape, extend_trace(base.trace, step, MAX_TRACE), dtype=base.dtype)
    if isinstance(base, (Seq, ListValue)):
        if isinstance(base, ListValue) and base.uncertain:
            return UNKNOWN
        return sequence_index(base, key)
    if isinstance(base, DictValue):
        if isinstance(key, Const) and key.value in base.items:
            return base.items[key.value]
        return UNKNOWN
    if isinstance(base, Layer) and base.kind in ("torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"):
        if base.opaque:
            return UNKNOWN
        if base.kind == "torch.nn.ModuleDict":
            if isinstance(key, Const) and str(key.value) in base.child_names:
                return base.children[base.child_names.index(str(key.value))]
            return UNKNOWN
        if isinstance(key, SliceValue):
            bounds = _slice_bounds(key, len(base.children))
            if bounds is None:
                return UNKNOWN
            picked = Layer(base.kind, {}, loc=base.loc, name=base.name)
            for i in range(*bounds):
                picked.children.append(base.children[i])
                picked.child_names.append(base.child_names[i])
            return picked
        i = D.as_int(to_dim(key)) if isinstance(key, Number) else None
        if i is not None and -len(base.children) <= i < len(base.children):
            return base.children[i]
    return UNKNOWN


def sequence_index(base, key: Value) -> Value:
    items = list(base.items)
    if isinstance(key, SliceValue):
        bounds = _slice_bounds(key, len(items))
        if bounds is None:
            return UNKNOWN
        picked = items[slice(*bounds)]
        return Seq(tuple(picked)) if isinstance(base, Seq) else ListValue(picked)
    i = D.as_int(to_dim(key)) if isinstance(key, Number) else None
    if i is not None and -len(items) <= i < len(items):
        return items[i]
    return UNKNOWN


def _slice_bounds(key: SliceValue, length: int) -> Optional[tuple]:
    parts = []
    for part in (key.start, key.stop, key.step):
        if isinstance(part, Const) and part.value is None:
            parts.append(None)
        elif isinstance(part, Number) and D.as_int(part.value) is not None:
            parts.append(D.as_int(part.value))
        else:
            return None
    return slice(*parts).indices(length)


def tensor_index(shape: Shape, key: Value) -> Optional[Shape]:
    """Basic indexing only: ints drop a dim, slices shrink one, None adds one, ... skips."""
    keys = list(key.items) if isinstance(key, Seq) else [key]
    if not shape.ranked:
        return None
    if any(isinstance(k, Tensor) for k in keys):
        return None  # advanced indexing: not modelled
    consuming = [k for k in keys if not (isinstance(k, Const) and (k.value is None or k.value is Ellipsis))]
    if len(consuming) > shape.rank:
        return None
    ellipsis = [i for i, k in enumerate(keys) if isinstance(k, Const) and k.value is Ellipsis]
    if len(ellipsis) > 1:
        return None
    if ellipsis:
        e = ellipsis[0]
        fill = [SliceValue(Const(None), Const(None), Const(None))] * (shape.rank - len(consuming))
        keys = keys[:e] + fill + keys[e + 1 :]
    else:
        keys = keys + [SliceValue(Const(None), Const(None), Const(None))] * (shape.rank - len(consuming))
    out = []
    dims = iter(shape.dims)
    for k in keys:
        if isinstance(k, Const) and k.value is None:
            out.append(sympy.Integer(1))
            continue
        size = next(dims)
        if isinstance(k, Number):
            continue
        if isinstance(k, SliceValue):
            out.append(_slice_length(k, size))
            continue
        return None
    return Shape.of(out)


def integer_array_index(shape: Shape, key: Value) -> Optional[Shape]:
    """`table[index]`, `x[:, index]`: one tensor of a known integer dtype among full slices picks rows
    by position, so its shape replaces that dim (a bool mask, or an unknown dtype, stays unknown: its
    count depends on the data). Whether every index is in range is not checked: silence, not a finding."""
    keys = list(key.items) if isinstance(key, Seq) else [key]
    tensors = [i for i, k in enumerate(keys) if isinstance(k, Tensor)]
    if not shape.ranked or len(tensors) != 1 or len(keys) > shape.rank:
        return None
    position, index = tensors[0], keys[tensors[0]]
    if index.dtype not in dtypes.INTEGER or not index.shape.ranked:
        return None
    if not all(_is_full(k) for i, k in enumerate(keys) if i != position):
        return None
    dims = list(shape.dims)
    return Shape.of(dims[:position] + list(index.shape.dims) + dims[position + 1:])


def _is_full(key: Value) -> bool:
    return isinstance(key, SliceValue) and all(isinstance(p, Const) and p.value is None
                                               for p in (key.start, key.stop, key.step))


def _slice_length(key: SliceValue, size) -> sympy.Expr:
    full = all(isinstance(p, Const) and p.value is None for p in (key.start, key.stop, key.step))
    if full:
        return size
    n = D.as_int(size)
    if n is None:
        return D.fresh("?")
    bounds = _slice_bounds(key, n)
    if bounds is None:
        return D.fresh("?")
    return sympy.Integer(len(range(*bounds)))
