"""Known element values of small tensors, as torch computes them on the CPU.

Model code sometimes computes layer widths from tensor values: RegNet takes
`torch.arange(16) * 27.89 + 48`, then log, round, pow and `.int().tolist()`. Following those values
lets the widths, and every shape after them, be known.

Integer elements are exact Python ints. A float32 element is an interval (lo, hi) of float32 numbers
(held as Python floats) that contains torch's result:
- `+ - * /` are correctly rounded in IEEE float32, so exact inputs give an exact result (rounded here
  from the exact rational, ties to even);
- `log` and `pow` are accurate to about an ulp in torch (SLEEF u10, glibc), so their bounds widen by
  MARGIN_ULPS float32 steps on each side of the true value;
- a rounding step (`round`, `.int()`) keeps an element known only when both bounds agree.
Anything else gives None: values unknown, never guessed.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Union

MAX_ELEMENTS = 1024
# Float elements are exact-rational intervals (~0.1-0.4 ms an operation): a timestep embedding's 640
# frequencies cost seconds and decide no shape. Widths and drop rates that do are a few dozen long.
MAX_FLOAT_ELEMENTS = 128
MARGIN_ULPS = 2
INT_DTYPES = ("int64", "int32")
FLOAT32 = "float32"
_INT_RANGE = {"int64": 2 ** 63, "int32": 2 ** 31}
_F32_MAX = math.ldexp(2 ** 24 - 1, 104)

Scalar = Union[int, float]


@dataclass(frozen=True)
class Elements:
    """The values of a 0-d or 1-d tensor: ints for an integer dtype, (lo, hi) float32 bounds for float32."""

    dtype: str
    items: tuple
    ndim: int = 1

    @property
    def is_float(self) -> bool:
        return self.dtype == FLOAT32


# -- float32 arithmetic ----------------------------------------------------------------------------
_FLOAT32 = struct.Struct("<f")
_EXACT_INT = 2 ** 53  # ints up to this size are doubles exactly


def _rounded_double(x: float) -> float:
    """The float32 nearest to a finite double, ties to even: the C cast struct makes, one IEEE rounding
    (what the exact computation below gives for a double, at a fraction of its cost)."""
    try:
        return _FLOAT32.unpack(_FLOAT32.pack(x))[0]
    except OverflowError:  # rounds beyond the largest float32
        return math.copysign(math.inf, x)


def f32(x: Union[int, float, Fraction]) -> float:
    """The float32 nearest to x, ties to even (what a correctly rounded float32 operation gives)."""
    kind = type(x)
    if kind is float or kind is int and -_EXACT_INT <= x <= _EXACT_INT:
        if kind is float and not math.isfinite(x):
            return x  # inf and nan are float32 values too; callers drop elements that are not finite
        return _rounded_double(float(x)) if x != 0 else 0.0  # a double: one rounding
    q = Fraction(x)
    if q == 0:
        return 0.0
    sign = -1.0 if q < 0 else 1.0
    q = abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()  # 2**(e - 1) < q < 2**(e + 1)
    if Fraction(2) ** e > q:
        e -= 1
    e = max(e, -126)  # subnormals share the smallest exponent
    m = round(q / Fraction(2) ** (e - 23))  # a 24-bit significand, ties to even
    value = math.ldexp(m, e - 23) if e < 1000 else math.inf
    return sign * (value if value <= _F32_MAX else math.inf)


def _bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _from_bits(b: int) -> float:
    return struct.unpack("<f", struct.pack("<I", b))[0]


def f32_up(x: float) -> float:
    """The next float32 above the float32 x."""
    if x == 0:
        return math.ldexp(1, -149)
    if x < 0:
        return -f32_down(-x)
    return _from_bits(_bits(x) + 1) if x < _F32_MAX else math.inf


def f32_down(x: float) -> float:
    if x == 0:
        return -math.ldexp(1, -149)
    if x < 0:
        return -f32_up(-x)
    return _from_bits(_bits(x) - 1)


def _widened(low: float, high: float) -> Optional[tuple]:
    """Float32 bounds around the real interval [low, high] (computed in double), MARGIN_ULPS wider on
    each side: the room for torch's own last-ulp error and for the double's."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    lo, hi = f32(low), f32(high)
    for _ in range(MARGIN_ULPS + 1):
        lo, hi = f32_down(lo), f32_up(hi)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def _point(v: Scalar) -> tuple:
    """A number as a float32 element: the float32 nearest to it, exactly (what torch's cast gives)."""
    x = f32(v)
    return (x, x)


def _exact_bounds(values: list) -> Optional[tuple]:
    """The float32 interval holding correctly rounded results whose exact values are `values`."""
    lo, hi = f32(min(values)), f32(max(values))
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


# -- construction ----------------------------------------------------------------------------------
def from_python(values: list, ndim: int = 1) -> Optional[Elements]:
    """torch.tensor(values): ints give int64, any float gives float32 (bools are not followed)."""
    if len(values) > MAX_ELEMENTS or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        return None
    if all(isinstance(v, int) for v in values):
        if any(abs(v) >= _INT_RANGE["int64"] for v in values):
            return None
        return Elements("int64", tuple(values), ndim)
    if not all(math.isfinite(v) for v in values) or len(values) > MAX_FLOAT_ELEMENTS:
        return None  # torch.tensor(float('inf')): not followed (and Fraction(inf) does not exist)
    items = tuple(_point(v) for v in values)
    if not all(math.isfinite(lo) for lo, _ in items):
        return None
    return Elements(FLOAT32, items, ndim)


def arange(start: int, end: int, step: int) -> Optional[Elements]:
    """torch.arange with int arguments: an int64 tensor."""
    if step == 0:
        return None
    values = range(start, end, step)
    return Elements("int64", tuple(values)) if len(values) <= MAX_ELEMENTS else None


# -- conversion ------------------------------------------------------------------------------------
def _as_float_bounds(e: Elements) -> list:
    return _float_operands(e, list(e.items))


def to_dtype(e: Elements, dtype: str) -> Optional[Elements]:
    """.float() / .int() / .long(): a float becomes an int by truncation toward zero, as C casts do."""
    if dtype == e.dtype:
        return e
    if dtype == FLOAT32:
        return Elements(FLOAT32, tuple(_as_float_bounds(e)), e.ndim) if len(e.items) <= MAX_FLOAT_ELEMENTS else None
    if dtype not in INT_DTYPES:
        return None
    limit = _INT_RANGE[dtype]
    out = []
    for item in e.items:
        if e.is_float:
            lo, hi = math.trunc(item[0]), math.trunc(item[1])
            if lo != hi:
                return None
            item = lo
        if not -limit <= item < limit:
            return None  # out of range: torch wraps or is undefined
        out.append(item)
    return Elements(dtype, tuple(out), e.ndim)


def to_python(e: Elements) -> list:
    """`.tolist()`: ints, floats, or None for a float element not known exactly."""
    if not e.is_float:
        return list(e.items)
    return [lo if lo == hi else None for lo, hi in e.items]


# -- operations ------------------------------------------------------------------------------------
def _promote(a: Union[Elements, Scalar], b: Union[Elements, Scalar], true_divide: bool) -> Optional[str]:
    """torch's result dtype for a tensor op (a python scalar takes the tensor's category unless it is a
    float next to an integer tensor); the default float dtype is float32."""
    kinds = []
    for x in (a, b):
        if isinstance(x, Elements):
            kinds.append(x.dtype)
        elif isinstance(x, bool):
            return None
        elif isinstance(x, int):
            kinds.append("int-scalar")
        elif isinstance(x, float):
            kinds.append("float-scalar")
        else:
            return None
    if FLOAT32 in kinds or "float-scalar" in kinds or true_divide:
        return FLOAT32
    tensors = [k for k in kinds if k in INT_DTYPES]
    return "int64" if "int64" in tensors else tensors[0]


def _broadcast_items(a, b) -> Optional[tuple]:
    """Both operands as equal-length item lists (a scalar or a single element repeats), and the ndim."""
    def items(x):
        return list(x.items) if isinstance(x, Elements) else None

    xa, xb = items(a), items(b)
    ndim = max(x.ndim for x in (a, b) if isinstance(x, Elements))
    n = max(len(x) for x in (xa, xb) if x is not None)
    out = []
    for x, raw in ((xa, a), (xb, b)):
        if x is None:
            x = [raw] * n
        elif len(x) == 1 and n != 1:
            x = x * n
        elif len(x) != n:
            return None
        out.append(x)
    return out[0], out[1], ndim


_INT_OPS: dict = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y}


def binary(op: str, a: Union[Elements, Scalar], b: Union[Elements, Scalar]) -> Optional[Elements]:
    """a <op> b for op in add, sub, mul, div (true division), elementwise with broadcasting."""
    dtype = _promote(a, b, op == "div")
    paired = _broadcast_items(a, b)
    if dtype is None or paired is None:
        return None
    xs, ys, ndim = paired
    if dtype in INT_DTYPES:
        fn = _INT_OPS.get(op)
        if fn is None:
            return None
        out = [fn(x, y) for x, y in zip(xs, ys)]
        if any(not -_INT_RANGE[dtype] <= v < _INT_RANGE[dtype] for v in out):
            return None
        return Elements(dtype, tuple(out), ndim)
    if len(xs) > MAX_FLOAT_ELEMENTS:
        return None
    out = []
    for x, y in zip(_float_operands(a, xs), _float_operands(b, ys)):
        bounds = _float_op(op, x, y)
        if bounds is None:
            return None
        out.append(bounds)
    return Elements(FLOAT32, tuple(out), ndim)


def _float_operands(source, items: list) -> list:
    """Items as float32 bounds: a scalar or an integer element is first cast to float32, as torch does."""
    if isinstance(source, Elements) and source.is_float:
        return items
    return [_point(v) for v in items]


def _float_op(op: str, x: tuple, y: tuple) -> Optional[tuple]:
    (x0, x1), (y0, y1) = x, y
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        return None
    if all(_rounded_double(v) == v for v in (x0, x1, y0, y1)):
        return _float32_op(op, x0, x1, y0, y1)
    fx = (Fraction(x0), Fraction(x1))
    fy = (Fraction(y0), Fraction(y1))
    if op == "add":
        return _exact_bounds([fx[0] + fy[0], fx[1] + fy[1]])
    if op == "sub":
        return _exact_bounds([fx[0] - fy[1], fx[1] - fy[0]])
    if op == "mul":
        return _exact_bounds([p * q for p in fx for q in fy])
    if op == "div":
        if y0 <= 0 <= y1:
            return None
        return _exact_bounds([p / q for p in fx for q in fy])
    return None


def _float32_op(op: str, x0: float, x1: float, y0: float, y1: float) -> Optional[tuple]:
    """_float_op of float32 operands, in doubles: the double result of + - * / of two float32s, rounded
    to float32, is the float32 rounding of the exact result (a 53-bit format is at least 2 * 24 + 2 bits
    wide, so rounding twice is innocuous: Figueroa 1995), and rounding keeps the order, so the bounds
    are those of the exact rationals (tests compare the two)."""
    if op == "add":
        return _exact_bounds([x0 + y0, x1 + y1])
    if op == "sub":
        return _exact_bounds([x0 - y1, x1 - y0])
    if op == "mul":
        return _exact_bounds([x0 * y0, x0 * y1, x1 * y0, x1 * y1])
    if op == "div":
        if y0 <= 0 <= y1:
            return None
        return _exact_bounds([x0 / y0, x0 / y1, x1 / y0, x1 / y1])
    return None


def log(e: Elements) -> Optional[Elements]:
    out = []
    for lo, hi in _as_float_bounds(e):
        if lo <= 0:
            return None
        if lo == hi == 1.0:
            out.append((0.0, 0.0))  # log(1) is 0 exactly: the one float32 input with an exact log
            continue
        bounds = _widened(math.log(lo), math.log(hi))
        if bounds is None:
            return None
        out.append(bounds)
    return Elements(FLOAT32, tuple(out), e.ndim)


def pow_scalar_base(base: Scalar, e: Elements) -> Optional[Elements]:
    """torch.pow(base, tensor) with a python number base: float32(base) ** each element."""
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        return None
    b = f32(base)
    if not (math.isfinite(b) and b > 0):
        return None
    out = []
    for lo, hi in _as_float_bounds(e):
        exact = _exact_power(b, lo) if lo == hi else None
        if exact is not None:
            out.append((exact, exact))
            continue
        try:
            ends = (math.pow(b, lo), math.pow(b, hi))
        except OverflowError:
            return None
        bounds = _widened(min(ends), max(ends))  # monotonic in the exponent, either way
        if bounds is None:
            return None
        out.append(bounds)
    return Elements(FLOAT32, tuple(out), e.ndim)


def _exact_power(base: float, exponent: float) -> Optional[float]:
    """base ** exponent when that is a float32 exactly (2.25 ** 2 = 5.0625): a pow accurate to within
    an ulp can only return it, so torch's result is known exactly (tests check this against torch)."""
    if exponent != int(exponent) or not 0 <= exponent <= 64:
        return None
    value = Fraction(base) ** int(exponent)
    rounded = f32(value)
    return rounded if math.isfinite(rounded) and Fraction(rounded) == value else None


def round_half_even(e: Elements) -> Elements:
    """torch.round: to the nearest integer, halves to even (as Python's round)."""
    if not e.is_float:
        return e
    return Elements(FLOAT32, tuple((float(round(lo)), float(round(hi))) for lo, hi in e.items), e.ndim)


def diff(e: Elements) -> Optional[Elements]:
    """torch.diff of a 1-d tensor (n=1): each element minus the one before."""
    if e.ndim != 1 or not e.items:
        return None
    pairs = list(zip(e.items[1:], e.items[:-1]))
    if not e.is_float:
        return Elements(e.dtype, tuple(x - y for x, y in pairs))
    out = [_float_op("sub", x, y) for x, y in pairs]
    return None if None in out else Elements(FLOAT32, tuple(out))


UNARY: dict[str, Callable[[Elements], Optional[Elements]]] = {
    "log": log,
    "round": round_half_even,
    "diff": diff,
    "float": lambda e: to_dtype(e, FLOAT32),
    "int": lambda e: to_dtype(e, "int32"),
    "long": lambda e: to_dtype(e, "int64"),
}
