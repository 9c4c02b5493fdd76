"""einops.pack and einops.unpack: `packed, ps = pack([x, cls_tokens], 'b * d')`, then
`x, cls_tokens = unpack(packed, ps, 'b * d')`.

pack's pattern names the axes before and after one `*`; every tensor keeps those (by position) and
the `*` takes whatever dims are left, flattened; the tensors are concatenated along it, so the named
dims must agree (torch.cat's error otherwise). It returns the packed tensor and, per tensor, the dims
the `*` took. unpack splits the `*` axis into those shapes again (one may hold a -1). A pattern einops
rejects whatever the shapes (no `*`, a repeated or invalid name) is not a shape finding: unknown.
"""

from __future__ import annotations

import keyword

from shapels.codes import CAT_MISMATCH, OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable, to_dim
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, ListValue, Seq, Tensor

CODE = OP_INPUT_SHAPE


def _pattern(call: RuleCall, opname: str) -> tuple:
    """(axes before the `*`, axes after it) of a pattern einops accepts, else Unknowable."""
    value = call.value("pattern")
    if not isinstance(value, Const) or not isinstance(value.value, str):
        raise Unknowable("pattern")
    axes = value.value.split()
    if len(axes) != len(set(axes)) or "*" not in axes:
        raise Unknowable("pattern")
    for axis in axes:
        if axis != "*" and (not axis.isidentifier() or keyword.iskeyword(axis) or axis.startswith("_")
                            or axis.endswith("_")):
            raise Unknowable("pattern")  # einops' own error (or warning) for the name, whatever the shapes
    at = axes.index("*")
    return at, len(axes) - at - 1


def _nonzero(dims) -> bool:
    """reshape(..., -1, ...) of a tensor with a zero-size dim is torch's error of its own: left unknown."""
    return all(D.eq(d, 0) is False for d in dims)


@function(
    "einops.pack", "einops.packing.pack",
    signature="tensors, pattern",
    label="pack",
    examples=[
        ex([T(2, 3, 5), T(2, 3, 7, 5), T(2, 3, 7, 9, 5)], "i j * k", out=((2, 3, 71, 5), ((), (7,), (7, 9)))),
        ex([T(2, 16, 8), T(2, 8)], "b * d", out=((2, 17, 8), ((16,), ()))),
        ex([T(2, 16, 8), T(2, 4)], "b * d", error=CAT_MISMATCH),
        ex([T(2, 16, 8), T(8)], "b * d", error=CODE),
        ex([T(4, 5)], "* c", out=((4, 5), ((4,),))),
    ],
)
def pack(call: RuleCall):
    before, after = _pattern(call, "pack")
    listed = call.value("tensors")
    if not isinstance(listed, (ListValue, Seq)) or (isinstance(listed, ListValue) and listed.uncertain) \
            or not listed.items or not all(isinstance(t, Tensor) for t in listed.items):
        raise Unknowable("tensors")
    shapes = [t.shape for t in listed.items]
    if not all(s.ranked for s in shapes):
        raise Unknowable("tensors")
    for i, shape in enumerate(shapes):
        if shape.rank < before + after:
            call.fail(CODE, f"einops.pack: tensor #{i} of shape {shape.show()} has fewer dims than the "
                            f"{before + after} the pattern names", input_name="tensors")
    heads = [list(s.dims[:before]) for s in shapes]
    tails = [list(s.dims[s.rank - after:]) for s in shapes]
    stars = [list(s.dims[before:s.rank - after]) for s in shapes]
    if not all(_nonzero(h + t) for h, t in zip(heads, tails)):
        raise Unknowable("tensors")
    kept = []
    for sizes in zip(*[h + t for h, t in zip(heads, tails)]):
        first = sizes[0]
        for i, size in enumerate(sizes[1:], 1):
            if D.eq(first, size) is False:
                call.fail(CAT_MISMATCH, f"einops.pack: the tensors differ outside the packed axis: "
                                        f"{shapes[0].show()} and {shapes[i].show()}", input_name="tensors")
        kept.append(first if all(D.eq(first, s) is True for s in sizes) else D.fresh("?"))
    packed = 0
    for star in stars:
        count = 1
        for d in star:
            count *= d
        packed += count
    out = Shape.of(kept[:before] + [packed] + kept[before:])
    return out, [tuple(star) for star in stars]


def _packed_shapes(call: RuleCall) -> list:
    """The shapes to unpack into, each a tuple of dims (-1 as -1), or Unknowable."""
    value = call.value("packed_shapes")
    if not isinstance(value, (ListValue, Seq)) or (isinstance(value, ListValue) and value.uncertain) or not value.items:
        raise Unknowable("packed_shapes")
    out = []
    for item in value.items:
        if not isinstance(item, (ListValue, Seq)) or (isinstance(item, ListValue) and item.uncertain):
            raise Unknowable("packed_shapes")
        dims = [to_dim(d) for d in item.items]
        if None in dims:
            raise Unknowable("packed_shapes")
        for d in dims:
            if D.eq(d, -1) is not True and D.eq(d, 0) is not False or D.as_int(d) is not None and D.as_int(d) < -1:
                raise Unknowable("packed_shapes")  # a zero or negative size: einops' or torch's own errors
        out.append(dims)
    return out


def _product(dims) -> D.Dim:
    out = 1
    for d in dims:
        out *= d
    return out


@function(
    "einops.unpack", "einops.packing.unpack",
    signature="tensor, packed_shapes, pattern",
    label="unpack",
    examples=[
        ex(T(2, 3, 71, 5), [(), (7,), (7, 9)], "i j * k", out=((2, 3, 5), (2, 3, 7, 5), (2, 3, 7, 9, 5))),
        ex(T(2, 17, 8), [(16,), ()], "b * d", out=((2, 16, 8), (2, 8))),
        ex(T(2, 17, 8), [(-1,), ()], "b * d", out=((2, 16, 8), (2, 8))),
        ex(T(2, 17, 8), [(4, -1), ()], "b * d", out=((2, 4, 4, 8), (2, 8))),
        ex(T(2, 18, 8), [(16,), ()], "b * d", error=CODE),
        ex(T(2, 17, 8), [(5, -1), ()], "b * d", error=CODE),
        ex(T(2, 17), [(16,), ()], "b * d", error=CODE),
    ],
)
def unpack(call: RuleCall):
    before, after = _pattern(call, "unpack")
    shape = call.shape("tensor")
    if not shape.ranked:
        raise Unknowable("tensor")
    if shape.rank != before + 1 + after:
        call.fail(CODE, f"einops.unpack: the pattern needs {before + 1 + after} dims; the tensor is {shape.show()}",
                  input_name="tensor")
    wanted = _packed_shapes(call)
    head, size, tail = list(shape.dims[:before]), shape.dims[before], list(shape.dims[before + 1:])
    if not _nonzero(head + tail):
        raise Unknowable("tensor")
    open_shapes = [i for i, dims in enumerate(wanted) if any(D.eq(d, -1) is True for d in dims)]
    if len(open_shapes) > 1 or any(sum(1 for d in wanted[i] if D.eq(d, -1) is True) > 1 for i in open_shapes):
        raise Unknowable("packed_shapes")  # einops (or torch's reshape) cannot infer two lengths: not a shape error
    known = sum((_product(dims) for i, dims in enumerate(wanted) if i not in open_shapes), 0)
    message = (f"einops.unpack: the packed axis of {D.show(size)} in {shape.show()} cannot be split into "
               f"{[tuple(D.show(d) for d in dims) for dims in wanted]}")
    if not open_shapes:
        if D.eq(known, size) is False:
            call.fail(CODE, message, input_name="tensor")
        return [Shape.of(head + dims + tail) for dims in wanted]
    rest = size - known
    i = open_shapes[0]
    others = _product(d for d in wanted[i] if D.eq(d, -1) is not True)
    left, step = D.as_int(rest), D.as_int(others)
    if left is None or step is None:
        raise Unknowable("packed_shapes")
    if left == 0:
        raise Unknowable("packed_shapes")  # -1 of nothing: torch's reshape decides (fine alone, ambiguous beside dims)
    if left < 0 or left % step:
        call.fail(CODE, message, input_name="tensor")
    filled = [int(left // step) if D.eq(d, -1) is True else d for d in wanted[i]]
    return [Shape.of(head + (filled if j == i else dims) + tail) for j, dims in enumerate(wanted)]
