"""Arithmetic shared by rule families: conv/pool output sizes, dim normalisation, numel."""

from __future__ import annotations

from typing import Optional

from shapels.codes import CONV_INPUT_RANK, DIM_OUT_OF_RANGE
from shapels.rules.base import RuleCall, ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape


def conv_out(size, kernel, stride, padding, dilation) -> D.Dim:
    """floor((L + 2p - d(k-1) - 1) / s) + 1, as torch computes it (in ints when all are known: each
    sympy operation costs a microsecond or two, and a model has hundreds of convs)."""
    known = [v if type(v) is int else D.as_int(v) for v in (size, kernel, stride, padding, dilation)]  # ints: no call
    if None not in known and known[2] > 0:
        L, k, s, p, d = known
        return (L + 2 * p - d * (k - 1) - 1) // s + 1
    return D.floordiv(size + 2 * padding - dilation * (kernel - 1) - 1, stride) + 1


def pool_out(size, kernel, stride, padding, dilation, ceil_mode: bool) -> D.Dim:
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return D.floordiv(numerator, stride) + 1
    n, s = D.as_int(numerator), D.as_int(stride)
    L, p = D.as_int(size), D.as_int(padding)
    if None in (n, s, L, p):
        return D.fresh("?")  # ceil_mode's last-window rule needs concrete sizes
    out = -(-n // s) + 1
    # The last window must start inside the input or the left padding (torch's pooling_output_shape).
    if (out - 1) * s >= L + p:
        out -= 1
    return out


def conv_transpose_out(size, kernel, stride, padding, dilation, output_padding) -> D.Dim:
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def normalize_dim(call: RuleCall, dim, rank: Optional[int], *, param: str = "dim") -> int:
    """A possibly negative dim index as a non-negative one; raises when known out of range."""
    d = D.as_int(dim)
    if d is None:
        raise Unknowable(param)
    if rank is None:
        if d < 0:
            return d  # still usable against the known suffix
        raise Unknowable(param)
    lo, hi = -max(rank, 1), max(rank, 1) - 1
    if not lo <= d <= hi:
        raise ShapeError(
            DIM_OUT_OF_RANGE,
            f"dim {d} is out of range for a tensor of rank {rank} (expected one of [{lo}, {hi}])",
        )
    return d % max(rank, 1)


def numel(shape: Shape) -> Optional[D.Dim]:
    return D.dim_product(shape.dims) if shape.ranked else None


def check_spatial_rank(call: RuleCall, shape: Shape, n: int, what: str) -> bool:
    """Conv/pool inputs are (C, *spatial) or (N, C, *spatial). Returns True when batched is known."""
    if not shape.ranked:
        return False
    if shape.rank not in (n + 1, n + 2):
        call.fail(
            CONV_INPUT_RANK,
            f"{what} expects a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got {shape.rank}-D {shape.show()}",
        )
    call.unbatched = shape.rank == n + 1  # the repair asks whether a missing batch dim is the cause
    return shape.rank == n + 2
