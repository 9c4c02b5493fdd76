"""A layer's attributes as the analysis reads them from its registry entry (weights, biases, running
statistics, stored tuples; a grouped or transposed convolution's weight), each program checked
against torch: the output shape shapels gives is torch's, and an error it reports torch raises."""

from __future__ import annotations

import textwrap

import pytest

from conftest import torch_error
from shapels.analysis.engine import Options, analyze


def _program(body: str, forward: str, x: str) -> str:
    return textwrap.dedent(f"""\
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = {body}

            def forward(self, x):
                return {forward}

        out = Net()({x})
        """)


def _analysis(source: str):
    result = analyze(source, "m.py", Options())
    [net] = [m for m in result.modules if m.name == "Net"]
    errors = [f.code for f in result.findings if f.severity == "error"]
    return (net.output.shape.show() if hasattr(net.output, "shape") else None), errors


def _torch_shape(source: str) -> str:
    scope = {"__name__": "__main__"}
    exec(compile(source, "<model>", "exec"), scope)
    return str(tuple(scope["out"].shape))


RUNS = [
    # parameters and buffers
    ("nn.BatchNorm1d(16)", "x + self.layer.running_mean", "torch.randn(4, 16)"),
    ("nn.BatchNorm2d(6)", "x * self.layer.running_var.view(1, -1, 1, 1)", "torch.randn(2, 6, 3, 3)"),
    ("nn.Bilinear(3, 5, 7)", "x @ self.layer.weight.flatten(1)", "torch.randn(2, 7)"),
    ("nn.Conv2d(8, 12, (3, 5), groups=4)", "x @ self.layer.weight.flatten(1)", "torch.randn(2, 12)"),
    ("nn.ConvTranspose2d(8, 12, 3, groups=4)", "x @ self.layer.weight.flatten(1)", "torch.randn(2, 8)"),
    ("nn.Conv1d(4, 6, 3)", "x + self.layer.bias", "torch.randn(2, 6)"),
    ("nn.Embedding(10, 3)", "F.linear(x, self.layer.weight)", "torch.randn(2, 3)"),
    ("nn.LayerNorm((4, 5))", "x * self.layer.weight", "torch.randn(2, 4, 5)"),
    ("nn.GroupNorm(2, 6)", "x + self.layer.bias", "torch.randn(6)"),
    # stored tuples
    ("nn.Conv2d(3, 8, 5)", "x.new_zeros(self.layer.kernel_size)", "torch.randn(1)"),
    ("nn.ConvTranspose1d(3, 8, 2, output_padding=1, stride=2)", "x.new_zeros(self.layer.output_padding + (2,))",
     "torch.randn(1)"),
]


@pytest.mark.parametrize("body, forward, x", RUNS)
def test_declared_attributes_give_torchs_shapes(body, forward, x):
    source = _program(body, forward, x)
    shape, errors = _analysis(source)
    assert errors == []
    assert shape == _torch_shape(source)


FAILS = [
    ("nn.BatchNorm1d(16)", "x + self.layer.running_mean", "torch.randn(4, 8)"),
    ("nn.Linear(4, 6)", "x + self.layer.bias", "torch.randn(2, 4)"),
    ("nn.Conv2d(8, 12, 3, groups=4)", "x @ self.layer.weight.flatten(1)", "torch.randn(2, 8)"),
    ("nn.InstanceNorm1d(5, affine=True)", "x * self.layer.weight", "torch.randn(2, 4)"),
]


@pytest.mark.parametrize("body, forward, x", FAILS)
def test_a_mismatch_with_a_declared_attribute_is_torchs_error(body, forward, x):
    source = _program(body, forward, x)
    assert torch_error(source) is not None
    _, errors = _analysis(source)
    assert errors and errors[0] in ("broadcast-mismatch", "matmul-mismatch")


ABSENT = [
    ("nn.BatchNorm1d(16, track_running_stats=False)", "running_mean"),
    ("nn.Linear(4, 6, bias=False)", "bias"),
    ("nn.LayerNorm(8, elementwise_affine=False)", "weight"),
    ("nn.InstanceNorm2d(3)", "num_batches_tracked"),
]


@pytest.mark.parametrize("body, name", ABSENT)
def test_a_flag_that_turns_a_parameter_off_makes_it_none(body, name):
    """`x if self.layer.<name> is None else x.sum()`: torch's attribute is None, and so is shapels'."""
    source = _program(body, f"x if self.layer.{name} is None else x.sum()", "torch.randn(2, 3)")
    assert _torch_shape(source) == "(2, 3)"
    assert _analysis(source) == ("(2, 3)", [])


def test_a_list_changed_where_the_code_may_not_run_sizes_nothing():
    """`kernel_size` built in a loop of unknown length: neither the weight nor the stored tuple is known."""
    source = textwrap.dedent("""\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                sizes = [3]
                for _ in range(n):
                    sizes.append(5)
                self.layer = nn.Conv1d(2, 4, sizes)

            def forward(self, x):
                return x.new_zeros(self.layer.kernel_size) + self.layer.weight.sum(0)
        """)
    result = analyze(source, "m.py", Options())
    [net] = [m for m in result.modules if m.name == "Net"]
    assert [f.code for f in result.findings if f.severity == "error"] == []
    assert not (hasattr(net.output, "shape") and net.output.shape.ranked)
