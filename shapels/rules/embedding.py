"""nn.Embedding and F.embedding: integer indices (*) -> (*, embedding_dim)."""

from __future__ import annotations

from shapels.rules.base import RuleCall
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic.shape import Shape


@layer(
    "torch.nn.Embedding",
    init=(
        "num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0, "
        "scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None"
    ),
    examples=[ex(T(1, 10, dtype="long"), init=(1000, 512), out=(1, 10, 512)), ex(T(7, dtype="long"), init=(10, 3), out=(7, 3))],
)
def embedding(call: RuleCall):
    shape = call.shape("input")
    dim = call.dim("embedding_dim")
    if not shape.ranked:
        return Shape.suffix([dim])
    return Shape.of(list(shape.dims) + [dim])


@function(
    "torch.nn.functional.embedding",
    signature="input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False",
    label="embedding",
    examples=[ex(T(2, 4, dtype="long"), T(10, 3), out=(2, 4, 3))],
)
def f_embedding(call: RuleCall):
    shape, weight = call.shape("input"), call.shape("weight")
    if not weight.ranked or weight.rank != 2:
        return None
    if not shape.ranked:
        return Shape.suffix([weight.dims[1]])
    return Shape.of(list(shape.dims) + [weight.dims[1]])
