"""Joining tensors: torch.cat/concat/concatenate, torch.stack, hstack/vstack/dstack/column_stack, meshgrid.

The tensors arrive as a tuple or list value whose items are Tensor values."""

from __future__ import annotations

from shapels.codes import CAT_MISMATCH, DIM_OUT_OF_RANGE, OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.common import normalize_dim
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq, Tensor


def _shapes(call: RuleCall) -> list:
    v = call.value("tensors")
    if not isinstance(v, (Seq, ListValue)) or not v.items or not all(isinstance(t, Tensor) for t in v.items):
        raise Unknowable("tensors")  # an empty list may be one the interpreter could not fill
    return [t.shape for t in v.items]


def _show(shapes) -> str:
    return "[" + ", ".join(s.show() for s in shapes) + "]"


def _common_rank(call: RuleCall, shapes, what: str):
    """The rank all inputs share (None when none is ranked); fails when they certainly differ."""
    ranks = {s.rank for s in shapes if s.ranked}
    longest = max(len(s.dims) for s in shapes)
    if len(ranks) > 1 or (ranks and longest > min(ranks)):
        call.fail(CAT_MISMATCH, f"{what}: the tensors {_show(shapes)} must have the same number of dims")
    return ranks.pop() if ranks else None


def _agree(call: RuleCall, shapes, index: int, what: str):
    """The common size at negative `index` over the shapes that know it."""
    known = [(k, s.dim(index)) for k, s in enumerate(shapes) if s.dim(index) is not None]
    if not known:
        return D.fresh("?")
    first = known[0][1]
    for k, size in known[1:]:
        call.expect(
            size,
            first,
            code=CAT_MISMATCH,
            message=lambda k=k, size=size: (
                f"{what}: sizes must match except in the joined dim; tensor {k} has {D.show(size)} "
                f"where tensor {known[0][0]} has {D.show(first)}: {_show(shapes)}"
            ),
        )
    return first


def cat_shapes(call: RuleCall, shapes, dim) -> Shape:
    if any(s.ranked and s.rank == 0 for s in shapes):
        call.fail(CAT_MISMATCH, f"torch.cat: a zero-dimensional tensor cannot be concatenated: {_show(shapes)}")
    # Legacy: 1-D tensors of size 0 are skipped, whatever the others' rank (and dim).
    shapes = [s for s in shapes if not (s.ranked and s.rank == 1 and D.as_int(s.dims[0]) == 0)]
    if not shapes:
        return Shape.of([0])
    rank = _common_rank(call, shapes, "torch.cat")
    width = rank if rank is not None else min(len(s.dims) for s in shapes)
    d = normalize_dim(call, dim, rank)
    at = d - rank if rank is not None else d  # as a negative index
    if at < -width:
        raise Unknowable("dim")
    out = []
    for index in range(-width, 0):
        if index == at:
            sizes = [s.dim(index) for s in shapes]
            out.append(D.dim_sum(sizes) if all(x is not None for x in sizes) else D.fresh("?"))
        else:
            out.append(_agree(call, shapes, index, "torch.cat"))
    return Shape(tuple(out), rank is not None)


_CAT_EXAMPLES = [
    ex([T(2, 3), T(2, 4)], 1, out=(2, 7)),
    ex((T(2, 3), T(5, 3)), dim=0, out=(7, 3)),
    ex([T(2, 3), T(0)], out=(2, 3)),
    ex([T(2, 3), T(2, 4)], 0, error=CAT_MISMATCH),
    ex([T(2, 3), T(2, 3, 1)], error=CAT_MISMATCH),
    ex([T(2, 3), T(2, 3)], 2, error=DIM_OUT_OF_RANGE),
]


@function(
    "torch.cat", "torch.concat", "torch.concatenate",
    signature="tensors, dim=0, *, axis=None, out=None",
    examples=_CAT_EXAMPLES,
)
def cat(call: RuleCall):
    return cat_shapes(call, _shapes(call), call.dim("dim" if call.is_none("axis") else "axis"))


@function(
    "torch.stack",
    signature="tensors, dim=0, *, out=None",
    examples=[
        ex([T(2, 3), T(2, 3)], out=(2, 2, 3)),
        ex([T(2, 3), T(2, 3), T(2, 3)], -1, out=(2, 3, 3)),
        ex([T(2, 3), T(2, 4)], error=CAT_MISMATCH),
        ex([T(2, 3), T(2, 3)], 3, error=DIM_OUT_OF_RANGE),
    ],
)
def stack(call: RuleCall):
    shapes = _shapes(call)
    rank = _common_rank(call, shapes, "torch.stack")
    width = rank if rank is not None else min(len(s.dims) for s in shapes)
    dims = [_agree(call, shapes, index, "torch.stack") for index in range(-width, 0)]
    d = normalize_dim(call, call.dim("dim"), None if rank is None else rank + 1)
    if d < 0:  # unranked: count from the end, past the new dim
        d = width + d + 1
        if d < 0:
            raise Unknowable("dim")
    dims.insert(d, int(len(shapes)))
    return Shape(tuple(dims), rank is not None)


def _at_least(shape: Shape, n: int) -> Shape:
    """torch.atleast_1d/2d/3d."""
    dims = list(shape.dims)
    if n == 3 and len(dims) == 1:
        return Shape.of([1, dims[0], 1])
    if n == 3 and len(dims) == 2:
        return Shape.of(dims + [1])
    return Shape.of([1] * (n - len(dims)) + dims) if len(dims) < n else shape


def _ranked_shapes(call: RuleCall) -> list:
    shapes = _shapes(call)
    if not all(s.ranked for s in shapes):
        raise Unknowable("tensors")
    return shapes


@function(
    "torch.hstack",
    signature="tensors, *, out=None",
    examples=[ex([T(2, 3), T(2, 4)], out=(2, 7)), ex([T(2), T(3)], out=(5,)), ex([T(2, 3), T(3, 3)], error=CAT_MISMATCH)],
)
def hstack(call: RuleCall):
    shapes = [_at_least(s, 1) for s in _ranked_shapes(call)]
    return cat_shapes(call, shapes, 0 if shapes[0].rank == 1 else 1)


@function(
    "torch.vstack", "torch.row_stack",
    signature="tensors, *, out=None",
    examples=[ex([T(3), T(3)], out=(2, 3)), ex([T(2, 3), T(3)], out=(3, 3)), ex([T(3), T(2)], error=CAT_MISMATCH)],
)
def vstack(call: RuleCall):
    return cat_shapes(call, [_at_least(s, 2) for s in _ranked_shapes(call)], 0)


@function(
    "torch.dstack",
    signature="tensors, *, out=None",
    examples=[ex([T(2, 3), T(2, 3)], out=(2, 3, 2))],
)
def dstack(call: RuleCall):
    return cat_shapes(call, [_at_least(s, 3) for s in _ranked_shapes(call)], 2)


@function(
    "torch.column_stack",
    signature="tensors, *, out=None",
    examples=[ex([T(3), T(3, 2)], out=(3, 3))],
)
def column_stack(call: RuleCall):
    shapes = [Shape.of([s.dims[0] if s.dims else 1, 1]) if s.rank <= 1 else s for s in _ranked_shapes(call)]
    return cat_shapes(call, shapes, 1)


@function(
    "torch.meshgrid",
    signature="*tensors, indexing=None",
    examples=[
        ex(T(2), T(3), indexing="ij", out=((2, 3), (2, 3))),
        ex(T(2), T(3), T(4), indexing="xy", out=((3, 2, 4), (3, 2, 4), (3, 2, 4))),
        ex([T(5), T(1)], indexing="ij", out=((5, 1), (5, 1))),
        ex(T(2), indexing="xy", out=((2,),)),
        ex(T(2, 2), T(3), indexing="ij", error=OP_INPUT_SHAPE),
    ],
)
def meshgrid(call: RuleCall):
    """One grid per input, each (n1, ..., nN) for inputs of n1, ..., nN elements (a 0-d input counts
    one); 'xy' indexing swaps the first two. The tensors come as arguments or as one list."""
    given = call.value("tensors")
    items = list(given.items) if isinstance(given, Seq) else []
    if len(items) == 1 and isinstance(items[0], (Seq, ListValue)):
        items = list(items[0].items)
    if not items or not all(isinstance(t, Tensor) and t.shape.ranked for t in items):
        raise Unknowable("tensors")
    sizes = []
    for k, t in enumerate(items):
        if t.shape.rank > 1:
            call.fail(OP_INPUT_SHAPE, f"torch.meshgrid: tensor {k} is {t.shape.show()}; each must be 0-D or 1-D")
        sizes.append(t.shape.dims[0] if t.shape.rank == 1 else 1)
    indexing = call.const("indexing")
    if indexing not in (None, "ij", "xy"):
        raise Unknowable("indexing")
    if indexing == "xy" and len(sizes) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grid = Shape.of(sizes)
    return tuple(grid for _ in items)
