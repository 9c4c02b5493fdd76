"""Reductions over dims (sum/mean/std/norm/amax/all/argmax/...), the (values, indices) ones
(max/min with a dim, median, mode, kthvalue, topk, sort), and scans (cumsum, cummax)."""

from __future__ import annotations

from typing import Optional

from shapels.codes import BROADCAST_MISMATCH, DIM_OUT_OF_RANGE, OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.elementwise import broadcast
from shapels.rules.layout import dim_index, dim_indices
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, Tensor


def reduce_shape(call: RuleCall, shape: Shape, dims: Optional[tuple], keepdim: bool) -> Shape:
    """The shape after reducing `dims` (None: every dim), kept as 1s when keepdim."""
    if dims is None:
        if not keepdim:
            return Shape.of([])
        if not shape.ranked:
            raise Unknowable("input")
        return Shape.of([1] * shape.rank)
    positions = dim_indices(call, shape, dims)
    if shape.rank == 0:
        return shape
    if keepdim:
        out = tuple(1 if i in positions else d for i, d in enumerate(shape.dims))
    else:
        out = tuple(d for i, d in enumerate(shape.dims) if i not in positions)
    return Shape(out, shape.ranked)


def _dims(call: RuleCall, name: str = "dim", empty_means_all: bool = True) -> Optional[tuple]:
    """A dim argument: None (all dims), an int or a tuple/list of ints."""
    if call.is_none(name):
        return None
    dims = call.dims(name)
    if not dims and empty_means_all:
        return None
    return dims


def _reduce(call: RuleCall, empty_means_all: bool = True) -> Shape:
    return reduce_shape(call, call.shape("input"), _dims(call, "dim", empty_means_all), call.known_flag("keepdim"))


# sum/mean/amax/std... over an int or a tuple of dims; dim=None or () reduces them all.
function(
    "torch.sum", "torch.Tensor.sum", "torch.mean", "torch.Tensor.mean", "torch.nansum", "torch.Tensor.nansum",
    "torch.nanmean", "torch.Tensor.nanmean",
    signature="input, dim=None, keepdim=False, dtype=None, *, out=None",
    examples=[
        ex(T(2, 3, 4), 1, out=(2, 4)),
        ex(T(2, 3, 4), (0, -1), keepdim=True, out=(1, 3, 1)),
        ex(T(2, 3, 4), out=()),
        ex(T(2, 3, 4), 3, error=DIM_OUT_OF_RANGE),
    ],
)(_reduce)

function(
    "torch.amax", "torch.Tensor.amax", "torch.amin", "torch.Tensor.amin",
    signature="input, dim=(), keepdim=False, *, out=None",
    examples=[ex(T(2, 3, 4), (0, 2), out=(3,)), ex(T(2, 3), keepdim=True, out=(1, 1))],
)(_reduce)

function(
    "torch.logsumexp", "torch.Tensor.logsumexp",
    signature="input, dim, keepdim=False, *, out=None",
    examples=[ex(T(2, 3, 4), -1, out=(2, 3)), ex(T(2, 3, 4), (1, 2), True, out=(2, 1, 1))],
)(_reduce)


@function(
    "torch.all", "torch.Tensor.all", "torch.any", "torch.Tensor.any",
    signature="input, dim=None, keepdim=False, *, out=None",
    examples=[ex(T(2, 3, 4), out=()), ex(T(2, 3, 4), 1, True, out=(2, 1, 4)), ex(T(2, 3, 4), (0, 1), out=(4,))],
)
def all_any(call: RuleCall):
    return _reduce(call, empty_means_all=False)  # all(dim=()) reduces nothing


@function(
    "torch.count_nonzero", "torch.Tensor.count_nonzero",
    signature="input, dim=None",
    examples=[ex(T(2, 3, 4), (0, 2), out=(3,))],
)
def count_nonzero(call: RuleCall):
    return reduce_shape(call, call.shape("input"), _dims(call), False)


def _std_dims(call: RuleCall) -> Optional[tuple]:
    v = call.value("dim")
    if isinstance(v, Const) and isinstance(v.value, bool):
        return None  # std(x, True): the old (input, unbiased) overload
    return _dims(call)


def _std(call: RuleCall):
    return reduce_shape(call, call.shape("input"), _std_dims(call), call.known_flag("keepdim"))


_STD = "input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None"
function(
    "torch.std", "torch.Tensor.std", "torch.var", "torch.Tensor.var",
    signature=_STD,
    examples=[ex(T(2, 3, 4), 1, True, True, out=(2, 1, 4)), ex(T(2, 3, 4), out=()), ex(T(2, 3), 2, error=DIM_OUT_OF_RANGE)],
)(_std)


@function(
    "torch.std_mean", "torch.var_mean",
    signature=_STD,
    examples=[ex(T(2, 3, 4), (0, 1), out=((4,), (4,)))],
)
def std_mean(call: RuleCall):
    out = _std(call)
    return (out, out)


@function(
    "torch.norm", "torch.Tensor.norm",
    signature="input, p='fro', dim=None, keepdim=False, out=None, dtype=None",
    examples=[ex(T(2, 3, 4), out=()), ex(T(2, 3, 4), 2, -1, True, out=(2, 3, 1)), ex(T(2, 3, 4), dim=(1, 2), out=(2,)),
              ex(T(2, 3, 4), dim=-1, keepdim=True, out=(2, 3, 1)), ex(T(2, 3, 4), "fro", 1, out=(2, 4)),
              ex(T(2, 3, 4), "nuc", (1, 2), out=(2,))],
)
def norm(call: RuleCall):
    dims, p = _dims(call), call.value("p")
    if dims is not None and isinstance(p, Const) and isinstance(p.value, str) and \
            not (len(dims) == 2 or p.value == "fro" and len(dims) == 1):
        # the default 'fro' over one dim is the vector 2-norm; 'nuc', or 'fro' over three dims or more, is
        # torch's matrix_norm error ("dim must be a 2-tuple"): not claimed here
        raise Unknowable("p")
    return reduce_shape(call, call.shape("input"), dims, call.known_flag("keepdim"))


@function(
    "torch.linalg.vector_norm",
    signature="x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None",
    examples=[ex(T(2, 3, 4), dim=(1, 2), out=(2,)), ex(T(2, 3, 4), 2, -1, out=(2, 3))],
)
def vector_norm(call: RuleCall):
    return reduce_shape(call, call.shape("x"), _dims(call), call.known_flag("keepdim"))


@function(
    "torch.linalg.norm",
    signature="A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None",
    examples=[ex(T(2, 3, 4), out=()), ex(T(2, 3, 4), 2, -1, out=(2, 3)), ex(T(2, 3, 4), 2, error=OP_INPUT_SHAPE)],
)
def linalg_norm(call: RuleCall):
    shape, dims = call.shape("A"), _dims(call)
    matrix_or_vector = len(shape.dims) <= 2 and (not shape.ranked or shape.rank > 0)
    if dims is None and not call.is_none("ord") and not matrix_or_vector:
        call.fail(OP_INPUT_SHAPE, f"linalg.norm: with ord and no dim, the input must be 1-D or 2-D, got {shape.show()}")
    if dims is not None and len(dims) not in (1, 2):
        raise Unknowable("dim")
    return reduce_shape(call, shape, dims, call.known_flag("keepdim"))


@function(
    "torch.prod", "torch.Tensor.prod", "torch.argmax", "torch.Tensor.argmax", "torch.argmin", "torch.Tensor.argmin",
    signature="input, dim=None, keepdim=False, *, dtype=None, out=None",
    examples=[ex(T(2, 3, 4), -1, out=(2, 3)), ex(T(2, 3, 4), out=()), ex(T(2, 3, 4), 1, True, out=(2, 1, 4))],
)
def single_dim(call: RuleCall):
    """Ops whose dim is one int, never a tuple."""
    if not call.is_none("dim") and call.dim_or_none("dim") is None:
        raise Unknowable("dim")
    return _reduce(call)


def _values_indices(call: RuleCall) -> tuple:
    out = reduce_shape(call, call.shape("input"), (call.dim("dim"),), call.known_flag("keepdim"))
    return (out, out)


@function(
    "torch.max", "torch.Tensor.max", "torch.min", "torch.Tensor.min",
    signature="input, dim=None, keepdim=False, *, other=None, out=None",
    examples=[
        ex(T(2, 3, 4), out=()),
        ex(T(2, 3, 4), 1, out=((2, 4), (2, 4))),
        ex(T(2, 3, 4), dim=-1, keepdim=True, out=((2, 3, 1), (2, 3, 1))),
        ex(T(2, 3, 4), T(3, 1), out=(2, 3, 4)),
        ex(T(2, 3, 4), T(2, 4), error=BROADCAST_MISMATCH),
    ],
)
def max_min(call: RuleCall):
    other = call.value("dim") if isinstance(call.value("dim"), Tensor) else call.value("other")
    if isinstance(other, Tensor):  # torch.max(a, b): elementwise
        return broadcast(call, call.shape("input"), other.shape)
    if call.is_none("dim"):
        return Shape.of([])
    return _values_indices(call)


@function(
    "torch.median", "torch.Tensor.median", "torch.nanmedian", "torch.Tensor.nanmedian",
    signature="input, dim=None, keepdim=False, *, out=None",
    examples=[ex(T(2, 3, 4), out=()), ex(T(2, 3, 4), 1, out=((2, 4), (2, 4)))],
)
def median(call: RuleCall):
    if call.is_none("dim"):
        return Shape.of([])
    return _values_indices(call)


@function(
    "torch.mode", "torch.Tensor.mode",
    signature="input, dim=-1, keepdim=False, *, out=None",
    examples=[ex(T(2, 3, 4), out=((2, 3), (2, 3)))],
)
def mode(call: RuleCall):
    return _values_indices(call)


def _check_k(call: RuleCall, shape: Shape, i: int, k, low: int, what: str) -> None:
    size = 1 if shape.rank == 0 else shape.dims[i]
    kk, n = D.as_int(k), D.as_int(size)
    if kk is not None and (kk < low or (n is not None and kk > n)):
        call.fail(OP_INPUT_SHAPE, f"{what}: k={kk} is out of range for a dim of size {D.show(size)} in {shape.show()}")


@function(
    "torch.kthvalue", "torch.Tensor.kthvalue",
    signature="input, k, dim=-1, keepdim=False, *, out=None",
    examples=[ex(T(2, 5), 5, out=((2,), (2,))), ex(T(2, 5), 6, error=OP_INPUT_SHAPE)],
)
def kthvalue(call: RuleCall):
    shape = call.shape("input")
    _check_k(call, shape, dim_index(call, shape, call.dim("dim")), call.dim("k"), 1, "kthvalue")
    return _values_indices(call)


@function(
    "torch.topk", "torch.Tensor.topk",
    signature="input, k, dim=-1, largest=True, sorted=True, *, out=None",
    examples=[ex(T(2, 5), 3, out=((2, 3), (2, 3))), ex(T(2, 5), 2, 0, out=((2, 5), (2, 5))), ex(T(2, 5), 6, error=OP_INPUT_SHAPE)],
)
def topk(call: RuleCall):
    shape, k = call.shape("input"), call.dim("k")
    i = dim_index(call, shape, call.dim("dim"))
    _check_k(call, shape, i, k, 0, "topk")
    out = shape if shape.rank == 0 else shape.with_dim(i, k)
    return (out, out)


def _scan(call: RuleCall) -> Shape:
    shape = call.shape("input")
    dim_index(call, shape, call.dim("dim"))
    return shape


function(
    "torch.cumsum", "torch.Tensor.cumsum", "torch.cumprod", "torch.Tensor.cumprod",
    "torch.logcumsumexp", "torch.Tensor.logcumsumexp",
    signature="input, dim, *, dtype=None, out=None",
    preserves_shape=True,
    examples=[ex(T(2, 3), 1, out=(2, 3)), ex(T(2, 3), 2, error=DIM_OUT_OF_RANGE)],
)(_scan)

function(
    "torch.argsort", "torch.Tensor.argsort",
    signature="input, dim=-1, descending=False, stable=False",
    preserves_shape=True,
    examples=[ex(T(2, 3), 0, out=(2, 3))],
)(_scan)


@function(
    "torch.cummax", "torch.Tensor.cummax", "torch.cummin", "torch.Tensor.cummin",
    signature="input, dim, *, out=None",
    examples=[ex(T(2, 3), 0, out=((2, 3), (2, 3)))],
)
def cummax(call: RuleCall):
    out = _scan(call)
    return (out, out)


@function(
    "torch.sort", "torch.Tensor.sort",
    signature="input, dim=-1, descending=False, stable=False, *, out=None",
    examples=[ex(T(2, 3), 0, out=((2, 3), (2, 3)))],
)
def sort(call: RuleCall):
    out = _scan(call)
    return (out, out)


@function(
    "torch.diff", "torch.Tensor.diff",
    signature="input, n=1, dim=-1, prepend=None, append=None",
    examples=[
        ex(T(5), out=(4,)),
        ex(T(3, 5), dim=0, out=(2, 5)),
        ex(T(2, 6), n=2, out=(2, 4)),
        ex(T(3), n=5, out=(0,)),
        ex(T(2, 3), dim=2, error=DIM_OUT_OF_RANGE),
    ],
)
def diff(call: RuleCall):
    """The n-th forward difference along dim: that dim shrinks by n (to no less than 0)."""
    if not (call.is_none("prepend") and call.is_none("append")):
        raise Unknowable("prepend")
    shape = call.shape("input")
    if shape.rank == 0:
        raise Unknowable("input")  # torch refuses a 0-d input
    n = D.as_int(call.dim("n"))
    if n is None or n < 0:
        raise Unknowable("n")
    index = dim_index(call, shape, call.dim("dim"))
    size = shape.dims[index]
    if D.as_int(size) is not None:
        return shape.with_dim(index, max(D.as_int(size) - n, 0))
    return shape if n == 0 else shape.with_dim(index, D.fresh())


@function(
    "torch.unique", "torch.Tensor.unique",
    signature="input, sorted=True, return_inverse=False, return_counts=False, dim=None",
    examples=[ex(T(2, 3), dim=5, error=DIM_OUT_OF_RANGE)],
)
def unique(call: RuleCall):
    """How many distinct values (or slices along `dim`) there are depends on the data: that length is
    a fresh dim, shared by the counts (tensor_values gives it when the values are known). The inverse
    indices have the input's shape, or its length along `dim`."""
    shape = call.shape("input")
    if not shape.ranked:
        raise Unknowable("input")
    inverse, counts = call.known_flag("return_inverse"), call.known_flag("return_counts")
    found = D.fresh("unique")
    if call.is_none("dim"):
        out, inverse_shape = Shape.of([found]), shape
    else:
        if shape.rank == 0:
            raise Unknowable("dim")
        d = dim_index(call, shape, call.dim("dim"))
        out = Shape.of(shape.dims[:d] + (found,) + shape.dims[d + 1:])
        inverse_shape = Shape.of([shape.dims[d]])
    extra = ([inverse_shape] if inverse else []) + ([Shape.of([found])] if counts else [])
    return tuple([out] + extra) if extra else out
