"""AnalysisResult.class_runs, what `check`'s notes on classes without input read (cli_findings.py), is
the part of `modules` (the full per-class reports hover and `shapes` read) that the notes need: the same
classes and top-level models in the same order, with the same spans, input source, input shapes and
called kinds, on the seed examples (torch and Keras), the bundled examples, a file with no driver, one
with a class another class calls and one whose driver passes an unknown shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT
from shapels.analysis.engine import analyze

NO_DRIVER = """\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(8, 2)

    def forward(self, x, mask):
        return self.head(self.block(x))
"""

UNKNOWN_INPUT = NO_DRIVER + """

import sys
Net()(load(sys.argv[1]), None)
"""


def _programs() -> list:
    files = sorted(EXAMPLES.glob("*/*.py")) + sorted((ROOT / "examples").glob("*.py"))
    return [(path.name, path.read_text(), str(path)) for path in files] + \
        [("no driver", NO_DRIVER, "nodriver.py"), ("unknown input", UNKNOWN_INPUT, "unknown.py")]


PROGRAMS = _programs()


@pytest.mark.parametrize("name, text, path", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_class_runs_are_the_modules_notes_read(name, text, path):
    result = analyze(text, path)
    runs, modules = result.class_runs, result.modules
    assert [(r.name, r.span, r.forward_span, r.source, r.inputs, r.called) for r in runs] == \
        [(m.name, m.span, m.forward_span, m.source, m.inputs, frozenset(layer.kind for layer in m.layers))
         for m in modules]
    if name == "no driver":
        assert {r.name: r.called for r in runs}["Net"] == {"Block", "torch.nn.Linear"}


def test_the_examples_are_there():
    assert len(PROGRAMS) > 10 and any(Path(p).suffix == ".py" and "keras" in p for _, _, p in PROGRAMS)
