"""Indexing a tensor out of range (`x[:, 5]` on (2, 3)) or with more indices than it has dims: torch's
IndexError, reported at the index, and checked against running the same subscript under torch."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from program_runs import torch_error
from shapels.analysis.engine import analyze

torch = pytest.importorskip("torch")

TEMPLATE = textwrap.dedent('''
    import torch

    x = torch.randn({shape})
    y = x[{key}]
''')


def _findings(shape: tuple, key: str) -> list:
    text = TEMPLATE.format(shape=", ".join(map(str, shape)) or "()", key=key)
    return [f for f in analyze(text, "index.py").findings if f.code == "tensor-index"]


def _torch_raises(shape: tuple, key: str) -> bool:
    x = torch.randn(shape)  # noqa: F841 - read by the eval below
    try:
        eval(f"x[{key}]")
    except IndexError:
        return True
    return False


CASES = [
    ((2, 3), ":, 3", True),
    ((2, 3), ":, 2", False),
    ((2, 3), ":, -3", False),
    ((2, 3), ":, -4", True),
    ((2, 3, 4), "..., 4", True),
    ((2, 3, 4), "None, :, 3", True),
    ((2, 3, 4), "0, 0, 0, 0", True),
    ((2, 3, 4), "0, None, 0, 0", False),
    ((2, 3), "[0, 2]", True),
    ((2, 3), ":, [0, 2]", False),
    ((2, 3), ":, [0, 3]", True),
    ((2, 3), "1:5", False),  # a slice past the end is clipped, never an error
]


@pytest.mark.parametrize("shape,key,fails", CASES)
def test_out_of_range_indices_are_torch_errors(shape, key, fails):
    assert _torch_raises(shape, key) == fails
    found = _findings(shape, key)
    assert bool(found) == fails, [f.message for f in found]
    if fails:
        assert "IndexError" in found[0].message
        assert found[0].severity == "error"


def test_the_finding_sits_on_the_index_that_is_out_of_range():
    text = TEMPLATE.format(shape="2, 3", key=":, 7")
    [finding] = [f for f in analyze(text, "index.py").findings if f.code == "tensor-index"]
    line = text.splitlines()[finding.span.start_line - 1]
    assert line[finding.span.start_col:finding.span.end_col] == "7"


def test_an_unknown_size_or_index_stays_silent():
    text = textwrap.dedent('''
        import torch

        def f(x, i):
            return x[:, 100], x[:, i]
    ''')
    assert not [f for f in analyze(text, "index.py").findings if f.code == "tensor-index"]


_KEYS = st.one_of(
    st.integers(-6, 6).map(str),
    st.just(":"),
    st.just("None"),
    st.tuples(st.integers(-4, 4), st.integers(-4, 4)).map(lambda p: f"{p[0]}:{p[1]}"),
)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       keys=st.lists(_KEYS, min_size=1, max_size=4), ellipsis_at=st.one_of(st.none(), st.integers(0, 4)))
def test_agrees_with_torch_on_basic_indexing(shape, keys, ellipsis_at):
    """On ints, slices, None and `...`: a finding exactly where torch raises IndexError."""
    if ellipsis_at is not None:
        keys = keys[:ellipsis_at] + ["..."] + keys[ellipsis_at:]
    key = ", ".join(keys)
    assert bool(_findings(shape, key)) == _torch_raises(shape, key), key


SIZES = textwrap.dedent('''
    import torch
    from torch import nn


    class Net(nn.Module):
        def forward(self, x):
            n = x.shape[{index}]
            return x.sum() * n


    tokens = torch.zeros({shape})
    out = Net()(tokens)
''')


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), index=st.integers(-4, 3))
def test_a_sizes_tuple_indexed_out_of_range_is_pythons_index_error(shape, index):
    text = SIZES.format(index=index, shape=", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    raised = isinstance(torch_error(text), IndexError)
    errors = [f for f in analyze(text, "sizes.py").findings if f.severity == "error"]
    assert bool(errors) == raised, text


def test_a_driver_input_without_its_batch_dim_gets_one_where_the_model_reads_its_second_size():
    text = SIZES.format(index=1, shape="16,")
    (finding,) = [f for f in analyze(text, "sizes.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.zeros(1, 16)"
