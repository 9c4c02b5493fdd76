"""MultiheadAttention, the Transformer layers and F.scaled_dot_product_attention.

MultiheadAttention takes query (L, N, E), key (S, N, E_k), value (S, N, E_v) — (N, L, E) etc. with
batch_first — or unbatched (L, E), (S, E_k), (S, E_v), and returns (attn_output, attn_weights):
attn_output has the query's shape; attn_weights is (N, L, S') averaged over heads or (N, H, L, S')
per head ((L, S') / (H, L, S') unbatched), or None with need_weights=False. S' counts one more
position for add_bias_kv and one more for add_zero_attn.

torch 2.13 details encoded here (checked in tests/rules/test_attention.py): with kdim and vdim left at
embed_dim, key and value must have the very same shape; query and key must have the same batch size
(no broadcasting); batch_first is ignored for unbatched inputs; masks are checked against the
sequence lengths before add_bias_kv/add_zero_attn extend them.
"""

from __future__ import annotations

from shapels.codes import ATTENTION_EMBED_DIM, ATTENTION_HEADS, BROADCAST_MISMATCH, OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.elementwise import broadcast
from shapels.rules.registry import T, ex, function, layer, lookup
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import NONE, UNKNOWN, Layer, Tensor


def _check_heads(call: RuleCall, embed, heads, *, embed_name: str, heads_name: str) -> None:
    e, h = D.as_int(embed), D.as_int(heads)
    if (e is not None and e <= 0) or (h is not None and h <= 0):
        call.fail(ATTENTION_HEADS, f"{layer_name(call)}: {embed_name} and {heads_name} must be positive, got {e} and {h}",
                  param=heads_name if h is not None and h <= 0 else embed_name)
    if e is not None and h is not None and e % h:
        call.fail(ATTENTION_HEADS, f"{layer_name(call)}: {embed_name}={e} is not divisible by {heads_name}={h}",
                  param=heads_name)


def _check_last(call: RuleCall, shape: Shape, expected, *, name: str, param) -> None:
    """The feature (last) dim of `name` against `param` (a constructor argument, or None)."""
    last = shape.dim(-1)
    if last is None or expected is None:
        return
    call.expect(
        last, expected, code=ATTENTION_EMBED_DIM, param=param, fix=last if param else None, input_name=name,
        message=lambda: f"{layer_name(call)} expects {name} with {D.show(expected)} features"
                + (f" ({param})" if param else "") + f", got {shape.show()}",
    )


def _check_rank(call: RuleCall, shape: Shape, ranks: tuple, name: str) -> None:
    if shape.ranked and shape.rank not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        call.fail(OP_INPUT_SHAPE, f"{layer_name(call)} expects a {wanted} {name}, got {shape.show()}", input_name=name)


def _check_same(call: RuleCall, got: Shape, want: Shape, message: str, name: str) -> None:
    """`got` must have exactly the shape `want` (both ranked)."""
    if got.rank != want.rank:
        call.fail(OP_INPUT_SHAPE, message, input_name=name)
    for g, w in zip(got.dims, want.dims):
        call.expect(g, w, code=OP_INPUT_SHAPE, message=message, input_name=name)


def _seq_and_batch(shape: Shape, batch_first: bool):
    """(sequence length, batch size or None) of a 2-D or 3-D attention input."""
    if shape.rank == 2:
        return shape.dims[0], None
    return (shape.dims[1], shape.dims[0]) if batch_first else (shape.dims[0], shape.dims[1])


# -- MultiheadAttention ------------------------------------------------------------------------
@layer(
    "torch.nn.MultiheadAttention",
    makes_width="embed_dim",
    init=(
        "embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False, kdim=None, "
        "vdim=None, batch_first=False, device=None, dtype=None"
    ),
    forward=(
        "query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True, "
        "is_causal=False"
    ),
    float_inputs=("query", "key", "value"),
    examples=[
        ex(T(5, 3, 8), T(7, 3, 8), T(7, 3, 8), init=(8, 2), out=((5, 3, 8), (3, 5, 7))),
        ex(T(3, 5, 8), T(3, 7, 4), T(3, 7, 6), init=(8, 2), init_kwargs={"kdim": 4, "vdim": 6, "batch_first": True},
           average_attn_weights=False, out=((3, 5, 8), (3, 2, 5, 7))),
        ex(T(5, 8), T(7, 8), T(7, 8), init=(8, 2), init_kwargs={"add_bias_kv": True, "add_zero_attn": True},
           out=((5, 8), (5, 9))),
        ex(T(5, 3, 8), T(5, 3, 8), T(5, 3, 8), init=(8, 2), need_weights=False, out=((5, 3, 8), None)),
        ex(T(10, 2, 256), T(10, 2, 256), T(10, 2, 256), init=(512, 8), error=ATTENTION_EMBED_DIM),
        ex(T(5, 3, 8), T(7, 3, 6), T(7, 3, 8), init=(8, 2), error=ATTENTION_EMBED_DIM),
        ex(T(5, 3, 8), T(7, 3, 8), T(7, 3, 8), init=(8, 3), error=ATTENTION_HEADS),
        ex(T(5, 3, 8), T(7, 2, 8), T(7, 2, 8), init=(8, 2), error=OP_INPUT_SHAPE),
        ex(T(5, 3, 8), T(7, 3, 8), T(7, 3, 8), init=(8, 2), attn_mask=T(5, 6), error=OP_INPUT_SHAPE),
    ],
)
def multihead_attention(call: RuleCall):
    # attn_output always has the query's shape, so whatever is unknown only skips checks.
    q = call.shape("query")
    try:
        return (q, _attention_weights(call, q))
    except Unknowable:
        return (q, UNKNOWN)


def _attention_weights(call: RuleCall, q: Shape):
    """Check a MultiheadAttention call; return its attn_weights (a Shape, NONE or UNKNOWN)."""
    embed, heads = call.dim_or_none("embed_dim"), call.dim_or_none("num_heads")
    _check_heads(call, embed, heads, embed_name="embed_dim", heads_name="num_heads")
    k, v = call.shape("key"), call.shape("value")
    kdim = embed if call.is_none("kdim") else call.dim_or_none("kdim")
    vdim = embed if call.is_none("vdim") else call.dim_or_none("vdim")
    _check_rank(call, q, (2, 3), "query")
    if q.ranked:
        for name, s in (("key", k), ("value", v)):
            _check_rank(call, s, (q.rank,), name)
    _check_last(call, q, embed, name="query", param="embed_dim")
    _check_last(call, k, kdim, name="key", param="kdim")
    _check_last(call, v, vdim, name="value", param="vdim")
    if not (q.ranked and k.ranked and v.ranked):
        return UNKNOWN
    # One packed projection (kdim == vdim == embed_dim) wants key and value of one shape; separate
    # projections only want the same sequence and batch dims.
    if embed is None or kdim is None or vdim is None:
        pass  # which projection torch uses is unknown
    elif D.eq(kdim, embed) is True and D.eq(vdim, embed) is True:
        _check_same(call, v, k, f"{layer_name(call)}: key {k.show()} and value {v.show()} must have the same shape", "value")
    else:
        _check_same(call, Shape.of(v.dims[:-1]), Shape.of(k.dims[:-1]),
                    f"{layer_name(call)}: key {k.show()} and value {v.show()} differ in their sequence or batch dims", "value")
    batch_first = call.known_flag("batch_first")
    L, N = _seq_and_batch(q, batch_first)
    S, key_batch = _seq_and_batch(k, batch_first)
    if N is not None:
        call.expect(key_batch, N, code=OP_INPUT_SHAPE, input_name="key",
                    message=lambda: f"{layer_name(call)}: query {q.show()} and key {k.show()} have different batch sizes")
    _check_masks(call, L, S, N, heads)

    extra = int(call.known_flag("add_bias_kv")) + int(call.known_flag("add_zero_attn"))
    need = call.flag("need_weights")
    if need is None:
        return UNKNOWN  # a tensor or None
    if not need:
        return NONE
    batch = [N] if N is not None else []
    per_head = [] if call.known_flag("average_attn_weights") else [heads]
    if None in per_head:
        return UNKNOWN
    return Shape.of(batch + per_head + [L, S + extra])


def _check_masks(call: RuleCall, L, S, N, heads) -> None:
    mask = call.shape_or_none("attn_mask")
    if mask is not None and mask.ranked:
        # 2-D (L, S) for every batch and head, or 3-D (N * num_heads, L, S) / unbatched (num_heads, L, S).
        if mask.rank == 2:
            want = Shape.of([L, S])
        elif heads is None:
            want = None
        else:
            want = Shape.of([N * heads if N is not None else heads, L, S])
        if want is not None:
            _check_same(call, mask, want, f"{layer_name(call)} expects attn_mask of shape ({D.show(L)}, {D.show(S)}) or "
                        f"{want.show()}, got {mask.show()}", "attn_mask")
    kpm = call.shape_or_none("key_padding_mask")
    if kpm is not None and kpm.ranked:
        want = Shape.of([N, S] if N is not None else [S])
        _check_same(call, kpm, want, f"{layer_name(call)} expects key_padding_mask of shape {want.show()}, got {kpm.show()}",
                    "key_padding_mask")


# -- Transformer layers ------------------------------------------------------------------------
_LAYER_INIT = (
    "d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu', layer_norm_eps=1e-05, batch_first=False, "
    "norm_first=False, bias=True, device=None, dtype=None"
)


def _check_model_input(call: RuleCall, shape: Shape, name: str, *, blame: bool = True) -> None:
    _check_rank(call, shape, (2, 3), name)
    _check_last(call, shape, call.dim_or_none("d_model"), name=name, param="d_model" if blame else None)


def _check_batches(call: RuleCall, a: Shape, b: Shape, names: tuple) -> None:
    """Two batched inputs must agree in rank and batch size (dim 0 with batch_first, else dim 1)."""
    if not (a.ranked and b.ranked):
        return
    _check_rank(call, b, (a.rank,), names[1])
    if a.rank == 3:
        i = 0 if call.known_flag("batch_first") else 1
        call.expect(b.dims[i], a.dims[i], code=OP_INPUT_SHAPE, input_name=names[1],
                    message=lambda: f"{layer_name(call)}: {names[0]} {a.show()} and {names[1]} {b.show()} have different batch sizes")


@layer(
    "torch.nn.TransformerEncoderLayer",
    makes_width="d_model",
    init=_LAYER_INIT,
    forward="src, src_mask=None, src_key_padding_mask=None, is_causal=False",
    examples=[
        ex(T(5, 3, 8), init=(8, 2, 16), out=(5, 3, 8)),
        ex(T(5, 8), init=(8, 2, 16), init_kwargs={"batch_first": True}, out=(5, 8)),
        ex(T(5, 3, 6), init=(8, 2, 16), error=ATTENTION_EMBED_DIM),
        ex(T(5, 3, 8), init=(8, 3, 16), error=ATTENTION_HEADS),
        ex(T(1, 5, 3, 8), init=(8, 2, 16), error=OP_INPUT_SHAPE),
    ],
)
def transformer_encoder_layer(call: RuleCall):
    _check_heads(call, call.dim_or_none("d_model"), call.dim_or_none("nhead"), embed_name="d_model", heads_name="nhead")
    src = call.shape("src")
    _check_model_input(call, src, "src")
    return src


@layer(
    "torch.nn.TransformerDecoderLayer",
    makes_width="d_model",
    init=_LAYER_INIT,
    forward=(
        "tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, "
        "tgt_is_causal=False, memory_is_causal=False"
    ),
    examples=[
        ex(T(5, 3, 8), T(7, 3, 8), init=(8, 2, 16), out=(5, 3, 8)),
        ex(T(3, 5, 8), T(3, 7, 8), init=(8, 2, 16), init_kwargs={"batch_first": True}, out=(3, 5, 8)),
        ex(T(5, 3, 8), T(7, 3, 6), init=(8, 2, 16), error=ATTENTION_EMBED_DIM),
        ex(T(5, 3, 8), T(7, 2, 8), init=(8, 2, 16), error=OP_INPUT_SHAPE),
    ],
)
def transformer_decoder_layer(call: RuleCall):
    _check_heads(call, call.dim_or_none("d_model"), call.dim_or_none("nhead"), embed_name="d_model", heads_name="nhead")
    tgt, memory = call.shape("tgt"), call.shape("memory")
    _check_model_input(call, tgt, "tgt")
    _check_batches(call, tgt, memory, ("tgt", "memory"))
    # d_model is right for tgt by now, so a wrong memory is memory's fault: no constructor fix.
    _check_model_input(call, memory, "memory", blame=False)
    return tgt


def _run_inner(call: RuleCall, value, args: list, what: str):
    """Apply a layer value (the encoder_layer / norm argument) to `args` with its own rule."""
    if not isinstance(value, Layer):
        raise Unknowable(what)
    rule = lookup(value.kind)
    if rule is None:
        raise Unknowable(what)
    inner = RuleCall(value.kind, value.args, rule.call_signature.bind(args, {}), value)
    out = rule.fn(inner)
    call.conditions.extend(inner.conditions)
    return out


def _stack(layer_arg: str, inputs: tuple):
    """TransformerEncoder/Decoder: num_layers copies of a layer, then an optional norm."""

    def rule(call: RuleCall):
        n = D.as_int(call.dim("num_layers"))
        if n is not None and n < 1:
            call.fail(OP_INPUT_SHAPE, f"{layer_name(call)} needs num_layers >= 1, got {n}", param="num_layers")
        # Each copy maps the first input to its own shape, so one application decides them all.
        out = _run_inner(call, call.value(layer_arg), [Tensor(call.shape(name)) for name in inputs], layer_arg)
        if not isinstance(out, Shape):
            return None
        if not call.is_none("norm"):
            out = _run_inner(call, call.value("norm"), [Tensor(out)], "norm")
        return out

    return rule


layer(
    "torch.nn.TransformerEncoder",
    init="encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True",
    forward="src, mask=None, src_key_padding_mask=None, is_causal=None",
)(_stack("encoder_layer", ("src",)))
layer(
    "torch.nn.TransformerDecoder",
    init="decoder_layer, num_layers, norm=None",
    forward=(
        "tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, "
        "tgt_is_causal=None, memory_is_causal=False"
    ),
)(_stack("decoder_layer", ("tgt", "memory")))


@layer(
    "torch.nn.Transformer",
    makes_width="d_model",
    init=(
        "d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048, dropout=0.1, "
        "activation='relu', custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-05, batch_first=False, "
        "norm_first=False, bias=True, device=None, dtype=None"
    ),
    forward=(
        "src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None, "
        "tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None, "
        "memory_is_causal=False"
    ),
    examples=[
        ex(T(5, 3, 8), T(7, 3, 8), init=(8, 2, 1, 1, 16), out=(7, 3, 8)),
        ex(T(5, 8), T(7, 8), init=(8, 2, 1, 1, 16), out=(7, 8)),
        ex(T(5, 3, 8), T(7, 2, 8), init=(8, 2, 1, 1, 16), error=OP_INPUT_SHAPE),
        ex(T(5, 3, 6), T(7, 3, 6), init=(8, 2, 1, 1, 16), error=ATTENTION_EMBED_DIM),
    ],
)
def transformer(call: RuleCall):
    if not (call.is_none("custom_encoder") and call.is_none("custom_decoder")):
        raise Unknowable("custom_encoder")
    _check_heads(call, call.dim_or_none("d_model"), call.dim_or_none("nhead"), embed_name="d_model", heads_name="nhead")
    src, tgt = call.shape("src"), call.shape("tgt")
    _check_rank(call, src, (2, 3), "src")
    _check_batches(call, src, tgt, ("src", "tgt"))
    _check_model_input(call, src, "src")
    _check_model_input(call, tgt, "tgt")
    return tgt


# -- F.scaled_dot_product_attention -----------------------------------------------------------
def _split(shape: Shape):
    """(batch dims as a Shape, (seq, features)) of a (..., seq, features) tensor."""
    if len(shape.dims) < 2:
        raise Unknowable("attention input")
    return Shape(shape.dims[:-2], shape.ranked), shape.dims[-2:]


@function(
    "torch.nn.functional.scaled_dot_product_attention",
    signature="query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False",
    examples=[
        ex(T(2, 3, 5, 4), T(2, 3, 7, 4), T(2, 3, 7, 6), out=(2, 3, 5, 6)),
        ex(T(3, 5, 4), T(1, 3, 7, 4), T(2, 1, 7, 6), out=(2, 3, 5, 6)),
        ex(T(2, 4, 5, 4), T(2, 2, 7, 4), T(2, 2, 7, 6), enable_gqa=True, out=(2, 4, 5, 6)),
        ex(T(2, 3, 5, 4), T(2, 3, 7, 5), T(2, 3, 7, 6), error=ATTENTION_EMBED_DIM),
        ex(T(2, 3, 5, 4), T(2, 3, 7, 4), T(2, 3, 6, 6), error=OP_INPUT_SHAPE),
        ex(T(2, 3, 5, 4), T(3, 3, 7, 4), T(3, 3, 7, 6), error=BROADCAST_MISMATCH),
    ],
)
def scaled_dot_product_attention(call: RuleCall):
    q, k, v = call.shape("query"), call.shape("key"), call.shape("value")
    for name, s in (("query", q), ("key", k), ("value", v)):
        if s.ranked and s.rank < 2:
            call.fail(OP_INPUT_SHAPE, f"scaled_dot_product_attention needs tensors of at least 2 dims, got {name} {s.show()}",
                      input_name=name)
    (qb, (L, E)), (kb, (S, Ek)), (vb, (Sv, Ev)) = _split(q), _split(k), _split(v)
    call.expect(Ek, E, code=ATTENTION_EMBED_DIM, input_name="key",
                message=lambda: f"scaled_dot_product_attention: query {q.show()} and key {k.show()} differ in their last dim")
    call.expect(Sv, S, code=OP_INPUT_SHAPE, input_name="value",
                message=lambda: f"scaled_dot_product_attention: key {k.show()} and value {v.show()} differ in sequence length")
    if call.flag("enable_gqa"):
        kb, vb = _grouped_heads(call, q, k, v, qb, kb, vb)
    scores_batch = broadcast(call, qb, kb)
    mask = call.shape_or_none("attn_mask")
    if mask is not None:
        # The scores (query @ key^T) do not see value's batch dims, and the mask is added into them in
        # place: it may broadcast, but not enlarge them.
        scores = Shape(scores_batch.dims + (L, S), scores_batch.ranked)
        joined = broadcast(call, mask, scores)
        if joined.ranked and scores.ranked and (joined.rank != scores.rank or any(
                D.eq(a, b) is False for a, b in zip(joined.dims, scores.dims))):
            call.fail(BROADCAST_MISMATCH, f"scaled_dot_product_attention: attn_mask {mask.show()} does not broadcast "
                                          f"to the attention scores {scores.show()}", input_name="attn_mask")
    batch = broadcast(call, scores_batch, vb)
    return Shape(batch.dims + (L, Ev), batch.ranked)


def _grouped_heads(call: RuleCall, q: Shape, k: Shape, v: Shape, qb: Shape, kb: Shape, vb: Shape):
    """enable_gqa: key/value heads (dim -3) are repeated up to the query's, which they must divide."""
    for name, s in (("query", q), ("key", k), ("value", v)):
        if s.ranked and s.rank < 3:
            call.fail(OP_INPUT_SHAPE, f"scaled_dot_product_attention with enable_gqa needs a heads dim (-3), "
                                      f"got {name} {s.show()}", input_name=name)
    hq, hk, hv = (D.as_int(s.dim(-3)) for s in (q, k, v))
    if None in (hq, hk, hv):
        raise Unknowable("enable_gqa")
    if hq % hk or hq % hv:
        call.fail(OP_INPUT_SHAPE, f"scaled_dot_product_attention: key heads ({hk}) and value heads ({hv}) must divide "
                                  f"the query heads ({hq})", input_name="key")
    return kb.with_dim(-1, hq), vb.with_dim(-1, hq)
