"""Resize rules (rules/resize.py) against torch: interpolate/Upsample, pad and the padding layers,
pixel (un)shuffle, one_hot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, differential, shapes, symbolic
from shapels.rules.base import ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

B, H, W = D.symbol("B"), D.symbol("H"), D.symbol("W")

MODES = ["nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"]
# Dyadic and awkward scales: 0.29 * 100 is 28.999... in double precision, so floor gives 28.
SCALES = st.sampled_from([0.5, 1.5, 2, 3, 0.25, 1.7, 0.29, 1 / 3, 2.5]) | st.floats(0.2, 3.0)


_FITS = {3: ["nearest", "nearest-exact", "area", "linear"], 4: ["nearest", "area", "bilinear", "bicubic"],
         5: ["nearest", "nearest-exact", "area", "trilinear"]}


@st.composite
def resize_case(draw):
    """Mostly a 3-5-D input with a mode that fits; sometimes a wrong rank, mode or length."""
    rank = draw(st.sampled_from([3, 4, 5, 3, 4, 5, 2, 6]))
    shape = draw(shapes(min_rank=rank, max_rank=rank, max_size=7))
    fits = _FITS.get(rank, MODES)
    kwargs = {"mode": draw(st.sampled_from(fits if draw(st.integers(0, 4)) else MODES))}
    spatial = max(rank - 2, 1) + (draw(st.sampled_from([1, -1])) if not draw(st.integers(0, 6)) else 0)
    if draw(st.booleans()):
        size = [draw(st.integers(1, 9)) for _ in range(max(spatial, 1))]
        kwargs["size"] = size[0] if draw(st.booleans()) else tuple(size)
    else:
        scales = [draw(SCALES) for _ in range(max(spatial, 1))]
        kwargs["scale_factor"] = scales[0] if draw(st.booleans()) else tuple(scales)
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True, False]))
    return shape, kwargs


@SETTINGS
@given(resize_case())
def test_interpolate(case):
    shape, kwargs = case
    differential("torch.nn.functional.interpolate", T(*shape), **kwargs)


@SETTINGS
@given(resize_case())
def test_upsample_layer(case):
    shape, kwargs = case
    differential("torch.nn.Upsample", T(*shape), init_kwargs=kwargs)
    kwargs.pop("mode"), kwargs.pop("recompute_scale_factor", None)
    differential("torch.nn.UpsamplingNearest2d", T(*shape), init_kwargs=kwargs)


@st.composite
def pad_case(draw):
    """Constant pads (maybe negative) on any rank; reflect/replicate/circular pads of k dims on a
    (k+1)- or (k+2)-D input, mostly no larger than the dims."""
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        shape = draw(shapes(min_rank=0, max_rank=5, max_size=5))
        pads = draw(st.lists(st.integers(-6, 6), min_size=0, max_size=8).filter(lambda p: len(p) % 2 == 0))
        return shape, tuple(pads), mode
    k = draw(st.integers(1, 3))
    rank = k + draw(st.sampled_from([1, 2, 1, 2, 0, 3]))
    shape = draw(shapes(min_rank=rank, max_rank=rank, max_size=5))
    pads = draw(st.lists(st.integers(0, draw(st.sampled_from([1, 2, 5]))), min_size=2 * k, max_size=2 * k))
    return shape, tuple(pads), mode


@SETTINGS
@given(pad_case())
def test_pad(case):
    shape, pads, mode = case
    differential("torch.nn.functional.pad", T(*shape), pads, mode=mode)


@SETTINGS
@given(st.data(), st.integers(1, 3), st.sampled_from(["Zero", "Constant", "Reflection", "Replication", "Circular"]))
def test_padding_layers(data, n, kind):
    shape = data.draw(shapes(min_rank=max(n - 1, 0), max_rank=n + 3, max_size=5))
    padding = data.draw(st.integers(0, 5) | st.lists(st.integers(0, 5), min_size=2 * n, max_size=2 * n).map(tuple))
    init = (padding, 1.5) if kind == "Constant" else (padding,)
    differential(f"torch.nn.{kind}Pad{n}d", T(*shape), init=init)


@SETTINGS
@given(st.data())
def test_pixel_shuffle(data):
    r = data.draw(st.integers(1, 3))
    shape = data.draw(shapes(min_rank=2, max_rank=5, max_size=4))
    if len(shape) >= 3 and data.draw(st.booleans()):  # make it fit
        shape = shape[:-3] + (shape[-3] * r * r,) + shape[-2:]
    differential("torch.nn.PixelShuffle", T(*shape), init=(r,))
    differential("torch.nn.functional.pixel_shuffle", T(*shape), r)
    if len(shape) >= 3 and data.draw(st.booleans()):
        shape = shape[:-2] + (shape[-2] * r, shape[-1] * r)
    differential("torch.nn.PixelUnshuffle", T(*shape), init=(r,))
    differential("torch.nn.functional.pixel_unshuffle", T(*shape), r)


@SETTINGS
@given(shapes(max_rank=3), st.integers(2, 5))
def test_one_hot(shape, classes):
    differential("torch.nn.functional.one_hot", T(*shape, dtype="long"), classes)


# -- symbolic and unranked inputs (rule only) ---------------------------------------------------
def test_interpolate_symbolic():
    x = Shape.of([B, 3, H, W])
    assert symbolic("torch.nn.functional.interpolate", x, scale_factor=2) == Shape.of([B, 3, 2 * H, 2 * W])
    half = symbolic("torch.nn.functional.interpolate", x, scale_factor=0.5)
    assert D.show(half.dims[2]) == "H//2"
    assert symbolic("torch.nn.functional.interpolate", Shape.suffix([H, W]), size=(8, 8)) == Shape.suffix([8, 8])
    assert isinstance(symbolic("torch.nn.functional.interpolate", Shape.suffix([H, W]), scale_factor=2), Unknowable)


def test_pad_symbolic():
    assert symbolic("torch.nn.functional.pad", Shape.of([B, 3, H, W]), (1, 1, 2, 2)) == Shape.of([B, 3, H + 4, W + 2])
    assert symbolic("torch.nn.functional.pad", Shape.suffix([W]), (1, 2)) == Shape.suffix([W + 3])


def test_pixel_shuffle_symbolic():
    assert symbolic("torch.nn.functional.pixel_shuffle", Shape.of([B, 4 * H, H, W]), 2) == Shape.of([B, H, 2 * H, 2 * W])
    error = symbolic("torch.nn.functional.pixel_unshuffle", Shape.of([B, 3, 2 * H + 1, W]), 2)
    assert isinstance(error, ShapeError) and error.code == "op-input-shape"
