"""keras.ops functions that custom Keras layers build their shapes with (the keras-io examples' patch
extractors, mixers and recommenders): `ops.shape`, `ops.transpose`, `ops.swapaxes`, `ops.squeeze`,
`ops.image.extract_patches`, `ops.tensordot`, `ops.clip`, `ops.softmax`, the elementwise functions and
reductions.

Each follows Keras 3's numpy-like semantics (checked against Keras by their examples). A rule claims an
output only where Keras's own result is certain; an argument it cannot read leaves the result unknown.
"""

from __future__ import annotations

from shapels.codes import BROADCAST_MISMATCH, DIM_OUT_OF_RANGE, MATMUL_MISMATCH
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.common import normalize_dim
from shapels.rules.elementwise import broadcast
from shapels.rules.reduction import reduce_shape
from shapels.rules.keras_layers.spec import is_none_dim
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, Number, Tensor


def _ranked(call: RuleCall, name: str) -> Shape:
    shape = call.shape(name)
    if not shape.ranked:
        raise Unknowable(name)
    return shape


def _axis(call: RuleCall, name: str, rank: int) -> int:
    axis = D.as_int(call.dim(name))
    if axis is None:
        raise Unknowable(name)
    if not -rank <= axis < rank:
        call.fail(DIM_OUT_OF_RANGE, f"axis {axis} is out of bounds for a tensor of rank {rank}", param=name)
    return axis % rank


@function("keras.ops.shape", signature="x", examples=[ex(T(2, 3), out=(2, 3)), ex(T(4, 5, 6), out=(4, 5, 6))])
def shape(call: RuleCall):
    """The tuple of sizes (Keras's None for a symbolic batch stays the None dim)."""
    return tuple(_ranked(call, "x").dims)


@function(
    "keras.ops.transpose",
    signature="x, axes=None",
    examples=[ex(T(2, 3, 4), (0, 2, 1), out=(2, 4, 3)), ex(T(2, 3, 4), out=(4, 3, 2)), ex(T(2, 3), (1, 0), out=(3, 2))],
)
def transpose(call: RuleCall):
    shape = _ranked(call, "x")
    if call.is_none("axes"):
        call.moved_axes = tuple(reversed(range(shape.rank)))
        return Shape.of(list(reversed(shape.dims)))
    order = [D.as_int(a) for a in call.int_list("axes")]
    if any(a is None for a in order) or len(order) != shape.rank:
        raise Unknowable("axes")  # a wrong length: Keras's backends word it differently; not claimed
    positions = [a % shape.rank for a in order]
    if sorted(positions) != list(range(shape.rank)):
        raise Unknowable("axes")
    call.moved_axes = tuple(positions)
    return Shape.of([shape.dims[p] for p in positions])


@function(
    "keras.ops.swapaxes",
    signature="x, axis1, axis2",
    examples=[ex(T(4, 20, 8, 8), 0, 1, out=(20, 4, 8, 8)), ex(T(2, 3, 5), -1, 0, out=(5, 3, 2))],
)
def swapaxes(call: RuleCall):
    return swap(call, "x")


def swap(call: RuleCall, name: str) -> Shape:
    """Keras's and numpy's swapaxes (numpy's takes `a`)."""
    shape = _ranked(call, name)
    i, j = _axis(call, "axis1", shape.rank), _axis(call, "axis2", shape.rank)
    dims, moved = list(shape.dims), list(range(shape.rank))
    dims[i], dims[j] = dims[j], dims[i]
    moved[i], moved[j] = j, i
    call.moved_axes = tuple(moved)
    return Shape.of(dims)


@function(
    "keras.ops.squeeze",
    signature="x, axis=None",
    examples=[ex(T(2, 1, 5), -2, out=(2, 5)), ex(T(1, 3, 1), out=(3,)), ex(T(2, 1, 4), 1, out=(2, 4))],
)
def squeeze(call: RuleCall):
    shape = _ranked(call, "x")
    if call.is_none("axis"):
        sizes = [D.as_int(d) for d in shape.dims]
        if any(s is None for s in sizes):
            raise Unknowable("x")  # an unknown size may be 1
        return Shape.of([d for d, s in zip(shape.dims, sizes) if s != 1])
    if not isinstance(call.value("axis"), Number):
        raise Unknowable("axis")  # a tuple of axes: not followed
    axis = _axis(call, "axis", shape.rank)
    if D.as_int(shape.dims[axis]) != 1:
        raise Unknowable("axis")  # Keras's backends differ on squeezing a size other than 1
    return Shape.of([d for i, d in enumerate(shape.dims) if i != axis])


def _patch_side(size: int, patch: int, stride: int, dilation: int, padding: str):
    if padding == "same":
        return -(-size // stride)
    span = dilation * (patch - 1) + 1
    return (size - span) // stride + 1 if size >= span else None


@function(
    "keras.ops.image.extract_patches",
    signature="images, size, strides=None, dilation_rate=1, padding='valid', data_format=None",
    examples=[ex(T(2, 32, 32, 3), 8, out=(2, 4, 4, 192)), ex(T(2, 32, 32, 3), 2, out=(2, 16, 16, 12)),
              ex(T(2, 10, 12, 3), (2, 3), out=(2, 5, 4, 18)), ex(T(1, 9, 9, 2), 3, 2, out=(1, 4, 4, 18)),
              ex(T(1, 9, 9, 2), 3, 2, 1, "same", out=(1, 5, 5, 18))],
)
def extract_patches(call: RuleCall):
    """Channels-last images (N, H, W, C) to (N, H', W', size_h * size_w * C); strides default to the size."""
    shape = _ranked(call, "images")
    if shape.rank != 4 or not call.is_none("data_format"):
        raise Unknowable("images")  # unbatched images and volumes, channels_first: not followed
    size = [D.as_int(d) for d in call.dims("size", 2)]
    strides = size if call.is_none("strides") else [D.as_int(d) for d in call.dims("strides", 2)]
    dilation = [D.as_int(d) for d in call.dims("dilation_rate", 2)]
    padding = call.value("padding")
    pad = padding.value if isinstance(padding, Const) and isinstance(padding.value, str) else None
    if None in size + strides + dilation or pad not in ("valid", "same") or (pad == "same" and dilation != [1, 1]):
        raise Unknowable("size")
    n, h, w, c = shape.dims
    sides = []
    for dim, patch, stride, dil in zip((h, w), size, strides, dilation):
        value = D.as_int(dim)
        side = None if value is None else _patch_side(value, patch, stride, dil, pad)
        if side is None:
            raise Unknowable("images")  # a symbolic side, or one smaller than the patch
        sides.append(side)
    return Shape.of([n, *sides, c * size[0] * size[1]])


def _symbolic(call: RuleCall, name: str) -> bool:
    """A tensor of a functional graph, which Keras's symbolic shape inference runs on: its chain starts at
    keras.Input (`keras.Input(batch_shape=(2, 100))` has no None size to tell it by)."""
    value = call.value(name)
    trace = value.trace if isinstance(value, Tensor) else ()
    return bool(trace) and trace[0].label == "Input"


@function(
    "keras.ops.tensordot",
    signature="x1, x2, axes=2",
    examples=[ex(T(2, 50), T(2, 50), 2, out=()), ex(T(3, 4, 5), T(4, 5, 6), 2, out=(3, 6)),
              ex(T(3, 4), T(4, 7), 1, out=(3, 7)), ex(T(2, 100), T(2, 50), 2, error=MATMUL_MISMATCH),
              ex(T(3, 4), T(5, 7), 1, error=MATMUL_MISMATCH), ex(T(None, 100), T(100, 7), 1, out=(None, 7))],
)
def tensordot(call: RuleCall):
    """An int `axes`: x1's last `axes` sizes against x2's first, the rest of each kept. Two contracted sizes
    that differ, neither 1, fail when the op runs on arrays (torch's words below): in a subclassed model's or a
    layer's call on data. Keras's symbolic shape inference (on keras.Input's tensors) does not compare them, so
    a mismatch there is not claimed; nor a pair with a 1 (torch broadcasts it, numpy refuses it), nor an
    unknown size."""
    a, b = _ranked(call, "x1"), _ranked(call, "x2")
    if not isinstance(call.value("axes"), Number):
        raise Unknowable("axes")
    n = D.as_int(call.dim("axes"))
    if n is None or n < 0 or n > min(a.rank, b.rank):
        raise Unknowable("axes")
    on_arrays = not any(is_none_dim(d) for d in (*a.dims, *b.dims)) and not _symbolic(call, "x1") and \
        not _symbolic(call, "x2")
    for i, (x, y) in enumerate(zip(a.dims[a.rank - n:], b.dims[:n])):
        x, y = D.as_int(x), D.as_int(y)
        if on_arrays and None not in (x, y) and x != y and 1 not in (x, y):
            call.paired_axes = (a.rank - n + i, i)
            call.fail(MATMUL_MISMATCH, f"contracted dimensions need to match, but first has size {x} in dim {i - n} "
                                       f"and second has size {y} in dim {i}: {a.show()} and {b.show()}")
    for x, y in zip(a.dims[a.rank - n:], b.dims[:n]):
        if D.as_int(x) is None or D.as_int(x) != D.as_int(y):
            raise Unknowable("axes")
    return Shape.of([*a.dims[:a.rank - n], *b.dims[n:]])


@function(
    "keras.ops.clip",
    signature="x, x_min, x_max",
    examples=[ex(T(8, 28, 28, 1), 0.0, 1.0, out=(8, 28, 28, 1)), ex(T(3), 0, 5, out=(3,))],
)
def clip(call: RuleCall):
    return clipped(call, "x", ("x_min", "x_max"))


def clipped(call: RuleCall, name: str, bounds: tuple) -> Shape:
    """Keras's and numpy's clip: with number bounds, the shape of x (array bounds broadcast: not followed)."""
    if not all(isinstance(call.value(b), Number) for b in bounds):
        raise Unknowable(bounds[0])
    return call.shape(name)


@function(
    "keras.ops.softmax", "keras.ops.nn.softmax",
    signature="x, axis=-1",
    preserves_shape=True,
    examples=[ex(T(2, 5, 1), 1, out=(2, 5, 1)), ex(T(4, 10), out=(4, 10))],
)
def softmax(call: RuleCall):
    shape = _ranked(call, "x")
    if shape.rank:
        normalize_dim(call, call.dim("axis"), shape.rank, param="axis")
    return shape


@function(
    "keras.ops.broadcast_to",
    signature="x, shape",
    examples=[ex(T(4, 8), (2, 4, 8), out=(2, 4, 8)), ex(T(1, 8), (3, 8), out=(3, 8)), ex(T(5), (2, 5), out=(2, 5))],
)
def broadcast_to(call: RuleCall):
    """The target shape (a tuple of sizes, `ops.shape(inputs)` included). Whether x broadcasts to it is left
    to Keras (not claimed)."""
    dims = call.int_list("shape")
    if any(d is None for d in dims):
        raise Unknowable("shape")
    return Shape.of(list(dims))


@function(
    "keras.ops.arange",
    signature="start, stop=None, step=1, dtype=None",
    label="input",
    examples=[ex(0, 256, 1, out=(256,)), ex(5, out=(5,)), ex(2, 11, 3, out=(3,))],
)
def arange(call: RuleCall):
    """One axis of ceil((stop - start) / step) integers (Keras's `arange(n)` counts from 0)."""
    ends = [D.as_int(call.dim(p)) if isinstance(call.value(p), Number) else None for p in ("start", "stop", "step")]
    if call.is_none("stop"):
        ends = [0, ends[0], ends[2]]
    start, stop, step = ends
    if None in ends or step == 0:
        raise Unknowable("stop")
    return Shape.of([max(0, -(-(stop - start) // step))])


@function(
    "keras.ops.split",
    signature="x, indices_or_sections, axis=0",
    examples=[ex(T(2, 64, 512), 2, 2, out=((2, 64, 256), (2, 64, 256))), ex(T(6, 3), 3, out=((2, 3), (2, 3), (2, 3)))],
)
def split(call: RuleCall):
    """An int number of equal sections: a tuple of that many pieces (a split point list, or a size that
    does not divide, is not followed)."""
    shape = _ranked(call, "x")
    if not isinstance(call.value("indices_or_sections"), Number):
        raise Unknowable("indices_or_sections")
    n = D.as_int(call.dim("indices_or_sections"))
    axis = _axis(call, "axis", shape.rank)
    size = D.as_int(shape.dims[axis])
    if n is None or n <= 0 or size is None or size % n or n > 64:
        raise Unknowable("indices_or_sections")
    piece = Shape.of([size // n if i == axis else d for i, d in enumerate(shape.dims)])
    return tuple(piece for _ in range(n))


# -- elementwise ------------------------------------------------------------------------------------
def _operand(call: RuleCall, name: str) -> Shape:
    """A tensor's shape; a Python number is a 0-d operand."""
    value = call.value(name)
    if isinstance(value, Number):
        return Shape.of([])
    return call.shape(name)


def broadcast_binary(call: RuleCall):
    """numpy's broadcasting, as Keras's ops follow it (both of its modes refuse sizes that do not broadcast)."""
    return broadcast(call, _operand(call, "x1"), _operand(call, "x2"))


_BINARY_EXAMPLES = [ex(T(2, 16, 256, 16), T(2, 16, 256, 1), out=(2, 16, 256, 16)), ex(T(4, 3), 2.0, out=(4, 3)),
                    ex(T(5, 1), T(3), out=(5, 3)), ex(T(2, 3), T(4), error=BROADCAST_MISMATCH)]
for _name in ("add", "subtract", "multiply", "divide", "maximum", "minimum"):
    function(f"keras.ops.{_name}", signature="x1, x2", examples=_BINARY_EXAMPLES, broadcasts=True)(broadcast_binary)


def _same_x(call: RuleCall):
    return call.shape("x")


# Elementwise functions (the activations of keras.ops.nn are the same objects under keras.ops).
_NN = ("relu", "relu6", "sigmoid", "gelu", "silu", "swish", "softplus", "softsign", "elu", "selu", "leaky_relu",
       "hard_sigmoid")
for _name in _NN + ("tanh", "exp", "log", "sqrt", "square", "abs", "absolute", "negative", "floor", "ceil", "round",
                    "sign", "erf", "log1p", "expm1", "reciprocal", "cos", "sin"):
    function(f"keras.ops.{_name}", *([f"keras.ops.nn.{_name}"] if _name in _NN else []),
             signature="x, *args, **kwargs", preserves_shape=True,
             examples=[ex(T(2, 3), out=(2, 3)), ex(T(4, 1, 5), out=(4, 1, 5))])(_same_x)


@function(
    "keras.ops.convert_to_tensor",
    signature="x, dtype=None, sparse=None, ragged=None",
    examples=[ex(T(3, 4), out=(3, 4)), ex(1e-9, out=())],
)
def convert_to_tensor(call: RuleCall):
    """A tensor keeps its shape; a Python number is a 0-d tensor (lists are not followed)."""
    return _operand(call, "x")


# -- reductions -------------------------------------------------------------------------------------
def _reduce_x(call: RuleCall):
    shape = call.shape("x")
    axis = None if call.is_none("axis") else call.dims("axis")
    return reduce_shape(call, shape, axis, call.known_flag("keepdims"))


for _name in ("sum", "mean", "max", "min", "prod"):
    function(f"keras.ops.{_name}", signature="x, axis=None, keepdims=False, *args, **kwargs",
             examples=[ex(T(2, 16, 256, 16), -1, True, out=(2, 16, 256, 1)), ex(T(2, 3, 4), 1, out=(2, 4)),
                       ex(T(2, 3), out=()), ex(T(2, 3, 4), (0, 2), out=(3,))])(_reduce_x)


@function(
    "keras.ops.fft2",
    signature="x",
    examples=[ex((T(2, 64, 256), T(2, 64, 256)), out=((2, 64, 256), (2, 64, 256))),
              ex((T(3, 4), T(3, 4)), out=((3, 4), (3, 4))),
              ex((T(None, 64, 256), T(None, 64, 256)), out=((None, 64, 256), (None, 64, 256)))],
)
def fft2(call: RuleCall):
    """The (real, imaginary) pair of the transform over the last two axes: each part keeps the shape of the
    pair's parts (which must be equal; parts that differ are left to Keras)."""
    pair = call.value("x")
    parts = getattr(pair, "items", None)
    if parts is None or len(parts) != 2 or not all(isinstance(p, Tensor) and p.shape.ranked for p in parts):
        raise Unknowable("x")
    real, imag = (p.shape for p in parts)
    same = [D.eq(a, b) is True or (is_none_dim(a) and is_none_dim(b)) for a, b in zip(real.dims, imag.dims)]
    if real.rank < 2 or real.rank != imag.rank or not all(same):
        raise Unknowable("x")
    return (real, imag)


for _name in ("zeros_like", "ones_like"):
    function(f"keras.ops.{_name}", signature="x, dtype=None", preserves_shape=True,
             examples=[ex(T(2, 64, 256), out=(2, 64, 256)), ex(T(3), out=(3,))])(_same_x)


def _tensor_list(call: RuleCall, name: str) -> list:
    value = call.value(name)
    items = getattr(value, "items", None)
    if not items or getattr(value, "uncertain", False) or not all(isinstance(i, Tensor) and i.shape.ranked for i in items):
        raise Unknowable(name)
    return [i.shape for i in items]


@function(
    "keras.ops.stack",
    signature="x, axis=0",
    examples=[ex([T(2, 1), T(2, 1), T(2, 1)], out=(3, 2, 1)), ex([T(4, 5), T(4, 5)], -1, out=(4, 5, 2))],
)
def stack(call: RuleCall):
    """Tensors of one shape along a new axis (shapes that differ are left to Keras)."""
    shapes = _tensor_list(call, "x")
    first = shapes[0]
    same = all(s.rank == first.rank and all(D.eq(a, b) is True or (is_none_dim(a) and is_none_dim(b))
                                            for a, b in zip(s.dims, first.dims)) for s in shapes)
    if not same:
        raise Unknowable("x")
    axis = D.as_int(call.dim("axis"))
    rank = first.rank + 1
    if axis is None or not -rank <= axis < rank:
        raise Unknowable("axis")
    dims = list(first.dims)
    dims.insert(axis % rank, len(shapes))
    return Shape.of(dims)
