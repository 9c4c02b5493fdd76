"""MultiHeadAttention: the output has the query's shape (its last axis replaced by output_shape when
given); the value and the key must agree on every axis but the last. The projections are built from
each input's own last axis, so query, key and value may have different feature sizes. Modelled for
3-D (batch, time, features) inputs with the default attention_axes."""

from __future__ import annotations

from shapels.codes import ATTENTION_EMBED_DIM, CALL_MISMATCH
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.keras_layers.spec import is_none_dim, keras_layer, positive_int, require_defined
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq


def _output_shape(call: RuleCall):
    if call.is_none("output_shape"):
        return None
    value = call.value("output_shape")
    single = to_dim(value)
    if single is not None:
        return [single]
    if not isinstance(value, (Seq, ListValue)) or any(to_dim(i) is None for i in value.items):
        raise Unknowable("output_shape")
    return [to_dim(i) for i in value.items]


def _same_batch(a, b) -> bool:
    return is_none_dim(a) or is_none_dim(b) or D.eq(a, b) is True


@keras_layer(
    "MultiHeadAttention",
    init="num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None, attention_axes=None, "
         "sliding_window=None, flash_attention=None, kernel_initializer='glorot_uniform', bias_initializer='zeros', "
         "kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, "
         "bias_constraint=None, use_gate=False, seed=None",
    call="query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None, "
         "return_attention_scores=False, training=None, use_causal_mask=False",
    examples=[
        ex(T(2, 8, 16), T(2, 4, 16), init=(2, 8), out=(2, 8, 16)),
        ex(T(None, 10, 32), T(None, 10, 32), init=(4, 16), out=(None, 10, 32)),
        ex(T(2, 8, 16), T(2, 4, 12), T(2, 4, 6), init=(2, 8), init_kwargs={"output_shape": 5}, out=(2, 8, 5)),
        ex(T(2, 8, 16), T(2, 8, 16), init=(3, 8), return_attention_scores=True, out=((2, 8, 16), (2, 3, 8, 8))),
        ex(T(2, 8, 16), T(2, 4, 16), T(2, 5, 16), init=(2, 8), error=ATTENTION_EMBED_DIM),
        ex(T(2, 8, 16), T(2, 4, 16), init=(0, 8), error=CALL_MISMATCH),
    ],
)
def multi_head_attention(call: RuleCall):
    heads = positive_int(call, "num_heads")
    positive_int(call, "key_dim")
    if not call.is_none("value_dim"):
        positive_int(call, "value_dim")
    if not call.is_none("attention_axes"):
        raise Unknowable("attention_axes")
    output_shape = _output_shape(call)
    query, value = call.shape("query"), call.shape("value")
    key = value if call.is_none("key") else call.shape("key")
    if not (query.ranked and value.ranked and key.ranked) or {query.rank, value.rank, key.rank} != {3}:
        raise Unknowable("query")
    for name, tensor in (("query", query), ("value", value), ("key", key)):
        require_defined(call, tensor, -1, f"its {name} projection", input_name=name)
    if value.rank == key.rank:
        for v, k in zip(value.dims[1:-1], key.dims[1:-1]):
            if not is_none_dim(v) and not is_none_dim(k) and D.eq(v, k) is False:
                call.fail(ATTENTION_EMBED_DIM, f"{layer_name(call)}: the value {value.show()} and the key {key.show()} "
                          f"must agree on every axis but the last", input_name="key")
    if not (_same_batch(query.dims[0], value.dims[0]) and _same_batch(value.dims[0], key.dims[0])):
        raise Unknowable("query")  # Keras finds other batch sizes only when it runs
    out = Shape.of(list(query.dims[:-1]) + (output_shape if output_shape is not None else [query.dims[-1]]))
    if call.known_flag("return_attention_scores"):
        if D.eq(query.dims[1], key.dims[1]) is not True:
            # Keras 3.15's symbolic scores are (batch, heads, T_q, T_q), its eager ones (batch, heads, T_q, T_k)
            return (out, Shape.unknown())
        return (out, Shape.of([query.dims[0], heads, query.dims[1], key.dims[1]]))
    return out
