"""One-line suites (`if x: return y`, `def forward(self, x): return self.fc(x)`, `class B(A): width = 8`)
hold small statements directly; each runs like the same statement on its own line. Every program is
also run under torch: shapels must flag exactly the failing ones, on the line torch blames."""

from __future__ import annotations

import textwrap

import pytest

from conftest import torch_fails
from shapels.analysis.engine import Options, analyze

torch = pytest.importorskip("torch")

HEADER = "import torch\nimport torch.nn as nn\n"

PROGRAMS = {
    # an early return on one line: the view after it runs (and fails) only when the width is wrong
    "early return": ("""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)
    def forward(self, x):
        if x.shape[1] == {width}: return self.fc(x)
        return self.fc(x.view(2, 4, 2))
y = Net()(torch.randn(2, 8))
""", "self.fc = nn.Linear("),
    "one-line method": ("""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({width}, 3)
    def forward(self, x): return self.fc(x)
y = Net()(torch.randn(2, 8))
""", "self.fc = nn.Linear("),
    "one-line class body": ("""
class Base(nn.Module):
    width = 5
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(self.width, 3)
    def forward(self, x):
        return self.fc(x)
class Wide(Base): width = {width}
y = Wide()(torch.randn(2, 8))
""", "self.fc = nn.Linear("),
    "one-line function and loop": ("""
def width(flag):
    if flag: return {width}
    return 8
layers = []
for i in range(2): layers.append(nn.Linear(width(i == 0), 8))
y = nn.Sequential(*layers)(torch.randn(2, 8))
""", "for i in range(2)"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("width", [8, 6])
def test_one_line_suites_run_like_their_statements(name, width):
    template, blamed = PROGRAMS[name]
    source = HEADER + textwrap.dedent(template).replace("{width}", str(width))
    errors = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    fails = torch_fails(source)
    assert [f.code for f in errors] == (["linear-in-features"] if fails else [])
    assert fails == (width != 8)
    if errors:
        line = source.splitlines()[errors[0].span.start_line - 1]
        assert blamed in line


def test_an_input_comment_on_a_one_line_forward_is_read():
    source = HEADER + textwrap.dedent("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 3)
            def forward(self, x): return self.fc(x)  # shapels: input x=(B, {width})
    """)
    for width, codes in ((8, []), (6, ["linear-in-features"])):
        result = analyze(source.replace("{width}", str(width)), "m.py", Options())
        assert [f.code for f in result.findings if f.severity == "error"] == codes
        [report] = [m for m in result.modules if m.name == "Net"]
        assert report.source == "comment" and report.inputs["x"].show() == f"(B, {width})"
