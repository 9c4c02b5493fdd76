"""Memory strides, where a tensor's layout is certain: `x.transpose(1, 2).view(b, -1)` raises in torch
("view size is not compatible with input tensor's size and stride") though the sizes agree.

Strides are tracked only for concrete shapes and only through operations whose output layout torch
fixes: factories and `.contiguous()` give contiguous tensors; transpose/permute/t reorder strides;
unsqueeze/squeeze add or drop a size-1 dim's stride;
view keeps memory, reshape/flatten view when they can and copy when they cannot. Every other result
has unknown strides (None), and nothing is checked against unknown strides.
"""

from __future__ import annotations

from typing import Optional, Sequence

from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

# Results laid out contiguously whatever their inputs (torch's default memory format).
CONTIGUOUS_RESULTS = frozenset({
    "torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty", "torch.full", "torch.randint",
    "torch.arange", "torch.Tensor.contiguous",
})
SWAPS = {"torch.Tensor.transpose": ("dim0", "dim1"), "torch.transpose": ("dim0", "dim1"),
         "torch.Tensor.swapdims": ("dim0", "dim1"), "torch.swapdims": ("dim0", "dim1"),
         "torch.Tensor.swapaxes": ("axis0", "axis1"), "torch.swapaxes": ("axis0", "axis1")}
PERMUTES = frozenset({"torch.Tensor.permute", "torch.permute"})
REVERSES = frozenset({"torch.Tensor.t", "torch.t"})
UNSQUEEZES = frozenset({"torch.Tensor.unsqueeze", "torch.unsqueeze"})
SQUEEZES = frozenset({"torch.Tensor.squeeze", "torch.squeeze"})
VIEWS = frozenset({"torch.Tensor.view"})
VIEW_OR_COPY = frozenset({"torch.Tensor.reshape", "torch.reshape", "torch.flatten", "torch.Tensor.flatten"})


def _unsqueezed(shape: Shape, source_strides: tuple, dim: Optional[tuple]) -> Optional[tuple]:
    """ATen's inferUnsqueezeGeometry: the new size-1 dim's stride is the size times the stride of the dim
    it goes before (1 at the end). A size-1 dim's stride still matters: view's chunk test reads the last
    dim's stride, so `x.transpose(1, 2).unsqueeze(1).view(b, -1)` raises as plain transpose-then-view does."""
    old = sizes(shape)
    if old is None or dim is None or len(dim) != 1:
        return None
    rank = len(old)
    at = dim[0] + rank + 1 if dim[0] < 0 else dim[0]
    if not 0 <= at <= rank:
        return None
    stride = 1 if at >= rank else old[at] * source_strides[at]
    return source_strides[:at] + (stride,) + source_strides[at:]


def _squeezed(shape: Shape, source_strides: tuple, dims: Optional[tuple], output: Shape) -> Optional[tuple]:
    """The strides of the dims a squeeze keeps: `squeeze(dim)` drops the named dims of size 1, a bare
    `squeeze()` every dim of size 1."""
    old, new = sizes(shape), sizes(output)
    if old is None or new is None:
        return None
    rank = len(old)
    named = range(rank) if dims is None else {d % rank for d in dims} if rank else set()
    kept = tuple(stride for i, (size, stride) in enumerate(zip(old, source_strides))
                 if not (i in named and size == 1))
    return kept if len(kept) == len(new) else None


def sizes(shape: Shape) -> Optional[tuple]:
    """The shape as Python ints, or None unless every dim is known."""
    if not shape.ranked:
        return None
    out = tuple(D.as_int(d) for d in shape.dims)
    return None if any(d is None for d in out) else out


def contiguous(shape: Shape) -> Optional[tuple]:
    """Row-major strides (as torch gives a new tensor), or None for a shape not fully known."""
    known = sizes(shape)
    if known is None:
        return None
    out, step = [], 1
    for size in reversed(known):
        out.append(step)
        step *= max(size, 1)
    return tuple(reversed(out))


def view_strides(old_sizes: Sequence[int], old_strides: Sequence[int], new_sizes: Sequence[int]) -> Optional[tuple]:
    """The strides of `view(new_sizes)` on a tensor of these sizes and strides, or None when the view
    is impossible without a copy. ATen's computeStride: the new dims must split or merge only runs of
    old dims that are contiguous among themselves."""
    if not old_sizes or 0 in old_sizes:
        # a 0-d or empty tensor views as any shape of its size (the size check is the shape rule's)
        return tuple(1 for _ in new_sizes)
    new_strides = [0] * len(new_sizes)
    view_d = len(new_sizes) - 1
    chunk_base_stride = old_strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(old_sizes) - 1, -1, -1):
        tensor_numel *= old_sizes[tensor_d]
        # a chunk ends where the next dim out is not laid out right after this run of dims
        if tensor_d == 0 or (old_sizes[tensor_d - 1] != 1
                             and old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_sizes[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_sizes[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = old_strides[tensor_d - 1]
                tensor_numel = view_numel = 1
    return tuple(new_strides) if view_d == -1 else None


def after(qualname: str, source_shape: Optional[Shape], source_strides: Optional[tuple], dims_of,
          output: Shape) -> Optional[tuple]:
    """The strides of an operation's result, where torch fixes them; else None.

    `dims_of(name)` gives the int arguments a rule bound under that name (a tuple of dims, or None)."""
    if qualname in CONTIGUOUS_RESULTS:
        return contiguous(output)
    if source_strides is None or source_shape is None or len(source_strides) != len(source_shape.dims):
        return None
    rank = len(source_strides)
    if qualname in SWAPS:
        pair = [dims_of(name) for name in SWAPS[qualname]]
        if any(p is None or len(p) != 1 for p in pair) or rank == 0:
            return None
        i, j = (p[0] % rank for p in pair)
        out = list(source_strides)
        out[i], out[j] = out[j], out[i]
        return tuple(out)
    if qualname in PERMUTES:
        order = dims_of("dims")
        if order is None or sorted(d % rank for d in order) != list(range(rank)):
            return None
        return tuple(source_strides[d % rank] for d in order)
    if qualname in REVERSES:
        return tuple(reversed(source_strides))
    if qualname in UNSQUEEZES:
        return _unsqueezed(source_shape, source_strides, dims_of("dim"))
    if qualname in SQUEEZES:
        return _squeezed(source_shape, source_strides, dims_of("dim"), output)
    old, new = sizes(source_shape), sizes(output)
    if old is None or new is None:
        return None
    if qualname in VIEWS:
        return view_strides(old, source_strides, new)
    if qualname in VIEW_OR_COPY:
        return view_strides(old, source_strides, new) or contiguous(output)
    return None
