"""Element values of small tensors (symbolic/elements.py, analysis/tensor_values.py) against torch.

Every element shapels calls known must equal torch's float32 (or int) result exactly, and every element
it bounds must hold torch's result within its bounds. RegNet's widths, computed from tensor values,
are checked for every RegNet configuration torchvision ships, as whole programs."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapels.analysis.engine import Options, analyze
from shapels.analysis.tensor_values import scalar
from shapels.values import Number
from shapels.symbolic import dims as D
from shapels.symbolic import elements as E
from shapels.values import ListValue, Unknown

from conftest import driver_globals

torch = pytest.importorskip("torch")


def _contains(elements: E.Elements, values: list) -> None:
    assert len(elements.items) == len(values)
    for item, actual in zip(elements.items, values):
        if elements.is_float:
            lo, hi = item
            assert lo <= actual <= hi, (item, actual)
        else:
            assert item == actual


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_float32_rounding_matches_the_hardware_conversion(x):
    try:
        expected = struct.unpack("<f", struct.pack("<f", x))[0]  # round-to-nearest-even from the double
    except OverflowError:
        expected = math.copysign(math.inf, x)
    assert E.f32(x) == expected


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64), st.integers(-2 ** 60, 2 ** 60)))
def test_float32_rounding_of_a_double_or_int_agrees_with_the_exact_rational_one(x):
    """f32 rounds a double (or an int a double holds) by the hardware's conversion; a Fraction by exact
    arithmetic. The two agree, zero's sign included."""
    fast, exact = E.f32(x), E.f32(Fraction(x))
    assert fast == exact and math.copysign(1, fast) == math.copysign(1, exact)


FLOAT32S = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=1000, deadline=None)
@given(op=st.sampled_from(["add", "sub", "mul", "div"]), x=st.lists(FLOAT32S, min_size=2, max_size=2),
       y=st.lists(FLOAT32S, min_size=2, max_size=2))
def test_float32_operations_in_doubles_give_the_exact_bounds(op, x, y):
    """+ - * / of float32 bounds computed in doubles then rounded once more give the float32 bounds of
    the exact rational results (rounding twice is innocuous from 53 bits to 24)."""
    (x0, x1), (y0, y1) = sorted(x), sorted(y)
    got = E._float_op(op, (x0, x1), (y0, y1))
    fx, fy = (Fraction(x0), Fraction(x1)), (Fraction(y0), Fraction(y1))
    if op == "div" and y0 <= 0 <= y1:
        assert got is None
        return
    exact = {"add": lambda: [fx[0] + fy[0], fx[1] + fy[1]], "sub": lambda: [fx[0] - fy[1], fx[1] - fy[0]],
             "mul": lambda: [p * q for p in fx for q in fy], "div": lambda: [p / q for p in fx for q in fy]}[op]()
    lo, hi = E.f32(min(exact)), E.f32(max(exact))
    expected = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None
    assert got == expected


@given(st.floats(min_value=-2.0 ** 100, max_value=2.0 ** 100, allow_nan=False, width=32))
def test_float32_steps_are_the_neighbours(x):
    up, down = E.f32_up(x), E.f32_down(x)
    assert down < x < up
    assert E.f32((x + up) / 2) in (x, up) and E.f32((x + down) / 2) in (x, down)


SCALARS = st.one_of(st.integers(-50, 50), st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 2)))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 24), start=st.integers(-5, 5), a=SCALARS, b=SCALARS,
       ops=st.lists(st.sampled_from(["add", "sub", "mul", "div", "rsub", "rdiv"]), min_size=1, max_size=3))
def test_arithmetic_chains_match_torch(n, start, a, b, ops):
    """arange, then + - * / with python numbers: exact wherever torch's float32 ops are exact."""
    t = torch.arange(start, start + n)
    e = E.arange(start, start + n, 1)
    for op, k in zip(ops, [a, b, a]):
        if op in ("div", "rdiv") and (k == 0 or (op == "rdiv" and (t == 0).any())):
            continue
        t = {"add": lambda: t + k, "sub": lambda: t - k, "mul": lambda: t * k, "div": lambda: t / k,
             "rsub": lambda: k - t, "rdiv": lambda: k / t}[op]()
        if op == "rdiv":  # torch's Tensor.__rtruediv__ is `self.reciprocal() * other`
            e = E.binary("mul", E.binary("div", 1, e), k)
        else:
            e = E.binary("sub", k, e) if op == "rsub" else E.binary(op, e, k)
        if e is None:
            return
        assert e.dtype == str(t.dtype).replace("torch.", "")
    _contains(e, t.tolist())
    if e.is_float:
        assert all(lo == hi for lo, hi in e.items)  # + - * / are correctly rounded: always exact


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 32), w_0=st.integers(8, 400), w_a=st.floats(1, 200).map(lambda v: round(v, 2)),
       w_m=st.floats(1.05, 4).map(lambda v: round(v, 2)))
def test_log_round_pow_hold_torch_within_their_bounds(n, w_0, w_a, w_m):
    """RegNet's width formula, op by op: every bound holds torch's value, and a known element is exact."""
    steps_t, steps_e = [], []
    t = torch.arange(n) * w_a + w_0
    e = E.binary("add", E.binary("mul", E.arange(0, n, 1), w_a), w_0)
    for fn_t, fn_e in [
        (lambda x: torch.log(x / w_0), lambda x: E.log(E.binary("div", x, w_0))),
        (lambda x: x / math.log(w_m), lambda x: E.binary("div", x, math.log(w_m))),
        (torch.round, E.round_half_even),
        (lambda x: torch.pow(w_m, x), lambda x: E.pow_scalar_base(w_m, x)),
        (lambda x: torch.round(torch.divide(w_0 * x, 8)) * 8,
         lambda x: E.binary("mul", E.round_half_even(E.binary("div", E.binary("mul", w_0, x), 8)), 8)),
        (lambda x: x.int(), lambda x: E.to_dtype(x, "int32")),
    ]:
        t, e = fn_t(t), fn_e(e) if e is not None else None
        steps_t.append(t)
        steps_e.append(e)
    for t, e in zip(steps_t, steps_e):
        if e is not None:
            _contains(e, t.tolist())


@pytest.mark.parametrize("base, exponents", [(2.25, [0, 1, 2, 3]), (2.5, [1, 2, 3, 4]), (1.5, [0, 1, 2, 3, 4, 5]),
                                             (3.0, list(range(10))), (2.09, [0, 1, 2, 3])])
def test_pow_of_an_exactly_representable_power_is_exact_in_torch(base, exponents):
    """2.25 ** 2 = 5.0625 is a float32: shapels takes torch's pow to return it exactly (RegNet X's
    80 * 2.25 / 8 = 22.5 rounds to 22 only so); torch must agree, and an inexact power stays a range."""
    e = E.pow_scalar_base(base, E.to_dtype(E.Elements("int64", tuple(exponents)), "float32"))
    t = torch.pow(base, torch.tensor(exponents, dtype=torch.float32))
    _contains(e, t.tolist())
    for (lo, hi), k in zip(e.items, exponents):
        power = math.pow(E.f32(base), k)
        assert (lo == hi) == (E.f32(power) == power)


@pytest.mark.parametrize("expression", ["3 / t", "t / 3", "torch.div(3, t)", "t.__rtruediv__(3)", "2.5 - t",
                                        "torch.divide(t, 7) * 3", "(t + 0.1) * 3"])
def test_operators_through_the_interpreter_match_torch(expression):
    """`3 / t` is t.reciprocal() * 3 in torch (two roundings), torch.div(3, t) one division: the
    interpreter must tell them apart."""
    source = f"import torch\nt = torch.arange(5, 12)\nout = {expression}\nvalues = out.tolist()\n"
    scope: dict = {}
    exec(source, scope)
    values = driver_globals(source)["values"]
    assert [scalar(v) for v in values.items] == scope["values"]


def _followed(value):
    """A followed `.tolist()` / `.item()` result as Python numbers (None where one is not known)."""
    if isinstance(value, ListValue):
        return [_followed(v) for v in value.items]
    return scalar(value) if not isinstance(value, Unknown) else None


@pytest.mark.parametrize("expression", [
    "torch.arange(6, dtype=torch.float32).tolist()",
    "torch.arange(2, 9, 3, device='cpu', dtype=torch.int32).tolist()",
    "(torch.arange(13, device='cpu', dtype=torch.float32) * 36.44 + 24).tolist()",
    "torch.arange(5, dtype=torch.long).tolist()",
    "torch.tensor([8, 8, 8], device='cpu', dtype=torch.int32).tolist()",
    "torch.tensor([1, 2.5], dtype=torch.float32).tolist()",
    "torch.tensor([3, 1], dtype=torch.float).tolist()",
    "torch.tensor(7, dtype=torch.int64).item()",
    "torch.tensor([3, 1, 4, 1, 5]).max().item()",
    "torch.tensor([3, 1, 4, 1, 5]).min().item()",
    "torch.amax(torch.tensor([2.5, -1.0])).item()",
    "torch.max(torch.arange(4) * 0.1).item()",
    "torch.unique(torch.tensor([368, 24, 152, 24, 368])).tolist()",
    "torch.unique(torch.tensor([2.0, 0.5, 2.0])).tolist()",
    "[t.tolist() for t in torch.unique(torch.tensor([5, 3, 5, 5]), return_counts=True)]",
    "[t.tolist() for t in torch.unique(torch.tensor([5, 3, 5, 5]), return_inverse=True)]",
    "[t.tolist() for t in torch.tensor([5, 3, 5, 7]).unique(return_inverse=True, return_counts=True)]",
    "len(torch.unique(torch.round(torch.arange(8) * 0.4)))",
])
def test_dtypes_extremes_and_unique_values_match_torch(expression):
    """RegNet-style code (timm) builds its stage widths and depths from these."""
    source = f"import torch\nvalues = {expression}\n"
    scope: dict = {}
    exec(source, scope)
    assert _followed(driver_globals(source)["values"]) == scope["values"]


@pytest.mark.parametrize("expression", [
    "torch.tensor([2.7, 1.0], dtype=torch.int32).tolist()",  # a float straight to an int: not followed
    "torch.arange(4, dtype=torch.float16).tolist()",  # a dtype elements do not model
    "torch.unique(torch.tensor([3, 1]), sorted=False).tolist()",  # the order is not promised
    "torch.unique(torch.log(torch.arange(2, 5) * 1.0)).tolist()",  # logs known only to within a range
    "torch.tensor([3, 1, 4]).max(dim=0)[0].item()",  # along a dim: not followed
])
def test_values_that_are_not_followed_are_not_guessed(expression):
    source = f"import torch\nvalues = {expression}\n"
    followed = _followed(driver_globals(source)["values"])
    assert followed is None or isinstance(followed, list) and all(v is None for v in followed)


def test_an_unknown_unique_length_is_a_fresh_dim_of_rank_one():
    """Values unknown: torch.unique gives a 1-D tensor of a length nobody knows (no guess, no error)."""
    source = "import torch\nx = torch.randn(4, 3)\nu = torch.unique(x)\nn = u.shape[0]\nlinear = torch.nn.Linear(5, 2)\n"
    scope = driver_globals(source)
    assert scope["u"].shape.rank == 1 and D.free_symbols(scope["n"].value)


def test_diff_and_casts_match_torch():
    t = torch.tensor([0, 1, 4, 10, 16])
    e = E.from_python([0, 1, 4, 10, 16])
    _contains(E.diff(e), torch.diff(t).tolist())
    _contains(E.to_dtype(E.diff(e), "int32"), torch.diff(t).int().tolist())
    f = E.from_python([-2.7, -0.5, 0.5, 1.5, 2.5, 3.99])
    _contains(E.to_dtype(f, "int32"), torch.tensor([-2.7, -0.5, 0.5, 1.5, 2.5, 3.99]).int().tolist())
    _contains(E.round_half_even(f), torch.round(torch.tensor([-2.7, -0.5, 0.5, 1.5, 2.5, 3.99])).tolist())


def test_a_rounding_step_near_a_half_stays_unknown():
    """x / 3 * 3 around 2.5: if the bounds straddle the half, round() must not pick a side."""
    wide = E.Elements("float32", ((2.4999998, 2.5000002),))
    assert E.to_python(E.round_half_even(wide)) == [None]
    assert E.to_dtype(wide, "int32").items == (2,)  # truncation agrees on both bounds


# -- whole programs: RegNet's widths --------------------------------------------------------------
REGNET_PROGRAM = """
import math
import torch
import torch.nn as nn


def widths(depth, w_0, w_a, w_m):
    QUANT = 8
    widths_cont = torch.arange(depth) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), QUANT)) * QUANT).int().tolist()
    num_stages = len(set(block_widths))
    split_helper = zip(block_widths + [0], [0] + block_widths, block_widths + [0], [0] + block_widths)
    splits = [w != wp or r != rp for w, wp, r, rp in split_helper]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    stage_depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t])).int().tolist()
    return [num_stages] + stage_widths + stage_depths


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.sizes = widths({depth}, {w_0}, {w_a}, {w_m})

    def forward(self, x):
        return torch.empty([0] + self.sizes)  # the output's shape is the widths themselves


out = Net()(torch.randn(1, 3))
"""

# (depth, w_0, w_a, w_m) of every RegNet builder in torchvision 0.29.1
REGNET_CONFIGS = [
    (16, 48, 27.89, 2.09), (14, 56, 38.84, 2.4), (27, 48, 20.71, 2.65), (21, 80, 42.63, 2.66),
    (17, 192, 76.82, 2.19), (18, 200, 106.23, 2.48), (20, 232, 115.89, 2.53), (27, 456, 160.83, 2.52),
    (22, 24, 24.48, 2.54), (16, 56, 35.73, 2.28), (18, 80, 34.01, 2.25), (25, 88, 26.31, 2.25),
    (23, 80, 49.56, 2.88), (22, 216, 55.59, 2.1), (23, 320, 69.86, 2.0),
]


@pytest.mark.parametrize("config", REGNET_CONFIGS, ids=[f"d{c[0]}_w{c[1]}" for c in REGNET_CONFIGS])
def test_regnet_widths_are_known_and_equal_torchs(config):
    source = REGNET_PROGRAM.format(depth=config[0], w_0=config[1], w_a=config[2], w_m=config[3])
    scope: dict = {"__name__": "__main__"}
    exec(compile(source, "<regnet>", "exec"), scope)
    [net] = [m for m in analyze(source, "regnet.py", Options()).modules if m.name == "Net"]
    assert net.output.shape.show() == str(tuple(scope["out"].shape)).replace(",)", ")")


def _no_number_known(value) -> bool:
    """Unknown, or lists of unknowns (`.tolist()` of a tensor whose shape is known but not its values)."""
    if isinstance(value, ListValue):
        return all(_no_number_known(item) for item in value.items)
    return isinstance(value, Unknown)


def _numbers_known(value) -> bool:
    return isinstance(value, ListValue) and value.items and all(scalar(item) is not None for item in value.items)


@pytest.mark.parametrize("expression", [
    "torch.arange(4, dtype=torch.float64).int().tolist()",  # a float64 dtype: not followed
    "torch.arange(0.0, 1.0, 0.25).tolist()",  # a float range accumulates in double: not followed
    "[w for w, f in zip([8, 16], flags) if f]",  # which items the filter keeps is unknown
    "(torch.arange(3) * 2.5).round(decimals=1).tolist()",  # round to decimals: not followed
    "torch.add(torch.arange(3), 1, alpha=2).tolist()",  # alpha: not followed
])
def test_values_end_where_torch_is_not_followed(expression):
    """Values shapels does not follow stay unknown, never guessed (the same code without the
    unfollowed part is known, so each case tests exactly that part)."""
    source = f"import torch\nflags = unknown_flags()\nvalues = {expression}\n"
    assert _no_number_known(driver_globals(source)["values"])
    known = (expression.replace(", dtype=torch.float64", "").replace("0.0, 1.0, 0.25", "4").replace(", flags", ", [1, 0]")
             .replace("decimals=1", "").replace(", alpha=2", ""))
    assert _numbers_known(driver_globals(f"import torch\nvalues = {known}\n")["values"])


@pytest.mark.parametrize("write", [
    "t.add_(1)", "t += 1", "t[0] = 7", "t[1:3] = 0", "torch.add(t, 1, out=t)", "torch.nn.init.constant_(t, 3)",
    "unknown_helper(t)", "t.fill_(2)", "torch.relu(t, inplace=True)", "t.view(2, 2).add_(1)", "t[1:].mul_(2)",
    "t.long().add_(1)", "t.reshape(-1)[0] = 5",
])
def test_a_write_to_a_tensor_forgets_its_values_in_every_alias(write):
    """After anything that may write to t's memory, neither t nor an alias of it keeps stale values
    (torch shows the write through both)."""
    source = f"import torch\nt = torch.arange(4)\nalias = t\n{write}\nvalues = alias.tolist()\n"
    values = driver_globals(source)["values"]
    assert _no_number_known(values) and len(values.items) == 4  # the shape is still known
    untouched = driver_globals("import torch\nt = torch.arange(4)\nalias = t\nvalues = alias.tolist()\n")
    assert _numbers_known(untouched["values"])


NON_FINITE = """
import math
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("big", torch.tensor(float("inf")))
        self.low = torch.tensor([-math.inf, 0.5])
        widths = (torch.arange(3) * math.inf, torch.arange(3) + float("nan"), torch.tensor([1.5, 2.0]) / 0.0,
                  torch.tensor([1.5]) - math.inf, torch.tensor([1.5, 2.0]) * 1e308 * 1e308)
        self.n = len(widths)
    def forward(self, x):
        return self.fc(x).clamp(max=self.big)[:, :self.n]

out = Net()(torch.randn(2, 4))
"""


def test_infinite_and_nan_constants_leave_values_unknown_without_a_crash():
    """torch.tensor(float('inf')) and arithmetic with inf or nan: the float32 model of elements raised
    (Fraction of inf or nan), and `shapels check` stopped with an internal error."""
    scope = {"__name__": "__main__"}
    exec(compile(NON_FINITE, "<model>", "exec"), scope)
    result = analyze(NON_FINITE, "m.py", Options())
    assert [f.code for f in result.findings if f.severity in ("error", "warning")] == []
    [net] = [m for m in result.modules if m.name == "Net"]
    assert net.output.shape.show() == str(tuple(scope["out"].shape)) == "(2, 3)"


def test_float_values_are_followed_for_small_tensors_only():
    """Float elements cost an exact interval operation each: a 640-frequency timestep embedding would
    take seconds and decides no shape; int elements (sizes, indices) are followed further."""
    small = driver_globals("import torch\nvalues = (torch.arange(100) * 0.5).tolist()\n")["values"]
    assert isinstance(small.items[3], Number) and small.items[3].value == 1.5
    large = driver_globals("import torch\nvalues = (torch.arange(200) * 0.5).tolist()\n")["values"]
    assert len(large.items) == 200 and not isinstance(large.items[3], Number)
    ints = driver_globals("import torch\nvalues = (torch.arange(200) * 2).tolist()\n")["values"]
    assert int(ints.items[199].value) == 398
