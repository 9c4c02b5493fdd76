"""Where a call's arguments were written (`param_locs`, `Layer.arg_locs`) is worked out only when a
finding reads it (calls.ArgumentLocs). Read late, it must say what the eager trace said: through a
constructor that passes its parameters on, to the literal its caller wrote."""

from __future__ import annotations

import libcst as cst

from shapels.analysis import calls
from shapels.analysis.engine import analyze
from shapels.analysis.frame import Frame

PROGRAM = '''import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        assert dim % heads == 0
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        return self.proj(x)

class Stage(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.block = Block(width, heads)

    def forward(self, x):
        return self.block(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage = Stage(30, HEADS)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.stage(x))

Net()(torch.randn(2, 30))
'''


def _findings(heads: int) -> list:
    return analyze(PROGRAM.replace("HEADS", str(heads)), "model.py").findings


def test_a_failing_assert_two_constructors_down_is_shown_at_the_call_that_wrote_the_sizes():
    [finding] = _findings(4)
    assert "dim % heads == 0" in finding.message
    assert (finding.span.start_line, finding.span.start_col, finding.span.end_col) == (24, 21, 33)  # Stage(30, 4)


def test_a_layer_argument_passed_down_two_constructors_is_fixed_where_the_caller_wrote_it():
    [finding] = _findings(5)
    assert finding.code == "linear-in-features"
    producer = finding.producer  # proj = nn.Linear(dim, dim): its out_features is Stage(30, 5)'s 30
    assert producer.message == "Set proj's out_features to 32"
    assert (producer.span.start_line, producer.span.start_col, producer.span.end_col) == (24, 27, 29)


def test_late_locations_are_the_eager_ones_through_the_callers_own():
    module = cst.parse_module("def f(a, b):\n    c = a\n    g(c, b, 3)\n\nf(x, 2)\n")
    outer_call = module.body[1].body[0].value
    function = module.body[0]
    inner_call = function.body.body[1].body[0].value
    top = Frame(module.body[1], {"x": None})
    written = calls.argument_nodes(["a", "b"], outer_call)
    inner = Frame(function, {})
    inner.param_locs = calls.ArgumentLocs(["a", "b"], outer_call, top)
    late = calls.ArgumentLocs(["p", "q", "r"], inner_call, inner)
    eager_inner = Frame(function, inner.env, param_locs=calls.argument_locs(written, top))
    eager = calls.argument_locs(calls.argument_nodes(["p", "q", "r"], inner_call), eager_inner)
    assert dict(late) == eager
    assert late["p"].node is outer_call.args[0].value  # `c`, only another name for `a`: the caller's `x`
    assert late["r"].node is inner_call.args[2].value and late["r"].env is inner.env
