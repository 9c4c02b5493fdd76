"""einops rules (rules/einops_patterns.py) against the real einops on torch tensors.

Hypothesis writes valid patterns (axes split into groups, an ellipsis, unit axes, lengths given for
all but one axis of each group) and shapes that mostly fit them: sometimes a dim is off by one (a
length that does not divide, or differs from a given one) or the rank is wrong. The rule's output,
or its error, must be einops'.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import _core_harness as H  # noqa: E402  (tests/rules is on sys.path: pytest's rootdir import mode)
from shapels.rules.base import Unknowable
from shapels.rules.einops_patterns import transform
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

pytest.importorskip("einops")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

EXAMPLES = int(os.environ.get("SHAPELS_DIFF_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _groups(draw, names: list) -> list:
    """Split names, in order, into runs of 1-3 (a run of one is written bare or as `(a)`)."""
    out, i = [], 0
    while i < len(names):
        k = draw(st.integers(1, min(3, len(names) - i)))
        out.append(names[i:i + k])
        i += k
    return out


def _written(group: list, bracket: bool) -> str:
    """One element as written: `(a b)`, or a single axis bare or as `(a)`."""
    return f"({' '.join(group)})" if len(group) != 1 or bracket else group[0]


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["rearrange", "reduce", "repeat"]))
    names = list(draw(st.permutations("abcdef")))[:draw(st.integers(1, 5))]
    sizes = {n: draw(st.integers(1, 4)) for n in names}
    left_names = names if kind != "repeat" else names[:draw(st.integers(1, len(names)))]
    right_names = list(draw(st.permutations(names)))
    if kind == "reduce":
        right_names = right_names[:draw(st.integers(0, len(names)))]
    left = _groups(draw, left_names)
    right = _groups(draw, right_names)
    left_parts = [_written(g, draw(st.booleans())) for g in left]
    right_parts = [_written(g, draw(st.booleans())) for g in right]
    for _ in range(draw(st.integers(0, 1))):  # unit axes on the right
        right_parts.insert(draw(st.integers(0, len(right_parts))), draw(st.sampled_from(["1", "()"])))
    ellipsis = draw(st.booleans())
    dims = []
    for group in left:
        size = 1
        for n in group:
            size *= sizes[n]
        dims.append(size)
    if ellipsis:
        at = draw(st.integers(0, len(left)))
        extra = draw(st.lists(st.integers(1, 3), max_size=2))
        left_parts.insert(at, "...")
        dims[at:at] = extra
        right_parts.insert(draw(st.integers(0, len(right_parts))), draw(st.sampled_from(["...", "(...)"])))
    lengths = {}
    for group in left:
        unknown = draw(st.sampled_from(group)) if len(group) > 1 or draw(st.booleans()) else None
        for n in group:
            if n != unknown:
                lengths[n] = sizes[n]
    for n in set(right_names) - set(left_names):
        lengths[n] = sizes[n]  # repeat's new axes
    corrupt = draw(st.sampled_from(["none", "none", "none", "dim", "length", "rank"]))
    if corrupt == "dim" and dims:
        i = draw(st.integers(0, len(dims) - 1))
        dims[i] += 1
    elif corrupt == "length" and lengths:
        axis = draw(st.sampled_from(sorted(lengths)))
        lengths[axis] += 1
    elif corrupt == "rank":
        dims = dims + [2] if draw(st.booleans()) or not dims else dims[:-1]
    pattern = f"{' '.join(left_parts)} -> {' '.join(right_parts)}"
    return kind, tuple(dims), pattern, lengths


@SETTINGS
@given(cases())
def test_einops_functions_against_einops(case):
    kind, dims, pattern, lengths = case
    args = (H.T(*dims), pattern) + (("sum",) if kind == "reduce" else ())
    H.differential(f"einops.{kind}", *args, **lengths)


@SETTINGS
@given(cases())
def test_einops_layers_against_einops(case):
    kind, dims, pattern, lengths = case
    assume(kind != "repeat")  # einops has no Repeat layer
    name = {"rearrange": "Rearrange", "reduce": "Reduce"}[kind]
    init = (pattern,) + (("max",) if kind == "reduce" else ())
    H.differential(f"einops.layers.torch.{name}", H.T(*dims), init=init, init_kwargs=lengths,
                   torch_errors=H.TORCH_ERRORS + (KeyError,))


# -- symbolic sizes (rule only) -------------------------------------------------------------------
B, N, C = D.symbol("B"), D.symbol("N"), D.symbol("C")


class _Call:
    """The part of RuleCall the transform uses to report: a failure raises."""

    def fail(self, code, message, **kw):
        raise AssertionError(f"{code}: {message}")


def test_symbolic_dims_flow_through_a_pattern():
    out = transform(_Call(), "rearrange", Shape.of([B, 3, 4 * N, 4 * N]), "b c (h p1) (w p2) -> b (h w) (p1 p2 c)",
                    {"p1": 4, "p2": 4})
    assert out == Shape.of([B, N * N, 48])


def test_a_split_that_may_not_divide_is_unknown_not_an_error():
    with pytest.raises(Unknowable):
        transform(_Call(), "rearrange", Shape.of([B, N]), "b (h d) -> b h d", {"h": 3})
