"""input-dtype: an integer or bool tensor into a layer with floating-point weights is torch's error,
for every layer registered with `float_inputs`; a float32 tensor is not (differential on the CPU)."""

from __future__ import annotations

import pytest

from _fn_harness import T, call_rule, differential
from shapels.rules.base import ShapeError
from shapels.rules.registry import REGISTRY

# qualname -> (constructor args, input dims per tensor argument)
LAYERS = {
    "torch.nn.Linear": ((4, 3), [(2, 4)]),
    "torch.nn.LazyLinear": ((3,), [(2, 4)]),
    "torch.nn.Bilinear": ((4, 5, 3), [(2, 4), (2, 5)]),
    "torch.nn.Conv1d": ((4, 3, 1), [(2, 4, 5)]),
    "torch.nn.Conv2d": ((4, 3, 3), [(2, 4, 5, 5)]),
    "torch.nn.Conv3d": ((4, 3, 1), [(1, 4, 2, 2, 2)]),
    "torch.nn.ConvTranspose1d": ((4, 3, 1), [(2, 4, 5)]),
    "torch.nn.ConvTranspose2d": ((4, 3, 2), [(2, 4, 5, 5)]),
    "torch.nn.ConvTranspose3d": ((4, 3, 1), [(1, 4, 2, 2, 2)]),
    "torch.nn.BatchNorm1d": ((4,), [(2, 4)]),
    "torch.nn.BatchNorm2d": ((4,), [(2, 4, 3, 3)]),
    "torch.nn.BatchNorm3d": ((4,), [(1, 4, 2, 2, 2)]),
    "torch.nn.InstanceNorm1d": ((4,), [(2, 4, 5)]),
    "torch.nn.InstanceNorm2d": ((4,), [(2, 4, 3, 3)]),
    "torch.nn.InstanceNorm3d": ((4,), [(1, 4, 2, 2, 2)]),
    "torch.nn.LayerNorm": ((4,), [(2, 4)]),
    "torch.nn.RMSNorm": ((4,), [(2, 4)]),
    "torch.nn.GroupNorm": ((2, 4), [(2, 4, 3)]),
    "torch.nn.RNN": ((4, 3), [(5, 2, 4)]),
    "torch.nn.LSTM": ((4, 3), [(5, 2, 4)]),
    "torch.nn.GRU": ((4, 3), [(5, 4)]),
    "torch.nn.RNNCell": ((4, 3), [(2, 4)]),
    "torch.nn.LSTMCell": ((4, 3), [(2, 4)]),
    "torch.nn.GRUCell": ((4, 3), [(2, 4)]),
    "torch.nn.MultiheadAttention": ((4, 2), [(3, 2, 4)] * 3),
}


@pytest.mark.parametrize("qualname", sorted(LAYERS))
@pytest.mark.parametrize("dtype", ["long", "int32", "bool", "float"])
def test_integer_and_bool_inputs_are_torchs_dtype_error(qualname, dtype):
    init, inputs = LAYERS[qualname]
    differential(qualname, *[T(*dims, dtype=dtype) for dims in inputs], init=init)
    if dtype != "float":
        got, _ = call_rule(qualname, *[T(*dims, dtype=dtype) for dims in inputs], init=init)
        assert isinstance(got, ShapeError) and got.code == "input-dtype"


def test_the_layers_here_are_the_checked_ones():
    """Every layer rule registered with float_inputs (its rule wrapped by the check) is tested above."""
    checked = {q for q, rule in REGISTRY.items() if rule.is_layer and rule.fn.__code__.co_name == "checked"}
    unchecked_lazy = {q for q in checked if q.startswith("torch.nn.Lazy") and q not in LAYERS}
    assert checked - unchecked_lazy == set(LAYERS)
