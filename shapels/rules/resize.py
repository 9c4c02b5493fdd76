"""Resizing the spatial dims: F.interpolate/upsample and nn.Upsample, F.pad and the nn padding
layers, pixel (un)shuffle, and F.one_hot (which appends a classes dim)."""

from __future__ import annotations

import math

from shapels.codes import OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Number, Seq


def _certain(relation) -> bool:
    """True only when a comparison of dims is known to hold (a bool for ints, a sympy relation else)."""
    if isinstance(relation, bool):
        return relation
    sympy = D.sympy_module()  # a relation of symbolic dims: sympy is loaded already

    return bool(relation == sympy.true)


# -- interpolate -------------------------------------------------------------------------------
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _scale(value) -> float:
    if isinstance(value, Number):
        if isinstance(value.value, float):
            return value.value
        if D.as_int(value.value) is not None:
            return float(D.as_int(value.value))
    raise Unknowable("scale_factor")


def _scaled(size, scale: float):
    """floor(size * scale) as torch computes it, in double precision."""
    n = D.as_int(size)
    if n is not None:
        return int(math.floor(float(n) * scale))
    sympy = D.sympy_module()  # a symbolic size (an Unknowns may not have needed it yet)

    exact = sympy.Rational(scale)  # the float's exact binary value
    q = int(exact.q)
    if q & (q - 1) == 0 and q <= 1 << 16:  # a dyadic scale: the double product is exact too
        return D.floordiv(size * exact.p, q)
    return D.fresh("?")


def _interpolate(call: RuleCall, mode: str) -> Shape:
    shape = call.shape("input")
    by_size = not call.is_none("size")
    if by_size == (not call.is_none("scale_factor")):
        raise Unknowable("size")  # neither or both: an argument error, not a shape one
    k = None
    if shape.ranked:
        if not 3 <= shape.rank <= 5:
            call.fail(
                OP_INPUT_SHAPE,
                f"interpolate takes 3-D, 4-D or 5-D input (batch, channels, *spatial), got {shape.show()}",
            )
        k = shape.rank - 2
    need = _MODE_RANK.get(mode)
    if need is not None and shape.ranked and shape.rank != need:
        call.fail(OP_INPUT_SHAPE, f"interpolate mode '{mode}' needs {need}-D input, got {shape.show()}")
    if need is not None:
        k = need - 2
    name = "size" if by_size else "scale_factor"
    given = call.value(name)
    if isinstance(given, (Seq, ListValue)):
        if k is not None and len(given.items) != k:
            call.fail(
                OP_INPUT_SHAPE,
                f"interpolate: {name} has {len(given.items)} entries but {shape.show()} has {k} spatial dims",
            )
        k = len(given.items)
    if k is None or len(shape.dims) < k:
        raise Unknowable("input")
    spatial = shape.dims[len(shape.dims) - k :]
    if by_size:
        out = list(call.dims("size", k))
    else:
        items = given.items if isinstance(given, (Seq, ListValue)) else (given,) * k
        out = [_scaled(s, _scale(f)) for s, f in zip(spatial, items)]
    for size in out:
        if mode != "area" and _certain(size <= 0):  # area is an adaptive pool: empty is fine
            call.fail(OP_INPUT_SHAPE, f"interpolate: output size {D.show(size)} from input {shape.show()} is not positive")
    return Shape(shape.dims[: len(shape.dims) - k] + tuple(out), shape.ranked)


def _mode(call: RuleCall) -> str:
    mode = call.const("mode")
    if not isinstance(mode, str):
        raise Unknowable("mode")
    return mode


_INTERP = "input, size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None"


@function(
    "torch.nn.functional.interpolate",
    signature=_INTERP + ", antialias=False",
    examples=[
        ex(T(1, 3, 5, 7), scale_factor=2, out=(1, 3, 10, 14)),
        ex(T(1, 3, 5, 7), scale_factor=1.5, mode="bilinear", out=(1, 3, 7, 10)),
        ex(T(1, 3, 5, 7), scale_factor=(2, 0.5), out=(1, 3, 10, 3)),
        ex(T(1, 3, 5, 7), size=(4, 9), out=(1, 3, 4, 9)),
        ex(T(1, 3, 5), size=8, mode="linear", out=(1, 3, 8)),
        ex(T(1, 3, 5, 7), size=(4,), error=OP_INPUT_SHAPE),
        ex(T(1, 3, 5, 7), scale_factor=0.1, error=OP_INPUT_SHAPE),
    ],
)
def interpolate(call: RuleCall):
    return _interpolate(call, _mode(call))


function(
    "torch.nn.functional.upsample",
    signature=_INTERP.replace(", recompute_scale_factor=None", ""),
    examples=[ex(T(1, 3, 5, 7), scale_factor=2, out=(1, 3, 10, 14))],
)(interpolate)


@function(
    "torch.nn.functional.upsample_nearest",
    signature="input, size=None, scale_factor=None",
    examples=[ex(T(1, 3, 5, 7), size=3, out=(1, 3, 3, 3))],
)
def upsample_nearest(call: RuleCall):
    return _interpolate(call, "nearest")


@function(
    "torch.nn.functional.upsample_bilinear",
    signature="input, size=None, scale_factor=None",
    examples=[ex(T(1, 3, 5, 7), scale_factor=2, out=(1, 3, 10, 14))],
)
def upsample_bilinear(call: RuleCall):
    return _interpolate(call, "bilinear")


@layer(
    "torch.nn.Upsample",
    init="size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None",
    examples=[
        ex(T(1, 3, 5, 7), init_kwargs={"scale_factor": 2, "mode": "bilinear"}, out=(1, 3, 10, 14)),
        ex(T(2, 4, 3, 3, 3), init=((4, 5, 6),), out=(2, 4, 4, 5, 6)),
        ex(T(2, 4, 3, 3, 3), init=((4, 5),), error=OP_INPUT_SHAPE),
    ],
)
def upsample(call: RuleCall):
    return _interpolate(call, _mode(call))


@layer(
    "torch.nn.UpsamplingNearest2d",
    init="size=None, scale_factor=None",
    examples=[ex(T(1, 3, 5, 7), init_kwargs={"scale_factor": 2}, out=(1, 3, 10, 14))],
)
def upsampling_nearest(call: RuleCall):
    return _interpolate(call, "nearest")


@layer(
    "torch.nn.UpsamplingBilinear2d",
    init="size=None, scale_factor=None",
    examples=[ex(T(1, 3, 5, 7), init=((6, 8),), out=(1, 3, 6, 8))],
)
def upsampling_bilinear(call: RuleCall):
    return _interpolate(call, "bilinear")


# -- padding -----------------------------------------------------------------------------------
def _pad(call: RuleCall, shape: Shape, pads, mode: str) -> Shape:
    """Pads come in (left, right) pairs starting from the last dim."""
    if len(pads) % 2:
        call.fail(OP_INPUT_SHAPE, f"pad: the padding length must be even, got {len(pads)}")
    k = len(pads) // 2
    if shape.ranked and k > shape.rank:
        call.fail(OP_INPUT_SHAPE, f"pad: {len(pads)} pads need at least {k} dims, but the input is {shape.show()}")
    if mode != "constant":
        if not 1 <= k <= 3 or (shape.ranked and shape.rank not in (k + 1, k + 2)):
            call.fail(
                OP_INPUT_SHAPE,
                f"pad: {mode} padding of {k} dim(s) needs {k + 1}-D or {k + 2}-D input, got {shape.show()}",
            )
        if any(D.as_int(p) is None or D.as_int(p) < 0 for p in pads):
            raise Unknowable("pad")  # negative reflect/replicate/circular pads: edge rules not modelled
    if len(shape.dims) < k:
        raise Unknowable("input")
    dims = list(shape.dims)
    for j in range(k):
        left, right = pads[2 * j], pads[2 * j + 1]
        index = len(dims) - 1 - j
        size = dims[index]
        if mode == "reflect" and (_certain(left >= size) or _certain(right >= size)):
            call.fail(OP_INPUT_SHAPE, f"pad: reflect padding ({D.show(left)}, {D.show(right)}) must be less than the dim's size {D.show(size)}")
        if mode == "circular" and (_certain(left > size) or _certain(right > size)):
            call.fail(OP_INPUT_SHAPE, f"pad: circular padding ({D.show(left)}, {D.show(right)}) must not exceed the dim's size {D.show(size)}")
        # Negative pads first crop: what is left must not be negative.
        cropped = size + _negative_part(left) + _negative_part(right)
        if _certain(cropped < 0):
            call.fail(OP_INPUT_SHAPE, f"pad: negative padding ({D.show(left)}, {D.show(right)}) crops more than the dim's size {D.show(size)}")
        dims[index] = size + left + right
    return Shape(tuple(dims), shape.ranked)


def _exact_quotient(size, factor):
    """size / factor where it divides (checked before, or undecided): an int for two known sizes, else
    sympy's quotient (`C/4`)."""
    if D.is_concrete(size) and D.is_concrete(factor):
        return D.as_int(size) // D.as_int(factor)
    return D.const(D.expr(size) / D.expr(factor))


def _negative_part(pad):
    """min(pad, 0): a plain int for a known pad (sympy's Min costs ~80 us a call, per side and dim)."""
    known = D.as_int(pad)
    if known is not None:
        return min(known, 0)
    sympy = D.sympy_module()  # a symbolic pad (an Unknowns may not have needed it yet)

    return sympy.Min(pad, 0)


def _pad_list(call: RuleCall, name: str) -> tuple:
    pads = call.int_list(name)
    if any(p is None for p in pads):
        raise Unknowable(name)
    return pads


@function(
    "torch.nn.functional.pad",
    signature="input, pad, mode='constant', value=None",
    examples=[
        ex(T(1, 3, 5, 7), (1, 2), out=(1, 3, 5, 10)),
        ex(T(1, 3, 5, 7), (1, 2, 3, 4), out=(1, 3, 12, 10)),
        ex(T(1, 3, 5, 7), (-1, -2), out=(1, 3, 5, 4)),
        ex(T(1, 3, 5, 7), (1, 1, 1, 1), mode="reflect", out=(1, 3, 7, 9)),
        ex(T(2), (1, 1, 1, 1), error=OP_INPUT_SHAPE),
        ex(T(1, 3, 5, 7), (7, 1, 1, 1), mode="reflect", error=OP_INPUT_SHAPE),
    ],
)
def pad(call: RuleCall):
    return _pad(call, call.shape("input"), _pad_list(call, "pad"), _mode(call))


def _padding_layer(n: int, mode: str):
    def rule(call: RuleCall):
        padding = call.value("padding")
        pads = call.dims("padding", 2 * n) if not isinstance(padding, (Seq, ListValue)) else _pad_list(call, "padding")
        if len(pads) != 2 * n:
            raise Unknowable("padding")  # torch rejects this at construction
        return _pad(call, call.shape("input"), pads, mode)

    return rule


for _n in (1, 2, 3):
    _x = T(*(1, 2, 5, 6, 7)[: 2 + _n])
    _padded = tuple(_x.dims[:2]) + tuple(d + 2 for d in _x.dims[2:])
    _small = T(1, 2, *(2,) * _n)  # a reflect pad of 2 or a circular pad of 3 is too large for it
    _errors = {
        "Zero": [ex(T(*(3,) * (_n - 1)), init=(1,), error=OP_INPUT_SHAPE)],
        "Reflection": [ex(_small, init=(2,), error=OP_INPUT_SHAPE)],
        "Circular": [ex(_small, init=(3,), error=OP_INPUT_SHAPE)],
    }
    for _kind, _init, _mode_name in (
        ("Zero", "padding", "constant"),
        ("Constant", "padding, value", "constant"),
        ("Reflection", "padding", "reflect"),
        ("Replication", "padding", "replicate"),
        ("Circular", "padding", "circular"),
    ):
        _args = (1, 0.5) if _kind == "Constant" else (1,)
        layer(
            f"torch.nn.{_kind}Pad{_n}d",
            init=_init,
            examples=[ex(_x, init=_args, out=_padded)] + _errors.get(_kind, []),
        )(_padding_layer(_n, _mode_name))


# -- pixel shuffle -----------------------------------------------------------------------------
def _pixel(call: RuleCall, factor, up: bool) -> Shape:
    shape = call.shape("input")
    what = "pixel_shuffle" if up else "pixel_unshuffle"
    if shape.ranked and shape.rank < 3:
        call.fail(OP_INPUT_SHAPE, f"{what} expects at least 3-D input (*, C, H, W), got {shape.show()}")
    if D.as_int(factor) is not None and D.as_int(factor) <= 0:
        call.fail(OP_INPUT_SHAPE, f"{what} expects a positive factor, got {D.as_int(factor)}")
    if len(shape.dims) < 3:
        raise Unknowable("input")
    c, h, w = shape.dims[-3:]
    square = factor * factor
    if up:
        call.expect(
            c % square,
            0,
            code=OP_INPUT_SHAPE,
            message=lambda: f"pixel_shuffle: the channel dim {D.show(c)} of {shape.show()} is not divisible by {D.show(square)}",
        )
        new = (_exact_quotient(c, square), h * factor, w * factor)
    else:
        for size, which in ((h, "height"), (w, "width")):
            call.expect(
                size % factor,
                0,
                code=OP_INPUT_SHAPE,
                message=lambda: f"pixel_unshuffle: the {which} {D.show(size)} of {shape.show()} is not divisible by {D.show(factor)}",
            )
        new = (c * square, _exact_quotient(h, factor), _exact_quotient(w, factor))
    return Shape(shape.dims[:-3] + new, shape.ranked)


@layer(
    "torch.nn.PixelShuffle",
    init="upscale_factor",
    examples=[ex(T(1, 8, 3, 3), init=(2,), out=(1, 2, 6, 6)), ex(T(1, 6, 3, 3), init=(2,), error=OP_INPUT_SHAPE)],
)
def pixel_shuffle_layer(call: RuleCall):
    return _pixel(call, call.dim("upscale_factor"), True)


@function(
    "torch.nn.functional.pixel_shuffle", "torch.pixel_shuffle",
    signature="input, upscale_factor",
    examples=[ex(T(8, 3, 3), 2, out=(2, 6, 6))],
)
def pixel_shuffle(call: RuleCall):
    return _pixel(call, call.dim("upscale_factor"), True)


@layer(
    "torch.nn.PixelUnshuffle",
    init="downscale_factor",
    examples=[ex(T(1, 2, 4, 6), init=(2,), out=(1, 8, 2, 3)), ex(T(1, 2, 4, 5), init=(2,), error=OP_INPUT_SHAPE)],
)
def pixel_unshuffle_layer(call: RuleCall):
    return _pixel(call, call.dim("downscale_factor"), False)


@function(
    "torch.nn.functional.pixel_unshuffle", "torch.pixel_unshuffle",
    signature="input, downscale_factor",
    examples=[ex(T(2, 4, 6), 2, out=(8, 2, 3))],
)
def pixel_unshuffle(call: RuleCall):
    return _pixel(call, call.dim("downscale_factor"), False)


@function(
    "torch.nn.functional.one_hot",
    signature="tensor, num_classes=-1",
    examples=[ex(T(2, 3, dtype="long"), 5, out=(2, 3, 5))],
)
def one_hot(call: RuleCall):
    classes = call.dim("num_classes")
    if D.as_int(classes) == -1:
        raise Unknowable("num_classes")  # max(tensor) + 1: depends on the values
    shape = call.shape("tensor")
    return Shape(shape.dims + (classes,), shape.ranked)
