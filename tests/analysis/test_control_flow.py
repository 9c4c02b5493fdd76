"""Control flow that decides which layers run: `for ... else` after a break, `while True` left by a
return, `try ... else`, `match`, and early exits in branches shapels cannot decide. Each program is
also run under torch; shapels must never call a line an error when torch runs the program."""

from __future__ import annotations

import textwrap

import pytest

from conftest import torch_fails
from shapels.analysis.engine import Options, analyze

torch = pytest.importorskip("torch")

HEADER = """
import torch
import torch.nn as nn
class Net(nn.Module):
    def __init__(self, flag=True):
        super().__init__()
        self.flag = flag
        self.a = nn.Linear(8, 3)
        self.b = nn.Linear({width}, 3)
"""

# forward bodies: `self.b` runs only on the path the comment names; a is always right for (2, 8)
FORWARDS = {
    "for-else after break": """
    def forward(self, x):
        for i in range(3):
            if i == {stop}:
                break
        else:
            return self.b(x)  # only when the loop was not broken (stop = 9)
        return self.a(x)
""",
    "while True left by return": """
    def forward(self, x):
        while True:
            return self.a(x) if {stop} != 9 else self.b(x)
        return self.b(x)  # never runs
""",
    "while longer than unrolled": """
    def forward(self, x):
        i = 0
        while i < 100:
            i += 1
        return self.b(x) if {stop} == 9 else self.a(x)  # the loop ends: this runs
""",
    "try-else": """
    def forward(self, x):
        try:
            y = x
        except ValueError:
            return self.b(x)  # never runs: nothing raises
        else:
            if {stop} != 9:
                return self.a(y)
        return self.b(y)  # only when stop = 9
""",
    "match on a known subject": """
    def forward(self, x):
        match {stop}:
            case 9:
                return self.b(x)  # only when stop = 9
            case _:
                pass
        return self.a(x)
""",
}


def program(name: str, width: int, stop: int) -> str:
    forward = textwrap.indent(textwrap.dedent(FORWARDS[name]), "    ").replace("{stop}", str(stop))
    return (textwrap.dedent(HEADER).replace("{width}", str(width)) + forward
            + "\ny = Net()(torch.randn(2, 8))\n")


@pytest.mark.parametrize("name", sorted(FORWARDS))
@pytest.mark.parametrize("width,stop", [(5, 1), (8, 9), (5, 9)])
def test_no_error_where_torch_runs_and_none_missed_where_it_is_certain(name, width, stop):
    source = program(name, width, stop)
    findings = analyze(source, "m.py", Options()).findings
    errors = [f.code for f in findings if f.severity == "error"]
    fails = torch_fails(source)
    assert fails == (width == 5 and stop == 9)  # b (in_features 5) runs only when stop = 9
    if not fails:
        assert errors == []
    elif name != "match on a known subject":  # match patterns are not matched: b is a may-fail note
        assert errors == ["linear-in-features"]
    else:
        assert [(f.code, f.severity) for f in findings] == [("linear-in-features", "information")]


EARLY_EXIT = """
import torch
import torch.nn as nn
class Net(nn.Module):
    def __init__(self, flag):
        super().__init__()
        self.flag = flag
        self.a = nn.Linear(8, 3)
        self.b = nn.Linear(5, 3)
    def forward(self, x):
        {exit_branch}
        return self.b(x)
"""


@pytest.mark.parametrize("exit_branch,severity", [
    ("if self.flag:\n            return self.a(x)", "information"),  # b runs only when flag is false
    ("for i in range(2):\n            if self.flag:\n                return self.a(x)", "information"),
    ("if self.flag:\n            raise ValueError('no')", "error"),  # a raise ends the program anyway
    ("if self.flag:\n            x = self.a(x)\n            x = torch.cat([x] * 3, 1)[:, :8]", "error"),
])
def test_code_after_an_undecided_early_exit_is_not_certain(exit_branch, severity):
    """With `flag` unknown (no driver builds Net), `b` runs on some paths only: its mismatch is a note,
    not an error, unless the other path raises (the program fails either way) or nothing left early."""
    source = textwrap.dedent(EARLY_EXIT).replace("{exit_branch}", exit_branch)
    source += "\n# shapels: input x=(2, 8)\n"
    result = analyze(source.replace("    def forward", "    # shapels: input x=(2, 8)\n    def forward"), "m.py",
                     Options())
    assert [(f.code, f.severity) for f in result.findings if f.code == "linear-in-features"] == [
        ("linear-in-features", severity)]


def test_a_while_loop_with_a_known_test_is_unrolled():
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                layers = []
                c = 4
                while c < 32:
                    layers.append(nn.Conv2d(c, c * 2, 3, padding=1))
                    c *= 2
                self.body = nn.Sequential(*layers)
                self.head = nn.Linear({width}, 10)
            def forward(self, x):
                return self.head(self.body(x).mean((2, 3)))
        y = Net()(torch.randn(2, 4, 8, 8))
    """)
    for width in (32, 16):
        text = source.replace("{width}", str(width))
        errors = [f for f in analyze(text, "m.py", Options()).findings if f.severity == "error"]
        assert torch_fails(text) == (width == 16)
        assert [(f.code, f.fix.content) for f in errors] == ([("linear-in-features", "32")] if width == 16 else [])
