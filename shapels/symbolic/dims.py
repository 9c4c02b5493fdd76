"""Dims are Python ints while they are known, and sympy integer expressions over positive integer
symbols once an unknown or a named size enters.

Comparisons are three-valued: True (known equal), False (known different), None (unknown).
A diagnostic may only rest on a False. Unknown dims are fresh symbols named `?`, each distinct,
so no comparison with them can ever be decided.

sympy is imported only when a named symbol is made (`symbol`) or an expression meets a question that
needs it: a file whose sizes are all known is analysed without it, and importing sympy costs more than
the analysis of a small file. An unknown made before then (`fresh`) is an `unknowns.Unknowns`, which
adds, multiplies and divides exactly as sympy would and becomes sympy's expression where sympy must
answer (unknowns.py): a run whose early error leaves its later sizes unknown still needs no sympy.
Concrete dims are always ints: `const` turns a sympy Integer into one.
"""

from __future__ import annotations

import functools
import itertools
import math
import sys
from typing import TYPE_CHECKING, Iterable, Optional, Union

from shapels.symbolic.unknowns import Unknowns, difference, exact_quotient, has_pending, import_sympy, promote_pending
from shapels.symbolic.unknowns import import_seconds as sympy_import_seconds
from shapels.symbolic.unknowns import product as unknowns_product
from shapels.symbolic.unknowns import show as unknowns_show
from shapels.symbolic.unknowns import total as unknowns_total

if TYPE_CHECKING:
    import sympy

Dim = Union[int, "sympy.Expr", Unknowns]
DimLike = Union[int, "sympy.Expr", Unknowns]

_fresh_counter = itertools.count()


def _sympy():
    """sympy, imported on first use (module docstring), with the Dummies of the unknowns made before."""
    sympy = import_sympy()
    if has_pending():
        promote_pending()  # in the order they were made
    return sympy


def sympy_module():
    """sympy, for a sympy operation on dims elsewhere: imported (and timed, `import_seconds`) where an
    Unknowns has not needed it yet."""
    return _sympy()


def import_seconds() -> float:
    """How long this process took to import sympy (0 until it has): an analysis's time budget leaves
    it out, as it did when sympy was imported with shapels, before any analysis started."""
    return sympy_import_seconds()


def is_expr(value) -> bool:
    """Whether `value` is a symbolic dim: an Unknowns or a sympy expression. Never imports sympy: no
    sympy expression exists before it is imported. While another thread imports it (the server analyses
    in a worker thread), sys.modules holds a module not yet initialised: no expression exists then either."""
    if type(value) is Unknowns:
        return True
    expr_type = getattr(sys.modules.get("sympy"), "Expr", None)
    return expr_type is not None and isinstance(value, expr_type)


def is_integer_valued(value) -> bool:
    """An int (not a bool) or a sympy expression known to be an integer (a symbolic dim): what a
    Python int can hold, as opposed to a float."""
    if isinstance(value, int):
        return not isinstance(value, bool)
    return is_expr(value) and value.is_integer is True


@functools.lru_cache(maxsize=4096)
def symbol(name: str) -> "sympy.Symbol":
    """A named dim (B, H, embedding_dim), a positive integer; the same name is the same dim."""
    return _sympy().Symbol(name, integer=True, positive=True)


def fresh(hint: str = "?") -> Union["sympy.Symbol", Unknowns]:
    """A dim nothing is known about, distinct from every other dim: an Unknowns while sympy is not
    imported (module docstring), else sympy's Dummy."""
    if "sympy" not in sys.modules:
        return Unknowns.leaf(hint)
    return _sympy().Dummy(hint, integer=True, positive=True)


def const(value: DimLike) -> Dim:
    """A dim: an int when it is known (a sympy Integer becomes one), else the sympy expression."""
    if type(value) is int:  # the common case first
        return value
    if isinstance(value, int):  # a bool, or an int subclass
        return int(value)
    if is_expr(value):
        return int(value) if value.is_Integer else value
    return int(value)


def is_concrete(d: Dim) -> bool:
    return isinstance(d, int) or (is_expr(d) and d.is_Integer)


def as_int(d: Optional[DimLike]) -> Optional[int]:
    if type(d) is int:  # the common case first
        return d
    if d is None:
        return None
    if isinstance(d, int):  # a bool
        return int(d)
    if is_expr(d) and d.is_Integer:
        return int(d)
    return None


def has_unknown(d: Dim) -> bool:
    """Whether a dim involves an unknown (`fresh`) dim: then nothing about it can be decided."""
    if type(d) is Unknowns:
        return True  # made of fresh dims only, and never a number
    if not is_expr(d):
        return False
    Dummy = _sympy().Dummy
    return any(isinstance(s, Dummy) for s in d.free_symbols)


def free_symbols(d: DimLike) -> frozenset:
    """The symbols a dim is made of: none for a known one."""
    return frozenset(d.free_symbols) if is_expr(d) else frozenset()


def is_open(s) -> bool:
    """Whether `s` (a symbol) is Keras's None, a size open until the model runs (`OPEN`)."""
    if type(s) is Unknowns:
        return s.is_Symbol and s.name == OPEN
    return is_expr(s) and isinstance(s, _sympy().Dummy) and s.name == OPEN


def depends_on_open(d: DimLike) -> bool:
    """Whether a dim involves Keras's None (`OPEN`): arithmetic on None gives None, as in Keras."""
    if type(d) is Unknowns:
        return any(leaf.hint == OPEN for leaf in d.leaves)
    return any(is_open(s) for s in free_symbols(d))


def is_symbol(d: DimLike) -> bool:
    """Whether a dim is one symbol (a named size, an unknown, a Keras None), not an expression of them."""
    return is_expr(d) and d.is_Symbol


def substitute(d: DimLike, substitution: dict) -> Dim:
    """`d` with symbols replaced by dims (`{N: 32}` for a Keras None the data fixes)."""
    if not is_expr(d):
        return const(d)
    # Keys as sympy's symbols: an Unknowns key (a Keras None made before sympy was imported) is its Dummy.
    return const(expr(d).xreplace({expr(k): expr(v) for k, v in substitution.items()}))


def known_or_open(d: DimLike) -> bool:
    """A size that is known, or Keras's None (open until the model runs, by design): not an unknown."""
    d = const(d)
    if type(d) is Unknowns:
        return all(leaf.hint == OPEN for leaf in d.leaves)
    if not is_expr(d):
        return True
    Dummy = _sympy().Dummy
    return not any(isinstance(s, Dummy) and s.name != OPEN for s in d.free_symbols)


def prints_unknown(d: DimLike) -> bool:
    """Whether `show(d)` contains a `?`: an unknown dim with the default hint prints as one."""
    d = const(d)
    if type(d) is Unknowns:
        return any(leaf.hint == "?" for leaf in d.leaves)
    if not is_expr(d):
        return False
    Dummy = _sympy().Dummy
    return any(isinstance(s, Dummy) and s.name == "?" for s in d.free_symbols)


def expr(d: DimLike) -> "sympy.Expr":
    """`d` as a sympy expression (an int as a sympy Integer), for sympy's own operations; imports sympy."""
    if type(d) is Unknowns:
        return d._sympy_()
    sympy = _sympy()
    return d if isinstance(d, sympy.Expr) else sympy.Integer(int(d))


def floordiv(a: DimLike, b: DimLike) -> Dim:
    a, b = const(a), const(b)
    if type(a) is int and type(b) is int and b != 0:
        return a // b
    if has_unknown(a) or has_unknown(b):
        return fresh()  # an unknown's floor is as unknown, and far cheaper to carry
    sympy = _sympy()
    a, b = expr(a), expr(b)
    if isinstance(a, sympy.floor) and b.is_Integer and int(b) > 0:
        # floor(floor(n/q)/b) = floor(n/(q*b)) for an integer n and positive integers q, b:
        # keeps a stack of strided convs at H//8 instead of H//2//2//2.
        num, den = sympy.fraction(sympy.together(a.args[0]))
        if den.is_Integer and int(den) > 0 and num.is_integer:
            return const(sympy.floor(num / (den * b)))
    return const(sympy.floor(a / b))


def ceildiv(a: DimLike, b: DimLike) -> Dim:
    a, b = const(a), const(b)
    if type(a) is int and type(b) is int and b != 0:
        return -(-a // b)
    if has_unknown(a) or has_unknown(b):
        return fresh()
    sympy = _sympy()
    return const(sympy.ceiling(expr(a) / expr(b)))


def quotient(a: DimLike, b: DimLike) -> Union[int, Unknowns, "sympy.Expr"]:
    """a / b: a quotient of products simplifies as it is built (B*H*W*C / (B*H*W) is C); only sums (H + 1)
    need sympy's cancel, which costs far more. A multiple of unknowns by its factor (`?*5120 / ?`) is
    divided without sympy (an int or Unknowns); anything else is a sympy expression (`denominator`)."""
    exact = exact_quotient(const(a), const(b)) if type(a) is Unknowns or type(b) is Unknowns else None
    if exact is not None:
        return exact
    sympy = _sympy()
    a, b = expr(a), expr(b)
    if a.has(sympy.Add) or b.has(sympy.Add):
        return sympy.cancel(a / b)
    return a / b


def denominator(q) -> Dim:
    """The denominator of a `quotient` (1 for an int or Unknowns; as_numer_denom's, not fraction's: the
    denominator of N + 1/2 is 2)."""
    if type(q) is int or type(q) is Unknowns:
        return 1
    return q.as_numer_denom()[1]


def cancelled_quotient(a: DimLike, b: DimLike) -> "sympy.Expr":
    """a / b as a sympy expression, cancelled (`(2*H + 2) / (H + 1)` is 2)."""
    sympy = _sympy()
    return sympy.cancel(expr(a) / expr(b))


def divides(divisor: DimLike, d: DimLike) -> Optional[bool]:
    """Whether d / divisor is an integer: True, False, or None when it depends on unknowns. Known ints
    are tested with `%` (sympy's cancel costs ~20 us even on two integers)."""
    if type(d) is int and type(divisor) is int:  # the common case, without as_int's two calls
        return divisor != 0 and d % divisor == 0
    a, b = as_int(d), as_int(divisor)
    if a is not None and b is not None:
        return b != 0 and a % b == 0
    if (type(d) is Unknowns or type(divisor) is Unknowns) and exact_quotient(const(d), const(divisor)) is not None:
        return True  # a multiple term by term: the quotient is a polynomial with integer coefficients
    sympy = _sympy()
    q = expr(d) / expr(divisor)
    # A quotient of products cancels as it is built (C / C is 1); only sums need sympy's cancel, ~1 ms.
    return (sympy.cancel(q) if q.has(sympy.Add) else q).is_integer


def dim_product(dims: Iterable[DimLike]) -> Dim:
    factors = [const(d) for d in dims]
    if all(type(f) is int for f in factors):
        return math.prod(factors)  # no Mul to build, flatten and cache
    if all(type(f) is int or type(f) is Unknowns for f in factors):
        held = unknowns_product(factors)
        if held is not None:
            return held
    sympy = _sympy()
    factors = [expr(f) for f in factors]
    if not any(f.is_Add for f in factors):
        # One flatten instead of one per factor; the same canonical product (a number times a sum
        # is distributed only by the pairwise product, hence that path for sums).
        return const(sympy.Mul(*factors))
    out = sympy.Integer(1)
    for f in factors:
        out = out * f
    return const(out)


def dim_sum(dims: Iterable[DimLike]) -> Dim:
    """The sum of dims: an int while all are known."""
    terms = [const(d) for d in dims]
    if all(type(t) is int for t in terms):
        return sum(terms)
    if all(type(t) is int or type(t) is Unknowns for t in terms):
        return unknowns_total(terms)
    return const(_sympy().Add(*[expr(t) for t in terms]))


def eq(a: DimLike, b: DimLike) -> Optional[bool]:
    """Three-valued equality: True, False, or None when it depends on unknowns."""
    if type(a) is int and type(b) is int:  # the common case, before const's two calls
        return a == b
    a, b = const(a), const(b)
    if type(a) is int and type(b) is int:
        return a == b
    if a == b:
        return True
    if type(a) is Unknowns or type(b) is Unknowns:
        diff = difference(a, b)
        if diff is not None:
            # Both polynomials in sympy's expanded form: their difference is what expand gives. A number
            # (not 0: they differ) decides; an unknown left in it decides nothing (_eq_symbolic).
            return False if not any(diff) else None
    return _eq_symbolic(expr(a), expr(b))


@functools.lru_cache(maxsize=8192)
def _eq_symbolic(a: Dim, b: Dim) -> Optional[bool]:
    if _monomial(a) and _monomial(b) and (has_unknown(a) or has_unknown(b)):
        # Two different monomials (a == b was ruled out) never cancel: their difference keeps the
        # unknown, exactly what expanding would find, at a fraction of its cost.
        return None
    diff = _sympy().expand(a - b)
    if diff.is_Integer:
        return int(diff) == 0
    if has_unknown(diff):
        return None  # sympy's assumption queries are costly and cannot settle an unknown
    nonzero = diff.is_nonzero
    if nonzero is True:
        return False
    if diff.is_zero is True:
        return True
    return None


def _power_of_symbol(e: Dim) -> bool:
    return e.is_Symbol or (e.is_Pow and e.base.is_Symbol and e.exp.is_Integer)


def _monomial(e: Dim) -> bool:
    """A number times powers of symbols, in sympy's canonical form (equal monomials are ==)."""
    if e.is_Number or _power_of_symbol(e):
        return True
    return e.is_Mul and all(f.is_Number or _power_of_symbol(f) for f in e.args)


@functools.lru_cache(maxsize=1)
def _printer():
    """The dim printer, its class built on first use: it derives from sympy's StrPrinter."""
    sympy = _sympy()
    from sympy.printing.str import StrPrinter

    class DimPrinter(StrPrinter):
        """Prints dims the way a PyTorch user writes them, as Python that means the same: floor(a/b) as
        a//b, ceiling(a/b) as -(-a//b), Mod as %, with the parentheses Python's precedence needs
        (`4*(dim//4)`, `(image_size//patch_size)**2`, `-(a//b)`), and dummies without their numbering."""

        _INFIX = (sympy.floor, sympy.ceiling, sympy.Mod)  # printed as `//` / `%`: the precedence of `*`

        def parenthesize(self, item, level, strict=False):
            if isinstance(item, self._INFIX):
                text = self._print(item)
                wrapped = text.startswith("-") or level > 50 or (not strict and level >= 50)
                return f"({text})" if wrapped else text
            return super().parenthesize(item, level, strict)

        def _print_floor(self, expr):
            arg = expr.args[0]
            num, den = sympy.fraction(sympy.together(arg))
            if den != 1:
                return f"{self.parenthesize(num, 50)}//{self.parenthesize(den, 50)}"
            return f"floor({self._print(arg)})"  # not Python: fix renderers refuse it

        def _print_ceiling(self, expr):
            num, den = sympy.fraction(sympy.together(expr.args[0]))
            if den != 1:
                return f"-({self.parenthesize(-num, 50)}//{self.parenthesize(den, 50)})"
            return f"ceiling({self._print(expr.args[0])})"

        def _print_Mod(self, expr):
            a, b = expr.args
            return f"{self.parenthesize(a, 50)} % {self.parenthesize(b, 50, strict=True)}"

        def _print_Dummy(self, expr):
            return expr.name

        def _print_Mul(self, expr):
            coefficient, rest = expr.as_coeff_Mul()
            if coefficient.is_negative:
                positive = -expr
                return "-" + (self.parenthesize(positive, 50) if isinstance(positive, self._INFIX) else self._print(positive))
            return "*".join(self.parenthesize(a, 50) for a in expr.as_ordered_factors())

    return DimPrinter()


def show(d: DimLike) -> str:
    d = const(d)
    if type(d) is int:
        return str(d)
    if type(d) is Unknowns:
        plain = unknowns_show(d)
        if plain is not None:
            return plain
        d = d._sympy_()
    return _printer().doprint(d)


def show_tuple(ds) -> str:
    """Sizes as the tuple a person writes: `(3, 3)`, `(5,)`; not the repr of their strings."""
    shown = [show(d) for d in ds]
    return "(" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")"


# The name of a size left open until the model runs (Keras's None: a keras.Input's batch); JSON
# writes it as null, as Keras prints None.
OPEN = "None"


def to_json(d: DimLike) -> Union[int, str, None]:
    d = const(d)
    if type(d) is int:
        return d
    if is_open(d):
        return None
    return show(d)
