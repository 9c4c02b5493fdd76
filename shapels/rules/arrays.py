"""The arrays that Keras (and PyTorch) scripts feed their models: numpy's and TensorFlow's/Keras's
factories (`np.zeros((16, 28, 28, 1))`, `np.random.rand(*input_shape)`, `tf.random.normal(shape=(64,))`,
`keras.random.uniform(...)`) and the reshaping numpy calls (`np.expand_dims`, `np.reshape`).

An array is a Tensor value: its methods (`.reshape`, slicing, `.shape`) follow torch's, which numpy's
equal for those. Each rule's first name is the one its examples are checked against: numpy's under
numpy (tests/rules/_core_harness.py), Keras's under Keras 3 (tests/rules/_keras_harness.py); the
TensorFlow names (`tf.zeros`, `tf.random.normal`) take Keras's rule, whose shape semantics they share,
and are not run (TensorFlow is not installed beside the tests).
"""

from __future__ import annotations

from shapels.codes import BROADCAST_MISMATCH, CALL_MISMATCH, DIM_OUT_OF_RANGE, MATMUL_MISMATCH
from shapels.rules.base import RuleCall, Unknowable, to_dim_signed
from shapels.rules.creation import from_data
from shapels.rules.keras_layers.ops import broadcast_binary, clipped, swap
from shapels.rules.matmul import matmul as matmul_rule
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Number, Seq, Tensor

# numpy's ValueError "negative dimensions are not allowed": no code in the catalogue names a bad
# argument, call-mismatch is the nearest (as for torch's factories).
_BAD_ARGUMENT = CALL_MISMATCH


def _sizes(call: RuleCall, name: str) -> Shape:
    """A shape argument written as an int (`np.zeros(5)`) or a tuple/list of ints."""
    value = call.value(name)
    if isinstance(value, (Seq, ListValue)):
        dims = [to_dim_signed(item) for item in value.items]
    elif isinstance(value, Number):
        dims = [to_dim_signed(value)]
    else:
        raise Unknowable(name)
    for d in dims:
        if d is None:
            raise Unknowable(name)
        v = D.as_int(d)
        if v is not None and v < 0:
            call.fail(_BAD_ARGUMENT, f"{call.qualname.rsplit('.', 1)[-1]}: negative dimensions are not allowed "
                      f"({v} in the shape)", param=name)
    return Shape.of(dims)


@function(
    "numpy.zeros", "numpy.ones", "numpy.empty",
    signature="shape, dtype=None, order='C', *, device=None, like=None",
    label="input",
    examples=[ex((16, 28, 28, 1), out=(16, 28, 28, 1)), ex(5, out=(5,)), ex([2, 3], out=(2, 3)), ex((), out=()),
              ex((2, -1), error=CALL_MISMATCH)],
)
def numpy_factory(call: RuleCall):
    return _sizes(call, "shape")


@function(
    "numpy.full",
    signature="shape, fill_value, dtype=None, order='C', *, device=None, like=None",
    label="input",
    examples=[ex((2, 3), 0.5, out=(2, 3)), ex(4, 1, out=(4,)), ex((-2,), 1, error=CALL_MISMATCH)],
)
def numpy_full(call: RuleCall):
    if not isinstance(call.value("fill_value"), Number):
        raise Unknowable("fill_value")  # an array fill broadcasts against the shape
    return _sizes(call, "shape")


@function(
    "numpy.random.rand", "numpy.random.randn",
    signature="*dims",
    label="input",
    examples=[ex(10, 20, 32, out=(10, 20, 32)), ex(3, out=(3,)), ex(2, -1, error=CALL_MISMATCH)],
)
def numpy_random_dims(call: RuleCall):
    """`np.random.rand(*input_shape)`: one int per axis; with none it is a Python float, not an array."""
    if not call.value("dims").items:
        raise Unknowable("dims")
    return _sizes(call, "dims")


def _size_or_scalar(call: RuleCall, *scalars: str) -> Shape:
    """numpy.random's `size=`: the shape; None gives one number (an array where the other arguments
    are arrays, which broadcast: not followed)."""
    if call.is_none("size"):
        raise Unknowable("size")
    for name in scalars:
        if not isinstance(call.value(name), Number) and not call.is_none(name):
            raise Unknowable(name)  # array parameters broadcast with size
    return _sizes(call, "size")


@function(
    "numpy.random.random", "numpy.random.random_sample", "numpy.random.sample", "numpy.random.ranf",
    "numpy.random.standard_normal",
    signature="size=None",
    label="input",
    examples=[ex((4, 3), out=(4, 3)), ex(size=7, out=(7,)), ex((2, -3), error=CALL_MISMATCH)],
)
def numpy_random_size(call: RuleCall):
    return _size_or_scalar(call)


def _sampled(*scalars: str):
    """numpy.random's distributions: `size=` gives the shape; `scalars` are the parameters that, given as
    arrays, would broadcast with it."""
    def rule(call: RuleCall):
        return _size_or_scalar(call, *scalars)
    return rule


# (name, signature, the parameters that broadcast, examples)
for _name, _signature, _scalars, _examples in (
    ("uniform", "low=0.0, high=1.0, size=None", ("low", "high"),
     [ex(0, 1, (8, 4), out=(8, 4)), ex(size=(2, 3), out=(2, 3))]),
    ("normal", "loc=0.0, scale=1.0, size=None", ("loc", "scale"), [ex(0, 1, (8, 4), out=(8, 4)), ex(size=5, out=(5,))]),
    ("randint", "low, high=None, size=None, dtype=None", ("low", "high"),
     [ex(0, 10, (32,), out=(32,)), ex(10, size=(4, 1), out=(4, 1)), ex(0, 2, size=(3, -1), error=CALL_MISMATCH)]),
):
    function(f"numpy.random.{_name}", signature=_signature, label="input", examples=_examples)(_sampled(*_scalars))


def keras_random(call: RuleCall):
    """keras.random.normal(shape, mean, stddev, ...), tf.random.normal(shape, ...): the shape first."""
    return _sizes(call, "shape")


def keras_factory(call: RuleCall):
    """keras.ops.zeros(shape, dtype), tf.zeros(shape, dtype, name)."""
    return _sizes(call, "shape")


# Each Keras name with its TensorFlow twin (same shape semantics; TensorFlow is not run by the tests).
for _name in ("normal", "uniform", "truncated_normal"):
    function(f"keras.random.{_name}", f"tensorflow.random.{_name}", signature="shape, *args, **kwargs", label="input",
             examples=[ex((16, 28, 28, 1), out=(16, 28, 28, 1)), ex((64,), out=(64,)), ex([2, 3], out=(2, 3))],
             )(keras_random)
for _name in ("zeros", "ones"):
    function(f"keras.ops.{_name}", f"tensorflow.{_name}", signature="shape, dtype=None, name=None", label="input",
             examples=[ex((2, 3), out=(2, 3)), ex((5,), out=(5,)), ex(4, out=(4,))])(keras_factory)


@function(
    "numpy.expand_dims", "keras.ops.expand_dims", "tensorflow.expand_dims",
    signature="a, axis",
    examples=[ex(T(28, 28), 0, out=(1, 28, 28)), ex(T(28, 28), -1, out=(28, 28, 1)), ex(T(3), 1, out=(3, 1)),
              ex(T(3), 2, error=DIM_OUT_OF_RANGE)],
)
def expand_dims(call: RuleCall):
    """One new axis of size 1 at `axis` (numpy's tuple of axes is not followed)."""
    shape = call.shape("a")
    if not shape.ranked:
        raise Unknowable("a")
    axis = D.as_int(call.dim("axis")) if isinstance(call.value("axis"), Number) else None
    if axis is None:
        raise Unknowable("axis")
    rank = shape.rank + 1
    if not -rank <= axis < rank:
        call.fail(DIM_OUT_OF_RANGE, f"expand_dims: axis {axis} is out of bounds for an array of dimension {rank}",
                  param="axis")
    at = axis % rank
    return Shape.of([*shape.dims[:at], 1, *shape.dims[at:]])


@function(
    "numpy.eye", "numpy.identity",
    signature="N, M=None, k=0, dtype=None, order='C', *, device=None, like=None",
    label="input",
    examples=[ex(10, out=(10, 10)), ex(3, 5, out=(3, 5))],
)
def numpy_eye(call: RuleCall):
    rows = call.dim("N")
    return Shape.of([rows, rows if call.is_none("M") else call.dim("M")])


@function(
    "keras.utils.to_categorical",
    signature="x, num_classes=None",
    examples=[ex(T(8, dtype="int64"), 10, out=(8, 10)), ex(T(8, 1, dtype="int64"), 3, out=(8, 3)),
              ex(T(4, 5, dtype="int64"), 2, out=(4, 5, 2))],
)
def to_categorical(call: RuleCall):
    """Class indices to one-hot rows: a trailing axis of 1 (labels as (N, 1)) is replaced, not kept."""
    shape = call.shape("x")
    if not shape.ranked or call.is_none("num_classes"):
        raise Unknowable("num_classes")  # the largest label + 1: a value, not a shape
    dims = list(shape.dims)
    if len(dims) > 1 and D.as_int(dims[-1]) == 1:
        dims = dims[:-1]
    return Shape.of([*dims, call.dim("num_classes")])


# keras.ops.matmul (and TensorFlow's) is numpy's matmul, torch's semantics: its rule.
function(
    "keras.ops.matmul", "tensorflow.matmul",
    signature="input, other",
    examples=[ex(T(8, 16), T(16, 64), out=(8, 64)), ex(T(4, 3), T(5, 6), error=MATMUL_MISMATCH),
              ex(T(2, 5, 3), T(3, 4), out=(2, 5, 4))],
)(matmul_rule)


@function(
    "numpy.ndarray.astype",
    signature="self, dtype, *args, **kwargs",
    preserves_shape=True,
    examples=[ex(T(2, 3), "float32", out=(2, 3)), ex(T(4), "int64", out=(4,))],
)
def astype(call: RuleCall):
    """`x_train.astype("float32")`: the same shape in another dtype."""
    return call.shape("self")


@function(
    "numpy.swapaxes",
    signature="a, axis1, axis2",
    examples=[ex(T(20, 4, 64, 64), 0, 1, out=(4, 20, 64, 64)), ex(T(2, 3), -1, 0, out=(3, 2)),
              ex([T(3, 28, 28), T(3, 28, 28)], 0, 1, out=(3, 2, 28, 28)),
              ex(T(2, 3), 0, 2, error=DIM_OUT_OF_RANGE)],
)
def numpy_swapaxes(call: RuleCall):
    """Moving MNIST's (frames, videos, H, W) to (videos, frames, H, W); a list of same-shape arrays is
    stacked first, as numpy converts it."""
    value = call.value("a")
    if isinstance(value, (Seq, ListValue)):
        stacked = _stacked(value)
        if stacked is None:
            raise Unknowable("a")
        call = RuleCall(call.qualname, call.init, {**call.args, "a": Tensor(stacked)}, call.layer)
    return swap(call, "a")


@function(
    "numpy.clip",
    signature="a, a_min=None, a_max=None, out=None, **kwargs",
    examples=[ex(T(8, 28, 28, 1), 0.0, 1.0, out=(8, 28, 28, 1)), ex(T(5), 0, 3, out=(5,))],
)
def numpy_clip(call: RuleCall):
    return clipped(call, "a", ("a_min", "a_max"))


@function(
    "numpy.random.permutation",
    signature="x",
    label="input",
    examples=[ex(8, out=(8,)), ex(T(5, 3), out=(5, 3))],
)
def numpy_permutation(call: RuleCall):
    """An int n: the numbers 0..n-1 shuffled, (n,); an array: shuffled along its first axis, same shape."""
    value = call.value("x")
    if isinstance(value, Number):
        return Shape.of([call.dim("x")])
    return call.shape("x")


@function(
    "keras.utils.pad_sequences",
    signature="sequences, maxlen=None, dtype='int32', padding='pre', truncating='pre', value=0.0",
    label="input",
    examples=[ex([[1, 2, 3]] * 8, maxlen=200, out=(8, 200)), ex(T(4, 7, dtype="int64"), maxlen=5, out=(4, 5)),
              ex([[1], [2, 3]], 3, out=(2, 3))],
)
def pad_sequences(call: RuleCall):
    """(number of sequences, maxlen): each one padded or truncated to maxlen. Without maxlen the width is the
    longest sequence's, a value: not followed."""
    if call.is_none("maxlen"):
        raise Unknowable("maxlen")
    sequences = call.value("sequences")
    if isinstance(sequences, (Seq, ListValue)):
        count = len(sequences.items)
    else:
        shape = call.shape("sequences")
        if not shape.ranked or shape.rank < 1:
            raise Unknowable("sequences")
        count = shape.dims[0]
    return Shape.of([count, call.dim("maxlen")])


@function(
    "numpy.array", "numpy.asarray",
    signature="data, *args, **kwargs",  # numpy names it `object`; scripts pass it by position
    label="input",
    examples=[ex([[1, 2, 3], [4, 5, 6]], out=(2, 3)), ex([1.0, 2.0], out=(2,)), ex(3, out=()),
              ex([T(28, 28), T(28, 28), T(28, 28)], out=(3, 28, 28)), ex(T(4, 5), out=(4, 5))],
)
def numpy_array(call: RuleCall):
    """Nested lists of numbers as torch.tensor reads them; unlike torch, a list of arrays of one shape is
    stacked (numpy converts each), `np.array(pairs)` of image pairs built in a loop. Arrays of different
    shapes (numpy's ragged error or an object array) are not followed."""
    value = call.value("data")
    items = value.items if isinstance(value, (Seq, ListValue)) and not getattr(value, "uncertain", False) else None
    if items and all(isinstance(i, (Seq, ListValue, Tensor)) for i in items) and any(isinstance(i, Tensor) for i in items):
        shapes = [_stacked(i) for i in items]
        first = shapes[0]
        if first is None or any(s is None or s.rank != first.rank or
                                any(D.eq(a, b) is not True for a, b in zip(s.dims, first.dims)) for s in shapes):
            raise Unknowable("data")
        return Shape.of([len(items), *first.dims])
    return from_data(call, value)


def _stacked(value) -> Shape | None:
    """The shape numpy gives an array or a list of same-shape arrays; None where it is not that."""
    if isinstance(value, Tensor):
        return value.shape if value.shape.ranked else None
    if isinstance(value, (Seq, ListValue)) and value.items and not getattr(value, "uncertain", False):
        inner = [_stacked(i) for i in value.items]
        first = inner[0]
        if first is None or any(s is None or s.rank != first.rank or
                                any(D.eq(a, b) is not True for a, b in zip(s.dims, first.dims)) for s in inner):
            return None
        return Shape.of([len(inner), *first.dims])
    return None


@function(
    "numpy.random.choice",
    signature="a, size=None, replace=True, p=None",
    label="input",
    examples=[ex(60000, 3, replace=False, out=(3,)), ex(10, (2, 5), out=(2, 5)), ex(T(7), 4, out=(4,))],
)
def numpy_choice(call: RuleCall):
    """Samples of `a` (an int n: of range(n)), in the shape of `size`; without a size it is one value, not an
    array."""
    if call.is_none("size"):
        raise Unknowable("size")
    return _sizes(call, "size")


# numpy's elementwise functions broadcast as Keras's ops do (one rule, shapels/rules/keras_layers/ops.py's).
for _name in ("add", "subtract", "multiply", "divide", "maximum", "minimum"):
    function(f"numpy.{_name}", signature="x1, x2, *args, **kwargs",
             examples=[ex(T(20, 28, 28), 255.0, out=(20, 28, 28)), ex(T(5, 1), T(3), out=(5, 3)),
                       ex(T(2, 3), T(4), error=BROADCAST_MISMATCH)])(broadcast_binary)
