"""A tensor shape: known dims, possibly behind an unknown number of leading dims.

`ranked=False` means "any number of leading dims, then `dims`": what a layer that only constrains
trailing dims (Linear, Conv2d on an input of unknown rank) lets us know without guessing the rank.
Guessing the rank is how a shape checker produces false positives, so we never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from shapels.symbolic.dims import Dim, DimLike, const, show, to_json


@dataclass(frozen=True)
class Shape:
    dims: tuple
    ranked: bool = True

    @staticmethod
    def of(dims: Iterable[DimLike]) -> "Shape":
        return Shape(tuple(d if type(d) is int else const(d) for d in dims), True)  # ints as they are: no call

    @staticmethod
    def suffix(dims: Iterable[DimLike]) -> "Shape":
        return Shape(tuple(const(d) for d in dims), False)

    @staticmethod
    def unknown() -> "Shape":
        return Shape((), False)

    @property
    def rank(self) -> Optional[int]:
        return len(self.dims) if self.ranked else None

    @property
    def known(self) -> bool:
        return self.ranked

    @property
    def is_unknown(self) -> bool:
        return not self.ranked and not self.dims

    def dim(self, index: int) -> Optional[Dim]:
        """The dim at `index` (negative counts from the end), or None when it is not known."""
        n = len(self.dims)
        if index < 0:
            return self.dims[index] if -index <= n else None
        if not self.ranked:
            return None
        return self.dims[index] if index < n else None

    def with_dim(self, index: int, value: DimLike) -> "Shape":
        dims = list(self.dims)
        dims[index] = const(value)
        return Shape(tuple(dims), self.ranked)

    def replace_tail(self, count: int, new: Sequence[DimLike]) -> "Shape":
        """Replace the last `count` dims (which must be known) with `new`."""
        head = self.dims[: len(self.dims) - count] if count else self.dims
        return Shape(tuple(head) + tuple(const(d) for d in new), self.ranked)

    def show(self) -> str:
        parts = [show(d) for d in self.dims]
        if not self.ranked:
            parts = ["..."] + parts
        if len(parts) == 1 and self.ranked:
            return f"({parts[0]},)"
        return "(" + ", ".join(parts) + ")"

    def bracketed(self) -> str:
        parts = [show(d) for d in self.dims]
        if not self.ranked:
            parts = ["..."] + parts
        return "[" + ", ".join(parts) + "]"

    def to_json(self) -> Optional[list]:
        if not self.ranked:
            return None
        return [to_json(d) for d in self.dims]

