"""Differential tests: the core shape rules against real torch (CPU) on small concrete configurations.

Every configuration is concrete, so the rule and torch must agree exactly: the same output shape,
or torch raises (RuntimeError/ValueError/IndexError/AssertionError, at construction or call) and the
rule raises ShapeError. Hypothesis generates the configurations; each test keeps tensors tiny.
Two outcomes depend on state that a call does not show, and the tests say so where they meet it:
F.linear's bias (torch's fused path is taken for contiguous inputs only) and the feature dropouts'
rank checks (training mode only). Torch runs with oneDNN off (see _core_harness.run_torch).
"""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _core_harness as H  # tests/rules is on sys.path: pytest's rootdir import mode
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
T = H.T
check = H.differential

# SHAPELS_DIFF_EXAMPLES=2000 for a deeper run
EXAMPLES = int(os.environ.get("SHAPELS_DIFF_EXAMPLES", "50"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small = st.integers(1, 4)


def dims(min_rank=0, max_rank=4, lo=1, hi=4):
    return st.lists(st.integers(lo, hi), min_size=min_rank, max_size=max_rank).map(tuple)


def int_or_tuple(draw, n, values):
    """kernel_size=3 or (3, 2): an int, or a tuple of n ints (sometimes all equal)."""
    if n == 1 and draw(st.booleans()):
        return draw(values)
    if draw(st.booleans()):
        return draw(values)
    return tuple(draw(values) for _ in range(n))


def maybe_mismatch(draw, value, lo=1, hi=6):
    """Usually `value`, sometimes a random int (which may or may not equal it)."""
    return value if draw(st.integers(0, 3)) else draw(st.integers(lo, hi))


# -- linear --------------------------------------------------------------------------------
@SETTINGS
@given(st.data())
def test_linear(data):
    draw = data.draw
    in_f, out_f = draw(small), draw(small)
    lead = draw(dims(0, 3, 1, 3))
    shape = () if draw(st.integers(0, 15)) == 0 else lead + (maybe_mismatch(draw, in_f),)
    check("torch.nn.Linear", T(*shape), init=(in_f, out_f), init_kwargs={"bias": draw(st.booleans())})


@SETTINGS
@given(st.data())
def test_lazy_linear(data):
    draw = data.draw
    shape = draw(dims(0, 4))
    check("torch.nn.LazyLinear", T(*shape), init=(draw(small),))


@SETTINGS
@given(st.data())
def test_bilinear(data):
    draw = data.draw
    in1, in2, out = draw(small), draw(small), draw(small)
    lead = draw(dims(0, 2, 1, 3))
    lead2 = lead if draw(st.integers(0, 2)) else draw(dims(0, 2, 1, 3))
    a = lead + (maybe_mismatch(draw, in1),) if draw(st.integers(0, 10)) else ()
    b = lead2 + (maybe_mismatch(draw, in2),)
    check("torch.nn.Bilinear", T(*a), T(*b), init=(in1, in2, out))


def _non_contiguous(shape):
    """A tensor of `shape` whose last dim has stride 2 (not contiguous unless all dims are 1)."""
    return torch.randn(tuple(shape) + (2,))[..., 0]


@SETTINGS
@given(st.data())
def test_functional_linear(data):
    """F.linear adds the bias by a fused addmm for contiguous inputs and by an in-place add otherwise,
    and the two accept different biases. The rule sees no layout: where the layouts agree it must
    agree with torch; where they differ it must not report an error."""
    draw = data.draw
    in_f, out_f = draw(small), draw(small)
    x = draw(dims(0, 3, 1, 3)) + (maybe_mismatch(draw, in_f),) if draw(st.integers(0, 10)) else ()
    weight = draw(st.sampled_from([(out_f, in_f), (out_f, in_f), (in_f,), (), (maybe_mismatch(draw, out_f), in_f, 2)]))
    bias = draw(st.sampled_from([None, (out_f,), (maybe_mismatch(draw, out_f),), (1,), (), (1, out_f), (2, 1), (out_f, 1)]))
    args = (T(*x), T(*weight)) + ((T(*bias),) if bias is not None else ())
    example = H.Example(args)
    got = H.run_rule(H.REGISTRY["torch.nn.functional.linear"], "torch.nn.functional.linear", example)
    outcomes = set()
    for layout in (torch.randn, _non_contiguous):  # (all-1 dims: both are contiguous)
        tensors = [layout(tuple(x))] + [torch.randn(t.dims) for t in args[1:]]
        try:
            outcomes.add(tuple(torch.nn.functional.linear(*tensors).shape))
        except H.TORCH_ERRORS as error:
            outcomes.add(H.Raised(type(error).__name__, str(error)))
    raised = [o for o in outcomes if isinstance(o, H.Raised)]
    shapes = [o for o in outcomes if not isinstance(o, H.Raised)]
    where = H.describe("torch.nn.functional.linear", example)
    if not shapes:
        assert isinstance(got, H.Raised), f"{where}\n  torch raised {raised}\n  rule gave {got!r}"
    else:
        assert got == shapes[0], f"{where}\n  torch gave {outcomes}\n  rule gave {got!r}"


# -- convolutions ----------------------------------------------------------------------------
@st.composite
def conv_configs(draw, transposed: bool):
    n = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_ch = groups * draw(st.integers(1, 2)) if draw(st.integers(0, 5)) else draw(st.integers(1, 6))
    out_ch = groups * draw(st.integers(1, 2)) if draw(st.integers(0, 5)) else draw(st.integers(1, 6))
    kernel = int_or_tuple(draw, n, st.integers(1, 4))
    init_kwargs = {"groups": groups}
    stride = int_or_tuple(draw, n, st.integers(1, 3)) if draw(st.booleans()) else 1
    if stride != 1:
        init_kwargs["stride"] = stride
    if draw(st.booleans()):
        init_kwargs["dilation"] = int_or_tuple(draw, n, st.integers(1, 2))
    if transposed:
        if draw(st.booleans()):
            init_kwargs["padding"] = int_or_tuple(draw, n, st.integers(0, 2))
        if draw(st.booleans()):
            init_kwargs["output_padding"] = int_or_tuple(draw, n, st.integers(0, 2))
    else:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            init_kwargs["padding"] = "same"
        elif choice == 1:
            init_kwargs["padding"] = "valid"
        elif choice in (2, 3):
            init_kwargs["padding"] = int_or_tuple(draw, n, st.integers(0, 2))
        if draw(st.integers(0, 4)) == 0:
            init_kwargs["padding_mode"] = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    max_size = 9 if n < 3 else 5
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(n))
    channels = maybe_mismatch(draw, in_ch)
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 2)),) if batched else ()) + (channels,) + spatial
    if draw(st.integers(0, 15)) == 0:
        shape = shape[: draw(st.integers(0, len(shape) - 1))] if draw(st.booleans()) else (1,) + shape
        if not batched:
            shape = (1, 1) + shape
    return n, (in_ch, out_ch, kernel), init_kwargs, shape


@SETTINGS
@given(conv_configs(transposed=False))
def test_conv(config):
    n, init, init_kwargs, shape = config
    check(f"torch.nn.Conv{n}d", T(*shape), init=init, init_kwargs=init_kwargs)


@SETTINGS
@given(conv_configs(transposed=True), st.data())
def test_conv_transpose(config, data):
    n, init, init_kwargs, shape = config
    kwargs = {}
    if data.draw(st.integers(0, 3)) == 0:
        # output_size= picks the output padding; it may carry the batch and channel dims too
        size = [data.draw(st.integers(1, 12)) for _ in range(n)]
        if data.draw(st.booleans()):
            size = list(shape[: len(shape) - n]) + size
        kwargs["output_size"] = size
    check(f"torch.nn.ConvTranspose{n}d", T(*shape), init=init, init_kwargs=init_kwargs, **kwargs)


# -- pooling ---------------------------------------------------------------------------------
@st.composite
def pool_configs(draw):
    n = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["Max", "Avg"]))
    kernel = int_or_tuple(draw, n, st.integers(1, 4))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["stride"] = int_or_tuple(draw, n, st.integers(1, 3)) if draw(st.integers(0, 3)) else None
    if draw(st.booleans()):
        kwargs["padding"] = int_or_tuple(draw, n, st.integers(0, 2))
    if kind == "Max" and draw(st.booleans()):
        kwargs["dilation"] = int_or_tuple(draw, n, st.integers(1, 2))
    if draw(st.booleans()):
        kwargs["ceil_mode"] = True
    if kind == "Avg" and draw(st.booleans()):
        kwargs["count_include_pad"] = False
    if kind == "Max" and draw(st.integers(0, 3)) == 0:
        kwargs["return_indices"] = True
    max_size = 10 if n < 3 else 6
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2)))) + tuple(
        draw(st.integers(1, max_size)) for _ in range(n)
    )
    if draw(st.integers(0, 15)) == 0:
        shape = shape[1:] if draw(st.booleans()) else (1, 1) + shape
    return n, kind, kernel, kwargs, shape


@SETTINGS
@given(pool_configs())
def test_pool_layer(config):
    n, kind, kernel, kwargs, shape = config
    check(f"torch.nn.{kind}Pool{n}d", T(*shape), init=(kernel,), init_kwargs=kwargs)


@SETTINGS
@given(pool_configs())
def test_pool_functional(config):
    n, kind, kernel, kwargs, shape = config
    check(f"torch.nn.functional.{kind.lower()}_pool{n}d", T(*shape), kernel, **kwargs)


@st.composite
def adaptive_configs(draw):
    n = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["Max", "Avg"]))
    entry = st.integers(1, 6)
    if n == 1 or draw(st.booleans()):
        size = draw(entry) if draw(st.booleans()) or n == 1 else (draw(entry),)
    else:
        size = tuple(draw(st.one_of(entry, st.none())) for _ in range(n))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))) + tuple(
        draw(st.integers(1, 8)) for _ in range(n)
    )
    if draw(st.integers(0, 15)) == 0:
        shape = (1, 1, 1) + shape
    if n == 1 and isinstance(size, int) and draw(st.booleans()):
        size = (size,)
    return n, kind, size, shape, kind == "Max" and draw(st.booleans())


@SETTINGS
@given(adaptive_configs())
def test_adaptive_pool_layer(config):
    n, kind, size, shape, indices = config
    init_kwargs = {"return_indices": True} if indices else {}
    check(f"torch.nn.Adaptive{kind}Pool{n}d", T(*shape), init=(size,), init_kwargs=init_kwargs)


@SETTINGS
@given(adaptive_configs())
def test_adaptive_pool_functional(config):
    n, kind, size, shape, indices = config
    kwargs = {"return_indices": True} if indices else {}
    check(f"torch.nn.functional.adaptive_{kind.lower()}_pool{n}d", T(*shape), size, **kwargs)


# -- view / reshape / flatten ------------------------------------------------------------------
def _factor(draw, total: int) -> list:
    """A random factorisation of total into 0..4 factors (1 is allowed)."""
    factors = []
    while total > 1 and len(factors) < 3:
        divisors = [d for d in range(1, total + 1) if total % d == 0]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        total //= d
    factors.append(total)
    return [f for f in factors if f != 1 or draw(st.booleans())]


@st.composite
def reshape_requests(draw):
    shape = draw(dims(0, 4))
    total = 1
    for d in shape:
        total *= d
    if draw(st.integers(0, 4)) == 0:
        request = list(draw(dims(0, 4)))
    else:
        request = _factor(draw, total)
    choice = draw(st.integers(0, 6))
    if request and choice <= 2:
        request[draw(st.integers(0, len(request) - 1))] = -1
    elif request and choice == 3:
        request[draw(st.integers(0, len(request) - 1))] = draw(st.sampled_from([-1, -2, 0]))
        request[draw(st.integers(0, len(request) - 1))] = -1
    return shape, request


@SETTINGS
@given(reshape_requests(), st.sampled_from(["view", "reshape"]), st.integers(0, 2))
def test_view_reshape(request, method, style):
    shape, wanted = request
    if style == 0 and wanted:
        check(f"torch.Tensor.{method}", T(*shape), *wanted)
    elif style == 1:
        check(f"torch.Tensor.{method}", T(*shape), tuple(wanted))
    else:
        check("torch.reshape", T(*shape), tuple(wanted))


@SETTINGS
@given(dims(0, 4), st.integers(-5, 4), st.integers(-5, 4), st.sampled_from(["torch.flatten", "torch.Tensor.flatten", "nn"]))
def test_flatten(shape, start, end, how):
    if how == "nn":
        check("torch.nn.Flatten", T(*shape), init=(start, end))
    else:
        check(how, T(*shape), start, end)


@SETTINGS
@given(dims(0, 3), st.integers(1, 4))
def test_flatten_defaults(shape, which):
    if which == 1:
        check("torch.nn.Flatten", T(*shape))
    elif which == 2:
        check("torch.flatten", T(*shape))
    else:
        check("torch.flatten", T(*shape), 1)


@st.composite
def unflatten_configs(draw):
    shape = draw(dims(1, 3, 1, 6))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    target = shape[dim] if -len(shape) <= dim < len(shape) else draw(st.integers(1, 6))
    sizes = _factor(draw, target) if draw(st.integers(0, 4)) else list(draw(dims(0, 3, 1, 4)))
    if sizes and draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    if sizes and draw(st.integers(0, 6)) == 0:
        sizes[draw(st.integers(0, len(sizes) - 1))] = draw(st.sampled_from([-1, -2]))
    return shape, dim, tuple(sizes)


@SETTINGS
@given(unflatten_configs(), st.sampled_from(["torch.unflatten", "torch.Tensor.unflatten", "nn"]))
def test_unflatten(config, how):
    shape, dim, sizes = config
    if how == "nn":
        check("torch.nn.Unflatten", T(*shape), init=(dim, sizes))
    else:
        check(how, T(*shape), dim, sizes)


@SETTINGS
@given(dims(0, 4), st.one_of(st.none(), st.integers(-5, 4)), st.sampled_from(["size", "dim", "numel"]))
def test_size_dim_numel(shape, dim, what):
    if what == "size":
        if dim is None:
            check("torch.Tensor.size", T(*shape))
        else:
            check("torch.Tensor.size", T(*shape), dim)
    else:
        check(f"torch.Tensor.{what}", T(*shape))


# -- elementwise broadcasting ------------------------------------------------------------------
@st.composite
def broadcast_pairs(draw):
    a = draw(dims(0, 4))
    if draw(st.integers(0, 3)):
        # derive a compatible b: drop leading dims, set some dims to 1, blow some 1s up
        b = list(a[draw(st.integers(0, len(a))):])
        b = [1 if draw(st.integers(0, 3)) == 0 else d for d in b]
        b = [draw(st.integers(2, 4)) if d == 1 and draw(st.integers(0, 3)) == 0 else d for d in b]
        b = list(draw(dims(0, 1))) + b
        b = tuple(b)
    else:
        b = draw(dims(0, 4))
    return (a, b) if draw(st.booleans()) else (b, a)


_OPS = ["torch.add", "torch.sub", "torch.mul", "torch.div", "torch.maximum", "torch.atan2", "torch.eq", "torch.lt",
        "torch.logical_and", "torch.hypot", "torch.remainder", "torch.pow", "torch.Tensor.add", "torch.Tensor.mul",
        "torch.Tensor.__add__", "torch.Tensor.__rsub__", "torch.Tensor.__truediv__", "torch.Tensor.__ge__"]
_INPLACE = ["torch.Tensor.add_", "torch.Tensor.mul_", "torch.Tensor.__iadd__", "torch.Tensor.__imul__", "torch.Tensor.div_"]


@SETTINGS
@given(broadcast_pairs(), st.sampled_from(_OPS + _INPLACE), st.integers(0, 7))
def test_broadcast(pair, op, scalar):
    a, b = pair
    if scalar == 0 and op not in ("torch.maximum", "torch.atan2", "torch.hypot", "torch.logical_and"):
        check(op, T(*a), 2)
    else:
        check(op, T(*a), T(*b))


@SETTINGS
@given(broadcast_pairs(), st.sampled_from(["torch.bitwise_and", "torch.Tensor.__and__", "torch.Tensor.__or__"]))
def test_broadcast_integer_ops(pair, op):
    a, b = pair
    check(op, T(*a, dtype="long"), T(*b, dtype="long"))


@SETTINGS
@given(broadcast_pairs(), dims(0, 2), st.integers(0, 3))
def test_where(pair, cond, scalars):
    a, b = pair
    other = 0.0 if scalars == 0 else T(*b)
    check("torch.where", T(*cond, dtype="bool"), T(*a), other)


@SETTINGS
@given(dims(0, 3))
def test_where_single_argument(shape):
    example = H.Example((T(*shape, dtype="bool"),))
    expected = H.run_torch("torch.where", False, example)
    out = H.run_rule(H.REGISTRY["torch.where"], "torch.where", example)
    # one 1-D index tensor per dim (at least one), each of a data-dependent length
    assert isinstance(out, tuple) and len(out) == len(expected), (expected, out)
    for item in out:
        assert isinstance(item, H.Opaque) and item.what.ranked and len(item.what.dims) == 1, out


# -- embedding -------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(2, 6), st.integers(1, 4), dims(0, 3), st.one_of(st.none(), st.integers(-8, 8)))
def test_embedding(num, dim, shape, padding_idx):
    check("torch.nn.Embedding", T(*shape, dtype="long"), init=(num, dim), init_kwargs={"padding_idx": padding_idx})


@SETTINGS
@given(dims(0, 3), dims(1, 3, 2, 4), st.one_of(st.none(), st.integers(-5, 5)))
def test_functional_embedding(shape, weight, padding_idx):
    check("torch.nn.functional.embedding", T(*shape, dtype="long"), T(*weight), padding_idx=padding_idx)


# -- activations, softmax, masked_fill -------------------------------------------------------
@SETTINGS
@given(dims(0, 4), st.one_of(st.none(), st.integers(-5, 4)), st.sampled_from(
    ["torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax"]))
def test_softmax(shape, dim, how):
    if how.startswith("torch.nn.") and how[9].isupper():
        check(how, T(*shape), init=(dim,))
    elif dim is None and how == "torch.nn.functional.softmax":
        check(how, T(*shape))
    else:
        check(how, T(*shape), dim if dim is not None else -1)


@SETTINGS
@given(dims(0, 5), st.sampled_from(["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout", "ReLU",
                                    "GELU", "Tanh", "Identity"]), st.sampled_from([0.0, 0.5, 1.5]))
def test_shape_preserving_layers(shape, name, p):
    if "Dropout" in name and name not in ("Dropout", "Dropout1d") and p > 0:
        # the feature dropouts refuse inputs with too few dims only in training mode, which a module
        # call does not show; the rule never reports that, so compare with p=0 (no dropping)
        p = 0.0 if len(shape) < 2 else p
    if "Dropout" in name:
        check(f"torch.nn.{name}", T(*shape), init=(p,))
    else:
        check(f"torch.nn.{name}", T(*shape))


@SETTINGS
@given(dims(0, 5), st.sampled_from("isnan isinf isfinite isneginf isposinf isreal signbit logical_not".split()),
       st.booleans())
def test_elementwise_predicates(shape, name, as_method):
    check(f"torch.Tensor.{name}" if as_method else f"torch.{name}", T(*shape))


@SETTINGS
@given(dims(0, 5), st.sampled_from(["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                    "feature_alpha_dropout", "relu", "gelu", "silu"]),
       st.sampled_from([None, 0.0, 0.5, 1.5]), st.one_of(st.none(), st.booleans()))
def test_shape_preserving_functions(shape, name, p, training):
    kwargs = {}
    if "dropout" in name:
        if p is not None:
            kwargs["p"] = p
        if training is not None:
            kwargs["training"] = training
    check(f"torch.nn.functional.{name}", T(*shape), **kwargs)


@SETTINGS
@given(dims(0, 4), st.integers(1, 4), st.booleans())
def test_prelu(shape, num, as_layer):
    if as_layer:
        check("torch.nn.PReLU", T(*shape), init=(num,))
    else:
        check("torch.nn.functional.prelu", T(*shape), T(num))


@SETTINGS
@given(broadcast_pairs(), st.sampled_from(["torch.Tensor.masked_fill", "torch.Tensor.masked_fill_", "torch.masked_fill"]))
def test_masked_fill(pair, how):
    a, b = pair
    check(how, T(*a), T(*b, dtype="bool"), 0.0)


@SETTINGS
@given(broadcast_pairs(), st.sampled_from(["torch.clamp", "torch.Tensor.clamp", "torch.Tensor.clamp_", "torch.clip"]),
       st.booleans())
def test_clamp(pair, how, tensor_bound):
    a, b = pair
    check(how, T(*a), min=T(*b) if tensor_bound else 0.0)


# -- creation --------------------------------------------------------------------------------
@SETTINGS
@given(dims(0, 4, -1, 3), st.sampled_from(["randn", "rand", "zeros", "ones", "empty"]), st.integers(0, 2))
def test_factories(size, name, style):
    if style == 0 and size:
        check(f"torch.{name}", *size)
    elif style == 1:
        check(f"torch.{name}", tuple(size))
    else:
        check(f"torch.{name}", list(size))


@SETTINGS
@given(dims(0, 3, -1, 3), st.integers(0, 3))
def test_full_and_tensor_constructors(size, which):
    if which == 0:
        check("torch.full", tuple(size), 1.5)
    elif which == 1:
        check("torch.Tensor", *size)
    elif which == 2:
        check("torch.FloatTensor", *size)
    elif size:
        check("torch.empty", *size, dtype=None)


@SETTINGS
@given(st.integers(-2, 4), st.integers(-2, 6), dims(0, 3, 0, 3), st.integers(0, 2))
def test_randint(low, high, size, style):
    if style == 0:
        check("torch.randint", high, tuple(size))
    elif style == 1:
        check("torch.randint", low, high, tuple(size))
    else:
        check("torch.randint", low, high, size=tuple(size))


def _nested(draw, depth):
    if depth == 0:
        return draw(st.sampled_from([1, 2.5, True]))
    n = draw(st.integers(0, 3))
    if draw(st.integers(0, 5)) == 0:
        return [_nested(draw, draw(st.integers(0, depth - 1))) for _ in range(n)]  # maybe ragged
    shape_depth = depth - 1
    item = lambda: _nested_regular(draw, shape_depth, template)  # noqa: E731
    template = [draw(st.integers(0, 3)) for _ in range(shape_depth)]
    return [item() for _ in range(n)]


def _nested_regular(draw, depth, template):
    if depth == 0:
        return draw(st.sampled_from([1, 2.5, False]))
    return [_nested_regular(draw, depth - 1, template[1:]) for _ in range(template[0])]


@SETTINGS
@given(st.data(), st.sampled_from(["torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor"]))
def test_tensor_from_data(data, how):
    value = _nested(data.draw, data.draw(st.integers(0, 3)))
    if how in ("torch.Tensor", "torch.FloatTensor") and not isinstance(value, list):
        value = [value]
    # numbers mixed with lists: torch refuses them with a TypeError
    check(how, value, torch_errors=H.TORCH_ERRORS + (TypeError,))


@SETTINGS
@given(st.integers(-4, 6), st.one_of(st.none(), st.integers(-4, 8)), st.one_of(st.none(), st.integers(-3, 3)),
       st.booleans())
def test_arange(start, end, step, floats):
    if floats:
        start, end = start / 2, (end / 4 if end is not None else None)
        step = step * 0.3 if step is not None else None
    if end is None:
        check("torch.arange", start)
    elif step is None:
        check("torch.arange", start, end)
    else:
        check("torch.arange", start, end, step)


@SETTINGS
@given(dims(0, 3), st.sampled_from(["torch.zeros_like", "torch.ones_like", "torch.randn_like", "torch.empty_like"]))
def test_like(shape, how):
    check(how, T(*shape))
