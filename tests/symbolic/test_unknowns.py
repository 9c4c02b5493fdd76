"""Unknown dims held without sympy (symbolic/unknowns.py) answer exactly what sympy's expressions answer.

Every value is built twice, by the same operations: once from `Unknowns` leaves (as `dims.fresh` makes
them before sympy is imported) and once from the sympy Dummies they promote to. Each dims question must
get the same answer from both, and the lazy value must be, once promoted, the very expression sympy
built (so printing, ordering and every later sympy question agree)."""

import operator

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from shapels.symbolic import dims as D
from shapels.symbolic.unknowns import Unknowns


def _leaves(hints=("?", "?", "?", "B")):
    lazy = [Unknowns.leaf(h) for h in hints]
    return lazy, [u._sympy_() for u in lazy]  # promoted in the order they were made, as fresh would


LAZY, EAGER = _leaves()
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _same(lazy, eager) -> None:
    """The lazy dim stands for exactly the sympy dim."""
    lazy, eager = D.const(lazy), D.const(eager)
    assert type(lazy) is int or D.is_expr(lazy)
    if type(eager) is int:
        assert type(lazy) is int and lazy == eager
        return
    assert D.expr(lazy) == eager, (lazy, eager)
    assert D.show(lazy) == D.show(eager)
    assert D.to_json(lazy) == D.to_json(eager)
    assert D.as_int(lazy) is None and not D.is_concrete(lazy)
    for question in (D.has_unknown, D.prints_unknown, D.known_or_open, D.is_symbol, D.depends_on_open, D.is_open):
        assert question(lazy) == question(eager), question.__name__
    for attribute in ("is_Add", "is_Mul", "is_Pow", "is_Symbol", "is_Integer", "is_Number", "is_integer"):
        assert getattr(lazy, attribute) == getattr(eager, attribute), attribute


@st.composite
def built(draw, depth=3):
    """(lazy, eager): a leaf, an int, or an operation on two built values."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()):
            i = draw(st.integers(0, len(LAZY) - 1))
            return LAZY[i], EAGER[i]
        n = draw(st.integers(-4, 9))
        return n, n
    (a, x), (b, y) = draw(built(depth - 1)), draw(built(depth - 1))
    how = draw(st.sampled_from(["+", "-", "*", "floordiv", "quotient", "product", "sum", "neg"]))
    if how in OPS:
        return OPS[how](a, b), OPS[how](x, y)
    if how == "neg":
        return -a, -x
    if how == "floordiv":
        return (D.floordiv(a, b), D.floordiv(x, y)) if D.eq(y, 0) is not True else (a, x)
    if how == "quotient":
        return (D.quotient(a, b), D.quotient(x, y)) if D.eq(y, 0) is not True else (a, x)
    if how == "product":
        return D.dim_product([a, b, a]), D.dim_product([x, y, x])
    return D.dim_sum([a, b]), D.dim_sum([x, y])


@settings(max_examples=600, deadline=None)
@given(built(), built())
def test_lazy_unknowns_answer_as_sympy_does(left, right):
    (a, x), (b, y) = left, right
    assert D.eq(a, b) == D.eq(x, y)
    nonzero = D.eq(y, 0) is False
    if nonzero:
        assert D.divides(b, a) == D.divides(y, x)
    if _has_new_leaf(x) or _has_new_leaf(y):
        return  # a floor of an unknown is a new dim on each side (dims.floordiv): alike, not equal
    _same(a, x)
    _same(b, y)
    _same(D.dim_product([a, b, a]), D.dim_product([x, y, x]))
    _same(D.dim_sum([a, b, 3]), D.dim_sum([x, y, 3]))
    if nonzero:
        q, r = D.quotient(a, b), D.quotient(x, y)
        assert D.expr(q) == D.expr(r)
        assert D.denominator(q) == D.denominator(r)


def _has_new_leaf(eager) -> bool:
    known = set(EAGER)
    return any(s not in known for s in D.free_symbols(eager))


def test_the_forms_sympy_keeps():
    u, v, w, b = LAZY
    assert type(u + 1) is Unknowns and type(2 * (u + 1)) is Unknowns  # sympy distributes a number
    assert type(u * v) is Unknowns and type(u * u) is Unknowns
    assert isinstance(u * (v + 1), sympy.Expr)  # a product with a sum: sympy's, unexpanded
    assert isinstance((u + 1) - u, sympy.Integer) and (u + 1) - u == 1  # a number: sympy's, as its operators give
    assert D.dim_sum([u + 1, -u]) == 1 and type(D.dim_sum([u + 1, -u])) is int
    assert D.quotient(5120 * u, u) == 5120 and type(D.quotient(5120 * u, u)) is int  # view(x.size(0), -1)
    assert D.eq(u + 1, u) is False and D.eq(u, v) is None and D.eq(u, 1600) is None
    assert D.show(u) == "?" and D.show(3 * u * v + 2) == "3*?*? + 2" and D.show(b) == "B"


def test_unknowns_made_before_sympy_print_in_the_order_they_were_made():
    """Their Dummies are made in order, whichever is asked first: sympy orders same-named Dummies by it."""
    first, second = Unknowns.leaf("?"), Unknowns.leaf("?")
    sum_ = 2 * first + second
    assert D.show(second._sympy_() + 2 * first._sympy_()) == D.show(sum_)
    assert first._sympy_().dummy_index < second._sympy_().dummy_index
