"""Tensor factories that drivers build dummy inputs with: randn, zeros, randint, tensor, ..._like."""

from __future__ import annotations

import math

from shapels.codes import CALL_MISMATCH
from shapels.rules.base import RuleCall, Unknowable, to_dim
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, ListValue, Number, Seq, Tensor, Value

_SIZE_FACTORIES = ["randn", "rand", "zeros", "ones", "empty"]
# No code in the catalogue names "an argument torch rejects"; call-mismatch is the nearest.
_BAD_ARGUMENT = CALL_MISMATCH


def _shape(call: RuleCall, dims, what: str) -> Shape:
    """A size as a Shape: unknown entries become fresh dims; a negative one is an error."""
    for d in dims:
        if d is not None and D.as_int(d) is not None and D.as_int(d) < 0:
            call.fail(_BAD_ARGUMENT, f"{what}: cannot create a tensor with negative dimension {D.as_int(d)}",
                      param="size")
    return Shape.of(d if d is not None else D.fresh("?") for d in dims)


def _size(call: RuleCall, name: str) -> Shape:
    return _shape(call, call.int_list(name), call.qualname.rsplit(".", 1)[-1])


def _given_size(call: RuleCall) -> tuple:
    """`*sizes`, or `size=` as torch also takes it: zeros(size=(2, 3)), x.new_empty(size=(2, 3))."""
    if call.is_none("size"):
        return call.int_list("sizes")
    if call.value("sizes").items or not isinstance(call.value("size"), (Seq, ListValue)):
        raise Unknowable("size")  # torch raises a TypeError here, not a shape error
    return call.int_list("size")


@function(
    *[f"torch.{n}" for n in _SIZE_FACTORIES],
    signature="*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, "
              "pin_memory=False, generator=None, memory_format=None",
    label="input",
    examples=[ex(2, 3, out=(2, 3)), ex((1, 3, 8, 8), out=(1, 3, 8, 8)), ex([], out=()), ex(2, -1, error=CALL_MISMATCH),
              ex(size=(2, 5), out=(2, 5))],
)
def factory(call: RuleCall):
    return _shape(call, _given_size(call), call.qualname.rsplit(".", 1)[-1])


@function(
    "torch.Tensor.new_empty", "torch.Tensor.new_zeros", "torch.Tensor.new_ones",
    signature="input, *sizes, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False",
    examples=[ex(T(2, 3), 4, 5, out=(4, 5)), ex(T(2, 3), (2, 1, 1), out=(2, 1, 1)), ex(T(2, 3), [], out=()),
              ex(T(2, 3), size=(7,), out=(7,)), ex(T(2, 3), 4, -1, error=CALL_MISMATCH)],
)
def new_factory(call: RuleCall):
    """A tensor of the given size, with the receiver's dtype and device: its shape is not the receiver's."""
    return factory(call)


@function(
    "torch.Tensor.new_full",
    signature="input, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False",
    examples=[ex(T(2, 3), (4, 1), 1.5, out=(4, 1)), ex(T(2, 3), (-4,), 1.5, error=CALL_MISMATCH)],
)
def new_full(call: RuleCall):
    if not isinstance(call.value("size"), (Seq, ListValue)):
        raise Unknowable("size")  # new_full(2, 1.5) is a TypeError in torch
    return _size(call, "size")


@function(
    "torch.Tensor.new_tensor",
    signature="input, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False",
    examples=[ex(T(2, 3), [[1, 2], [3, 4], [5, 6]], out=(3, 2)), ex(T(2, 3), 3.0, out=())],
)
def new_tensor(call: RuleCall):
    return from_data(call, call.value("data"))


@function(
    "torch.full",
    signature="size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="input",
    examples=[ex((2, 3), 7.0, out=(2, 3)), ex((-2, 3), 7.0, error=CALL_MISMATCH)],
)
def full(call: RuleCall):
    return _size(call, "size")


def _int_value(v: Value):
    """An int argument's python value; None when unknown or not an int."""
    return D.as_int(to_dim(v)) if not (isinstance(v, Const) and isinstance(v.value, bool)) else None


@function(
    "torch.randint",
    signature="*args, size=None, low=None, high=None, generator=None, out=None, dtype=None, layout=None, "
              "device=None, requires_grad=False",
    label="input",
    examples=[
        ex(0, 1000, (1, 10), out=(1, 10)),
        ex(5, (3, 4), out=(3, 4)),
        ex(0, 5, size=(2,), out=(2,)),
        ex(3, 3, (2,), error=CALL_MISMATCH),
    ],
)
def randint(call: RuleCall):
    args = list(call.value("args").items)
    low, high, size = call.value("low"), call.value("high"), call.value("size")
    given_size = not (isinstance(size, Const) and size.value is None)
    if not given_size and args:
        size = args.pop()
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if isinstance(high, Const) and high.value is None:
            high = args[0]
        else:
            low = args[0]
    elif args:
        raise Unknowable("args")
    if isinstance(low, Const) and low.value is None:
        low = Number(0)
    if not isinstance(size, (Seq, ListValue)):
        raise Unknowable("size")
    lo, hi = _int_value(low), _int_value(high)
    if lo is not None and hi is not None and lo >= hi:
        call.fail(_BAD_ARGUMENT, f"randint: low ({lo}) must be less than high ({hi})", param="high")
    return _shape(call, [to_dim(x) for x in size.items], "randint")


_RAGGED = object()


def _is_number(value) -> bool:
    return isinstance(value, Number) or (isinstance(value, Const) and isinstance(value.value, bool))


def _conforms(value, sizes) -> bool | None:
    """Whether nested lists hold exactly `sizes` (None when something in them is unknown)."""
    if not sizes:
        return True if _is_number(value) else (False if isinstance(value, (Seq, ListValue)) else None)
    if not isinstance(value, (Seq, ListValue)):
        return False if _is_number(value) else None
    if isinstance(value, ListValue) and value.uncertain:
        return None  # appended to on a path that may not run: its length is unknown
    if len(value.items) != sizes[0]:
        return False
    verdicts = [_conforms(v, sizes[1:]) for v in value.items]
    return False if False in verdicts else (None if None in verdicts else True)


def _nested_shape(value):
    """The shape torch gives nested lists of numbers: the lengths along the first elements; a list
    of dims, None when unknown, _RAGGED when torch refuses the data (sub-lists of other lengths,
    numbers mixed with lists). An empty result (a 0 in the sizes) is never checked."""
    sizes = []
    item = value
    while isinstance(item, (Seq, ListValue)):
        if isinstance(item, ListValue) and item.uncertain:
            return None  # appended to on a path that may not run (a loop of unknown length)
        sizes.append(len(item.items))
        if not item.items:
            return sizes
        item = item.items[0]
    if not _is_number(item):
        return None
    verdict = _conforms(value, sizes)
    return sizes if verdict else (_RAGGED if verdict is False else None)


def from_data(call: RuleCall, value) -> Shape:
    if isinstance(value, Tensor):
        return value.shape
    dims = _nested_shape(value)
    if dims is _RAGGED:
        call.fail(_BAD_ARGUMENT, f"{call.qualname.rsplit('.', 1)[-1]}: the nested sequences have different lengths",
                  param="data")
    if dims is None:
        raise Unknowable("data")
    return Shape.of(int(d) for d in dims)


@function(
    "torch.tensor", "torch.as_tensor",
    signature="data, *args, **kwargs",
    label="input",
    examples=[
        ex([[1, 2, 3], [4, 5, 6]], out=(2, 3)),
        ex([1.0, 2.0], out=(2,)),
        ex(3, out=()),
        ex([[1, 2], [3]], error=CALL_MISMATCH),
    ],
)
def tensor(call: RuleCall):
    return from_data(call, call.value("data"))


@function(
    "torch.Tensor", "torch.FloatTensor", "torch.LongTensor", "torch.DoubleTensor", "torch.IntTensor",
    "torch.BoolTensor",
    signature="*args, **kwargs",
    label="input",
    examples=[ex(2, 3, out=(2, 3)), ex([1.0, 2.0], out=(2,)), ex(out=(0,)), ex(2, -1, error=CALL_MISMATCH)],
)
def legacy_constructor(call: RuleCall):
    """torch.Tensor(2, 3) makes a (2, 3) tensor, torch.Tensor([2, 3]) a (2,) one."""
    args = list(call.value("args").items)
    if not args:
        return Shape.of([0])
    if len(args) == 1 and isinstance(args[0], (ListValue, Tensor)):
        return from_data(call, args[0])
    if all(isinstance(a, Number) for a in args):
        dims = [to_dim(a) for a in args]
        if any(d is None for d in dims):
            raise Unknowable("args")  # a float: torch refuses it
        return _shape(call, dims, call.qualname.rsplit(".", 1)[-1])
    raise Unknowable("args")  # a tuple may be data or a torch.Size


@function(
    "torch.zeros_like", "torch.ones_like", "torch.randn_like", "torch.rand_like", "torch.empty_like",
    "torch.full_like", "torch.randint_like",
    signature="input, *args, **kwargs",
    preserves_shape=True,
    examples=[ex(T(2, 5), out=(2, 5))],
)
def like(call: RuleCall):
    return call.shape("input")


def _scalar(call: RuleCall, name: str):
    """An int (python int, or a sympy expression when symbolic) or float argument; None if unknown."""
    v = call.value(name)
    if isinstance(v, Number):
        if isinstance(v.value, float):
            return v.value
        if D.is_integer_valued(v.value):
            return D.const(v.value)
    if isinstance(v, Const) and isinstance(v.value, bool):
        return int(v.value)
    return None


def _steps(call: RuleCall) -> Shape:
    """linspace/logspace: `steps` points, at least none."""
    value = call.value("steps")
    if not isinstance(value, Number) or isinstance(value.value, float):
        raise Unknowable("steps")  # a float or a tensor count: torch's TypeError or a 0-d tensor's value
    steps = call.dim("steps")
    if D.as_int(steps) is not None and D.as_int(steps) < 0:
        call.fail(_BAD_ARGUMENT, "linspace: number of steps must be non-negative", param="steps")
    return Shape.of([steps])


@function(
    "torch.linspace",
    signature="start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="linspace",
    examples=[ex(0, 1, 5, out=(5,)), ex(0.0, 0.3, 13, out=(13,)), ex(0, 1, 0, out=(0,)),
              ex(0, 1, -1, error=CALL_MISMATCH)],
)
def linspace(call: RuleCall):
    return _steps(call)


@function(
    "torch.logspace",
    signature="start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="logspace",
    examples=[ex(0, 2, 3, out=(3,)), ex(0, 1, 4, 2.0, out=(4,)), ex(0, 1, -2, error=CALL_MISMATCH)],
)
def logspace(call: RuleCall):
    return _steps(call)


@function(
    "torch.arange",
    signature="start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="arange",
    examples=[
        ex(10, out=(10,)),
        ex(2, 11, 3, out=(3,)),
        ex(0, 1, 0.1, out=(10,)),
        ex(5, 0, error=CALL_MISMATCH),
        ex(0, 5, 0, error=CALL_MISMATCH),
    ],
)
def arange(call: RuleCall):
    start, end, step = _scalar(call, "start"), _scalar(call, "end"), _scalar(call, "step")
    if call.is_none("end"):
        start, end = 0, start
    if start is None or end is None or step is None:
        raise Unknowable("start")
    values = (start, end, step)
    if all(isinstance(v, (int, float)) for v in values):
        if step == 0:
            call.fail(_BAD_ARGUMENT, "arange: step must be nonzero", param="step")
        if not ((step > 0 and end >= start) or (step < 0 and end <= start)):
            call.fail(_BAD_ARGUMENT, f"arange: the range from {start} to {end} runs against the step {step}")
        if all(isinstance(v, int) for v in values):
            return Shape.of([-(-(end - start) // step)])
        return Shape.of([math.ceil((end - start) / step)])  # torch computes it in double precision
    if step == 1 and not isinstance(start, float) and not isinstance(end, float):
        return Shape.of([D.expr(end) - start])
    raise Unknowable("step")


@function(
    "torch.eye",
    signature="n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="eye",
    examples=[ex(3, out=(3, 3)), ex(2, 4, out=(2, 4)), ex(0, out=(0, 0)), ex(-1, error=CALL_MISMATCH),
              ex(3, -2, error=CALL_MISMATCH)],
)
def eye(call: RuleCall):
    """An n×m identity (m defaults to n); a negative size is torch's RuntimeError."""
    for name in ("n", "m"):
        if call.is_none(name):
            continue
        if not isinstance(call.value(name), Number) or isinstance(call.value(name).value, float):
            raise Unknowable(name)  # a float or tensor size: torch's TypeError, not a shape
        size = D.as_int(call.dim(name))
        if size is not None and size < 0:
            call.fail(_BAD_ARGUMENT, f"eye: {name} must be greater or equal to 0, got {size}", param=name)
    n = call.dim("n")
    return Shape.of([n, n if call.is_none("m") else call.dim("m")])
