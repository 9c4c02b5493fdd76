"""Unknown dims held without sympy, until a question needs it.

A run that meets an error early (a view its input cannot fill) goes on with shapes nothing is known
about: the rules give fresh dims where a size is missing and add, multiply and divide them as they would
known sizes. Importing sympy for that costs more than analysing a small file (~0.4 s), so while sympy is
not imported, `dims.fresh` gives an `Unknowns`: a polynomial with integer coefficients in fresh dims,
kept in exactly the form sympy gives it (a sum of monomials, like terms combined: sympy distributes a
number over a sum and combines the powers of a product; it does not expand a product with a sum, so such
a product is not kept here).

Everything outside that form (a product with a sum, a floor, a power, an order, any other sympy attribute)
is answered by the sympy expression the same operations build (`_sympy_`, which imports sympy and makes
the fresh dims' Dummies in the order the dims were made, so sympy orders and prints them as before). The
answers never differ; only when they are computed.
"""

from __future__ import annotations

import itertools
import sys
import time
import weakref
from typing import Optional

# Fresh dims made while sympy was not imported, in the order they were made (weakly: a long run that
# never needs sympy does not keep them all): the first promotion makes their Dummies in that order, as
# `fresh` made them before (a Dummy's index orders it in sympy's sums and products, hence in what prints).
_pending: list = []
_made_count = itertools.count()
_import_seconds = 0.0


def import_sympy():
    """sympy, imported here or by dims (every import shapels makes goes through this, so it is timed)."""
    if "sympy" not in sys.modules:
        global _import_seconds
        start = time.monotonic()
        import sympy  # noqa: F401

        _import_seconds = time.monotonic() - start
    import sympy

    return sympy


def import_seconds() -> float:
    """How long this process took to import sympy (0 until it has; dims.import_seconds)."""
    return _import_seconds


class Leaf:
    """One fresh dim: sympy's Dummy(hint, integer=True, positive=True) once promoted."""

    __slots__ = ("hint", "index", "dummy", "__weakref__")

    def __init__(self, hint: str):
        self.hint = hint
        self.index = next(_made_count)
        self.dummy = None

    def sympy(self):
        if self.dummy is None:
            promote_pending()
        return self.dummy


def promote_pending() -> None:
    """Make the Dummies of every fresh dim made so far, in the order they were made; imports sympy."""
    sympy = import_sympy()

    pending = _pending[:]
    del _pending[:]
    for ref in pending:
        leaf = ref()
        if leaf is not None and leaf.dummy is None:
            leaf.dummy = sympy.Dummy(leaf.hint, integer=True, positive=True)


def _remember(leaf: Leaf) -> None:
    _pending.append(weakref.ref(leaf))
    if len(_pending) >= 4096 and len(_pending) & (len(_pending) - 1) == 0:  # now and then: drop the dead
        _pending[:] = [ref for ref in _pending if ref() is not None]


class Unknowns:
    """A polynomial with integer coefficients in fresh dims that is not a number (module docstring).

    `terms` is a tuple of (monomial, coefficient) in a fixed order; a monomial is a tuple of (Leaf,
    power > 0) ordered by when the leaves were made; () is the constant term."""

    __slots__ = ("terms", "_expr")

    is_Number = is_Integer = is_Rational = is_Float = False
    is_integer = True  # integer coefficients, integer dims

    def __init__(self, terms: tuple):
        self.terms = terms
        self._expr = None

    @staticmethod
    def leaf(hint: str) -> "Unknowns":
        leaf = Leaf(hint)
        _remember(leaf)
        return Unknowns(((((leaf, 1),), 1),))  # one term: the monomial leaf**1, coefficient 1

    # -- the form ------------------------------------------------------------------------------------
    @property
    def leaves(self) -> tuple:
        return tuple(leaf for monomial, _ in self.terms for leaf, _ in monomial)

    @property
    def single(self) -> Optional[tuple]:
        """(monomial, coefficient) when this is one monomial without a constant term, else None."""
        return self.terms[0] if len(self.terms) == 1 else None

    @property
    def is_Symbol(self) -> bool:
        single = self.single
        return single is not None and single[1] == 1 and len(single[0]) == 1 and single[0][0][1] == 1

    @property
    def is_Pow(self) -> bool:
        single = self.single
        return single is not None and single[1] == 1 and len(single[0]) == 1 and single[0][0][1] > 1

    @property
    def is_Mul(self) -> bool:
        single = self.single
        return single is not None and (single[1] != 1 or len(single[0]) > 1)

    @property
    def is_Add(self) -> bool:
        return len(self.terms) > 1

    @property
    def name(self) -> str:
        if not self.is_Symbol:
            raise AttributeError("name")
        return self.terms[0][0][0][0].hint

    # -- sympy ---------------------------------------------------------------------------------------
    def _sympy_(self):
        """The sympy expression these operations build; imports sympy."""
        if self._expr is None:
            sympy = import_sympy()

            self._expr = sympy.Add(*[
                sympy.Integer(coefficient) * sympy.Mul(*[leaf.sympy() ** power for leaf, power in monomial])
                for monomial, coefficient in self.terms])
        return self._expr

    def __getattr__(self, name: str):
        if name.startswith("_"):  # sympify asks for __sympy__ and _op_priority: not a sympy object
            raise AttributeError(name)
        return getattr(self._sympy_(), name)

    def __reduce__(self):  # pickled (the results cache, a worker's results) as the sympy expression
        return _identity, (self._sympy_(),)

    def __copy__(self):  # immutable, as sympy's expressions are
        return self

    def __deepcopy__(self, memo):
        return self

    def __str__(self) -> str:
        return str(self._sympy_())

    __repr__ = __str__

    def __eq__(self, other) -> bool:
        if type(other) is Unknowns:
            return self.terms == other.terms
        if isinstance(other, (int, float)):
            return False  # never a number
        if "sympy" in sys.modules and isinstance(other, sys.modules["sympy"].Basic):
            return self._sympy_() == other
        return NotImplemented

    def __ne__(self, other) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.terms)

    # -- arithmetic ----------------------------------------------------------------------------------
    def __pos__(self):
        return self

    def __neg__(self):
        return self * -1

    def __add__(self, other):
        b = _polynomial(other)
        if b is None:
            return self._sympy_() + other
        made = _made(_add(dict(self.terms), b))
        return made if made is not None else self._sympy_() + other

    def __radd__(self, other):
        b = _polynomial(other)
        if b is None:
            return other + self._sympy_()
        made = _made(_add(b, dict(self.terms)))
        return made if made is not None else other + self._sympy_()

    def __sub__(self, other):
        b = _polynomial(other)
        if b is None:
            return self._sympy_() - other
        made = _made(_add(dict(self.terms), _scaled(b, -1)))
        return made if made is not None else self._sympy_() - other

    def __rsub__(self, other):
        b = _polynomial(other)
        if b is None:
            return other - self._sympy_()
        made = _made(_add(b, _scaled(dict(self.terms), -1)))
        return made if made is not None else other - self._sympy_()

    def __mul__(self, other):
        made = _product(self, other)
        return made if made is not None else self._sympy_() * other

    def __rmul__(self, other):
        made = _product(self, other)
        return made if made is not None else other * self._sympy_()

    def __truediv__(self, other):
        return self._sympy_() / other

    def __rtruediv__(self, other):
        return other / self._sympy_()

    def __floordiv__(self, other):
        return self._sympy_() // other

    def __rfloordiv__(self, other):
        return other // self._sympy_()

    def __mod__(self, other):
        return self._sympy_() % other

    def __rmod__(self, other):
        return other % self._sympy_()

    def __pow__(self, other):
        return self._sympy_() ** other

    def __rpow__(self, other):
        return other ** self._sympy_()

    def __lt__(self, other):
        return self._sympy_() < other

    def __le__(self, other):
        return self._sympy_() <= other

    def __gt__(self, other):
        return self._sympy_() > other

    def __ge__(self, other):
        return self._sympy_() >= other

    def __abs__(self):
        return abs(self._sympy_())

    def __int__(self):
        return int(self._sympy_())

    def __float__(self):
        return float(self._sympy_())

    def __round__(self, *args):
        return round(self._sympy_(), *args)


def _identity(value):
    return value


def _polynomial(value) -> Optional[dict]:
    """{monomial: coefficient} of an int or an Unknowns; None for anything else (a bool, a float, sympy)."""
    if type(value) is Unknowns:
        return dict(value.terms)
    if type(value) is int:
        return {(): value} if value else {}
    return None


def _add(a: dict, b: dict) -> dict:
    out = dict(a)
    for monomial, coefficient in b.items():
        total = out.get(monomial, 0) + coefficient
        if total:
            out[monomial] = total
        else:
            out.pop(monomial, None)
    return out


def _scaled(a: dict, factor: int) -> dict:
    return {monomial: coefficient * factor for monomial, coefficient in a.items()} if factor else {}


def _monomial_product(m: tuple, n: tuple) -> tuple:
    powers = dict(m)
    for leaf, power in n:
        powers[leaf] = powers.get(leaf, 0) + power
    return tuple(sorted(powers.items(), key=lambda item: item[0].index))


def _made(polynomial: dict) -> Optional[Unknowns]:
    """The Unknowns of a polynomial, or None when it is a number (sympy's Integer is what the operators
    give then: the caller builds it)."""
    if not any(polynomial):  # only the constant term, or nothing
        return None
    return Unknowns(tuple(sorted(polynomial.items(), key=_term_order)))


def _term_order(term) -> tuple:
    return tuple((leaf.index, power) for leaf, power in term[0])


def _product(a: Unknowns, other) -> Optional[Unknowns]:
    """a * other where sympy keeps it a polynomial: a nonzero int times anything (sympy distributes a
    number over a sum), or a monomial times a monomial. None otherwise (a product with a sum stays
    unexpanded in sympy; zero is sympy's Integer 0)."""
    if type(other) is int:
        return _made(_scaled(dict(a.terms), other)) if other else None
    if type(other) is not Unknowns or a.single is None or other.single is None:
        return None
    (m, c), (n, d) = a.single, other.single
    return Unknowns(((_monomial_product(m, n), c * d),))


def exact_quotient(a, b) -> Optional[object]:
    """a / b as the int or Unknowns it is, where a (an int or Unknowns) is a multiple of b (a nonzero int
    or one monomial) term by term; None where that is not so (sympy answers)."""
    top = _polynomial(a)
    if top is None:
        return None
    if type(b) is int:
        if b == 0 or any(coefficient % b for coefficient in top.values()):
            return None
        divisor, by = (), b
    elif type(b) is Unknowns and b.single is not None:
        divisor, by = b.single
    else:
        return None
    out = {}
    for monomial, coefficient in top.items():
        powers = dict(monomial)
        for leaf, power in divisor:
            left = powers.get(leaf, 0) - power
            if left < 0:
                return None
            if left:
                powers[leaf] = left
            else:
                del powers[leaf]
        if coefficient % by:
            return None
        out[tuple(sorted(powers.items(), key=lambda item: item[0].index))] = coefficient // by
    made = _made(out)
    return made if made is not None else out.get((), 0)


def difference(a, b) -> Optional[dict]:
    """a - b as a polynomial, where both are ints or Unknowns; else None."""
    left, right = _polynomial(a), _polynomial(b)
    if left is None or right is None:
        return None
    return _add(left, _scaled(right, -1))


def total(values: list):
    """The sum of ints and Unknowns, as sympy's Add gives it: an int where the unknowns cancel."""
    out: dict = {}
    for value in values:
        out = _add(out, _polynomial(value))
    made = _made(out)
    return made if made is not None else out.get((), 0)


def product(values: list):
    """The product of ints and Unknowns as sympy gives it (multiplied in order, pairwise, where a sum is
    among them), or None where sympy keeps a product with a sum unexpanded."""
    if 0 in values:
        return 0  # 0 times positive dims: sympy's 0
    out = 1
    for value in values:
        if type(out) is int and type(value) is int:
            out *= value
        elif type(out) is int:
            out = _product(value, out)
        else:
            out = _product(out, value)
        if out is None:
            return None
    return out


def has_pending() -> bool:
    return bool(_pending)


def show(u: Unknowns) -> Optional[str]:
    """How dims.show prints `u`, where that is plain (`?`, `2*?`, `? + 1`, `?*?`); None where sympy's
    printer decides (orders of several names, powers, negative leading terms)."""
    constant = dict(u.terms).get((), 0)
    terms = [term for term in u.terms if term[0] != ()]
    if len(terms) != 1:
        return None
    monomial, coefficient = terms[0]
    if coefficient < 1 or any(power != 1 for _, power in monomial) or len({leaf.hint for leaf, _ in monomial}) != 1:
        return None
    text = "*".join([str(coefficient)] * (coefficient != 1) + [leaf.hint for leaf, _ in monomial])
    if constant:
        text += f" + {constant}" if constant > 0 else f" - {-constant}"
    return text
