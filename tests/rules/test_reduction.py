"""Reduction rules (rules/reduction.py) against torch: sum/mean/std/norm, max/min, topk, cumsum, ..."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, differential, dim_for, shapes, symbolic
from shapels.rules.base import ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

B, N, C = D.symbol("B"), D.symbol("N"), D.symbol("C")

MULTI_DIM = ["sum", "mean", "nansum", "nanmean", "amax", "amin", "std", "var", "all", "any", "logsumexp"]


def dim_arg(data, rank: int, allow_tuple: bool = True):
    """None, an int, or a tuple of ints (rarely with a repeat or one out of range)."""
    kind = data.draw(st.sampled_from(["int", "int", "tuple", "none"] if allow_tuple else ["int", "int", "none"]))
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(dim_for(rank))
    return tuple(data.draw(st.lists(dim_for(rank), min_size=1, max_size=3)))


@SETTINGS
@given(st.data(), st.sampled_from(MULTI_DIM), st.booleans())
def test_multi_dim_reductions(data, name, method):
    shape = data.draw(shapes())
    dim = dim_arg(data, len(shape))
    if name == "logsumexp" and dim is None:
        dim = data.draw(dim_for(len(shape)))
    keepdim = data.draw(st.booleans())
    qualname = f"torch.Tensor.{name}" if method else f"torch.{name}"
    differential(qualname, T(*shape), dim=dim, keepdim=keepdim)


@SETTINGS
@given(st.data(), st.sampled_from(["torch.std", "torch.Tensor.var", "torch.std_mean", "torch.var_mean"]))
def test_std_var_overloads(data, qualname):
    shape = data.draw(shapes(max_rank=3))
    form = data.draw(st.sampled_from(["unbiased", "positional", "correction"]))
    if form == "unbiased":  # std(x, True): the old (input, unbiased) overload
        differential(qualname, T(*shape), data.draw(st.booleans()))
    elif form == "positional":  # std(x, dim, unbiased, keepdim)
        differential(qualname, T(*shape), data.draw(dim_for(len(shape))), True, data.draw(st.booleans()))
    else:
        differential(qualname, T(*shape), dim=dim_arg(data, len(shape)), correction=0, keepdim=data.draw(st.booleans()))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.prod", "torch.Tensor.argmax", "torch.argmin", "torch.Tensor.prod"]))
def test_single_dim_reductions(data, qualname):
    shape = data.draw(shapes())
    dim = dim_arg(data, len(shape), allow_tuple=False)
    if dim is None:
        differential(qualname, T(*shape))
    else:
        differential(qualname, T(*shape), dim, data.draw(st.booleans()))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.max", "torch.Tensor.min", "torch.median", "torch.Tensor.nanmedian"]))
def test_values_and_indices(data, qualname):
    shape = data.draw(shapes())
    dim = dim_arg(data, len(shape), allow_tuple=False)
    if dim is None:
        differential(qualname, T(*shape))
    else:
        differential(qualname, T(*shape), dim=dim, keepdim=data.draw(st.booleans()))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.max", "torch.Tensor.min"]))
def test_max_of_two_tensors(data, qualname):
    a = data.draw(shapes(max_rank=3, max_size=3))
    b = data.draw(st.sampled_from([a, a[1:], tuple(1 for _ in a)])) if data.draw(st.integers(0, 3)) else data.draw(shapes(max_rank=3, max_size=3))
    if data.draw(st.booleans()):
        differential(qualname, T(*a), T(*b))
    else:
        differential("torch.max", T(*a), other=T(*b))


@SETTINGS
@given(st.data())
def test_mode_kthvalue_topk(data):
    shape = data.draw(shapes(max_size=5))
    dim = data.draw(dim_for(len(shape)))
    k = data.draw(st.integers(0, 6))
    keepdim = data.draw(st.booleans())
    differential("torch.Tensor.mode", T(*shape), dim, keepdim)
    differential("torch.kthvalue", T(*shape), k, dim, keepdim)
    differential("torch.Tensor.topk", T(*shape), k, dim=dim, largest=data.draw(st.booleans()))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.cumsum", "torch.Tensor.cumprod", "torch.cummax", "torch.Tensor.sort", "torch.argsort"]))
def test_scans_and_sorts(data, qualname):
    shape = data.draw(shapes())
    differential(qualname, T(*shape), data.draw(dim_for(len(shape))))


@SETTINGS
@given(st.data())
def test_norms(data):
    shape = data.draw(shapes(max_rank=3))
    dim = dim_arg(data, len(shape))
    keepdim = data.draw(st.booleans())
    p = data.draw(st.sampled_from([2, 1, float("inf")]))
    if dim is None:
        differential("torch.Tensor.norm", T(*shape), keepdim=keepdim)
    else:
        differential("torch.norm", T(*shape), p, dim, keepdim)
    differential("torch.linalg.vector_norm", T(*shape), p, dim, keepdim)
    if dim is None or isinstance(dim, int):
        differential("torch.linalg.norm", T(*shape), data.draw(st.sampled_from([None, 2])) if dim is not None or len(shape) != 2 else None, dim, keepdim)


@SETTINGS
@given(st.data())
def test_count_nonzero(data):
    shape = data.draw(shapes())
    differential("torch.count_nonzero", T(*shape), dim_arg(data, len(shape)))


# -- symbolic and unranked inputs (rule only) ---------------------------------------------------
def test_reduce_known_suffix():
    assert symbolic("torch.Tensor.mean", Shape.suffix([N, C]), -1) == Shape.suffix([N])
    assert symbolic("torch.Tensor.sum", Shape.suffix([N, C]), (-2, -1), keepdim=True) == Shape.suffix([1, 1])
    assert symbolic("torch.Tensor.sum", Shape.suffix([N, C])) == Shape.of([])
    assert isinstance(symbolic("torch.Tensor.sum", Shape.suffix([N, C]), 0), Unknowable)


def test_max_with_dim_gives_values_and_indices():
    out = symbolic("torch.Tensor.max", Shape.of([B, N, C]), 1)
    assert out == (Shape.of([B, C]), Shape.of([B, C]))


def test_topk_k_larger_than_a_known_dim():
    error = symbolic("torch.topk", Shape.of([B, 5]), 6)
    assert isinstance(error, ShapeError) and error.code == "op-input-shape"
    assert symbolic("torch.topk", Shape.of([B, N]), 3) == (Shape.of([B, 3]), Shape.of([B, 3]))


@SETTINGS
@given(st.data(), st.booleans(), st.booleans(), st.booleans())
def test_unique_outputs_against_torch(data, method, inverse, counts):
    """torch.unique's outputs: the data-dependent length is a fresh dim (shared by values and counts),
    every other dim, the rank and the tuple structure as torch gives them; a dim out of range raises."""
    from _fn_harness import Raised, call_rule, run_torch

    shape = data.draw(shapes(min_rank=1))
    dim = data.draw(st.one_of(st.none(), dim_for(len(shape))))
    kwargs = {"return_inverse": inverse, "return_counts": counts, "dim": dim}
    qualname = "torch.Tensor.unique" if method else "torch.unique"
    expected = run_torch(qualname, [T(*shape)], kwargs, (), {})
    got, _ = call_rule(qualname, T(*shape), **kwargs)
    if isinstance(expected, Raised):
        assert isinstance(got, ShapeError) and got.code == "dim-out-of-range"
        return
    outputs = got if isinstance(got, tuple) else (got,)
    torch_outputs = expected if isinstance(expected[0], tuple) else (expected,)
    assert len(outputs) == len(torch_outputs) == 1 + inverse + counts
    found = outputs[0].dims[0 if dim is None else dim % len(shape)]
    assert D.as_int(found) is None  # the length: never guessed
    for out, torch_shape in zip(outputs, torch_outputs):
        assert out.rank == len(torch_shape)
        for d, size in zip(out.dims, torch_shape):
            assert D.as_int(d) is None and d == found or D.as_int(d) == size
