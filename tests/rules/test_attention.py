"""Attention rules (shapels/rules/attention.py) against real torch on small generated configurations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import _torch_diff_nra as H  # tests/rules is on sys.path: pytest's rootdir import mode
T, L, check, SETTINGS = H.T, H.L, H.check, H.SETTINGS
size = st.integers(1, 3)


def near(draw, value, lo=1, hi=6):
    """Usually `value`, sometimes any small int (which may equal it)."""
    return value if draw(st.integers(0, 3)) else draw(st.integers(lo, hi))


def sequence(draw, batched, batch_first, length, batch, features):
    """An attention input: (L, E) unbatched, (L, N, E), or (N, L, E) with batch_first."""
    if not batched:
        return [length, features]
    return [batch, length, features] if batch_first else [length, batch, features]


def embed_and_heads(draw):
    heads = draw(st.integers(1, 3))
    embed = heads * draw(st.integers(1, 3)) if draw(st.integers(0, 4)) else draw(st.integers(1, 6))
    return embed, heads


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in H.examples_of("shapels.rules.attention")])
def test_examples(case):
    _, qualname, example = case
    H.check_example(qualname, example)


@SETTINGS
@given(st.data())
def test_multihead_attention(data):
    draw = data.draw
    embed, heads = embed_and_heads(draw)
    kdim = draw(st.sampled_from([None, embed, draw(st.integers(1, 4))]))
    vdim = draw(st.sampled_from([None, embed, draw(st.integers(1, 4))]))
    batch_first = draw(st.booleans())
    init_kwargs = {"kdim": kdim, "vdim": vdim, "batch_first": batch_first, "dropout": 0.0,
                   "add_bias_kv": draw(st.booleans()), "add_zero_attn": draw(st.booleans())}
    batched = draw(st.booleans())
    Lq, S, N = draw(size), draw(size), draw(size)
    # Half the calls are consistent by construction; the others perturb some dims.
    off = (lambda value, hi=6: near(draw, value, hi=hi)) if draw(st.booleans()) else (lambda value, hi=6: value)
    q = sequence(draw, batched, batch_first, Lq, N, off(embed))
    k = sequence(draw, batched, batch_first, S, off(N, 3), off(kdim or embed))
    v = sequence(draw, batched, batch_first, off(S, 3), off(N, 3), off(vdim or embed))
    if draw(st.integers(0, 6)) == 0:  # a wrong rank somewhere
        q, k = [draw(size)] + q, (k[1:] if draw(st.booleans()) else k)
    kwargs = {"need_weights": draw(st.booleans()), "average_attn_weights": draw(st.booleans())}
    mask_kind = draw(st.sampled_from(["none", "attn2", "attn3", "kpm"]))
    if mask_kind == "attn2":
        kwargs["attn_mask"] = T(off(Lq, 3), off(S, 3))
    elif mask_kind == "attn3":
        kwargs["attn_mask"] = T(off(N * heads if batched else heads, 4), Lq, off(S, 3))
    elif mask_kind == "kpm":
        kwargs["key_padding_mask"] = T(*([off(N, 3)] if batched else []), off(S, 3))
    check("torch.nn.MultiheadAttention", T(*q), T(*k), T(*v), init=(embed, heads), init_kwargs=init_kwargs, **kwargs)


@SETTINGS
@given(st.data())
def test_transformer_layers(data):
    draw = data.draw
    d_model, nhead = embed_and_heads(draw)
    batch_first, batched = draw(st.booleans()), draw(st.integers(0, 6))
    init_kwargs = {"dropout": 0.0, "batch_first": batch_first, "norm_first": draw(st.booleans())}
    N = draw(size)
    src = sequence(draw, batched, batch_first, draw(size), N, near(draw, d_model))
    if batched == 0:
        src = [draw(size)] + src  # 4-D (or 3-D) by mistake
    kind = draw(st.sampled_from(["Encoder", "Decoder"]))
    args = [T(*src)]
    if kind == "Decoder":
        mem_batched = batched if draw(st.integers(0, 6)) else not batched
        args.append(T(*sequence(draw, mem_batched, batch_first, draw(size), near(draw, N, hi=3), near(draw, d_model))))
    stacked = draw(st.booleans())
    layer = (f"torch.nn.Transformer{kind}Layer", (d_model, nhead, 4), init_kwargs)
    if not stacked:
        check(layer[0], *args, init=layer[1], init_kwargs=layer[2])
        return
    norm = draw(st.sampled_from([None, L("torch.nn.LayerNorm", near(draw, d_model))]))
    check(f"torch.nn.Transformer{kind}", *args, init=(L(layer[0], *layer[1], **layer[2]), draw(st.integers(1, 2))),
          init_kwargs={"norm": norm})


@SETTINGS
@given(st.data())
def test_transformer(data):
    draw = data.draw
    d_model, nhead = embed_and_heads(draw)
    batch_first, batched = draw(st.booleans()), draw(st.integers(0, 6))
    N = draw(size)
    src = sequence(draw, batched, batch_first, draw(size), N, near(draw, d_model))
    tgt_batched = batched if draw(st.integers(0, 6)) else not batched
    tgt = sequence(draw, tgt_batched, batch_first, draw(size), near(draw, N, hi=3), near(draw, d_model))
    init_kwargs = {"num_encoder_layers": 1, "num_decoder_layers": 1, "dim_feedforward": 4, "dropout": 0.0,
                   "batch_first": batch_first}
    check("torch.nn.Transformer", T(*src), T(*tgt), init=(d_model, nhead), init_kwargs=init_kwargs)


@SETTINGS
@given(st.data())
def test_scaled_dot_product_attention(data):
    draw = data.draw
    batch = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    Lq, S, E, Ev = draw(size), draw(size), draw(size), draw(size)

    def variant(dims):
        # Each batch dim may be dropped (leading only), set to 1 (broadcast) or changed.
        dims = list(dims)
        if dims and draw(st.integers(0, 4)) == 0:
            dims = dims[1:]
        return [1 if draw(st.integers(0, 5)) == 0 else near(draw, d, hi=4) for d in dims]

    q = T(*variant(batch), Lq, E)
    k = T(*variant(batch), S, near(draw, E, hi=3))
    v = T(*variant(batch), near(draw, S, hi=3), Ev)
    if len(q.dims) == len(k.dims) == len(v.dims) == 4:
        # torch 2.13's fused CPU kernel (4-D inputs) does not check that key and value have the same
        # sequence length: (1, 1, 2, 2), (1, 1, 3, 2), (1, 1, 5, 2) "works". The rule reports it.
        v = T(*v.dims[:2], S, Ev)
    if draw(st.integers(0, 8)) == 0:
        q = T(E)  # 1-D by mistake
    kwargs = {}
    if draw(st.integers(0, 3)) == 0:
        kwargs["enable_gqa"] = True
    if draw(st.integers(0, 2)) == 0:
        kwargs["attn_mask"] = T(*variant(batch[-draw(st.integers(0, len(batch))):] if batch else []),
                                near(draw, Lq, hi=3), near(draw, S, hi=3))
    elif draw(st.booleans()):
        kwargs["is_causal"] = True
    check("torch.nn.functional.scaled_dot_product_attention", q, k, v, **kwargs)
