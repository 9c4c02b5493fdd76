"""nn.Unfold / nn.Fold and F.unfold / F.fold: sliding 2-D blocks to columns (im2col) and back.

unfold: (N, C, H, W) -> (N, C * kh * kw, L), L the number of block positions (a conv's output grid);
(C, H, W) -> (C * kh * kw, L). fold is the inverse: (N, C * kh * kw, L) -> (N, C, *output_size), where L must
be the number of blocks that fit `output_size`.
"""

from __future__ import annotations

from shapels.codes import CONV_INPUT_RANK, OP_INPUT_SHAPE, POOL_OUTPUT_EMPTY
from shapels.rules.base import RuleCall
from shapels.rules.common import conv_out
from shapels.rules.registry import T, Window, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

_GEOMETRY = "dilation=1, padding=0, stride=1"


def _geometry(call: RuleCall) -> tuple:
    kernel = call.dims("kernel_size", 2)
    dilation, padding, stride = (call.dims(p, 2) for p in ("dilation", "padding", "stride"))
    return kernel, dilation, padding, stride


def _shown(values) -> str:
    return "(" + ", ".join(D.show(v) for v in values) + ")"


def _blocks(call: RuleCall, spatial, what: str) -> list:
    """The block grid over a (H, W) map; an empty grid is torch's error."""
    kernel, dilation, padding, stride = _geometry(call)
    grid = [conv_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(2)]
    if any(D.as_int(g) is not None and D.as_int(g) < 1 for g in grid):
        call.fail(POOL_OUTPUT_EMPTY, f"{what}: a spatial size {_shown(spatial)} holds no {_shown(kernel)} block "
                                     f"(dilation {_shown(dilation)}, padding {_shown(padding)}); the block grid "
                                     f"would be {_shown(grid)}")
    return grid


def _unfold(call: RuleCall) -> Shape:
    shape = call.shape("input")
    what = "unfold"
    if shape.ranked and shape.rank not in (3, 4):
        call.fail(CONV_INPUT_RANK, f"{what} expects a 3-D (unbatched) or 4-D (batched) input, got "
                                   f"{shape.rank}-D {shape.show()}")
    channels, height, width = (shape.dim(i) for i in (-3, -2, -1))
    spatial = [height if height is not None else D.fresh("?"), width if width is not None else D.fresh("?")]
    kernel = call.dims("kernel_size", 2)
    grid = _blocks(call, spatial, what)
    columns = channels * kernel[0] * kernel[1] if channels is not None else D.fresh("?")
    tail = [columns, grid[0] * grid[1]]
    if shape.ranked:
        return Shape.of(list(shape.dims[: shape.rank - 3]) + tail)
    return Shape.suffix(tail)


def _fold(call: RuleCall) -> Shape:
    shape = call.shape("input")
    what = "fold"
    if shape.ranked and shape.rank not in (2, 3):
        call.fail(CONV_INPUT_RANK, f"{what} expects a 2-D (unbatched) or 3-D (batched) input, got "
                                   f"{shape.rank}-D {shape.show()}")
    kernel = call.dims("kernel_size", 2)
    output_size = call.dims("output_size", 2)
    columns, count = shape.dim(-2), shape.dim(-1)
    per_block = kernel[0] * kernel[1]
    channels = D.fresh("?")
    if columns is not None:
        whole = D.divides(per_block, columns)
        if whole is False:
            call.fail(OP_INPUT_SHAPE, f"{what}: input dim -2 ({D.show(columns)}) is not divisible by the kernel's "
                                      f"{_shown(kernel)} = {D.show(per_block)} positions, in {shape.show()}")
        if whole:
            channels = D.floordiv(columns, per_block)
    grid = _blocks(call, output_size, what)
    blocks = grid[0] * grid[1]
    if count is not None and D.eq(count, blocks) is False:
        call.fail(OP_INPUT_SHAPE, f"{what}: output_size {_shown(output_size)} with kernel {_shown(kernel)} has "
                                  f"{D.show(blocks)} blocks, but the input {shape.show()} has {D.show(count)}")
    tail = [channels, *output_size]
    if shape.ranked:
        return Shape.of(list(shape.dims[: shape.rank - 2]) + tail)
    return Shape.suffix(tail)


layer(
    "torch.nn.Unfold",
    window=Window("blocks", dilation="dilation"),
    init="kernel_size, " + _GEOMETRY,
    examples=[
        ex(T(1, 3, 32, 32), init=(3,), init_kwargs={"stride": 2, "padding": 1}, out=(1, 27, 256)),
        ex(T(3, 8, 9), init=((2, 3),), out=(18, 49)),
        ex(T(2, 4, 16, 16), init=(8,), init_kwargs={"stride": 4}, out=(2, 256, 9)),
        ex(T(1, 3, 2, 2), init=(3,), error=POOL_OUTPUT_EMPTY),
        ex(T(1, 1, 3, 8, 8), init=(3,), error=CONV_INPUT_RANK),
    ],
)(_unfold)
function(
    "torch.nn.functional.unfold",
    signature="input, kernel_size, " + _GEOMETRY,
    examples=[ex(T(2, 3, 10, 10), 3, padding=1, out=(2, 27, 100)),
              ex(T(2, 3, 10, 10), (2, 5), stride=(2, 5), out=(2, 30, 10))],
)(_unfold)
layer(
    "torch.nn.Fold",
    window=Window("blocks", dilation="dilation"),
    init="output_size, kernel_size, " + _GEOMETRY,
    examples=[
        ex(T(1, 12, 12), init=((4, 5), (2, 2)), out=(1, 3, 4, 5)),
        ex(T(12, 12), init=((4, 5), (2, 2)), out=(3, 4, 5)),
        ex(T(1, 12, 11), init=((4, 5), (2, 2)), error=OP_INPUT_SHAPE),
        ex(T(1, 13, 12), init=((4, 5), (2, 2)), error=OP_INPUT_SHAPE),
    ],
)(_fold)
function(
    "torch.nn.functional.fold",
    signature="input, output_size, kernel_size, " + _GEOMETRY,
    examples=[ex(T(2, 27, 256), 32, 3, stride=2, padding=1, out=(2, 3, 32, 32))],
)(_fold)
