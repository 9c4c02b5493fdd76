"""Subscripts: x[:, 0], x[..., None], x.shape[1:], self.layers[0], cfg["dim"]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst
from shapels.analysis import dtypes, report, tensor_values
from shapels.analysis.containers import OPEN_DICTS
from shapels.analysis.env import join_all
from shapels.analysis.python_values import MISSING_VALUE, dict_key
from shapels.rules.base import to_dim
from shapels.rules.registry import container_for
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

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp



def subscript(interp: Interp, base: Value, key: Value, frame, node) -> Value:
    if getattr(base, "base_layer", None) is not None:  # a user subclass of nn.Sequential: self[0]
        base = base.base_layer
    if isinstance(base, Tensor):
        tensor_values.forget([base])  # t[1:] is a view: a write through it changes t's values
        problem = index_problem(base.shape, key)
        if problem is not None:
            position, message, axis = problem
            elements = node.slice if isinstance(node, cst.Subscript) else ()
            at = elements[position] if position is not None and position < len(elements) else node
            report.index_error(interp, frame, frame.loc(at), message, base, axis=axis)
            return Tensor(Shape.unknown(), base.trace, dtype=base.dtype)
        shape = tensor_index(base.shape, key)
        if shape is None:
            shape = integer_array_index(base.shape, key)
        if shape is None:
            return Tensor(Shape.unknown(), base.trace)
        if shape == base.shape:
            return Tensor(shape, base.trace, dtype=base.dtype)
        step = Step("index", shape, frame.loc(node))
        return Tensor(shape, extend_trace(base.trace, step), dtype=base.dtype)
    if isinstance(base, (Seq, ListValue)):
        if isinstance(base, ListValue) and base.uncertain:
            return UNKNOWN
        sized = _sizes_of(interp, node, frame) if isinstance(base, Seq) else None
        if sized is not None and _out_of_range(base, key):
            # `x.shape[1]` on a 1-D tensor: the sizes tuple's own IndexError, where torch never runs
            report.index_error(interp, frame, frame.loc(node.slice[0] if len(node.slice) == 1 else node),
                               f"tuple index out of range: {interp.node_text(node.value)} is {_shape_text(sized.shape)}, "
                               f"{sized.shape.rank} sizes (Python raises IndexError)", sized, on_sizes=True)
            return UNKNOWN
        return sequence_index(base, key)
    if isinstance(base, DictValue):
        found = dict_key(key)  # (MISSING_VALUE for a key not known is in no dict)
        if found is MISSING_VALUE and base.items and base not in OPEN_DICTS:
            # `grouped[random.randint(0, 9)]`: one of its values (another key is Python's KeyError), what
            # they all are (the join: siamese_network's index arrays, all 1-D)
            return join_all(list(base.items.values()))
        return base.items.get(found, UNKNOWN)  # a key it lacks: Python's KeyError, not ours
    container = container_for(base.kind) if isinstance(base, Layer) else None
    if container is not None:
        if base.opaque:
            return UNKNOWN
        if container.keyed:
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
    if isinstance(base, Const) and isinstance(base.value, str):
        return string_index(base.value, key)
    return UNKNOWN


def _sizes_of(interp: Interp, node, frame) -> Optional[Tensor]:
    """The tensor whose `.shape` is subscripted (`x.shape[1]`, `self.x.shape[1]`), where its rank is known."""
    if not isinstance(node, cst.Subscript) or not isinstance(node.value, cst.Attribute) or \
            node.value.attr.value != "shape" or not isinstance(node.value.value, (cst.Name, cst.Attribute)):
        return None
    tensor = interp.eval(node.value.value, frame)
    return tensor if isinstance(tensor, Tensor) and tensor.shape.ranked else None


def _out_of_range(base: Seq, key: Value) -> bool:
    i = D.as_int(to_dim(key)) if isinstance(key, Number) else None
    return i is not None and not -len(base.items) <= i < len(base.items)


def string_index(text: str, key: Value) -> Value:
    """`name[len(prefix):]`, `name[0]`: a known string's slice or character (an index out of range is
    Python's IndexError, not followed)."""
    if isinstance(key, SliceValue):
        bounds = _slice_bounds(key, len(text))
        return Const("".join(text[i] for i in range(*bounds))) if bounds is not None else UNKNOWN
    i = D.as_int(to_dim(key)) if isinstance(key, Number) else None
    return Const(text[i]) if i is not None and -len(text) <= i < len(text) else UNKNOWN


def sequence_index(base, key: Value) -> Value:
    items = list(base.items)
    if isinstance(key, SliceValue):
        bounds = _slice_bounds(key, len(items))
        if bounds is None:
            return UNKNOWN
        picked = [items[i] for i in range(*bounds)]  # (slice(*bounds) would read a stop of -1 as the end)
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


def index_problem(shape: Shape, key: Value) -> Optional[tuple]:
    """(the key's position in the subscript, why, the dim it is out of range for or None) where indexing a
    tensor of this shape certainly raises torch's IndexError: more indices than dims, or a known int (or a
    list of known ints) outside a known size. None where it runs or where that is not certain (an unknown
    size, a tensor index, a mask)."""
    if not shape.ranked or shape.rank == 0 and isinstance(key, ListValue):
        return None
    if isinstance(key, ListValue):  # `x[[0, 2]]`: one index array over dim 0, as torch reads a flat list
        found = _list_index(key, nested=False)
        keys, kinds = [key], [("array", found[0], found[1]) if found is not None else None]
    else:
        keys = list(key.items) if isinstance(key, Seq) else [key]
        kinds = [_index_kind(k) for k in keys]
    if any(kind is None for kind in kinds):
        return None
    consuming = [i for i, kind in enumerate(kinds) if kind[0] in ("slice", "int", "array")]
    ellipsis = [i for i, kind in enumerate(kinds) if kind[0] == "ellipsis"]
    if len(ellipsis) > 1:
        return None  # Python's own IndexError ("an index can only have a single ellipsis"), not a shape
    if len(consuming) > shape.rank:
        return (consuming[shape.rank], f"too many indices: {len(consuming)} for a tensor of {shape.rank} dims "
                                       f"{_shape_text(shape)} (torch raises IndexError)", None)
    dim = 0
    for position, (k, kind) in enumerate(zip(keys, kinds)):
        if kind[0] == "ellipsis":
            dim += shape.rank - len(consuming)
            continue
        if kind[0] == "new":
            continue
        size = D.as_int(shape.dims[dim])
        values = [D.as_int(to_dim(k))] if kind[0] == "int" and isinstance(k, Number) else \
            kind[2] if kind[0] == "array" else []
        for value in values:
            if size is not None and value is not None and not -size <= value < size:
                return (position, f"index {value} is out of range for dim {dim} of size {size} of a tensor "
                                  f"{_shape_text(shape)} (torch raises IndexError)", dim)
        dim += 1
    return None


def _shape_text(shape: Shape) -> str:
    dims = [D.show(d) for d in shape.dims]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


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
            out.append(1)
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
    """Advanced indexing by integer arrays, as torch does it: `table[index]`, `x[:, [-1], :]` (keeps
    the dim, length 1), `x[torch.arange(n), idx]`. An index array is a tensor of a known integer dtype
    or a list of known ints (nested lists inside a tuple index are arrays of that shape); a 0-d integer
    tensor and an int select a dim first (basic indexing, which drops it, unlike NumPy's rule); None adds a
    dim. The arrays broadcast together, and their shape takes their place where they stand together (no
    slice, None or `...` between them), else it goes first. A bool mask, an index of unknown dtype, arrays
    that may not broadcast, or a known index out of range stay unknown (its count or torch's error)."""
    if not shape.ranked:
        return None
    if isinstance(key, ListValue):  # the whole index one list: torch reads a flat list of ints as one array
        array = _list_index(key, nested=False)
        keys = [key] if array is not None else None
    else:
        keys = list(key.items) if isinstance(key, Seq) else [key]
    if keys is None:
        return None
    kinds = []
    for k in keys:
        kind = _index_kind(k)
        if kind is None:
            return None
        kinds.append(kind)
    if not any(kind[0] == "array" for kind in kinds) and not any(isinstance(k, Tensor) for k in keys):
        return None  # basic indexing (tensor_index's): here only with a 0-d index tensor
    consuming = sum(1 for kind in kinds if kind[0] in ("slice", "int", "array"))
    ellipsis = [i for i, kind in enumerate(kinds) if kind[0] == "ellipsis"]
    if consuming > shape.rank or len(ellipsis) > 1:
        return None
    fill = [("slice", SliceValue(Const(None), Const(None), Const(None)))] * (shape.rank - consuming)
    kinds = kinds[:ellipsis[0]] + fill + kinds[ellipsis[0] + 1:] if ellipsis else kinds + fill
    out: list = []  # the dims after basic indexing; None marks where an index array stands
    arrays: list = []
    positions: list = []
    dims = iter(shape.dims)
    for kind in kinds:
        if kind[0] == "new":
            out.append(1)
            continue
        size = next(dims)
        if kind[0] == "slice":
            out.append(_slice_length(kind[1], size))
        elif kind[0] == "array":
            array, values = kind[1], kind[2]
            n = D.as_int(size)
            if values and n is not None and not all(-n <= v < n for v in values):
                return None  # torch's IndexError, not a shape
            positions.append(len(out))
            out.append(None)
            arrays.append(array)
    together = _broadcast_all(arrays)
    if together is None:
        return None
    if not positions:
        return Shape.of(out)
    if positions == list(range(positions[0], positions[0] + len(positions))):
        result = out[:positions[0]] + together + out[positions[-1] + 1:]
    else:
        result = together + [d for d in out if d is not None]
    return Shape.of(result)


def _index_kind(key: Value) -> Optional[tuple]:
    if isinstance(key, Const) and key.value is None:
        return ("new",)
    if isinstance(key, Const) and key.value is Ellipsis:
        return ("ellipsis",)
    if isinstance(key, SliceValue):
        return ("slice", key)
    if isinstance(key, Number) and not isinstance(key.value, float):
        return ("int",)
    if isinstance(key, Tensor):
        if key.dtype not in dtypes.INTEGER or not key.shape.ranked:
            return None  # a bool mask (its count is the data's), or a dtype not known
        return ("int",) if key.shape.rank == 0 else ("array", list(key.shape.dims), [])
    if isinstance(key, ListValue):
        found = _list_index(key, nested=True)
        return ("array", found[0], found[1]) if found is not None else None
    return None


def _list_index(items: ListValue, nested: bool) -> Optional[tuple]:
    """(shape, the ints) of a list of known ints, or (inside a tuple index) of equal nested lists."""
    if items.uncertain or not items.items:
        return None
    if all(isinstance(i, Number) and not isinstance(i.value, float) and D.as_int(i.value) is not None
           for i in items.items):
        return [int(len(items.items))], [D.as_int(i.value) for i in items.items]
    if not nested or not all(isinstance(i, ListValue) for i in items.items):
        return None
    inner = [_list_index(i, nested=True) for i in items.items]
    if any(i is None for i in inner) or any(i[0] != inner[0][0] for i in inner):
        return None
    return [int(len(inner))] + inner[0][0], [v for i in inner for v in i[1]]


def _broadcast_all(shapes: list) -> Optional[list]:
    """The shapes broadcast together where certainly possible, else None."""
    out: list = []
    for dims in shapes:
        n = max(len(out), len(dims))
        a = [1] * (n - len(out)) + out
        b = [1] * (n - len(dims)) + list(dims)
        merged = []
        for x, y in zip(a, b):
            if D.eq(x, y) is True or D.eq(y, 1) is True:
                merged.append(x)
            elif D.eq(x, 1) is True:
                merged.append(y)
            else:
                return None
        out = merged
    return out


def _is_full(key: Value) -> bool:
    return isinstance(key, SliceValue) and all(isinstance(p, Const) and p.value is None
                                               for p in (key.start, key.stop, key.step))


def _slice_length(key: SliceValue, size) -> D.Dim:
    full = all(isinstance(p, Const) and p.value is None for p in (key.start, key.stop, key.step))
    if full:
        return size
    n = D.as_int(size)
    if n is None:
        return D.fresh("?")
    bounds = _slice_bounds(key, n)
    if bounds is None:
        return D.fresh("?")
    return int(len(range(*bounds)))
