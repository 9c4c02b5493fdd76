"""Dimensions as Python ints while known and sympy integer expressions otherwise, with three-valued
comparisons."""

from shapels.symbolic.dims import (
    Dim,
    as_int,
    ceildiv,
    const,
    dim_product,
    eq,
    floordiv,
    fresh,
    is_concrete,
    show,
    symbol,
    to_json,
)

__all__ = [
    "Dim",
    "as_int",
    "ceildiv",
    "const",
    "dim_product",
    "eq",
    "floordiv",
    "fresh",
    "is_concrete",
    "show",
    "symbol",
    "to_json",
]
