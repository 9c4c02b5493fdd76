"""Dims are sympy integer expressions over positive integer symbols.

Comparisons are three-valued: True (known equal), False (known different), None (unknown).
A diagnostic may only rest on a False. Unknown dims are fresh symbols named `?`, each distinct,
so no comparison with them can ever be decided.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Iterable, Optional, Union

import sympy

Dim = sympy.Expr
DimLike = Union[int, sympy.Expr]

_fresh_counter = itertools.count()


@functools.lru_cache(maxsize=4096)
def symbol(name: str) -> sympy.Symbol:
    """A named dim (B, H, embedding_dim), a positive integer; the same name is the same dim."""
    return sympy.Symbol(name, integer=True, positive=True)


def fresh(hint: str = "?") -> sympy.Symbol:
    """A dim nothing is known about, distinct from every other dim."""
    return sympy.Dummy(hint, integer=True, positive=True)


def const(value: DimLike) -> Dim:
    if isinstance(value, sympy.Expr):
        return value
    return sympy.Integer(int(value))


def is_concrete(d: Dim) -> bool:
    return isinstance(d, sympy.Integer) or (isinstance(d, sympy.Expr) and d.is_Integer)


def as_int(d: Optional[DimLike]) -> Optional[int]:
    if isinstance(d, sympy.Integer):  # the common case first
        return int(d)
    if d is None:
        return None
    if isinstance(d, bool):
        return int(d)
    if isinstance(d, int):
        return d
    if isinstance(d, sympy.Expr) and d.is_Integer:
        return int(d)
    return None


def has_unknown(d: Dim) -> bool:
    """Whether a dim involves an unknown (`fresh`) dim: then nothing about it can be decided."""
    return any(isinstance(s, sympy.Dummy) for s in d.free_symbols)


def known_or_open(d: DimLike) -> bool:
    """A size that is known, or Keras's None (open until the model runs, by design): not an unknown."""
    d = const(d)
    return not any(isinstance(s, sympy.Dummy) and s.name != OPEN for s in d.free_symbols)


def prints_unknown(d: DimLike) -> bool:
    """Whether `show(d)` contains a `?`: an unknown dim with the default hint prints as one."""
    d = const(d)
    return not d.is_Integer and any(isinstance(s, sympy.Dummy) and s.name == "?" for s in d.free_symbols)


def floordiv(a: DimLike, b: DimLike) -> Dim:
    a, b = const(a), const(b)
    if a.is_Integer and b.is_Integer and b != 0:
        return sympy.Integer(int(a) // int(b))
    if has_unknown(a) or has_unknown(b):
        return fresh()  # an unknown's floor is as unknown, and far cheaper to carry
    if isinstance(a, sympy.floor) and b.is_Integer and int(b) > 0:
        # floor(floor(n/q)/b) = floor(n/(q*b)) for an integer n and positive integers q, b:
        # keeps a stack of strided convs at H//8 instead of H//2//2//2.
        num, den = sympy.fraction(sympy.together(a.args[0]))
        if den.is_Integer and int(den) > 0 and num.is_integer:
            return sympy.floor(num / (den * b))
    return sympy.floor(a / b)


def ceildiv(a: DimLike, b: DimLike) -> Dim:
    a, b = const(a), const(b)
    if a.is_Integer and b.is_Integer and b != 0:
        return sympy.Integer(-(-int(a) // int(b)))
    if has_unknown(a) or has_unknown(b):
        return fresh()
    return sympy.ceiling(a / b)


def divides(divisor: DimLike, d: DimLike) -> Optional[bool]:
    """Whether d / divisor is an integer: True, False, or None when it depends on unknowns. Known ints
    are tested with `%` (sympy's cancel costs ~20 us even on two integers)."""
    a, b = as_int(d), as_int(divisor)
    if a is not None and b is not None:
        return b != 0 and a % b == 0
    quotient = const(d) / const(divisor)
    # A quotient of products cancels as it is built (C / C is 1); only sums need sympy's cancel, ~1 ms.
    return (sympy.cancel(quotient) if quotient.has(sympy.Add) else quotient).is_integer


def dim_product(dims: Iterable[DimLike]) -> Dim:
    factors = [const(d) for d in dims]
    if all(isinstance(f, sympy.Integer) for f in factors):
        return sympy.Integer(math.prod(int(f) for f in factors))  # no Mul to build, flatten and cache
    if not any(f.is_Add for f in factors):
        # One flatten instead of one per factor; the same canonical product (a number times a sum
        # is distributed only by the pairwise product, hence that path for sums).
        return sympy.Mul(*factors)
    out: Dim = sympy.Integer(1)
    for f in factors:
        out = out * f
    return out


def eq(a: DimLike, b: DimLike) -> Optional[bool]:
    """Three-valued equality: True, False, or None when it depends on unknowns."""
    a, b = const(a), const(b)
    if a.is_Integer and b.is_Integer:
        return int(a) == int(b)
    if a == b:
        return True
    return _eq_symbolic(a, b)


@functools.lru_cache(maxsize=8192)
def _eq_symbolic(a: Dim, b: Dim) -> Optional[bool]:
    if _monomial(a) and _monomial(b) and (has_unknown(a) or has_unknown(b)):
        # Two different monomials (a == b was ruled out) never cancel: their difference keeps the
        # unknown, exactly what expanding would find, at a fraction of its cost.
        return None
    diff = sympy.expand(a - b)
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


def _printer_key(expr: sympy.Expr) -> str:
    return sympy.sstr(expr)


class _DimPrinter(sympy.printing.str.StrPrinter):
    """Prints dims the way a PyTorch user writes them, as Python that means the same: floor(a/b) as a//b,
    ceiling(a/b) as -(-a//b), Mod as %, with the parentheses Python's precedence needs (`4*(dim//4)`,
    `(image_size//patch_size)**2`, `-(a//b)`), and dummies without their numbering."""

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


_printer = _DimPrinter()


def show(d: DimLike) -> str:
    d = const(d)
    if d.is_Integer:
        return str(int(d))
    return _printer.doprint(d)


def show_tuple(ds) -> str:
    """Sizes as the tuple a person writes: `(3, 3)`, `(5,)`; not the repr of their strings."""
    shown = [show(d) for d in ds]
    return "(" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")"


# The name of a size left open until the model runs (Keras's None: a keras.Input's batch); JSON
# writes it as null, as Keras prints None.
OPEN = "None"


def to_json(d: DimLike) -> Union[int, str, None]:
    d = const(d)
    if d.is_Integer:
        return int(d)
    if isinstance(d, sympy.Dummy) and d.name == OPEN:
        return None
    return show(d)
