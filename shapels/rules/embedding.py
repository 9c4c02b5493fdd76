"""nn.Embedding and F.embedding: integer indices (*) -> (*, embedding_dim)."""

from __future__ import annotations

from shapels.codes import EMBEDDING_INPUT
from shapels.rules.base import CAST_FIX, RuleCall, layer_name
from shapels.rules.parameters import Parameter, Size
from shapels.rules.registry import Functional, T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape


def _check_padding_idx(call: RuleCall, num_embeddings, *, param: str) -> None:
    """torch asserts -num_embeddings <= padding_idx < num_embeddings."""
    if call.is_none("padding_idx"):
        return
    index, num = D.as_int(call.dim_or_none("padding_idx")), D.as_int(num_embeddings)
    if index is not None and num is not None and not -num <= index < num:
        call.fail(
            EMBEDDING_INPUT,
            f"{layer_name(call)}: padding_idx={index} is outside the {num} embeddings",
            param=param,
        )


def _check_indices(call: RuleCall) -> None:
    """torch looks rows up by int64 or int32 indices only; a float tensor (`torch.randn`, a `.float()`)
    is its error at the first call. An unknown dtype decides nothing."""
    dtype = getattr(call.value("input"), "dtype", None)
    if dtype is not None and dtype not in ("int64", "int32"):
        call.fail(
            EMBEDDING_INPUT,
            f"{layer_name(call)}: indices must be an integer tensor (torch.long or torch.int), got {dtype}; "
            "an Embedding looks rows up by index",
            input_name="input",
            fix=CAST_FIX + "long",
        )


def _lookup(shape: Shape, dim) -> Shape:
    if not shape.ranked:
        return Shape.suffix([dim])
    return Shape.of(list(shape.dims) + [dim])


@layer(
    "torch.nn.Embedding",
    makes_width="embedding_dim",
    init=(
        "num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0, "
        "scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None"
    ),
    parameters=(Parameter("weight", (Size("num_embeddings"), Size("embedding_dim")), given_by="_weight"),),
    functional=Functional("torch.nn.functional.embedding", ("weight",)),
    examples=[
        ex(T(1, 10, dtype="long"), init=(1000, 512), out=(1, 10, 512)),
        ex(T(7, dtype="long"), init=(10, 3), out=(7, 3)),
        ex(T(7, dtype="long"), init=(10, 3), init_kwargs={"padding_idx": -10}, out=(7, 3)),
        ex(T(7, dtype="long"), init=(10, 3), init_kwargs={"padding_idx": 10}, error=EMBEDDING_INPUT),
        ex(T(2, 7, dtype="int32"), init=(10, 3), out=(2, 7, 3)),
        ex(T(1, 10), init=(1000, 512), error=EMBEDDING_INPUT),
    ],
)
def embedding(call: RuleCall):
    shape = call.shape("input")
    _check_indices(call)
    _check_padding_idx(call, call.dim("num_embeddings"), param="padding_idx")
    return _lookup(shape, call.dim("embedding_dim"))


@function(
    "torch.nn.functional.embedding",
    signature="input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False",
    examples=[
        ex(T(2, 4, dtype="long"), T(10, 3), out=(2, 4, 3)),
        ex(T(2, 4, dtype="long"), T(10), error=EMBEDDING_INPUT),
        ex(T(2, 4, dtype="float64"), T(10, 3), error=EMBEDDING_INPUT),
    ],
)
def f_embedding(call: RuleCall):
    shape, weight = call.shape("input"), call.shape("weight")
    _check_indices(call)
    if weight.ranked and weight.rank != 2:
        call.fail(EMBEDDING_INPUT, f"embedding: the weight must be 2-D, got {weight.show()}", input_name="weight")
    if not weight.ranked or len(weight.dims) < 2:
        return None
    _check_padding_idx(call, weight.dims[0], param="padding_idx")
    return _lookup(shape, weight.dims[1])
