"""Layout rules (rules/layout.py) against torch: permute, transpose, squeeze, expand, split, ..."""

from __future__ import annotations

import sympy
from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, call_rule, differential, dim_for, shapes, symbolic
from shapels.rules.base import ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Unknown

B, N, C = D.symbol("B"), D.symbol("N"), D.symbol("C")


@st.composite
def permutations(draw):
    shape = draw(shapes())
    order = draw(st.permutations(range(len(shape))))
    order = [d - len(shape) if draw(st.booleans()) else d for d in order]
    corrupt = draw(st.sampled_from(["none", "none", "drop", "dup", "range"]))
    if corrupt == "drop" and order:
        order = order[:-1]
    elif corrupt == "dup" and len(order) > 1:
        order[0] = order[1]
    elif corrupt == "range" and order:
        order[0] = len(shape)
    return shape, tuple(order)


@SETTINGS
@given(permutations(), st.booleans())
def test_permute(case, as_tuple):
    shape, order = case
    if as_tuple or not order:
        differential("torch.Tensor.permute", T(*shape), order)
        differential("torch.permute", T(*shape), order)
    else:
        differential("torch.Tensor.permute", T(*shape), *order)


@SETTINGS
@given(st.data(), st.sampled_from(["torch.Tensor.transpose", "torch.transpose", "torch.swapdims", "torch.Tensor.swapaxes"]))
def test_transpose(data, qualname):
    shape = data.draw(shapes())
    a, b = data.draw(dim_for(len(shape))), data.draw(dim_for(len(shape)))
    differential(qualname, T(*shape), a, b)


@SETTINGS
@given(shapes(max_rank=3), st.sampled_from(["torch.Tensor.t", "torch.t"]))
def test_t(shape, qualname):
    differential(qualname, T(*shape))


@SETTINGS
@given(st.data())
def test_squeeze(data):
    shape = data.draw(shapes(max_size=2))
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        differential("torch.Tensor.squeeze", T(*shape))
        differential("torch.squeeze", T(*shape))
    elif kind == "int":
        differential("torch.Tensor.squeeze", T(*shape), data.draw(dim_for(len(shape))))
    else:
        dims = tuple(data.draw(st.lists(dim_for(len(shape)), max_size=3)))
        differential("torch.squeeze", T(*shape), dims)


@SETTINGS
@given(st.data())
def test_unsqueeze(data):
    shape = data.draw(shapes())
    differential("torch.Tensor.unsqueeze", T(*shape), data.draw(st.integers(-len(shape) - 2, len(shape) + 1)))


@st.composite
def expand_sizes(draw, shape):
    """Target sizes for expand: mostly valid, sometimes not."""
    sizes = []
    for d in shape:
        choice = draw(st.sampled_from(["keep", "minus", "other"]))
        sizes.append(d if choice == "keep" else -1 if choice == "minus" else draw(st.integers(1, 4)))
    lead = draw(st.lists(st.sampled_from([1, 2, 3, -1]), max_size=2))
    sizes = lead + sizes
    if draw(st.integers(0, 5)) == 0 and sizes:
        sizes = sizes[1:]
    return tuple(sizes)


@SETTINGS
@given(st.data())
def test_expand(data):
    shape = data.draw(shapes(max_size=3))
    sizes = data.draw(expand_sizes(shape))
    differential("torch.Tensor.expand", T(*shape), *(sizes or [()]))


@SETTINGS
@given(st.data())
def test_expand_as(data):
    shape = data.draw(shapes(max_size=3))
    other = tuple(s if s > 0 else 2 for s in data.draw(expand_sizes(shape)))
    differential("torch.Tensor.expand_as", T(*shape), T(*other))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.Tensor.repeat", "torch.Tensor.tile", "torch.tile"]))
def test_repeat_and_tile(data, qualname):
    shape = data.draw(shapes(max_rank=3))
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=max(len(shape) - 1, 0), max_size=len(shape) + 2)))
    if qualname == "torch.tile":
        differential(qualname, T(*shape), reps)
    else:
        differential(qualname, T(*shape), *(reps or [()]))


@SETTINGS
@given(st.data())
def test_repeat_interleave(data):
    shape = data.draw(shapes(max_rank=3))
    dim = data.draw(st.none() | dim_for(len(shape)))
    differential("torch.Tensor.repeat_interleave", T(*shape), data.draw(st.integers(0, 3)), dim=dim)


@SETTINGS
@given(st.data(), st.sampled_from(["torch.Tensor.chunk", "torch.chunk"]))
def test_chunk(data, qualname):
    shape = data.draw(shapes(max_rank=3, min_size=0, max_size=7))
    chunks = data.draw(st.integers(0, 6))
    differential(qualname, T(*shape), chunks, data.draw(dim_for(len(shape))))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.Tensor.split", "torch.split"]))
def test_split(data, qualname):
    shape = data.draw(shapes(max_rank=3, min_size=0, max_size=7))
    dim = data.draw(dim_for(len(shape)))
    if data.draw(st.booleans()):
        split = data.draw(st.integers(0, 4))
    else:
        split = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
        if shape and data.draw(st.booleans()):  # make the sizes add up
            size = shape[dim % len(shape)] if -len(shape) <= dim < len(shape) else 0
            split = split[:-1] + [size - sum(split[:-1])] if size >= sum(split[:-1]) else split
    differential(qualname, T(*shape), split, dim=dim)


@SETTINGS
@given(st.data())
def test_unbind(data):
    shape = data.draw(shapes(max_rank=3))
    differential("torch.Tensor.unbind", T(*shape), data.draw(dim_for(len(shape))))


@SETTINGS
@given(st.data())
def test_movedim(data):
    shape = data.draw(shapes())
    n = data.draw(st.integers(1, 3))
    source = tuple(data.draw(st.lists(dim_for(len(shape), 0), min_size=n, max_size=n)))
    destination = tuple(data.draw(st.lists(dim_for(len(shape), 0), min_size=n, max_size=n + data.draw(st.integers(0, 1)))))
    if n == 1 and data.draw(st.booleans()):
        source, destination = source[0], destination[0]
    differential("torch.movedim", T(*shape), source, destination)


@SETTINGS
@given(st.data())
def test_narrow_and_select(data):
    shape = data.draw(shapes(max_rank=3, max_size=5))
    dim = data.draw(dim_for(len(shape), 0))
    size = shape[dim] if shape else 1
    start = data.draw(st.integers(-size - 1, size + 1))
    differential("torch.Tensor.narrow", T(*shape), dim, start, data.draw(st.integers(-1, size + 1)))
    differential("torch.Tensor.select", T(*shape), dim, start)


@SETTINGS
@given(st.data())
def test_unfold(data):
    shape = data.draw(shapes(min_rank=1, max_rank=3, max_size=6))
    dim = data.draw(dim_for(len(shape), 0))
    size = data.draw(st.integers(1, shape[dim] + 1))
    differential("torch.Tensor.unfold", T(*shape), dim, size, data.draw(st.integers(0, 3)))


@SETTINGS
@given(st.data())
def test_shape_preserving(data):
    shape = data.draw(shapes())
    dims = tuple(data.draw(st.lists(dim_for(len(shape)), max_size=2)))
    differential("torch.Tensor.flip", T(*shape), *(dims or [()]))
    differential("torch.flip", T(*shape), dims)
    if dims:
        differential("torch.roll", T(*shape), (1,) * len(dims), dims)
    differential("torch.tril", T(*shape))
    differential("torch.Tensor.type", T(*shape), "torch.LongTensor")


@SETTINGS
@given(shapes(), shapes())
def test_view_as(a, b):
    differential("torch.Tensor.view_as", T(*a), T(*b))


# -- symbolic and unranked inputs (rule only) ---------------------------------------------------
def test_transpose_on_known_suffix():
    assert symbolic("torch.Tensor.transpose", Shape.suffix([N, C]), -2, -1) == Shape.suffix([C, N])
    assert isinstance(symbolic("torch.Tensor.transpose", Shape.suffix([N, C]), 0, 1), Unknowable)


def test_unsqueeze_and_squeeze_on_symbols():
    assert symbolic("torch.Tensor.unsqueeze", Shape.suffix([N]), -1) == Shape.suffix([N, 1])
    assert symbolic("torch.Tensor.squeeze", Shape.of([B, 1, C]), 1) == Shape.of([B, C])
    assert isinstance(symbolic("torch.Tensor.squeeze", Shape.of([B, 1, C])), Unknowable)  # B may be 1


def test_chunk_of_an_even_symbolic_dim():
    halves = symbolic("torch.Tensor.chunk", Shape.of([B, 2 * C]), 2, -1)
    assert halves == (Shape.of([B, C]), Shape.of([B, C]))
    assert isinstance(symbolic("torch.Tensor.chunk", Shape.of([B, C]), 2, -1), Unknowable)


def test_split_mismatch_is_certain_for_symbols():
    error = symbolic("torch.Tensor.split", Shape.of([B, 2 * C]), [C, C + 1], 1)
    assert isinstance(error, ShapeError) and error.code == "split-mismatch"


def test_expand_symbolic_needs_a_condition():
    out, call = call_rule("torch.Tensor.expand", Shape.of([B, 1]), 4, C)
    assert out == Shape.of([4, C]) and len(call.conditions) == 1


def test_type_without_dtype_is_not_a_tensor():
    assert isinstance(symbolic("torch.Tensor.type", Shape.of([2])), Unknown)


def test_view_minus_one_over_symbols_and_unknowns():
    """The -1 of a view is the quotient when it may be an integer, a fresh unknown when it cannot
    be one; an unknown in the divisor leaves the quotient as it is (nothing about it is decidable)."""
    assert symbolic("torch.Tensor.view", Shape.of([B, N, C]), B, -1) == Shape.of([B, N * C])
    half = symbolic("torch.Tensor.view", Shape.of([B, 2 * N + 1]), B, 2, -1).dims[2]
    assert isinstance(half, sympy.Dummy)  # (2N + 1) / 2 is never an integer
    window = D.fresh()
    inferred = symbolic("torch.Tensor.view", Shape.of([B, N, C, C]), B, window, window, -1).dims[3]
    assert sympy.simplify(inferred - N * C ** 2 / window ** 2) == 0
