"""nn.Linear, nn.Bilinear, nn.LazyLinear and F.linear: the last dim is the features dim."""

from __future__ import annotations

from shapels.rules.base import RuleCall, layer_name
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D


def _features(call: RuleCall, shape, expected, *, param: str, code: str, input_name: str):
    if shape.ranked and shape.rank == 0:
        call.fail(code, f"{layer_name(call)} needs at least 1-D input, got a 0-D tensor", input_name=input_name)
    last = shape.dim(-1)
    if last is None:
        return
    call.expect(
        last,
        expected,
        code=code,
        param=param,
        fix=last,
        input_name=input_name,
        message=(
            f"{layer_name(call)} expects {param}={D.show(expected)}, "
            f"but its input {shape.show()} has {D.show(last)} features"
        ),
    )


@layer(
    "torch.nn.Linear",
    init="in_features, out_features, bias=True, device=None, dtype=None",
    examples=[
        ex(T(1, 1024), init=(1024, 128), out=(1, 128)),
        ex(T(2, 7, 16), init=(16, 4), out=(2, 7, 4)),
        ex(T(16), init=(16, 4), out=(4,)),
        ex(T(1, 5120), init=(1024, 128), error="linear-in-features"),
    ],
)
def linear(call: RuleCall):
    shape = call.shape("input")
    _features(call, shape, call.dim("in_features"), param="in_features", code="linear-in-features", input_name="input")
    if shape.dim(-1) is None and not shape.dims:
        return shape.suffix([call.dim("out_features")])
    return shape.replace_tail(1, [call.dim("out_features")])


@layer(
    "torch.nn.LazyLinear",
    init="out_features, bias=True, device=None, dtype=None",
    examples=[ex(T(3, 99), init=(5,), out=(3, 5))],
)
def lazy_linear(call: RuleCall):
    shape = call.shape("input")
    if not shape.dims:
        return shape.suffix([call.dim("out_features")])
    return shape.replace_tail(1, [call.dim("out_features")])


@layer(
    "torch.nn.Bilinear",
    init="in1_features, in2_features, out_features, bias=True, device=None, dtype=None",
    forward="input1, input2",
    examples=[
        ex(T(8, 20), T(8, 30), init=(20, 30, 40), out=(8, 40)),
        ex(T(8, 20), T(8, 31), init=(20, 30, 40), error="bilinear-in-features"),
    ],
)
def bilinear(call: RuleCall):
    a, b = call.shape("input1"), call.shape("input2")
    _features(call, a, call.dim("in1_features"), param="in1_features", code="bilinear-in-features", input_name="input1")
    _features(call, b, call.dim("in2_features"), param="in2_features", code="bilinear-in-features", input_name="input2")
    if not a.ranked:
        return None
    return a.replace_tail(1, [call.dim("out_features")])


@function(
    "torch.nn.functional.linear",
    signature="input, weight, bias=None",
    label="linear",
    examples=[ex(T(2, 5), T(3, 5), out=(2, 3)), ex(T(2, 5), T(3, 4), error="linear-in-features")],
)
def f_linear(call: RuleCall):
    shape, weight = call.shape("input"), call.shape("weight")
    if weight.ranked and weight.rank == 2:
        _features(call, shape, weight.dims[1], param="weight", code="linear-in-features", input_name="input")
        if shape.dims:
            return shape.replace_tail(1, [weight.dims[0]])
    return None
