"""MaxPool/AvgPool 1-3d, adaptive pools, and their functional forms."""

from __future__ import annotations

from shapels.codes import CALL_MISMATCH, CONV_INPUT_RANK, POOL_OUTPUT_EMPTY, POOL_PADDING
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.common import check_spatial_rank, pool_out
from shapels.rules.registry import T, Window, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, ListValue, Seq

_MAX_INIT = "kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False"
_AVG_INIT = "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None"
_AVG1D_INIT = "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True"
_F_MAX = "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False"
_F_AVG = "input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None"


# No code in the catalogue names "an argument torch rejects"; call-mismatch is the nearest.
_BAD_ARGUMENT = CALL_MISMATCH


def _spatial(shape: Shape, n: int):
    return [shape.dim(-n + i) if shape.dim(-n + i) is not None else D.fresh("?") for i in range(n)]


def _with_spatial(shape: Shape, n: int, spatial) -> Shape:
    if shape.ranked:
        return Shape.of(list(shape.dims[: shape.rank - n]) + list(spatial))
    keep = list(shape.dims[: len(shape.dims) - n]) if len(shape.dims) >= n else []
    return Shape.suffix(keep + list(spatial))


def _int(value):
    return D.as_int(value)


def _pool(call: RuleCall, n: int, has_dilation: bool):
    shape = call.shape("input")
    name = layer_name(call)
    check_spatial_rank(call, shape, n, name)
    kernel = call.dims("kernel_size", n)
    stride_value = call.value("stride")
    empty = isinstance(stride_value, (Seq, ListValue)) and not stride_value.items  # torch.max_pool2d's stride=[]
    stride = kernel if call.is_none("stride") or empty else call.dims("stride", n)
    padding = call.dims("padding", n)
    dilation = call.dims("dilation", n) if has_dilation else (1,) * n
    ceil_mode = call.known_flag("ceil_mode")
    for param, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        for v in values:
            if _int(v) is not None and _int(v) < 1:
                call.fail(_BAD_ARGUMENT, f"{name}: {param} must be greater than zero, got {D.show(v)}", param=param)
    for k, p in zip(kernel, padding):
        if _int(p) is not None and _int(p) < 0:
            call.fail(POOL_PADDING, f"{name}: padding must be non-negative, got {D.show(p)}", param="padding")
        if _int(k) is not None and _int(p) is not None and 2 * _int(p) > _int(k):
            call.fail(POOL_PADDING, f"{name}: padding {D.show(p)} is more than half the kernel {D.show(k)}", param="padding")
    if call.has("divisor_override") and _int(call.dim_or_none("divisor_override")) == 0:
        call.fail(_BAD_ARGUMENT, f"{name}: divisor_override must not be zero", param="divisor_override")
    spatial = _spatial(shape, n)
    if n == 3 and not has_dilation:
        # avg_pool3d (alone among the pools) needs the unpadded input to hold a whole kernel
        for size, k in zip(spatial, kernel):
            if _int(size) is not None and _int(k) is not None and _int(size) < _int(k):
                call.fail(
                    POOL_OUTPUT_EMPTY,
                    f"{name}: input {shape.show()} is smaller than the kernel {D.show_tuple(kernel)}",
                )
    out = [pool_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode) for i in range(n)]
    for size in out:
        if _int(size) is not None and _int(size) < 1:
            call.fail(POOL_OUTPUT_EMPTY, f"{name}: input {shape.show()} is too small; output size would be {D.show(size)}")
    result = _with_spatial(shape, n, out)
    if has_dilation and call.has("return_indices") and call.flag("return_indices"):
        return (result, result)
    return result


def _adaptive(call: RuleCall, n: int, average: bool):
    shape = call.shape("input")
    name = layer_name(call)
    value = call.value("output_size")
    spatial = _spatial(shape, n)
    is_tuple = isinstance(value, (Seq, ListValue))
    if is_tuple:
        items = list(value.items)
        if len(items) != n:
            call.fail(_BAD_ARGUMENT, f"{name}: output_size must have {n} element{'s' if n > 1 else ''}, got {len(items)}",
                      param="output_size")
    else:
        items = [value] * n
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Const) and item.value is None and n > 1:
            out.append(spatial[i])  # None keeps the input's size
            continue
        size = to_dim(item)
        if size is None:
            raise Unknowable("output_size")
        if _int(size) is not None and _int(size) < 0:
            call.fail(_BAD_ARGUMENT, f"{name}: output_size must be non-negative, got {D.show(size)}", param="output_size")
        out.append(size)
    if average and n > 1 and all(D.eq(size, 1) is True for size in out):
        # torch computes a 1x1 (1x1x1) adaptive average as a mean over the last dims, for any rank
        # that has them (a tuple output_size asks for one more dim)
        needed = n + 1 if is_tuple else n
        if shape.ranked and shape.rank < needed:
            call.fail(CONV_INPUT_RANK, f"{name} with output size 1 needs at least a {needed}-D input, got {shape.show()}")
    else:
        check_spatial_rank(call, shape, n, name)
    result = _with_spatial(shape, n, out)
    if not average and call.has("return_indices") and call.flag("return_indices"):
        return (result, result)
    return result


def _register(n: int):
    d = f"{n}d"
    layer(
        f"torch.nn.MaxPool{d}",
        init=_MAX_INIT,
        window=Window("pool", dilation="dilation", ceil_mode="ceil_mode", spatial=n),
        examples={
            1: [ex(T(2, 3, 11), init=(2,), out=(2, 3, 5))],
            2: [
                ex(T(1, 20, 32, 32), init=(2, 2), out=(1, 20, 16, 16)),
                ex(T(1, 3, 7, 7), init=(2,), init_kwargs={"ceil_mode": True}, out=(1, 3, 4, 4)),
                ex(T(1, 3, 9, 9), init=(3, 2, 1, 2), out=(1, 3, 4, 4)),
                ex(T(1, 3, 2, 2), init=(4,), error=POOL_OUTPUT_EMPTY),
                ex(T(1, 3, 8, 8), init=(2,), init_kwargs={"padding": 2}, error=POOL_PADDING),
                ex(T(3, 8, 8), init=(2,), init_kwargs={"return_indices": True}, out=((3, 4, 4), (3, 4, 4))),
            ],
            3: [ex(T(1, 2, 8, 8, 8), init=(2,), out=(1, 2, 4, 4, 4))],
        }[n],
    )(lambda call: _pool(call, n, True))
    layer(
        f"torch.nn.AvgPool{d}",
        init=_AVG1D_INIT if n == 1 else _AVG_INIT,
        window=Window("pool", ceil_mode="ceil_mode", spatial=n),
        examples={
            1: [ex(T(2, 3, 10), init=(3,), out=(2, 3, 3))],
            2: [ex(T(1, 4, 9, 9), init=(3, 2, 1), out=(1, 4, 5, 5)), ex(T(4, 5, 5), init=(2,), init_kwargs={"ceil_mode": True}, out=(4, 3, 3))],
            3: [
                ex(T(1, 2, 6, 6, 6), init=(3,), out=(1, 2, 2, 2, 2)),
                # avg_pool3d wants a whole kernel inside the unpadded input
                ex(T(1, 2, 2, 2, 2), init=(3,), init_kwargs={"padding": 1}, error=POOL_OUTPUT_EMPTY),
            ],
        }[n],
    )(lambda call: _pool(call, n, False))
    layer(
        f"torch.nn.AdaptiveAvgPool{d}",
        init="output_size",
        examples={
            1: [ex(T(2, 3, 10), init=(4,), out=(2, 3, 4))],
            2: [
                ex(T(1, 20, 64, 64), init=((5, 5),), out=(1, 20, 5, 5)),
                ex(T(2, 3, 4, 5, 6), init=(1,), out=(2, 3, 4, 1, 1)),
                ex(T(2, 3, 4, 5, 6), init=(2,), error=CONV_INPUT_RANK),
                ex(T(1, 2, 9, 7), init=((None, 3),), out=(1, 2, 9, 3)),
                ex(T(1, 2, 9, 7), init=((5,),), error=CALL_MISMATCH),
            ],
            3: [ex(T(1, 2, 4, 5, 6), init=(1,), out=(1, 2, 1, 1, 1))],
        }[n],
    )(lambda call: _adaptive(call, n, average=True))
    layer(
        f"torch.nn.AdaptiveMaxPool{d}",
        init="output_size, return_indices=False",
        examples={
            1: [ex(T(2, 3, 10), init=(4,), out=(2, 3, 4))],
            2: [
                ex(T(1, 8, 13, 13), init=(1,), out=(1, 8, 1, 1)),
                ex(T(8, 13, 13), init=(2, True), out=((8, 2, 2), (8, 2, 2))),
            ],
            3: [ex(T(2, 4, 5, 6), init=(2,), out=(2, 2, 2, 2))],
        }[n],
    )(lambda call: _adaptive(call, n, average=False))
    function(f"torch.nn.functional.max_pool{d}", f"torch.max_pool{d}", signature=_F_MAX,
             examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([4] * n)))])(lambda call: _pool(call, n, True))
    function(f"torch.nn.functional.avg_pool{d}", f"torch.avg_pool{d}", signature=_F_AVG if n > 1 else _F_AVG.rsplit(",", 1)[0], examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([4] * n)))])(lambda call: _pool(call, n, False))
    function(f"torch.nn.functional.adaptive_avg_pool{d}", f"torch.adaptive_avg_pool{d}", signature="input, output_size", examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([2] * n)))])(lambda call: _adaptive(call, n, average=True))
    function(f"torch.nn.functional.adaptive_max_pool{d}", signature="input, output_size, return_indices=False", examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([2] * n)))])(lambda call: _adaptive(call, n, average=False))


for _n in (1, 2, 3):
    _register(_n)
