"""Joining rules (rules/joining.py) against torch: cat, stack, hstack/vstack/dstack/column_stack, meshgrid."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, differential, dim_for, shapes, symbolic
from shapels.rules.base import ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

B, N, C = D.symbol("B"), D.symbol("N"), D.symbol("C")


@st.composite
def tensor_lists(draw, max_rank: int = 4):
    """1-3 tensors that mostly share a shape, with some dims (or the rank) changed."""
    base = draw(shapes(max_rank=max_rank, max_size=3))
    out = []
    for _ in range(draw(st.integers(1, 3))):
        shape = list(base)
        change = draw(st.sampled_from(["same", "same", "one", "rank", "legacy"]))
        if change == "one" and shape:
            shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(1, 3))
        elif change == "rank":
            shape = shape + [1] if draw(st.booleans()) or not shape else shape[:-1]
        elif change == "legacy":
            shape = [0]  # 1-D empty tensors are skipped by cat
        out.append(T(*shape))
    return out


@SETTINGS
@given(st.data(), st.sampled_from(["torch.cat", "torch.concat", "torch.concatenate"]), st.booleans())
def test_cat(data, qualname, as_tuple):
    tensors = data.draw(tensor_lists())
    dim = data.draw(dim_for(len(tensors[0].dims)))
    keyword = "axis" if qualname == "torch.concatenate" else "dim"
    differential(qualname, tuple(tensors) if as_tuple else tensors, **{keyword: dim})


@SETTINGS
@given(st.data())
def test_stack(data):
    tensors = [t for t in data.draw(tensor_lists()) if t.dims != (0,)] or [T(2)]
    dim = data.draw(st.integers(-len(tensors[0].dims) - 2, len(tensors[0].dims) + 1))
    differential("torch.stack", tensors, dim)


@SETTINGS
@given(tensor_lists(max_rank=3), st.sampled_from(["torch.hstack", "torch.vstack", "torch.dstack", "torch.column_stack"]))
def test_stack_helpers(tensors, qualname):
    differential(qualname, tensors)


@SETTINGS
@given(st.lists(shapes(max_rank=2, min_size=0, max_size=4), min_size=1, max_size=4), st.sampled_from(["ij", "xy"]),
       st.booleans())
def test_meshgrid(dims, indexing, as_list):
    """0-D and 1-D inputs give grids; a 2-D one is an error, in torch and in the rule."""
    tensors = [T(*d) for d in dims]
    if as_list:
        differential("torch.meshgrid", tensors, indexing=indexing)
    else:
        differential("torch.meshgrid", *tensors, indexing=indexing)


# -- symbolic and unranked inputs (rule only) ---------------------------------------------------
def test_cat_adds_symbolic_sizes():
    out = symbolic("torch.cat", [Shape.of([B, N, C]), Shape.of([B, N, 2 * C])], dim=-1)
    assert out == Shape.of([B, N, 3 * C])


def test_cat_of_unranked_tensors_along_a_known_dim():
    assert symbolic("torch.cat", [Shape.suffix([N, C]), Shape.suffix([N, C])], -1) == Shape.suffix([N, 2 * C])
    assert isinstance(symbolic("torch.cat", [Shape.suffix([C]), Shape.suffix([C])], 0), Unknowable)


def test_cat_mismatch_needs_a_certain_difference():
    error = symbolic("torch.cat", [Shape.of([B, C]), Shape.of([B, C + 1])], 0)
    assert isinstance(error, ShapeError) and error.code == "cat-mismatch"


def test_stack_symbolic():
    assert symbolic("torch.stack", [Shape.of([B, C])] * 3, -1) == Shape.of([B, C, 3])
