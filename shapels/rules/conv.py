"""Conv1d/2d/3d and ConvTranspose1d/2d/3d: (N, C_in, *spatial) -> (N, C_out, *spatial').

Constructor arguments that torch rejects when the layer is built (groups that do not divide the
channels, padding='same' with a stride, an unknown padding string or padding_mode) are reported
when the layer is called, blamed on the offending argument.
"""

from __future__ import annotations

from shapels.codes import CALL_MISMATCH, CONV_INPUT_RANK, CONV_IN_CHANNELS, CONV_KERNEL_TOO_LARGE
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.common import check_spatial_rank, conv_out, conv_transpose_out
from shapels.rules.parameters import Parameter, Size, Sizes, StoredTuple
from shapels.rules.registry import Functional, T, Window, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

_CONV_INIT = (
    "in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, "
    "padding_mode='zeros', device=None, dtype=None"
)
_TRANSPOSE_INIT = (
    "in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, "
    "dilation=1, padding_mode='zeros', device=None, dtype=None"
)
_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
# No code in the catalogue names "an argument torch rejects"; call-mismatch is the nearest.
_BAD_ARGUMENT = CALL_MISMATCH


def _conv_parameters(n: int, transposed: bool) -> tuple:
    """(out, in / groups, *kernel) for a convolution's weight, (in, out / groups, *kernel) for a
    transposed one's; a bias of out_channels."""
    lead, split = ("in_channels", "out_channels") if transposed else ("out_channels", "in_channels")
    return (Parameter("weight", (Size(lead), Size(split, divided_by="groups"), Sizes("kernel_size", n))),
            Parameter("bias", (Size("out_channels"),), present_if=("bias",)))


def _conv_tuples(n: int, transposed: bool) -> tuple:
    """What a convolution keeps as a tuple of one int per spatial dim, whatever int it was given."""
    names = ("kernel_size", "stride", "padding", "dilation") + (("output_padding",) if transposed else ())
    return tuple(StoredTuple(name, n) for name in names)


def _known(call: RuleCall, name: str, n: int):
    """An int-or-tuple argument as n Dims, or None when it is not known."""
    try:
        return call.dims(name, n)
    except Unknowable:
        return None


def _const(call: RuleCall, name: str):
    try:
        return call.const(name)
    except Unknowable:
        return None


def _below(value, bound) -> bool:
    """value < bound, known for certain."""
    if type(value) is int and type(bound) is int:  # the common case, without as_int's two calls
        return value < bound
    v, b = D.as_int(value), D.as_int(bound)
    return v is not None and b is not None and v < b


def _check_config(call: RuleCall, n: int, transposed: bool) -> None:
    """What torch checks in the constructor, and the argument ranges its functional form checks."""
    name = layer_name(call)
    groups = call.dim_or_none("groups")
    if groups is not None and _below(groups, 1):
        call.fail(_BAD_ARGUMENT, f"{name}: groups must be a positive integer, got {D.show(groups)}", param="groups")
    if groups is not None:
        for which in ("in_channels", "out_channels"):
            channels = call.dim_or_none(which)
            if channels is not None and D.divides(groups, channels) is False:
                call.fail(
                    CONV_IN_CHANNELS,
                    f"{name}: {which}={D.show(channels)} is not divisible by groups={D.show(groups)}",
                    param="groups",
                )
    padding = _const(call, "padding")
    if isinstance(padding, str):
        if transposed or padding not in ("same", "valid"):
            call.fail(_BAD_ARGUMENT, f"{name}: padding={padding!r} is not supported (use an int or a tuple)"
                      if transposed else f"{name}: invalid padding string {padding!r}, should be 'same' or 'valid'",
                      param="padding")
        stride = _known(call, "stride", n)
        if padding == "same" and stride is not None and any(D.eq(s, 1) is False for s in stride):
            call.fail(_BAD_ARGUMENT, f"{name}: padding='same' is not supported for strided convolutions", param="padding")
    else:
        for p in _known(call, "padding", n) or ():
            if _below(p, 0):
                call.fail(_BAD_ARGUMENT, f"{name}: negative padding {D.show(p)} is not supported", param="padding")
    mode = _const(call, "padding_mode")
    if isinstance(mode, str) and (mode not in _PADDING_MODES or (transposed and mode != "zeros")):
        allowed = "'zeros'" if transposed else "'zeros', 'reflect', 'replicate' or 'circular'"
        call.fail(_BAD_ARGUMENT, f"{name}: padding_mode={mode!r} is not supported, use {allowed}", param="padding_mode")
    for param in ("stride", "dilation"):
        for v in _known(call, param, n) or ():
            if _below(v, 1):
                call.fail(_BAD_ARGUMENT, f"{name}: {param} must be positive, got {D.show(v)}", param=param)


def _check_channels(call: RuleCall, shape: Shape, n: int) -> None:
    check_spatial_rank(call, shape, n, layer_name(call))
    channels = shape.dim(-(n + 1))
    expected = call.dim("in_channels")
    if channels is not None:
        call.expect(
            channels,
            expected,
            code=CONV_IN_CHANNELS,
            param="in_channels",
            fix=channels,
            input_name="input",
            message=lambda: (
                f"{layer_name(call)} expects in_channels={D.show(expected)}, "
                f"but its input {shape.show()} has {D.show(channels)} channels"
            ),
        )


def _spatial(shape: Shape, n: int):
    """The input's spatial dims, or fresh symbols when the input's rank is unknown."""
    dims = [shape.dim(-n + i) for i in range(n)]
    return [d if d is not None else D.fresh("?") for d in dims]


def _finish(call: RuleCall, shape: Shape, n: int, spatial_out, transposed: bool = False) -> Shape:
    for size in spatial_out:
        if D.as_int(size) is not None and D.as_int(size) < 1:
            if transposed:
                message = (f"{layer_name(call)}: for input {shape.show()} the output size would be {D.show(size)}; "
                           f"the padding is too large")
            else:
                message = (f"{layer_name(call)}: the padded input {shape.show()} is smaller than the kernel "
                           f"(output size would be {D.show(size)})")
            call.fail(CONV_KERNEL_TOO_LARGE, message)
    tail = [call.dim("out_channels"), *spatial_out]
    if shape.ranked:
        return Shape.of(list(shape.dims[: shape.rank - (n + 1)]) + tail)
    return Shape.suffix(tail)


def _check_pad_mode(call: RuleCall, shape: Shape, mode: str, spatial, pads) -> None:
    """padding_mode != 'zeros' pads the input with F.pad first: reflect needs each pad < the dim,
    circular needs each pad <= the dim."""
    for size, (left, right) in zip(spatial, pads):
        for p in (left, right):
            p_int, size_int = D.as_int(p), D.as_int(size)
            if p_int is None or size_int is None:
                continue
            if (mode == "reflect" and p_int >= size_int) or (mode == "circular" and p_int > size_int):
                need = "larger than" if mode == "reflect" else "at least"
                call.fail(
                    CONV_KERNEL_TOO_LARGE,
                    f"{layer_name(call)}: padding {p_int} with padding_mode={mode!r} needs each padded dim of the "
                    f"input to be {need} the padding, got {shape.show()}",
                    param="padding",
                )


def _conv(n: int):
    def rule(call: RuleCall):
        _check_config(call, n, transposed=False)
        shape = call.shape("input")
        _check_channels(call, shape, n)
        kernel = call.dims("kernel_size", n)
        stride = call.dims("stride", n)
        dilation = call.dims("dilation", n)
        spatial = _spatial(shape, n)
        padding = _const(call, "padding")
        if padding == "same":
            totals = [dilation[i] * (kernel[i] - 1) for i in range(n)]
            pads = [(D.floordiv(t, 2), t - D.floordiv(t, 2)) for t in totals]
            out = spatial
        else:
            padding = (0,) * n if padding == "valid" else call.dims("padding", n)
            pads = [(p, p) for p in padding]
            out = [conv_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(n)]
        mode = _const(call, "padding_mode")
        if mode in ("reflect", "circular") and shape.ranked:
            _check_pad_mode(call, shape, mode, spatial, pads)
        return _finish(call, shape, n, out)

    return rule


def _output_size(call: RuleCall, shape: Shape, n: int, stride, padding, kernel, dilation, spatial):
    """forward(input, output_size=...): torch derives output_padding from it (within one stride)."""
    sizes = list(call.int_list("output_size"))
    batched = shape.ranked and shape.rank == n + 2
    non_spatial = 2 if batched else 1
    if len(sizes) == non_spatial + n:
        sizes = sizes[non_spatial:]
    elif len(sizes) != n and not shape.ranked:
        raise Unknowable("output_size")
    if len(sizes) != n:
        call.fail(
            _BAD_ARGUMENT,
            f"{layer_name(call)}: for {shape.rank}-D input, output_size must have {n} or {non_spatial + n} elements "
            f"(got {len(sizes)})",
        )
    if any(s is None for s in sizes):
        raise Unknowable("output_size")
    for i in range(n):
        low = conv_transpose_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i], 0)
        high = low + stride[i] - 1
        if _below(sizes[i], low) or _below(high, sizes[i]):
            call.fail(
                _BAD_ARGUMENT,
                f"{layer_name(call)}: output_size {D.show(sizes[i])} is out of range: for input {shape.show()} "
                f"valid sizes range from {D.show(low)} to {D.show(high)}",
            )
    return sizes


def _conv_transpose(n: int):
    def rule(call: RuleCall):
        _check_config(call, n, transposed=True)
        shape = call.shape("input")
        check_spatial_rank(call, shape, n, layer_name(call))
        kernel = call.dims("kernel_size", n)
        stride = call.dims("stride", n)
        padding = call.dims("padding", n)
        dilation = call.dims("dilation", n)
        spatial = _spatial(shape, n)
        if call.has("output_size") and not call.is_none("output_size"):
            out = _output_size(call, shape, n, stride, padding, kernel, dilation, spatial)
            _check_channels(call, shape, n)
            return _finish(call, shape, n, out, transposed=True)
        output_padding = call.dims("output_padding", n)
        for op, s, d in zip(output_padding, stride, dilation):
            if not (_below(op, s) or _below(op, d)) and None not in (D.as_int(op), D.as_int(s), D.as_int(d)):
                call.fail(
                    _BAD_ARGUMENT,
                    f"{layer_name(call)}: output_padding {D.show(op)} must be smaller than either the stride "
                    f"{D.show(s)} or the dilation {D.show(d)}",
                    param="output_padding",
                )
        _check_channels(call, shape, n)
        out = [
            conv_transpose_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i], output_padding[i])
            for i in range(n)
        ]
        return _finish(call, shape, n, out, transposed=True)

    return rule


layer(
    "torch.nn.Conv1d",
    makes_width="out_channels",
    window=Window("conv", dilation="dilation", spatial=1),
    init=_CONV_INIT,
    parameters=_conv_parameters(1, transposed=False),
    stored_tuples=_conv_tuples(1, transposed=False),
    functional=Functional("torch.nn.functional.conv1d"),
    float_inputs=("input",),
    examples=[
        ex(T(2, 4, 50), init=(4, 8, 5), init_kwargs={"stride": 2}, out=(2, 8, 23)),
        ex(T(4, 50), init=(4, 8, 3), init_kwargs={"padding": "same"}, out=(8, 50)),
        ex(T(1, 2, 5), init=(2, 2, 3), init_kwargs={"padding": 2, "padding_mode": "circular"}, out=(1, 2, 7)),
        ex(T(2, 3, 50), init=(4, 8, 5), error=CONV_IN_CHANNELS),
        ex(T(1, 4, 50), init=(4, 8, 3), init_kwargs={"padding": "same", "stride": 2}, error=CALL_MISMATCH),
        ex(T(1, 2, 3), init=(2, 2, 3), init_kwargs={"padding": 3, "padding_mode": "reflect"}, error=CONV_KERNEL_TOO_LARGE),
    ],
)(_conv(1))
layer(
    "torch.nn.Conv2d",
    makes_width="out_channels",
    window=Window("conv", dilation="dilation", spatial=2),
    init=_CONV_INIT,
    parameters=_conv_parameters(2, transposed=False),
    stored_tuples=_conv_tuples(2, transposed=False),
    functional=Functional("torch.nn.functional.conv2d"),
    float_inputs=("input",),
    examples=[
        ex(T(1, 3, 32, 32), init=(3, 10), init_kwargs={"kernel_size": 3, "padding": 1}, out=(1, 10, 32, 32)),
        ex(T(1, 3, 64, 48), init=(3, 6, (5, 3)), init_kwargs={"stride": (2, 1), "dilation": 2}, out=(1, 6, 28, 44)),
        ex(T(3, 9, 9), init=(3, 4, 3), init_kwargs={"padding": "valid"}, out=(4, 7, 7)),
        ex(T(2, 6, 8, 8), init=(6, 9, 3), init_kwargs={"groups": 3}, out=(2, 9, 6, 6)),
        ex(T(1, 10, 32, 32), init=(16, 32, 3), error=CONV_IN_CHANNELS),
        ex(T(1, 6, 8, 8), init=(6, 8, 3), init_kwargs={"groups": 3}, error=CONV_IN_CHANNELS),
        ex(T(1, 3, 4, 4), init=(3, 8, 7), error=CONV_KERNEL_TOO_LARGE),
        ex(T(3, 32), init=(3, 8, 3), error=CONV_INPUT_RANK),
    ],
)(_conv(2))
layer(
    "torch.nn.Conv3d",
    makes_width="out_channels",
    window=Window("conv", dilation="dilation", spatial=3),
    init=_CONV_INIT,
    parameters=_conv_parameters(3, transposed=False),
    stored_tuples=_conv_tuples(3, transposed=False),
    functional=Functional("torch.nn.functional.conv3d"),
    float_inputs=("input",),
    examples=[ex(T(1, 2, 8, 16, 16), init=(2, 4, 3), init_kwargs={"stride": 2, "padding": 1}, out=(1, 4, 4, 8, 8))],
)(_conv(3))
layer(
    "torch.nn.ConvTranspose1d",
    makes_width="out_channels",
    window=Window("transposed", dilation="dilation", spatial=1),
    init=_TRANSPOSE_INIT,
    parameters=_conv_parameters(1, transposed=True),
    stored_tuples=_conv_tuples(1, transposed=True),
    forward="input, output_size=None",
    float_inputs=("input",),
    examples=[
        ex(T(2, 4, 10), init=(4, 2, 3), init_kwargs={"stride": 2}, out=(2, 2, 21)),
        ex(T(1, 4, 3), init=(4, 2, 1), init_kwargs={"padding": 2}, error=CONV_KERNEL_TOO_LARGE),
        ex(T(1, 4, 3), init=(4, 2, 2), init_kwargs={"output_padding": 1}, error=CALL_MISMATCH),
    ],
)(_conv_transpose(1))
layer(
    "torch.nn.ConvTranspose2d",
    makes_width="out_channels",
    window=Window("transposed", dilation="dilation", spatial=2),
    init=_TRANSPOSE_INIT,
    parameters=_conv_parameters(2, transposed=True),
    stored_tuples=_conv_tuples(2, transposed=True),
    forward="input, output_size=None",
    float_inputs=("input",),
    examples=[
        ex(T(1, 16, 8, 8), init=(16, 8, 4), init_kwargs={"stride": 2, "padding": 1}, out=(1, 8, 16, 16)),
        ex(T(1, 16, 7, 7), init=(16, 8, 3), init_kwargs={"stride": 2, "padding": 1, "output_padding": 1}, out=(1, 8, 14, 14)),
        ex(T(1, 16, 7, 7), init=(16, 8, 3), init_kwargs={"stride": 2, "padding": 1}, output_size=(14, 14), out=(1, 8, 14, 14)),
        ex(T(1, 16, 7, 7), init=(16, 8, 3), init_kwargs={"stride": 2, "padding": 1}, output_size=(16, 16), error=CALL_MISMATCH),
        ex(T(1, 15, 8, 8), init=(16, 8, 4), error=CONV_IN_CHANNELS),
    ],
)(_conv_transpose(2))
layer(
    "torch.nn.ConvTranspose3d",
    makes_width="out_channels",
    window=Window("transposed", dilation="dilation", spatial=3),
    init=_TRANSPOSE_INIT,
    parameters=_conv_parameters(3, transposed=True),
    stored_tuples=_conv_tuples(3, transposed=True),
    forward="input, output_size=None",
    float_inputs=("input",),
    examples=[ex(T(1, 4, 3, 5, 5), init=(4, 2, 2), init_kwargs={"stride": 2}, out=(1, 2, 6, 10, 10))],
)(_conv_transpose(3))


# -- functional convolutions: F.conv1d/2d/3d(input, weight, ...) ------------------------------------
def _functional_conv(n: int):
    def rule(call: RuleCall):
        """The layer's checks with the sizes read off the weight (out, in / groups, *kernel): what timm's
        StdConv2d and Conv2dSame call in their forward with their own `self.weight`."""
        shape, weight = call.shape("input"), call.shape("weight")
        what = f"conv{n}d"
        if not weight.ranked:
            raise Unknowable("weight")
        if weight.rank != n + 2:
            call.fail(CONV_INPUT_RANK, f"{what}: the weight must be {n + 2}-D, got {weight.show()}", input_name="weight")
        check_spatial_rank(call, shape, n, what)
        groups = call.dim("groups")
        out_channels, per_group, kernel = weight.dims[0], weight.dims[1], list(weight.dims[2:])
        channels = shape.dim(-(n + 1))
        if channels is not None:
            call.expect(channels, per_group * groups, code=CONV_IN_CHANNELS, param="weight", fix=channels,
                        input_name="input", param_dim=1,
                        message=lambda: (f"{what} expects weight={D.show(per_group * groups)} input channels (weight "
                                         f"{weight.show()}, groups={D.show(groups)}), but its input {shape.show()} "
                                         f"has {D.show(channels)} channels"))
        stride, dilation = call.dims("stride", n), call.dims("dilation", n)
        spatial = _spatial(shape, n)
        padding = _const(call, "padding")
        if padding == "same":
            if any(D.eq(s, 1) is not True for s in stride):
                raise Unknowable("padding")  # torch refuses 'same' with a stride; not a shape finding
            out = spatial
        else:
            pads = (0,) * n if padding == "valid" else call.dims("padding", n)
            out = [conv_out(spatial[i], kernel[i], stride[i], pads[i], dilation[i]) for i in range(n)]
        for size in out:
            if D.as_int(size) is not None and D.as_int(size) < 1:
                call.fail(CONV_KERNEL_TOO_LARGE, f"{what}: the padded input {shape.show()} is smaller than the "
                          f"kernel {weight.show()} (output size would be {D.show(size)})")
        tail = [out_channels, *out]
        return Shape.of(list(shape.dims[: shape.rank - (n + 1)]) + tail) if shape.ranked else Shape.suffix(tail)

    return rule


for _n, _examples in {
    1: [ex(T(2, 4, 10), T(8, 4, 3), out=(2, 8, 8)), ex(T(2, 4, 10), T(8, 2, 3), groups=2, out=(2, 8, 8)),
        ex(T(2, 5, 10), T(8, 4, 3), error=CONV_IN_CHANNELS)],
    2: [ex(T(1, 3, 9, 9), T(8, 3, 3, 3), out=(1, 8, 7, 7)), ex(T(1, 3, 9, 9), T(8, 3, 3, 3), None, 2, 1, out=(1, 8, 5, 5)),
        ex(T(3, 9, 9), T(8, 3, 3, 3), padding="same", out=(8, 9, 9)), ex(T(1, 6, 8, 8), T(6, 1, 3, 3), groups=6, out=(1, 6, 6, 6)),
        ex(T(1, 3, 8, 8), T(8, 3, 3, 3), padding="valid", dilation=2, out=(1, 8, 4, 4)),
        ex(T(1, 4, 9, 9), T(8, 3, 3, 3), error=CONV_IN_CHANNELS), ex(T(1, 3, 2, 2), T(8, 3, 3, 3), error=CONV_KERNEL_TOO_LARGE),
        ex(T(3, 9), T(8, 3, 3, 3), error=CONV_INPUT_RANK)],
    3: [ex(T(1, 2, 5, 5, 5), T(4, 2, 3, 3, 3), out=(1, 4, 3, 3, 3)), ex(T(1, 3, 5, 5, 5), T(4, 2, 3, 3, 3), error=CONV_IN_CHANNELS)],
}.items():
    function(f"torch.nn.functional.conv{_n}d", f"torch.conv{_n}d",
             signature="input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1",
             label=f"conv{_n}d", examples=_examples)(_functional_conv(_n))
