"""Memory strides against torch: the layout each tracked operation gives, and which views need a copy
(torch: "view size is not compatible with input tensor's size and stride")."""

from __future__ import annotations

import math
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import torch_error
from shapels.analysis.engine import Options, analyze
from shapels.symbolic import dims as D
from shapels.symbolic import strides
from shapels.symbolic.shape import Shape

torch = pytest.importorskip("torch")


def _shape(sizes) -> Shape:
    return Shape.of([D.const(s) for s in sizes])


def _factorizations(draw, total: int, rank: int) -> list:
    """A random list of `rank` positive sizes multiplying to `total` (rank 0 only for total 1)."""
    out = []
    for _ in range(rank - 1):
        divisors = [d for d in range(1, total + 1) if total % d == 0]
        d = draw(st.sampled_from(divisors))
        out.append(d)
        total //= d
    return out + [total] if rank else []


@st.composite
def chains(draw):
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    ops = []
    rank = len(sizes)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["transpose", "permute", "view", "reshape", "flatten", "t", "contiguous",
                                     "unsqueeze", "squeeze"]))
        if kind == "transpose":
            ops.append(("transpose", draw(st.integers(-rank, rank - 1)), draw(st.integers(-rank, rank - 1))))
        elif kind == "permute":
            ops.append(("permute", tuple(draw(st.permutations(range(rank))))))
        elif kind in ("view", "reshape"):
            new_rank = draw(st.integers(1, 4))
            ops.append((kind, tuple(_factorizations(draw, math.prod(sizes), new_rank))))
            rank = new_rank
        elif kind == "flatten":
            start = draw(st.integers(0, rank - 1))
            ops.append(("flatten", start))
            rank = start + 1
        elif kind == "t" and rank <= 2:
            ops.append(("t",))
        elif kind == "contiguous":
            ops.append(("contiguous",))
        elif kind == "unsqueeze" and rank < 5:
            ops.append(("unsqueeze", draw(st.integers(-rank - 1, rank))))
            rank += 1
        elif kind == "squeeze":
            op = ("squeeze",) if draw(st.booleans()) else ("squeeze", draw(st.integers(-rank, rank - 1)))
            ops.append(op)
            # which dims are 1 depends on the ops before: torch says what rank is left
            probe = torch.empty(sizes)
            for kind, *args in ops:
                probe = getattr(probe, kind)(*args) if kind != "view" else probe.reshape(*args)
            rank = probe.dim()
            if rank == 0:
                break
    return sizes, ops


QUALNAMES = {"transpose": "torch.Tensor.transpose", "permute": "torch.Tensor.permute", "view": "torch.Tensor.view",
             "reshape": "torch.Tensor.reshape", "flatten": "torch.Tensor.flatten", "t": "torch.Tensor.t",
             "contiguous": "torch.Tensor.contiguous", "unsqueeze": "torch.Tensor.unsqueeze",
             "squeeze": "torch.Tensor.squeeze"}


def _bound(op) -> dict:
    """What a rule binds each op's int arguments to, as strides.after reads them."""
    kind, *args = op
    if kind == "transpose":
        return {"dim0": (args[0],), "dim1": (args[1],)}
    if kind == "permute":
        return {"dims": tuple(args[0])}
    if kind in ("unsqueeze", "squeeze") and args:
        return {"dim": (args[0],)}
    return {}


def _same_layout(ours, theirs, sizes) -> bool:
    """Equal strides on every dim of size > 1 (a size-1 dim's stride never affects memory)."""
    return all(a == b for a, b, n in zip(ours, theirs, sizes) if n > 1)


@settings(max_examples=400, deadline=None, database=None)
@given(chains())
def test_tracked_strides_and_view_verdicts_match_torch(chain):
    sizes, ops = chain
    x = torch.empty(sizes)
    ours = strides.contiguous(_shape(sizes))
    assert _same_layout(ours, x.stride(), sizes)
    for op in ops:
        kind, *args = op
        before = _shape(x.shape)
        try:
            y = getattr(x, kind)(*args)
        except RuntimeError as error:
            if kind == "view" and "view size is not compatible" in str(error):
                assert strides.view_strides(tuple(x.shape), ours, args[0]) is None, (sizes, ops)
                return
            raise
        after = strides.after(QUALNAMES[kind], before, ours, lambda name: _bound(op).get(name), _shape(y.shape))
        assert after is not None, (sizes, ops, op)
        assert _same_layout(after, y.stride(), tuple(y.shape)), (sizes, ops, op, after, y.stride())
        x, ours = y, after


PROGRAM = """
import torch
import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
    def forward(self, x):
        x = x.transpose(1, 2)
        x = {flatten}
        return self.fc(x)
y = Net()(torch.randn(3, 2, 4))
"""


@pytest.mark.parametrize("flatten,code", [
    ("x.view(x.size(0), -1)", "view-stride"),  # (3, 4, 2) with strides (8, 1, 4): dims 1, 2 cannot merge
    ("x.reshape(x.size(0), -1)", None),
    ("x.contiguous().view(x.size(0), -1)", None),
    ("x.flatten(1)", None),
    ("x.view(3, 4, 2, 1).squeeze(-1).reshape(3, 8)", None),
    ("x.view(3, 2, 2, 2).reshape(3, 8)", None),  # splitting a dim in place is a view; reshape copies
    ("x.view(3, 2, 2, 2).view(3, 4, 2).view(3, 8)", "view-stride"),  # the last merge needs the copy
    # a layout shapels does not follow: channels_last memory makes this permuted view legal
    ("torch.empty(3, 4, 2, 1, memory_format=torch.channels_last).permute(0, 2, 3, 1).view(3, -1)", None),
])
def test_a_view_after_a_transpose_is_flagged_exactly_when_torch_refuses_it(flatten, code):
    source = textwrap.dedent(PROGRAM).replace("{flatten}", flatten)
    error = torch_error(source)
    findings = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    assert [f.code for f in findings] == ([code] if code else [])
    assert (error is not None and "view size is not compatible" in error) == (code == "view-stride")
    if code:
        assert source.splitlines()[findings[0].span.start_line - 1].strip().startswith("x = x.")


@pytest.mark.parametrize("flatten", ["x.view(x.size(0), -1)", "x.view(3, 2, 2, 2).view(3, 4, 2).view(3, 8)"])
def test_the_view_stride_fix_rewrites_view_to_reshape_and_the_model_runs(flatten):
    source = textwrap.dedent(PROGRAM).replace("{flatten}", flatten)
    [finding] = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    fix = finding.fix
    assert fix is not None and fix.content == "reshape" and fix.message.startswith("Use .reshape")
    line = source.splitlines()[fix.span.start_line - 1]
    assert line[fix.span.start_col:fix.span.end_col] == "view"
    fixed = source.splitlines(True)
    i = fix.span.start_line - 1
    fixed[i] = fixed[i][: fix.span.start_col] + "reshape" + fixed[i][fix.span.end_col:]
    fixed = "".join(fixed)
    assert torch_error(fixed) is None  # the rewritten file runs under torch
    assert [f for f in analyze(fixed, "m.py", Options()).findings if f.severity in ("error", "warning")] == []
