"""Assertions on sizes (`assert x.shape[-1] == self.dim`, `torch._assert(h == self.image_size, ...)`):
certainly false for the inputs in play is Python's AssertionError, reported where it is raised and
checked against running the same program; a driver input of another size gets the asserted size."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapels.analysis.engine import analyze

torch = pytest.importorskip("torch")

PROGRAM = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Patches(nn.Module):
        def __init__(self, image_size={size}, dim={dim}):
            super().__init__()
            self.image_size, self.dim = image_size, dim

        def forward(self, x):
            n, c, h, w = x.shape
            {check}
            return x.flatten(2)


    y = Patches()(torch.randn({shape}))
''')


def _run(text: str):
    try:
        exec(compile(text, "model.py", "exec"), {"__name__": "__main__"})
    except AssertionError:
        return "AssertionError"
    return None


def _asserts(text: str) -> list:
    return [f for f in analyze(text, "model.py").findings if f.code == "assert-fails" or f.code == "input-shape"]


CHECKS = [
    "assert h == self.image_size",
    "torch._assert(w == self.image_size, 'Wrong image width!')",
    "assert h % 8 == 0 and w % 8 == 0, 'divisible by 8'",
    "assert not (c != 3)",
    "assert c * h * w == self.dim",
]


@settings(max_examples=40, deadline=None)
@given(check=st.sampled_from(CHECKS), size=st.sampled_from([16, 24, 32]), dim=st.sampled_from([768, 1024, 3072]),
       shape=st.tuples(st.integers(1, 3), st.sampled_from([1, 3]), st.sampled_from([16, 20, 24, 32]),
                       st.sampled_from([16, 24, 32])))
def test_a_finding_exactly_where_python_raises(check, size, dim, shape):
    text = PROGRAM.format(size=size, dim=dim, check=check, shape=", ".join(map(str, shape)))
    assert bool(_asserts(text)) == (_run(text) == "AssertionError"), text


def test_assertions_not_on_sizes_are_not_claimed():
    text = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                          check="assert isinstance(x, torch.Tensor) and not self.training")
    assert _asserts(text) == []  # false in training mode, but not an assertion on sizes: not claimed


def test_the_input_gets_the_asserted_size():
    program = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                             check="torch._assert(h == self.image_size, 'Wrong image height!')")
    mutant = program.replace("torch.randn(2, 3, 32, 32)", "torch.randn(2, 3, 28, 28)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(2, 3, 32, 32)"
    assert "Wrong image height!" in finding.message


def test_a_channels_last_image_that_fails_a_width_assertion_gets_the_channels_first_layout():
    program = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                             check="torch._assert(w == self.image_size, 'Wrong image width!')")
    mutant = program.replace("torch.randn(2, 3, 32, 32)", "torch.randn(2, 32, 32, 3)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(2, 3, 32, 32)"
    assert _run(mutant) == "AssertionError" and _run(program) is None
