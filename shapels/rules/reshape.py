"""view/reshape (with -1), flatten/unflatten, nn.Flatten/nn.Unflatten, size/dim/numel."""

from __future__ import annotations

from shapels.codes import DIM_OUT_OF_RANGE, FLATTEN_DIMS, VIEW_INVALID_SHAPE, VIEW_STRIDE
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.common import normalize_dim, numel
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic import strides
from shapels.symbolic.shape import Shape
from shapels.values import Tensor


def _suffix_product(source: Shape, size: int) -> bool:
    """Whether `size` is the product of some trailing dims of `source` (then a leading -1 keeps whole dims)."""
    product = 1
    for d in reversed(source.dims):
        if product == size:
            return True
        n = D.as_int(d)
        if n is None:
            return True  # not known: not claimed
        product *= n
    return product == size


def _reshape(call: RuleCall, source: Shape, requested) -> Shape:
    """The shape view/reshape gives, or a view-invalid-shape error when it is certain."""
    requested = list(requested)
    minus_one = [i for i, d in enumerate(requested) if d is not None and D.as_int(d) == -1]
    if len(minus_one) > 1:
        call.fail(VIEW_INVALID_SHAPE, "only one dimension can be inferred (-1)")
    for d in requested:
        if D.as_int(d) is not None and D.as_int(d) < -1:
            call.fail(VIEW_INVALID_SHAPE, f"invalid shape dimension {D.show(d)}")
    known = [d if d is not None else D.fresh("?") for d in requested]
    total = numel(source)

    def shown() -> str:  # printing sympy dims costs: only for a message that is shown
        return "[" + ", ".join(D.show(d) if d is not None else "?" for d in requested) + "]"

    if minus_one:
        i = minus_one[0]
        rest = D.dim_product(d for j, d in enumerate(known) if j != i)
        if total is None:
            known[i] = D.fresh("?")
            return Shape.of(known)
        concrete = D.is_concrete(total) and D.is_concrete(rest)
        inferred = None if concrete else D.quotient(total, rest)  # the -1 of a view: total / rest
        if concrete:
            t, r = D.as_int(total), D.as_int(rest)
            if r == 0 or t % r != 0:
                call.fail(
                    VIEW_INVALID_SHAPE,
                    f"shape '{shown()}' is invalid for input of size {t}",
                    fix=None,
                )
            inferred = int(t // r)
            if i == 0 and source.ranked and source.rank >= 2:
                call.merges_leading = not _suffix_product(source, r) and D.eq(inferred, source.dims[0]) is False
        else:
            # No denominator left: a product of integer dims. An unknown in it: nothing can be decided
            # (dims.py), and sympy's assumption query would take ~7 ms to say so. (as_numer_denom, not
            # fraction: the denominator of N + 1/2 is 2.)
            denominator = D.denominator(inferred)
            if denominator != 1 and not D.has_unknown(denominator) and inferred.is_integer is False:
                inferred = D.fresh("?")
        known[i] = inferred
        return Shape.of(known)
    if total is not None:
        requested_total = D.dim_product(known)
        call.expect(
            requested_total,
            total,
            code=VIEW_INVALID_SHAPE,
            message=lambda: (
                f"shape '{shown()}' is invalid for input of size {D.show(total)}: "
                f"{source.show()} holds {D.show(total)} elements, the new shape {D.show(requested_total)}"
            ),
        )
    return Shape.of(known)


@function(
    "torch.Tensor.view", "torch.Tensor.reshape",
    signature="input, *shape",
    examples=[
        ex(T(1, 20, 16, 16), 1, -1, out=(1, 5120)),
        ex(T(2, 3, 4), (6, 4), out=(6, 4)),
        ex(T(1, 81920), 1, 20, 32, 32, error=VIEW_INVALID_SHAPE),
        ex(T(2, 3, 4), -1, 5, error=VIEW_INVALID_SHAPE),
    ],
)
def view(call: RuleCall):
    out = _reshape(call, call.shape("input"), call.int_list("shape"))
    source = call.value("input")
    if call.qualname == "torch.Tensor.view" and isinstance(source, Tensor) and source.strides is not None:
        old, new = strides.sizes(source.shape), strides.sizes(out)
        if old is not None and new is not None and strides.view_strides(old, source.strides, new) is None:
            call.fail(
                VIEW_STRIDE,
                f"view size is not compatible with input tensor's size and stride: {source.shape.show()} laid out "
                f"with strides {tuple(source.strides)} (after a transpose or permute) cannot be viewed as "
                f"{out.show()} without a copy; use .reshape(...) or .contiguous().view(...)",
                recover=out,
            )
    return out


@function(
    "torch.reshape", "keras.ops.reshape", "tensorflow.reshape", "numpy.reshape",
    signature="input, shape",
    examples=[ex(T(2, 3, 4), (4, -1), out=(4, 6)), ex(T(2, 3, 4), (5, -1), error=VIEW_INVALID_SHAPE)],
)
def torch_reshape(call: RuleCall):
    return _reshape(call, call.shape("input"), call.int_list("shape"))


def _flatten(call: RuleCall, shape: Shape, start, end) -> Shape:
    if not shape.ranked:
        raise Unknowable("input")
    rank = shape.rank
    s = normalize_dim(call, start, rank, param="start_dim")  # a 0-d tensor takes dims 0 and -1
    e = normalize_dim(call, end, rank, param="end_dim")
    if s > e:
        call.fail(FLATTEN_DIMS, "flatten() has invalid args: start_dim cannot come after end_dim")
    if rank == 0:
        return Shape.of([1])
    dims = list(shape.dims)
    return Shape.of(dims[:s] + [D.dim_product(dims[s : e + 1])] + dims[e + 1 :])


@function(
    "torch.flatten", "torch.Tensor.flatten",
    signature="input, start_dim=0, end_dim=-1",
    examples=[
        ex(T(2, 3, 4, 5), 1, out=(2, 60)),
        ex(T(2, 3, 4, 5), 1, 2, out=(2, 12, 5)),
        ex(T(), out=(1,)),
        ex(T(2, 3), 2, error=DIM_OUT_OF_RANGE),
    ],
)
def flatten(call: RuleCall):
    return _flatten(call, call.shape("input"), call.dim("start_dim"), call.dim("end_dim"))


@layer(
    "torch.nn.Flatten",
    init="start_dim=1, end_dim=-1",
    examples=[
        ex(T(4, 3, 5, 5), out=(4, 75)),
        ex(T(4, 3, 5, 5), init=(2,), out=(4, 3, 25)),
        ex(T(5), error=DIM_OUT_OF_RANGE),  # start_dim=1 needs a batch dim
    ],
)
def nn_flatten(call: RuleCall):
    return _flatten(call, call.shape("input"), call.dim("start_dim"), call.dim("end_dim"))


def _unflatten(call: RuleCall, shape: Shape, dim, sizes) -> Shape:
    if not shape.ranked:
        raise Unknowable("input")
    d = normalize_dim(call, dim, shape.rank)
    sizes = list(sizes)
    if not sizes:
        call.fail(FLATTEN_DIMS, "unflatten: sizes must be non-empty")
    if shape.rank == 0:
        call.fail(DIM_OUT_OF_RANGE, "unflatten: a 0-d tensor has no dim to unflatten")
    target = shape.dims[d]
    shown = "(" + ", ".join(D.show(s) if s is not None else "?" for s in sizes) + ")"
    minus = [i for i, s in enumerate(sizes) if s is not None and D.as_int(s) == -1]
    if len(minus) > 1:
        call.fail(FLATTEN_DIMS, f"unflatten: only one of the sizes {shown} can be -1")
    for s in sizes:
        if s is not None and D.as_int(s) is not None and D.as_int(s) < -1:
            call.fail(FLATTEN_DIMS, f"unflatten: invalid size {D.as_int(s)} in {shown}")
    if any(s is None for s in sizes):
        raise Unknowable("sizes")
    if minus:
        rest = D.dim_product(s for i, s in enumerate(sizes) if i != minus[0])
        if D.as_int(rest) is not None and D.as_int(target) is not None:
            t, r = D.as_int(target), D.as_int(rest)
            if r == 0 or t % r != 0:
                call.fail(
                    FLATTEN_DIMS,
                    f"unflatten: sizes {shown} do not divide dim {d} (of size {t}) of {shape.show()}",
                )
            sizes[minus[0]] = int(t // r)
        else:
            inferred = D.cancelled_quotient(target, rest)
            sizes[minus[0]] = D.const(inferred) if inferred.is_integer else D.fresh("?")
    else:
        call.expect(
            D.dim_product(sizes),
            target,
            code=FLATTEN_DIMS,
            message=lambda: f"unflatten: sizes {shown} do not multiply to dim {d} of {shape.show()}",
        )
    dims = list(shape.dims)
    return Shape.of(dims[:d] + sizes + dims[d + 1 :])


@layer(
    "torch.nn.Unflatten",
    init="dim, unflattened_size",
    examples=[ex(T(4, 12), init=(1, (3, 4)), out=(4, 3, 4)), ex(T(4, 12), init=(1, (2, 5)), error=FLATTEN_DIMS)],
)
def nn_unflatten(call: RuleCall):
    return _unflatten(call, call.shape("input"), call.dim("dim"), call.int_list("unflattened_size"))


@function(
    "torch.Tensor.unflatten", "torch.unflatten",
    signature="input, dim, sizes",
    examples=[ex(T(4, 12), 1, (3, -1), out=(4, 3, 4)), ex(T(4, 12), 1, (5, -1), error=FLATTEN_DIMS)],
)
def unflatten(call: RuleCall):
    return _unflatten(call, call.shape("input"), call.dim("dim"), call.int_list("sizes"))


@function(
    "torch.Tensor.size",
    signature="input, dim=None",
    examples=[ex(T(2, 3), out=(2, 3)), ex(T(2, 3), -1, out=3), ex(T(2, 3), 2, error=DIM_OUT_OF_RANGE)],
)
def size(call: RuleCall):
    shape = call.shape("input")
    if call.is_none("dim"):
        if not shape.ranked:
            raise Unknowable("input")
        return tuple(shape.dims)
    d = D.as_int(call.dim("dim"))
    if d is None:
        raise Unknowable("dim")
    if shape.ranked:
        if shape.rank == 0:
            call.fail(DIM_OUT_OF_RANGE, f"size({d}): a 0-d tensor has no dims")
        d = normalize_dim(call, d, shape.rank)
    value = shape.dim(d)
    if value is None:
        return D.fresh("?")
    return value


@function("torch.Tensor.dim", "torch.Tensor.ndimension", signature="input", examples=[ex(T(2, 3, 4), out=3)])
def ndim(call: RuleCall):
    shape = call.shape("input")
    if not shape.ranked:
        raise Unknowable("input")
    return int(shape.rank)


@function("torch.Tensor.numel", "torch.numel", signature="input", examples=[ex(T(2, 3, 4), out=24)])
def count(call: RuleCall):
    total = numel(call.shape("input"))
    if total is None:
        raise Unknowable("input")
    return total
