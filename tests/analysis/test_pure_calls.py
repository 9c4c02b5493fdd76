"""Calls of pure functions on constants answered from their first run (pure_calls.py), checked against Python.

The answered call must give what running the body again gives: the same shapes, memories of its own (the
first caller may write to the tensor it got), and the same count of steps. A function that may read or write
the program's own state runs at every call, as Python runs it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shapels.analysis import interpreter, pure_calls
from shapels.analysis.engine import Options, analyze


def _analysed(source: str) -> tuple:
    result = analyze(source, "m.py", Options())
    [net] = [m for m in result.modules if m.name == "Net"]
    return net.output.shape.show(), result.steps, result.findings


def _python(source: str) -> str:
    scope = {"__name__": "__main__"}
    exec(compile(source, "<model>", "exec"), scope)
    return str(tuple(scope["out"].shape)).replace(",)", ")")


def _body_runs(monkeypatch, source: str, name: str) -> int:
    """How many times the body of the function `name` ran in an analysis of `source`."""
    runs = []
    original = interpreter.Interpreter._invoke

    def spy(self, function, node, *args):
        if getattr(getattr(node, "name", None), "value", None) == name:
            runs.append(node)
        return original(self, function, node, *args)

    monkeypatch.setattr(interpreter.Interpreter, "_invoke", spy)
    analyze(source, "m.py", Options())
    return len(runs)


# maxvit's relative-position index, built in each of a model's attention layers with the same sizes
INDEX = """
import torch
import torch.nn as nn

def position_index(height: int, width: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid([torch.arange(height), torch.arange(width)], indexing="ij"))
    coords_flat = torch.flatten(coords, 1)
    relative = coords_flat[:, :, None] - coords_flat[:, None, :]
    relative = relative.permute(1, 2, 0).contiguous()
    relative[:, :, 0] += height - 1
    return relative.sum(-1)

class Block(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.register_buffer("index", position_index(size, size))

    def forward(self, x):
        return x + self.index.view(-1)[: x.shape[-1]]

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block(3) for _ in range(4)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x

out = Net()(torch.zeros(2, 5))
"""


def _unanswered(monkeypatch) -> None:
    monkeypatch.setattr(pure_calls.PureCalls, "key", lambda *args: None)


def test_a_pure_call_on_equal_constants_runs_its_body_once(monkeypatch):
    assert _body_runs(monkeypatch, INDEX, "position_index") == 1


def test_the_answer_is_what_running_the_body_again_gives(monkeypatch):
    answered = _analysed(INDEX)
    assert answered[0] == _python(INDEX)
    _unanswered(monkeypatch)
    assert _analysed(INDEX) == answered  # shapes, steps and findings alike


# The first caller writes to the tensor it got: the second call's tensor still holds the body's values
WRITTEN = """
import torch
import torch.nn as nn

def counts(n):
    return torch.arange(n)

class Net(nn.Module):
    def forward(self, x):
        rows = []
        for _ in range(2):
            c = counts(3)
            rows.append(c.tolist()[2])
            c.add_(1)  # every alias of c loses its known values
        return x.new_zeros(rows[0] + rows[1], 2)

out = Net()(torch.zeros(2, 3))
"""


def test_an_answer_has_a_memory_of_its_own(monkeypatch):
    assert _analysed(WRITTEN)[0] == _python(WRITTEN) == "(4, 2)"
    assert _body_runs(monkeypatch, WRITTEN, "counts") == 1


# A function that reads or writes the program's own state runs at each call, as Python runs it
IMPURE = """
import torch
import torch.nn as nn

SIZES = [2]
CALLS = []

{function}

class Net(nn.Module):
    def forward(self, x):
        rows = []
        for _ in range(2):
            rows.append(width(2))
            SIZES[0] = 3
        return x.new_zeros(rows[0] + rows[1] + len(CALLS), 2)

out = Net()(torch.zeros(2, 3))
"""


@pytest.mark.parametrize("function", [
    "def width(n):\n    return n * SIZES[0]",  # a global list, changed between the calls
    "def width(n):\n    CALLS.append(n)\n    return n",  # a global list written
    "def width(n):\n    global SIZES\n    return n",
    "def _twice(n):\n    return 2 * n\n\ndef width(n):\n    return _twice(n)",  # another function of the program
])
def test_a_function_that_may_touch_the_programs_state_runs_each_time(monkeypatch, function):
    source = IMPURE.format(function=function)
    assert _analysed(source)[0] == _python(source)
    assert _body_runs(monkeypatch, source, "width") == 2


@pytest.mark.parametrize("function, free", [
    ("def f(n):\n    x = torch.arange(n)\n    x[0] = 1\n    return x", {"torch"}),
    ("def f(n, *a, k=1, **kw):\n    return [i for i in range(n)]", {"range"}),
    ("def f(n):\n    torch.flag = n\n    return n", None),  # writes a library module's attribute
    ("def f(n):\n    g = lambda: n\n    return g()", None),
    ("@functools.lru_cache\ndef f(n):\n    return n", None),  # functools' own cache answers it (function_caches)
    ("def f(n):\n    c = Config(n)\n    return n", None),  # the file's own class
    ("def f(n):\n    return helper(n)", None),  # and function
])
def test_which_bodies_may_be_answered(function, free):
    import libcst as cst

    [node] = cst.parse_module(function).body
    names = pure_calls._free_names(node, SimpleNamespace(classes={"Config": None}, functions={"helper": None}))
    assert (set(names) if names is not None else None) == free


# Other arguments from the same call are other calls: 2, then 3, then 2 again
SIZES = """
import torch
import torch.nn as nn

def counts(n):
    return torch.arange(n)

class Net(nn.Module):
    def forward(self, x):
        total = 0
        for n in (2, 3, 2, 2.0):
            total += counts(n).shape[0]
        return x.new_zeros(total, 2)

out = Net()(torch.zeros(2, 3))
"""


def test_calls_on_other_constants_are_not_confused(monkeypatch):
    assert _analysed(SIZES)[0] == _python(SIZES) == "(9, 2)"
    assert _body_runs(monkeypatch, SIZES, "counts") == 3  # 2.0 is a float: another key than 2


# A module's function as the argument (torchvision's `_log_api_usage_once(stochastic_depth)`): the same
# function object at every call, another function another key
FUNCTIONS = """
import torch
import torch.nn as nn

def one():
    pass

def three():
    pass

def width(fn):
    return len(fn.__name__)

class Net(nn.Module):
    def forward(self, x):
        total = 0
        for f in (one, three, one, one):
            total += width(f)
        return x.new_zeros(total, 2)

out = Net()(torch.zeros(2, 3))
"""


def test_a_modules_function_as_the_argument(monkeypatch):
    assert _analysed(FUNCTIONS)[0] == _python(FUNCTIONS) == "(14, 2)"
    assert _body_runs(monkeypatch, FUNCTIONS, "width") == 2
