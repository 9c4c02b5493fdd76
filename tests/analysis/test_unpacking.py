"""Unpacking a split, chunk or unbind into the wrong number of names: Python's ValueError, reported
where torch's program raises it, and checked against running the program."""

from __future__ import annotations

import textwrap

import pytest

from shapels.analysis.engine import analyze

torch = pytest.importorskip("torch")

TEMPLATE = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Block(nn.Module):
        def forward(self, x):
            {line}
            return x


    y = Block()(torch.randn(2, 6, 12))
''')

CASES = [
    ("a, b, c = x.split(4, dim=2)", False),
    ("a, b = x.split(4, dim=2)", True),
    ("a, b, c, d = x.split(4, dim=2)", True),
    ("a, b = x.chunk(2, dim=1)", False),
    ("a, b = x.chunk(3, dim=1)", True),
    ("a, b, c = x.chunk(2, dim=1)", True),
    ("a, b = x.unbind(0)", False),
    ("a, b, c = x.unbind(0)", True),
    ("a, *rest = x.split(4, dim=2)", False),
    ("a, b, *rest = x.unbind(0)", False),
    ("a, b = x.shape[:2]", False),
    ("n, l, c = x.shape", False),
    ("n, c = x.shape", True),
    ("n, l, c, d, e = x.size()", True),
    ("a, b = x.shape[1:]", False),
    ("b, n, c, p = *x.shape, 8", False),
    ("b, c, h, w, d, p = *x.shape, 8", True),
]


@pytest.mark.parametrize("line, fails", CASES, ids=[c[0] for c in CASES])
def test_unpacking_count_agrees_with_python(line, fails):
    source = TEMPLATE.replace("{line}", line)
    try:
        exec(compile(source, "<model>", "exec"), {"__name__": "__main__"})
        raised = False
    except ValueError:
        raised = True
    assert raised == fails
    found = [(f.code, f.span.start_line) for f in analyze(source, "block.py").findings if f.severity == "error"]
    assert found == ([("unpack-mismatch", source.splitlines().index("        " + line) + 1)] if fails else [])


def test_sizes_unpacked_with_one_name_more_than_the_driver_input_has_dims_get_its_batch_dim():
    source = TEMPLATE.replace("{line}", "b, n, c, p = *x.shape, 8").replace("torch.randn(2, 6, 12)", "torch.randn(6, 12)")
    (finding,) = [f for f in analyze(source, "block.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(1, 6, 12)"
    assert "values to unpack: 2 values into 3 names" in finding.related[0].message or \
        "3 values into 4 names" in finding.related[0].message
