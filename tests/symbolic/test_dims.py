"""Three-valued dim equality: the shortcuts in dims.eq must agree with the full sympy decision."""

import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shapels.symbolic import dims as D

NAMED = [D.symbol(n) for n in ("B", "H", "W")]
UNKNOWNS = [D.fresh() for _ in range(3)]


def _full_decision(a, b):
    """dims.eq as it was before any shortcut: expand the difference, then decide."""
    a, b = D.expr(a), D.expr(b)
    if a == b:
        return True
    diff = sympy.expand(a - b)
    if diff.is_Integer:
        return int(diff) == 0
    if D.has_unknown(diff):
        return None
    if diff.is_nonzero is True:
        return False
    if diff.is_zero is True:
        return True
    return None


monomials = st.builds(
    lambda coeff, factors: sympy.Integer(coeff) * D.dim_product(factors),
    st.integers(1, 64),
    st.lists(st.sampled_from(NAMED + UNKNOWNS), max_size=4),
)
dims = st.one_of(
    monomials,
    st.builds(lambda a, b: a + b, monomials, monomials),
    st.builds(lambda a, q: D.floordiv(a, q), monomials, st.integers(1, 8)),
)


@settings(max_examples=400, deadline=None)
@given(dims, dims)
def test_eq_agrees_with_expanding_the_difference(a, b):
    assert D.eq(a, b) == _full_decision(a, b)


def test_unknowns_are_never_decided_between_monomials():
    u, v = UNKNOWNS[:2]
    assert D.eq(u, v) is None
    assert D.eq(u, 12) is None
    assert D.eq(u * v, 49 * u * v) is None  # known nonzero difference, but it holds an unknown
    assert D.eq(u * NAMED[0], u * NAMED[0]) is True


def test_named_monomials_still_decided():
    B, H, _ = NAMED
    assert D.eq(2 * B, B) is False
    assert D.eq(B * H, H * B) is True
    assert D.eq(B * H, B) is None  # H may be 1


def _pairwise_product(factors):
    out = sympy.Integer(1)
    for f in factors:
        out = out * D.const(f)
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(dims, st.integers(0, 64)), max_size=6))
def test_dim_product_is_the_pairwise_product_exactly(factors):
    # The same expression tree, not just an equal value: hover and messages print it.
    product = D.dim_product(factors)
    assert sympy.srepr(D.expr(product)) == sympy.srepr(_pairwise_product(factors))
    assert isinstance(product, int) == bool(_pairwise_product(factors).is_Integer)  # a known size is an int


@settings(max_examples=300, deadline=None)
@given(dims)
def test_prints_unknown_exactly_when_the_printed_dim_shows_a_question_mark(d):
    assert D.prints_unknown(d) == ("?" in D.show(d))
    assert not D.prints_unknown(D.fresh("nonzero"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(dims, st.integers(1, 64)), min_size=1, max_size=4),
       st.lists(st.one_of(dims, st.integers(1, 64)), max_size=3))
def test_a_views_quotient_equals_cancels_without_calling_it(common, extra):
    """reshape's -1 (dims.quotient): a quotient of products built directly equals sympy.cancel's (which
    it skips unless a sum is involved)."""
    rest = D.expr(D.dim_product(common))
    total = D.expr(D.dim_product(list(common) + list(extra)))
    assume(rest != 0)  # an empty dim: the caller's integer branch decides that view
    assert sympy.simplify(D.quotient(total, rest) - sympy.cancel(total / rest)) == 0
    if not (total.has(sympy.Add) or rest.has(sympy.Add)):
        assert sympy.fraction(D.quotient(total, rest))[1] == 1  # divisible: no denominator left


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(-50, 50), st.sampled_from(NAMED + UNKNOWNS)),
       st.one_of(st.integers(1, 12), st.sampled_from(NAMED)))
def test_divides_with_ints_agrees_with_cancel(d, divisor):
    """The `%` shortcut for known ints gives what sympy's cancel decides (and it decides nothing about
    a named or unknown dim it cannot)."""
    expected = sympy.cancel(D.expr(d) / D.expr(divisor)).is_integer
    assert D.divides(divisor, d) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(dims, st.integers(1, 12)), min_size=1, max_size=3),
       st.lists(st.one_of(dims, st.integers(1, 12)), min_size=1, max_size=2))
def test_divides_on_symbolic_dims_agrees_with_cancel(numerator, divisor):
    """Groups against channels (C, 2*C, H + 1, ...): the quotient built directly decides as cancel's."""
    d, by = D.dim_product(numerator), D.dim_product(divisor)
    assume(by != 0)  # groups=0: the integer path's (and torch's) error
    assert D.divides(by, d) == sympy.cancel(D.expr(d) / D.expr(by)).is_integer


# -- show(): Python that means the same --------------------------------------------------------------
_NAMES = ("image_size", "patch_size", "dim")


def _expressions():
    leaves = st.one_of(st.sampled_from([D.symbol(n) for n in _NAMES]), st.integers(-5, 9).map(sympy.Integer))

    def combine(children):
        return st.one_of(
            st.tuples(children, children).map(lambda p: p[0] + p[1]),
            st.tuples(children, children).map(lambda p: p[0] - p[1]),
            st.tuples(children, children).map(lambda p: p[0] * p[1]),
            st.tuples(children, st.integers(1, 7)).map(lambda p: D.floordiv(p[0], p[1])),
            st.tuples(children, st.sampled_from([D.symbol(n) for n in _NAMES])).map(lambda p: D.floordiv(p[0], p[1])),
            st.tuples(children, st.integers(1, 5)).map(lambda p: D.ceildiv(p[0], p[1])),
            st.tuples(children, st.integers(2, 3)).map(lambda p: p[0] ** p[1]),
            children.map(lambda e: -e),
        )

    return st.recursive(leaves, combine, max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(_expressions(), st.tuples(*(st.integers(1, 60) for _ in _NAMES)))
def test_show_prints_python_with_the_same_value(expression, values):
    # Info notes and fix texts print dims with show(): `(image_size//patch_size)**2`, `4*(dim//4)`,
    # never sympy's precedence (`image_size//patch_size**2`) or its `floor(...)`.
    text = D.show(expression)
    assume("floor(" not in text and "ceiling(" not in text)  # a float inside: not a fix text (refused)
    env = dict(zip(_NAMES, values))
    expected = D.expr(expression).subs({D.symbol(n): v for n, v in env.items()})
    assume(expected.is_Integer)
    assert eval(text, {}, env) == int(expected), text  # noqa: S307 - the text is ours


def test_show_precedence_cases_from_real_notes():
    size, patch, dim = (D.symbol(n) for n in _NAMES)
    assert D.show(D.floordiv(size, patch) ** 2) == "(image_size//patch_size)**2"
    assert D.show(4 * D.floordiv(dim, 4)) == "4*(dim//4)"
    assert D.show(-D.floordiv(size, patch)) == "-(image_size//patch_size)"
    assert D.show(D.floordiv(size, 2 * patch)) == "image_size//(2*patch_size)"
    assert D.show(sympy.Mod(size, 3)) == "image_size % 3"


def test_show_tuple_writes_sizes_as_a_person_does():
    size = D.symbol("image_size")
    assert D.show_tuple([3, 3]) == "(3, 3)"
    assert D.show_tuple([5]) == "(5,)"
    assert D.show_tuple([size, D.floordiv(size, 2)]) == "(image_size, image_size//2)"
    assert D.show_tuple([]) == "()"
