"""Dtypes where a call makes them certain, against torch; and what they decide: an integer index
tensor picks rows by position (its shape known), a mask does not (a data-dependent count)."""

from __future__ import annotations

import pytest

from shapels.analysis.engine import Options, analyze
from shapels.symbolic import dims as D
from shapels.values import Tensor

from conftest import driver_globals


PRELUDE = "import torch\nx = torch.randn(4, 6)\ni = torch.arange(3)\n"

KNOWN = [
    "torch.arange(5)", "torch.arange(2, 9, 3)", "torch.zeros(2, 3)", "torch.empty(4, 4, dtype=torch.long)",
    "torch.ones(3, dtype=torch.int32)", "torch.randn(2, 2, dtype=torch.float64)", "x.long()", "x.int()", "x.bool()",
    "x.double()", "x.half()", "i.float()", "x > 0", "x == x", "i.view(3, 1)", "i.reshape(-1)", "i.flatten()",
    "i.unsqueeze(0).expand(2, 3)", "i.clone()", "i.contiguous()", "i + 1", "i * 2", "i.to('cpu')",
    "x.to(torch.int64)", "x.to(dtype=torch.bool)", "torch.zeros_like(i)", "torch.tensor([1, 2])",
    "torch.tensor([1.5, 2])", "torch.tensor([True, False])", "torch.empty(3, dtype=torch.long).copy_(i)",
    "torch.logical_or(x > 1, x < 0)", "0 < x", "x != i[0]", "i[1:]", "i[None]", "x.permute(1, 0)",
    "torch.isnan(x)", "x.isinf()", "torch.isfinite(i)", "x.signbit()", "torch.logical_not(i)", "torch.isneginf(x)",
    "x.isposinf()", "torch.isreal(x)",
    # torch's promotion of known dtypes, and reductions
    "x[:, :3] + i", "i / 2", "i + 0.5", "i // 2", "torch.full((2,), 3)", "torch.full((2,), 1.5)", "torch.full((2,), True)",
    "torch.where(i > 0, i.float(), i)", "torch.where(i > 0, i, 0)", "i.sum()", "(x > 0).sum()", "x.mean()",
    "i.argmax()", "torch.cat([i, i.int()])", "torch.stack([i.half(), i.float()])", "i.int() * torch.tensor(2.5)",
    "x.half() + torch.tensor(2.5, dtype=torch.float64)", "torch.div(i, 2, rounding_mode='floor')", "i.cumsum(0)",
]


@pytest.mark.parametrize("expression", KNOWN)
def test_known_dtypes_are_torchs(expression):
    source = PRELUDE + f"value = {expression}\n"
    scope: dict = {}
    exec(source, scope)
    value = driver_globals(source)["value"]
    assert isinstance(value, Tensor) and value.dtype == str(scope["value"].dtype).replace("torch.", "")


@pytest.mark.parametrize("expression", ["x + other", "x.to(other)", "torch.where(x > 0, x, other)", "i.mean()",
                                        "torch.add(i, other)", "torch.cat([i, other])", "i.int() + unranked"])
def test_dtypes_that_depend_on_something_unknown_stay_unknown(expression):
    prelude = PRELUDE + "other = unknown_thing()\nunranked = other.long()\n"  # int64, of unknown rank
    value = driver_globals(prelude + f"value = {expression}\n")["value"]
    assert not isinstance(value, Tensor) or value.dtype is None


@pytest.mark.parametrize("expression", ["table[index]", "table[index.view(-1)]", "table[:, index[:2]]",
                                        "table[index.view(5, 1)]", "table[torch.tensor([0, 2, 2, 1])]",
                                        "table[index.long()]", "table[..., 0]"])
def test_integer_index_tensors_pick_rows_as_torch_does(expression):
    source = ("import torch\ntable = torch.randn(7, 3)\nindex = torch.empty(5, dtype=torch.long)\n"
              "index.copy_(torch.tensor([0, 1, 2, 2, 1]))\n" + f"value = {expression}\n")
    scope: dict = {}
    exec(source, scope)
    value = driver_globals(source)["value"]
    assert value.shape.ranked and [int(d) for d in value.shape.dims] == list(scope["value"].shape)


@pytest.mark.parametrize("expression", ["table[table[:, 0] > 0]", "table[mask]", "table[unknown_index()]"])
def test_masks_and_unknown_dtypes_stay_unknown(expression):
    source = "import torch\ntable = torch.randn(7, 3)\nmask = torch.rand(7) > 0.5\n" + f"value = {expression}\n"
    value = driver_globals(source)["value"]
    assert not value.shape.ranked or any(D.free_symbols(d) for d in value.shape.dims)


RELATIVE_BIAS = """
import torch
import torch.nn as nn


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.heads = heads
        self.area = window * window
        self.table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("index", torch.empty(self.area, self.area, dtype=torch.long), persistent=False)
        self.index.copy_(torch.randint(0, (2 * window - 1) ** 2, (self.area, self.area)))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.table[self.index.view(-1)].view(self.area, self.area, -1).permute(2, 0, 1).unsqueeze(0)
        x = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x.transpose(1, 2).reshape(B, N, -1)
        return self.proj(x)

out = WindowAttention(96, 3, 7)(torch.randn(8, 49, 96))
"""


def test_a_relative_position_bias_from_a_long_buffer_keeps_the_heads():
    """timm's window attention: with the heads of the bias known, the output width after the
    `reshape(B, N, -1)` is known, and a wrong proj is found (it was silent: heads unknown)."""
    scope: dict = {"__name__": "__main__"}
    exec(RELATIVE_BIAS, scope)
    [report] = [m for m in analyze(RELATIVE_BIAS, "m.py", Options()).modules if m.name == "WindowAttention"]
    assert report.output.shape.show() == "(8, 49, 96)" == str(tuple(scope["out"].shape))
    bad = RELATIVE_BIAS.replace("self.proj = nn.Linear(dim, dim)", "self.proj = nn.Linear(dim * 2, dim)")
    with pytest.raises(RuntimeError):
        exec(bad, {"__name__": "__main__"})
    errors = [f for f in analyze(bad, "m.py", Options()).findings if f.severity == "error"]
    assert [(f.code, f.fix.content) for f in errors] == [("linear-in-features", "dim")]  # in the class's own terms


@pytest.mark.parametrize("expression", ["a > b", "a <= 0.5", "0.5 < a", "b == a", "a != b[0]", "3 >= b"])
def test_tensor_comparisons_broadcast_as_torch_does(expression):
    source = f"import torch\na = torch.randn(4, 1, 3)\nb = torch.randn(5, 3)\nvalue = {expression}\n"
    scope: dict = {}
    exec(source, scope)
    value = driver_globals(source)["value"]
    assert [int(d) for d in value.shape.dims] == list(scope["value"].shape) and value.dtype == "bool"


def test_a_comparison_of_shapes_that_do_not_broadcast_is_torchs_error():
    source = "import torch\na = torch.randn(4, 3)\nb = torch.randn(5, 3)\nmask = a > b\n"
    with pytest.raises(RuntimeError):
        exec(source, {})
    assert [f.code for f in analyze(source, "m.py", Options()).findings if f.severity == "error"] == ["broadcast-mismatch"]


def _torch_fails_with(source: str, words: str) -> bool:
    """Whether running the program under torch raises a RuntimeError that mentions `words`."""
    try:
        exec(source, {})
    except RuntimeError as error:
        return words in str(error)
    return False


EMBEDDING_PROGRAM = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 8)

    def forward(self, tokens):
        return self.emb({use})

Net()({tokens})
"""


@pytest.mark.parametrize("use, tokens, fails", [
    ("tokens", "torch.randn(2, 5)", True),
    ("tokens", "torch.randint(0, 100, (2, 5))", False),
    ("tokens", "torch.arange(10).view(2, 5) // 2", False),
    ("tokens", "torch.arange(10).view(2, 5) / 2", True),
    ("tokens.int()", "torch.rand(2, 5) * 10", False),
    ("tokens.float()", "torch.randint(0, 100, (2, 5))", True),
    ("tokens", "torch.full((2, 5), 3)", False),
    ("tokens", "torch.zeros(2, 5)", True),
])
def test_embedding_indices_of_a_float_dtype_are_torchs_error(use, tokens, fails):
    source = EMBEDDING_PROGRAM.format(use=use, tokens=tokens)
    assert _torch_fails_with(source, "indices") == fails
    codes = [f.code for f in analyze(source, "net.py").findings if f.severity == "error"]
    assert codes == (["embedding-input"] if fails else [])


def test_embedding_indices_of_unknown_dtype_decide_nothing():
    source = EMBEDDING_PROGRAM.format(use="tokens", tokens="torch.load('tokens.pt')")
    assert not [f for f in analyze(source, "net.py").findings if f.severity == "error"]
    no_driver = EMBEDDING_PROGRAM.format(use="tokens.float()", tokens="None").replace("Net()(None)", "")
    assert [f.code for f in analyze(no_driver, "net.py").findings] == ["embedding-input"]  # any input: float


LINEAR_PROGRAM = """
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
model({features})
"""


@pytest.mark.parametrize("features, fails", [
    ("torch.tensor([[1, 2, 3, 4]])", True),  # int64 data: the classic first run
    ("torch.tensor([[1.0, 2, 3, 4]])", False),
    ("torch.tensor([[1, 2, 3, 4]]).float()", False),
    ("torch.randn(3, 4) > 0", True),
    ("torch.arange(8).view(2, 4)", True),
    ("torch.arange(8).view(2, 4) / 2", False),
    ("torch.load('x.pt')", False),  # unknown dtype: nothing decided
])
def test_integer_inputs_to_a_linear_are_torchs_dtype_error(features, fails):
    source = LINEAR_PROGRAM.format(features=features)
    if "load" not in features:
        assert _torch_fails_with(source, "dtype") == fails
    found = [f for f in analyze(source, "net.py").findings if f.severity == "error"]
    assert [f.code for f in found] == (["input-dtype"] if fails else [])
    if fails:
        assert found[0].span.start_line == 5  # the layer the tensor meets first


def _apply(source: str, fix) -> str:
    lines = source.split("\n")
    span = fix.span
    assert span.start_line == span.end_line
    line = lines[span.start_line - 1]
    lines[span.start_line - 1] = line[:span.start_col] + fix.content + line[span.end_col:]
    return "\n".join(lines)


@pytest.mark.parametrize("source", [
    LINEAR_PROGRAM.format(features="torch.tensor([[1, 2, 3, 4]])"),
    LINEAR_PROGRAM.format(features="torch.arange(8).view(2, 4)"),
    LINEAR_PROGRAM.format(features="(torch.randn(3, 4) > 0)"),
    EMBEDDING_PROGRAM.format(use="tokens", tokens="torch.rand(2, 5) * 100"),
    EMBEDDING_PROGRAM.format(use="tokens * 1.0", tokens="torch.randint(0, 100, (2, 5))"),
])
def test_the_dtype_fix_converts_the_tensor_where_it_is_passed_and_torch_then_runs(source):
    with pytest.raises(RuntimeError):
        exec(source, {})
    (finding,) = [f for f in analyze(source, "net.py").findings if f.severity == "error"]
    fixed = _apply(source, finding.fix)
    exec(fixed, {})  # torch runs the fixed program
    assert not [f for f in analyze(fixed, "net.py").findings if f.severity == "error"]
