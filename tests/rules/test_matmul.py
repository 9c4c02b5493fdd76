"""Matrix-product rules (rules/matmul.py) against torch: matmul, mm, bmm, addmm, einsum, ..."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, differential, symbolic
from shapels.rules.base import ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

B, N, M, K = D.symbol("B"), D.symbol("N"), D.symbol("M"), D.symbol("K")
size = st.integers(1, 4)


@st.composite
def matmul_pair(draw):
    """Two shapes whose inner dims and batch dims mostly line up."""
    k = draw(size)
    a_rank, b_rank = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    batch = draw(st.lists(size, max_size=2))

    def operand(rank, inner_at):
        dims = [draw(size) for _ in range(rank)]
        if rank:
            dims[inner_at if rank > 1 else 0] = k if draw(st.integers(0, 5)) else draw(size)
        for i in range(max(rank - 2, 0)):  # batch dims: the shared ones, a 1, or anything
            j = len(batch) - (rank - 2) + i
            dims[i] = draw(st.sampled_from([batch[j] if 0 <= j < len(batch) else 1, 1, draw(size)]))
        return tuple(dims)

    return operand(a_rank, -1), operand(b_rank, -2)


@SETTINGS
@given(matmul_pair(), st.sampled_from(["torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__"]))
def test_matmul(pair, qualname):
    a, b = pair
    differential(qualname, T(*a), T(*b))


@SETTINGS
@given(st.data())
def test_mm_mv_dot_outer(data):
    n, k, p = data.draw(size), data.draw(size), data.draw(size)
    k2 = k if data.draw(st.integers(0, 3)) else data.draw(size)
    a_shape = data.draw(st.sampled_from([(n, k), (k,), (1, n, k)]))
    differential("torch.mm", T(*a_shape), T(k2, p))
    differential("torch.Tensor.mv", T(*a_shape), T(k2))
    differential("torch.dot", T(k), T(k2))
    differential("torch.outer", T(n), T(*data.draw(st.sampled_from([(p,), (p, 1)]))))


@SETTINGS
@given(st.data(), st.sampled_from(["torch.bmm", "torch.baddbmm"]))
def test_bmm_and_baddbmm(data, qualname):
    b, n, k, p = (data.draw(size) for _ in range(4))
    b2 = b if data.draw(st.integers(0, 3)) else data.draw(size)
    k2 = k if data.draw(st.integers(0, 3)) else data.draw(size)
    left = data.draw(st.sampled_from([(b, n, k), (n, k)]))
    if qualname == "torch.bmm":
        differential(qualname, T(*left), T(b2, k2, p))
    else:
        bias = data.draw(st.sampled_from([(b2, n, p), (1, p), (n, 1), (p,), (n,), (2, b2, n, p)]))
        differential(qualname, T(*bias), T(*left), T(b2, k2, p))


@SETTINGS
@given(st.data())
def test_addmm(data):
    n, k, p = data.draw(size), data.draw(size), data.draw(size)
    bias = data.draw(st.sampled_from([(n, p), (1, p), (p,), (n,), (), (n, 1), (1, n, p)]))
    differential("torch.addmm", T(*bias), T(n, k), T(k if data.draw(st.integers(0, 3)) else data.draw(size), p))


@SETTINGS
@given(st.data())
def test_f_bilinear(data):
    batch = data.draw(st.lists(size, max_size=2))
    other = batch if data.draw(st.integers(0, 3)) else data.draw(st.lists(size, min_size=len(batch), max_size=len(batch)))
    i1, i2, out = data.draw(size), data.draw(size), data.draw(size)
    j2 = i2 if data.draw(st.integers(0, 3)) else data.draw(size)
    differential("torch.nn.functional.bilinear", T(*batch, i1), T(*other, j2), T(out, i1, i2))


@st.composite
def einsum_case(draw):
    """A well-formed equation over letters a-d (with ellipses), and operand shapes that mostly fit."""
    sizes = {c: draw(size) for c in "abcdAB"}
    count = draw(st.integers(1, 3))
    terms, operands = [], []
    for _ in range(count):
        letters = draw(st.lists(st.sampled_from("abcdAB"), max_size=3))
        ellipsis = draw(st.booleans())
        at = draw(st.integers(0, len(letters)))
        term = "".join(letters[:at]) + ("..." if ellipsis else "") + "".join(letters[at:])
        dims = [sizes[c] if draw(st.integers(0, 6)) else draw(size) for c in letters]
        if ellipsis:
            dims[at:at] = [draw(st.sampled_from([1, 2, 3])) for _ in range(draw(st.integers(0, 2)))]
        if not draw(st.integers(0, 8)):
            dims = dims[:-1]
        terms.append(term)
        operands.append(T(*dims))
    used = sorted({c for t in terms for c in t if c.isalpha()})
    equation = ",".join(terms)
    if draw(st.booleans()):
        out = draw(st.permutations(used)).__iter__()
        out = "".join(list(out)[: draw(st.integers(0, len(used)))])
        if any("..." in t for t in terms) and draw(st.booleans()):
            out = "..." + out
        equation += "->" + out
    return equation, operands


@SETTINGS
@given(einsum_case(), st.booleans())
def test_einsum(case, as_list):
    equation, operands = case
    if as_list:
        differential("torch.einsum", equation, list(operands))
    else:
        differential("torch.einsum", equation, *operands)


# -- symbolic and unranked inputs (rule only) ---------------------------------------------------
def test_matmul_symbolic_batch_and_suffix():
    assert symbolic("torch.matmul", Shape.of([B, N, K]), Shape.of([K, M])) == Shape.of([B, N, M])
    assert symbolic("torch.matmul", Shape.suffix([N, K]), Shape.of([K, M])) == Shape.suffix([N, M])
    assert isinstance(symbolic("torch.matmul", Shape.suffix([K]), Shape.of([K, M])), Unknowable)  # 1-D or not?


def test_matmul_inner_mismatch_is_certain_for_different_expressions():
    error = symbolic("torch.matmul", Shape.of([B, N, 2 * K]), Shape.of([K, M]))
    assert isinstance(error, ShapeError) and error.code == "matmul-mismatch"


def test_attention_scores_einsum():
    q, k = Shape.of([B, N, 8, K]), Shape.of([B, M, 8, K])
    assert symbolic("torch.einsum", "bqhd,bkhd->bhqk", q, k) == Shape.of([B, 8, N, M])
