"""nn.Linear, nn.Bilinear, nn.LazyLinear and F.linear: the last dim is the features dim."""

from __future__ import annotations

from shapels.codes import BILINEAR_IN_FEATURES, BROADCAST_MISMATCH, CALL_MISMATCH, LINEAR_IN_FEATURES
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.parameters import Parameter, Size
from shapels.rules.registry import Alternative, Functional, T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape


def _features(call: RuleCall, shape, expected, *, param: str, code: str, input_name: str, param_dim=None):
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
        param_dim=param_dim,
        message=lambda: (
            f"{layer_name(call)} expects {param}={D.show(expected)}, "
            f"but its input {shape.show()} has {D.show(last)} features"
        ),
    )


def _replace_features(shape: Shape, new: list) -> Shape:
    """The input shape with its last (features) dim replaced by `new` (0 or 1 dims)."""
    if not shape.dims:
        return Shape.suffix(new)  # an input of unknown rank: only the tail is known
    return shape.replace_tail(1, new)


@layer(
    "torch.nn.Linear",
    makes_width="out_features",
    init="in_features, out_features, bias=True, device=None, dtype=None",
    float_inputs=("input",),
    parameters=(Parameter("weight", (Size("out_features"), Size("in_features"))),
                Parameter("bias", (Size("out_features"),), present_if=("bias",))),
    functional=Functional("torch.nn.functional.linear", ("weight", "bias")),
    alternatives=(Alternative("torch.nn.LazyLinear", infers=("in_features",)),),
    examples=[
        ex(T(1, 1024), init=(1024, 128), out=(1, 128)),
        ex(T(2, 7, 16), init=(16, 4), out=(2, 7, 4)),
        ex(T(16), init=(16, 4), out=(4,)),
        ex(T(1, 5120), init=(1024, 128), error=LINEAR_IN_FEATURES),
        ex(T(), init=(1, 4), error=LINEAR_IN_FEATURES),
    ],
)
def linear(call: RuleCall):
    shape = call.shape("input")
    _features(call, shape, call.dim("in_features"), param="in_features", code=LINEAR_IN_FEATURES, input_name="input")
    return _replace_features(shape, [call.dim("out_features")])


@layer(
    "torch.nn.LazyLinear",
    makes_width="out_features",
    init="out_features, bias=True, device=None, dtype=None",
    float_inputs=("input",),
    examples=[ex(T(3, 99), init=(5,), out=(3, 5)), ex(T(), init=(5,), error=LINEAR_IN_FEATURES)],
)
def lazy_linear(call: RuleCall):
    shape = call.shape("input")
    if shape.ranked and shape.rank == 0:
        call.fail(LINEAR_IN_FEATURES, f"{layer_name(call)} needs at least 1-D input, got a 0-D tensor")
    return _replace_features(shape, [call.dim("out_features")])


@layer(
    "torch.nn.Bilinear",
    makes_width="out_features",
    init="in1_features, in2_features, out_features, bias=True, device=None, dtype=None",
    forward="input1, input2",
    float_inputs=("input1", "input2"),
    parameters=(Parameter("weight", (Size("out_features"), Size("in1_features"), Size("in2_features"))),
                Parameter("bias", (Size("out_features"),), present_if=("bias",))),
    examples=[
        ex(T(8, 20), T(8, 30), init=(20, 30, 40), out=(8, 40)),
        ex(T(20), T(30), init=(20, 30, 40), out=(40,)),
        ex(T(8, 20), T(8, 31), init=(20, 30, 40), error=BILINEAR_IN_FEATURES),
        ex(T(8, 20), T(4, 30), init=(20, 30, 40), error=CALL_MISMATCH),
    ],
)
def bilinear(call: RuleCall):
    a, b = call.shape("input1"), call.shape("input2")
    name = layer_name(call)
    # torch checks the ranks first, then the batch dims (equal, no broadcasting), then the features
    if a.ranked and b.ranked and a.rank != b.rank:
        call.fail(CALL_MISMATCH, f"{name}: its inputs must have the same rank, got {a.show()} and {b.show()}")
    for i in range(2, min(len(a.dims), len(b.dims)) + 1):
        x, y = a.dim(-i), b.dim(-i)
        if D.eq(x, y) is False:
            call.fail(
                CALL_MISMATCH,
                f"{name}: the batch dims of its inputs must match, got {a.show()} and {b.show()}",
            )
    _features(call, a, call.dim("in1_features"), param="in1_features", code=BILINEAR_IN_FEATURES, input_name="input1")
    _features(call, b, call.dim("in2_features"), param="in2_features", code=BILINEAR_IN_FEATURES, input_name="input2")
    if not a.ranked:
        if b.ranked:
            a = b
        elif len(b.dims) > len(a.dims):
            a = Shape.suffix(b.dims[: len(b.dims) - len(a.dims)] + a.dims) if a.dims else b
    return _replace_features(a, [call.dim("out_features")])


def _expands(bias: Shape, target: list):
    """Whether `bias` broadcasts to `target` unchanged: True, False, or None when unknown."""
    if bias.ranked and bias.rank > len(target):
        return False
    verdict = True
    for i in range(1, min(len(bias.dims), len(target)) + 1):
        b, t = bias.dim(-i), target[-i]
        ones, same = D.eq(b, 1), D.eq(b, t)
        if ones is False and same is False:
            return False
        if ones is not True and same is not True:
            verdict = None
    if not bias.ranked and verdict:
        return None  # more leading dims may follow
    return verdict


def _check_bias(call: RuleCall, shape: Shape, weight: Shape, bias: Shape, out: Shape) -> None:
    """Raise when torch's F.linear certainly rejects the bias.

    torch adds the bias in one of two ways: a fused addmm of the input flattened to (P, in), which
    needs a 2-D weight and a bias that expands to (P, out), or a matmul followed by an in-place add,
    which needs a bias that broadcasts to the output unchanged. A 2-D input always takes addmm; other
    inputs take it when the bias squeezes to 1-D and the input is contiguous (a layout we do not
    track, except that a tensor of all-1 dims is always contiguous), so there we report only what
    both ways reject.
    """
    if not shape.ranked or not out.ranked:
        return
    lead = D.dim_product(shape.dims[:-1])
    fused = False if weight.rank != 2 else _expands(bias, [lead, weight.dims[0]])
    plain = _expands(bias, list(out.dims))
    if shape.rank == 2:
        verdicts = [fused]
    else:
        squeezed = [D.eq(d, 1) for d in bias.dims] if bias.ranked else [None]
        if None in squeezed:
            fusable = None
        else:
            fusable = bias.rank == 1 or squeezed.count(False) == 1
        # a tensor whose dims are all 1 is always contiguous
        always_contiguous = all(D.eq(d, 1) is True for d in shape.dims)
        if fusable is False:
            verdicts = [plain]
        else:
            verdicts = [fused] if fusable and always_contiguous else [fused, plain]
    if all(v is False for v in verdicts):
        if weight.rank == 1 and plain is not False:
            message = "linear: with a bias, torch's fused addmm path needs a 2-D weight"
        else:
            message = f"linear: a bias of shape {bias.show()} cannot be added to an output of shape {out.show()}"
        call.fail(BROADCAST_MISMATCH, message, input_name="bias")


@function(
    "torch.nn.functional.linear",
    signature="input, weight, bias=None",
    examples=[
        ex(T(2, 5), T(3, 5), out=(2, 3)),
        ex(T(2, 5), T(3, 5), T(3), out=(2, 3)),
        ex(T(4, 5), T(5), out=(4,)),
        ex(T(2, 5), T(3, 4), error=LINEAR_IN_FEATURES),
        ex(T(2, 5), T(3, 5), T(2), error=BROADCAST_MISMATCH),
    ],
)
def f_linear(call: RuleCall):
    shape, weight = call.shape("input"), call.shape("weight")
    if weight.ranked and (weight.rank == 0 or weight.rank > 2):
        call.fail(LINEAR_IN_FEATURES, f"linear: the weight must be 1-D or 2-D, got {weight.show()}", input_name="weight")
    if not weight.ranked:
        raise Unknowable("weight")
    _features(call, shape, weight.dims[-1], param="weight", code=LINEAR_IN_FEATURES, input_name="input", param_dim=-1)
    out = _replace_features(shape, [weight.dims[0]] if weight.rank == 2 else [])
    if not call.is_none("bias"):
        _check_bias(call, shape, weight, call.shape("bias"), out)
    return out
