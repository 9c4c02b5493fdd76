"""Class introspection model code branches on (torchvision's `_log_api_usage_once`, `if self.__class__
== Base: warn`): `__class__`, `type(x)`, `__name__`, class identity and `types.FunctionType`. Each program
picks a layer size through one of them; shapels must flag exactly the variants that fail under torch."""

from __future__ import annotations

import textwrap

import pytest

from conftest import torch_fails
from shapels.analysis.engine import Options, analyze

torch = pytest.importorskip("torch")

HEADER = """
import types
from types import FunctionType
import torch
import torch.nn as nn
"""

# Each program builds `Wide(...)` or `Narrow(...)`, both subclasses of Base, whose in_features is chosen by
# introspection; only the right pick matches the (2, 8) input.
MODEL = """
class Base(nn.Module):
    def __init__(self{params}):
        super().__init__()
        self.fc = nn.Linear({size}, 3)
    def forward(self, x):
        return self.fc(x)
class Wide(Base):
    pass
class Narrow(Base):
    pass
"""

# name -> (helpers defined before the model, Base's extra parameters, the in_features expression)
PROGRAMS = {
    "__class__ equality": ("", "", "8 if self.__class__ == Wide else 5"),
    "type() identity": ("", "", "5 if type(self) is Narrow else 8"),
    "class __name__": ("""
def width(obj):
    name = obj.__class__.__name__
    if isinstance(obj, FunctionType):
        name = obj.__name__
    return {"Wide": 8, "Narrow": 5, "helper": 7}[name]
""", "", "width(self)"),
    "function __name__": ("""
def helper():
    pass
def width(obj):
    name = "Wide"
    if isinstance(obj, types.FunctionType):
        name = obj.__name__
    return 8 if name == "Wide" else 5
""", ", named", "width(named)"),
}

CALLS = {"function __name__": {"Wide": "Wide(Wide(None))", "Narrow": "Narrow(helper)"}}


def program(name: str, built: str) -> str:
    helpers, params, size = PROGRAMS[name]
    call = CALLS.get(name, {}).get(built, f"{built}()")
    model = MODEL.replace("{params}", params).replace("{size}", size)
    return textwrap.dedent(HEADER) + helpers + model + f"model = {call}\ny = model(torch.randn(2, 8))\n"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("built", ["Wide", "Narrow"])
def test_introspection_picks_the_branch_torch_takes(name, built):
    source = program(name, built)
    result = analyze(source, "m.py", Options())
    errors = [f for f in result.findings if f.severity == "error"]
    assert torch_fails(source) == (built == "Narrow")  # the programs themselves: Wide runs, Narrow fails
    if built == "Wide":
        assert errors == []
    else:
        assert [f.code for f in errors] == ["linear-in-features"]
        assert "y = model(" not in source.splitlines()[errors[0].span.start_line - 1]


def test_a_different_class_statement_is_a_different_class():
    source = textwrap.dedent(HEADER) + textwrap.dedent("""
        class A(nn.Module):
            pass
        class B(nn.Module):
            pass
        same = A == A and A is A and type(A()) is A and A().__class__ == A
        differ = A != B and A is not B and type(A()) is not B
        size = 8 if same and differ else 5
        fc = nn.Linear(size, 3)
        y = fc(torch.randn(2, 8))
    """)
    assert not torch_fails(source)
    assert [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"] == []
    assert [f.code for f in analyze(source.replace("8 if", "5 if"), "m.py", Options()).findings
            if f.severity == "error"] == ["linear-in-features"]
