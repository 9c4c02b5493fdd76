"""Conv1d/2d/3d and ConvTranspose1d/2d/3d: (N, C_in, *spatial) -> (N, C_out, *spatial')."""

from __future__ import annotations

from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.common import check_spatial_rank, conv_out, conv_transpose_out
from shapels.rules.registry import T, ex, layer
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


def _check_channels(call: RuleCall, shape: Shape, n: int) -> None:
    check_spatial_rank(call, shape, n, layer_name(call))
    channels = shape.dim(-(n + 1))
    expected = call.dim("in_channels")
    if channels is not None:
        call.expect(
            channels,
            expected,
            code="conv-in-channels",
            param="in_channels",
            fix=channels,
            input_name="input",
            message=(
                f"{layer_name(call)} expects in_channels={D.show(expected)}, "
                f"but its input {shape.show()} has {D.show(channels)} channels"
            ),
        )


def _spatial(shape: Shape, n: int):
    """The input's spatial dims, or fresh symbols when the input's rank is unknown."""
    dims = [shape.dim(-n + i) for i in range(n)]
    return [d if d is not None else D.fresh("?") for d in dims]


def _finish(call: RuleCall, shape: Shape, n: int, spatial_out) -> Shape:
    for size in spatial_out:
        if D.as_int(size) is not None and D.as_int(size) < 1:
            call.fail(
                "conv-kernel-too-large",
                f"{layer_name(call)}: the padded input {shape.show()} is smaller than the kernel "
                f"(output size would be {D.show(size)})",
            )
    tail = [call.dim("out_channels"), *spatial_out]
    if shape.ranked:
        return Shape.of(list(shape.dims[: shape.rank - (n + 1)]) + tail)
    return Shape.suffix(tail)


def _conv(n: int):
    def rule(call: RuleCall):
        shape = call.shape("input")
        _check_channels(call, shape, n)
        kernel = call.dims("kernel_size", n)
        stride = call.dims("stride", n)
        dilation = call.dims("dilation", n)
        spatial = _spatial(shape, n)
        padding_mode = None
        try:
            padding_mode = call.const("padding")
        except Unknowable:
            pass
        if padding_mode == "same":
            out = spatial
        else:
            padding = (0,) * n if padding_mode == "valid" else call.dims("padding", n)
            out = [conv_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(n)]
        return _finish(call, shape, n, out)

    return rule


def _conv_transpose(n: int):
    def rule(call: RuleCall):
        shape = call.shape("input")
        _check_channels(call, shape, n)
        kernel = call.dims("kernel_size", n)
        stride = call.dims("stride", n)
        padding = call.dims("padding", n)
        dilation = call.dims("dilation", n)
        output_padding = call.dims("output_padding", n)
        spatial = _spatial(shape, n)
        out = [
            conv_transpose_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i], output_padding[i])
            for i in range(n)
        ]
        return _finish(call, shape, n, out)

    return rule


layer(
    "torch.nn.Conv1d",
    init=_CONV_INIT,
    examples=[
        ex(T(2, 4, 50), init=(4, 8, 5), init_kwargs={"stride": 2}, out=(2, 8, 23)),
        ex(T(4, 50), init=(4, 8, 3), init_kwargs={"padding": "same"}, out=(8, 50)),
        ex(T(2, 3, 50), init=(4, 8, 5), error="conv-in-channels"),
    ],
)(_conv(1))
layer(
    "torch.nn.Conv2d",
    init=_CONV_INIT,
    examples=[
        ex(T(1, 3, 32, 32), init=(3, 10), init_kwargs={"kernel_size": 3, "padding": 1}, out=(1, 10, 32, 32)),
        ex(T(1, 3, 64, 48), init=(3, 6, (5, 3)), init_kwargs={"stride": (2, 1), "dilation": 2}, out=(1, 6, 28, 44)),
        ex(T(3, 9, 9), init=(3, 4, 3), init_kwargs={"padding": "valid"}, out=(4, 7, 7)),
        ex(T(1, 10, 32, 32), init=(16, 32, 3), error="conv-in-channels"),
        ex(T(1, 3, 4, 4), init=(3, 8, 7), error="conv-kernel-too-large"),
        ex(T(3, 32), init=(3, 8, 3), error="conv-input-rank"),
    ],
)(_conv(2))
layer(
    "torch.nn.Conv3d",
    init=_CONV_INIT,
    examples=[ex(T(1, 2, 8, 16, 16), init=(2, 4, 3), init_kwargs={"stride": 2, "padding": 1}, out=(1, 4, 4, 8, 8))],
)(_conv(3))
layer(
    "torch.nn.ConvTranspose1d",
    init=_TRANSPOSE_INIT,
    examples=[ex(T(2, 4, 10), init=(4, 2, 3), init_kwargs={"stride": 2}, out=(2, 2, 21))],
)(_conv_transpose(1))
layer(
    "torch.nn.ConvTranspose2d",
    init=_TRANSPOSE_INIT,
    examples=[
        ex(T(1, 16, 8, 8), init=(16, 8, 4), init_kwargs={"stride": 2, "padding": 1}, out=(1, 8, 16, 16)),
        ex(T(1, 16, 7, 7), init=(16, 8, 3), init_kwargs={"stride": 2, "padding": 1, "output_padding": 1}, out=(1, 8, 14, 14)),
        ex(T(1, 15, 8, 8), init=(16, 8, 4), error="conv-in-channels"),
    ],
)(_conv_transpose(2))
layer(
    "torch.nn.ConvTranspose3d",
    init=_TRANSPOSE_INIT,
    examples=[ex(T(1, 4, 3, 5, 5), init=(4, 2, 2), init_kwargs={"stride": 2}, out=(1, 2, 6, 10, 10))],
)(_conv_transpose(3))
