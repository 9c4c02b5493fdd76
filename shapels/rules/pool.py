"""MaxPool/AvgPool 1-3d, adaptive pools, and their functional forms."""

from __future__ import annotations

from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.common import check_spatial_rank, pool_out
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

_MAX_INIT = "kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False"
_AVG_INIT = "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None"
_AVG1D_INIT = "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True"
_F_MAX = "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False"
_F_AVG = "input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None"


def _spatial(shape: Shape, n: int):
    return [shape.dim(-n + i) if shape.dim(-n + i) is not None else D.fresh("?") for i in range(n)]


def _with_spatial(shape: Shape, n: int, spatial) -> Shape:
    if shape.ranked:
        return Shape.of(list(shape.dims[: shape.rank - n]) + list(spatial))
    keep = list(shape.dims[: len(shape.dims) - n]) if len(shape.dims) >= n else []
    return Shape.suffix(keep + list(spatial))


def _pool(call: RuleCall, n: int, has_dilation: bool):
    shape = call.shape("input")
    check_spatial_rank(call, shape, n, layer_name(call))
    kernel = call.dims("kernel_size", n)
    stride = kernel if call.is_none("stride") else call.dims("stride", n)
    padding = call.dims("padding", n)
    dilation = call.dims("dilation", n) if has_dilation else (1,) * n
    ceil_mode = call.known_flag("ceil_mode")
    for k, p in zip(kernel, padding):
        if D.as_int(k) is not None and D.as_int(p) is not None and 2 * D.as_int(p) > D.as_int(k):
            call.fail("pool-padding", f"{layer_name(call)}: padding {D.show(p)} is more than half the kernel {D.show(k)}")
    spatial = _spatial(shape, n)
    out = [pool_out(spatial[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode) for i in range(n)]
    for size in out:
        if D.as_int(size) is not None and D.as_int(size) < 1:
            call.fail("pool-output-empty", f"{layer_name(call)}: input {shape.show()} is too small; output size would be {D.show(size)}")
    result = _with_spatial(shape, n, out)
    if has_dilation and call.has("return_indices") and call.flag("return_indices"):
        return (result, result)
    return result


def _adaptive(call: RuleCall, n: int, returns_indices: bool):
    shape = call.shape("input")
    check_spatial_rank(call, shape, n, layer_name(call))
    value = call.value("output_size")
    spatial = _spatial(shape, n)
    sizes = call.int_list("output_size")
    if len(sizes) == 1 and n > 1:
        sizes = sizes * n
    if len(sizes) != n:
        raise Unknowable("output_size")
    out = []
    from shapels.values import Const, Seq

    items = value.items if isinstance(value, Seq) else (value,) * n
    for i in range(n):
        item = items[i] if i < len(items) else None
        if isinstance(item, Const) and item.value is None:
            out.append(spatial[i])
        elif sizes[i] is None:
            raise Unknowable("output_size")
        else:
            out.append(sizes[i])
    result = _with_spatial(shape, n, out)
    if returns_indices and call.has("return_indices") and call.flag("return_indices"):
        return (result, result)
    return result


def _register(n: int):
    d = f"{n}d"
    layer(
        f"torch.nn.MaxPool{d}",
        init=_MAX_INIT,
        examples={
            1: [ex(T(2, 3, 11), init=(2,), out=(2, 3, 5))],
            2: [
                ex(T(1, 20, 32, 32), init=(2, 2), out=(1, 20, 16, 16)),
                ex(T(1, 3, 7, 7), init=(2,), init_kwargs={"ceil_mode": True}, out=(1, 3, 4, 4)),
                ex(T(1, 3, 9, 9), init=(3, 2, 1, 2), out=(1, 3, 4, 4)),
                ex(T(1, 3, 2, 2), init=(4,), error="pool-output-empty"),
                ex(T(1, 3, 8, 8), init=(2,), init_kwargs={"padding": 2}, error="pool-padding"),
            ],
            3: [ex(T(1, 2, 8, 8, 8), init=(2,), out=(1, 2, 4, 4, 4))],
        }[n],
    )(lambda call: _pool(call, n, True))
    layer(
        f"torch.nn.AvgPool{d}",
        init=_AVG1D_INIT if n == 1 else _AVG_INIT,
        examples={
            1: [ex(T(2, 3, 10), init=(3,), out=(2, 3, 3))],
            2: [ex(T(1, 4, 9, 9), init=(3, 2, 1), out=(1, 4, 5, 5)), ex(T(4, 5, 5), init=(2,), init_kwargs={"ceil_mode": True}, out=(4, 3, 3))],
            3: [ex(T(1, 2, 6, 6, 6), init=(3,), out=(1, 2, 2, 2, 2))],
        }[n],
    )(lambda call: _pool(call, n, False))
    layer(
        f"torch.nn.AdaptiveAvgPool{d}",
        init="output_size",
        examples={
            1: [ex(T(2, 3, 10), init=(4,), out=(2, 3, 4))],
            2: [ex(T(1, 20, 64, 64), init=((5, 5),), out=(1, 20, 5, 5)), ex(T(1, 2, 9, 7), init=((None, 3),), out=(1, 2, 9, 3))],
            3: [ex(T(1, 2, 4, 5, 6), init=(1,), out=(1, 2, 1, 1, 1))],
        }[n],
    )(lambda call: _adaptive(call, n, False))
    layer(
        f"torch.nn.AdaptiveMaxPool{d}",
        init="output_size, return_indices=False",
        examples={
            1: [ex(T(2, 3, 10), init=(4,), out=(2, 3, 4))],
            2: [ex(T(1, 8, 13, 13), init=(1,), out=(1, 8, 1, 1))],
            3: [ex(T(2, 4, 5, 6), init=(2,), out=(2, 2, 2, 2))],
        }[n],
    )(lambda call: _adaptive(call, n, True))
    function(f"torch.nn.functional.max_pool{d}", f"torch.max_pool{d}", signature=_F_MAX, label=f"max_pool{d}",
             examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([4] * n)))])(lambda call: _pool(call, n, True))
    function(f"torch.nn.functional.avg_pool{d}", f"torch.avg_pool{d}", signature=_F_AVG if n > 1 else _F_AVG.rsplit(",", 1)[0],
             label=f"avg_pool{d}", examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([4] * n)))])(lambda call: _pool(call, n, False))
    function(f"torch.nn.functional.adaptive_avg_pool{d}", f"torch.adaptive_avg_pool{d}", signature="input, output_size",
             label=f"adaptive_avg_pool{d}", examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([2] * n)))])(lambda call: _adaptive(call, n, False))
    function(f"torch.nn.functional.adaptive_max_pool{d}", signature="input, output_size, return_indices=False",
             label=f"adaptive_max_pool{d}", examples=[ex(T(1, 3, *([8] * n)), 2, out=(1, 3, *([2] * n)))])(lambda call: _adaptive(call, n, True))


for _n in (1, 2, 3):
    _register(_n)
