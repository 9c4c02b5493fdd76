"""What each window layer's registry entry declares (registry.Window), against real torch and real Keras 3
(torch backend, CPU): the arguments it names as the kernel, the stride, the padding and the dilation set
the size of the map the layer leaves as the arithmetic the causes follow says (analysis/causes/
geometry.py's `conv_out` / `pool_out` for torch's windows padded by an amount), a pool's stride defaults
to its kernel, the rounding flag rounds up, and a Keras window's padding is a mode ("valid" drops what
the kernel does not cover, "same" keeps ceil(size / strides))."""

from __future__ import annotations

import math
import os

import pytest
import torch

from shapels.rules.common import conv_out, pool_out
from shapels.rules.registry import window_layers
from shapels.symbolic import dims as D

SIZE = 13  # of each side of the map the layers are run on
# (kernel, stride, padding, dilation): the arithmetic's terms each matter in one of them
GEOMETRIES = [(3, 2, 1, 1), (5, 1, 2, 1), (2, 3, 0, 1), (3, 1, 0, 2)]


def _windows(prefix: str, slides: tuple) -> list:
    return [(qualname, window) for qualname, window in window_layers()
            if qualname.startswith(prefix) and window.slides in slides]


TORCH = _windows("torch.nn.", ("conv", "pool"))
KERAS = _windows("keras.layers.", ("conv", "pool"))


def _torch_side(layer_class, window, args: dict, size: int = SIZE) -> int:
    if window.slides == "conv":
        args = dict(args, in_channels=2, out_channels=3)
    with torch.no_grad():
        out = layer_class(**args)(torch.zeros(1, 2, *([size] * window.spatial)))
    assert len(set(out.shape[2:])) == 1
    return out.shape[-1]


@pytest.mark.parametrize("qualname, window", TORCH, ids=[q for q, _ in TORCH])
def test_a_torch_window_sizes_its_map_by_the_arguments_it_declares(qualname, window):
    layer_class = getattr(torch.nn, qualname.rsplit(".", 1)[-1])
    for kernel, stride, padding, dilation in GEOMETRIES:
        if dilation != 1 and window.dilation is None:
            continue
        args = {window.kernel: kernel, window.stride: stride, window.padding: padding}
        if window.dilation is not None:
            args[window.dilation] = dilation
        sizes = (SIZE, kernel, stride, padding, dilation)
        expected = pool_out(*sizes, False) if window.pool else conv_out(*sizes)
        assert _torch_side(layer_class, window, args) == D.as_int(expected), args
    if window.pool:  # no stride given: the kernel's
        assert _torch_side(layer_class, window, {window.kernel: 3}) == D.as_int(pool_out(SIZE, 3, 3, 0, 1, False))
    if window.ceil_mode is not None:  # a side of 12 leaves 5 windows of 3 by 2, and a sixth rounded up
        rounded = {window.kernel: 3, window.stride: 2, window.ceil_mode: True}
        assert _torch_side(layer_class, window, rounded, 12) == D.as_int(pool_out(12, 3, 2, 0, 1, True)) == 6


def _keras_side(layer_class, window, args: dict) -> int:
    import numpy as np

    if window.slides == "conv" and "Depthwise" not in layer_class.__name__:
        args = dict(args, filters=3)
    out = layer_class(**args)(np.zeros((1, *([SIZE] * window.spatial), 2), "float32"))
    assert len(set(tuple(out.shape)[1:-1])) == 1
    return tuple(out.shape)[1]


@pytest.mark.parametrize("qualname, window", KERAS, ids=[q for q, _ in KERAS])
def test_a_keras_window_sizes_its_map_by_the_arguments_it_declares(qualname, window):
    if os.environ.setdefault("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("Keras is checked on the torch backend")
    keras = pytest.importorskip("keras")
    layer_class = getattr(keras.layers, qualname.rsplit(".", 1)[-1])
    assert window.padding_mode
    for kernel, stride, _, dilation in GEOMETRIES:
        if dilation != 1 and (window.dilation is None or stride != 1):
            continue  # Keras takes no strides beside a dilation
        args = {window.kernel: kernel, window.stride: stride}
        if window.dilation is not None:
            args[window.dilation] = dilation
        span = dilation * (kernel - 1) + 1
        assert _keras_side(layer_class, window, {**args, window.padding: "valid"}) == (SIZE - span) // stride + 1
        assert _keras_side(layer_class, window, {**args, window.padding: "same"}) == math.ceil(SIZE / stride)
    if window.pool:  # no strides given: the pool size
        assert _keras_side(layer_class, window, {window.kernel: 3}) == (SIZE - 3) // 3 + 1
