"""Loss rules (rules/loss.py) against torch: MSE/L1/SmoothL1/Huber, BCE/BCEWithLogits, CrossEntropy/NLL,
KLDiv, CosineEmbedding, in their nn and F forms, on drawn shapes, dtypes, reductions and weights.

Tensors are zeros (class index 0 is valid for any number of classes, 0 is a valid probability), so torch
decides on shapes and dtypes alone.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, call_rule, differential, shapes, symbolic
from shapels.rules.base import ShapeError, Unknowable
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

B, N = D.symbol("B"), D.symbol("N")
F = "torch.nn.functional."


def reduction_kwargs(data, legacy: bool = True) -> dict:
    """reduction=..., sometimes the legacy size_average/reduce pair instead (or besides: the legacy wins)."""
    kwargs = {}
    if data.draw(st.booleans()):
        kwargs["reduction"] = data.draw(st.sampled_from(["none", "mean", "sum"]))
    if legacy and data.draw(st.integers(0, 3)) == 0:
        kwargs["size_average"] = data.draw(st.sampled_from([None, True, False]))
        kwargs["reduce"] = data.draw(st.sampled_from([None, True, False]))
    return kwargs


def variant(data, shape: tuple, max_size: int = 3) -> tuple:
    """A shape like `shape`: itself, broadcastable to it, one size or rank off, or anything."""
    kind = data.draw(st.sampled_from(["same", "same", "suffix", "ones", "size", "rank", "any"]))
    if kind == "same":
        return shape
    if kind == "suffix":
        return shape[data.draw(st.integers(0, len(shape))):]
    if kind == "ones":
        return tuple(1 if data.draw(st.booleans()) else d for d in shape)
    if kind == "size" and shape:
        i = data.draw(st.integers(0, len(shape) - 1))
        return shape[:i] + (shape[i] % max_size + 1,) + shape[i + 1:]
    if kind == "rank":
        return (data.draw(st.integers(1, max_size)),) + shape if data.draw(st.booleans()) else shape[1:]
    return data.draw(shapes(max_rank=4, max_size=max_size))


def split(kwargs: dict, layer: bool, init_names: tuple) -> tuple:
    """(init_kwargs, forward kwargs) for the nn form; everything is a call kwarg in the F form."""
    if not layer:
        return {}, kwargs
    return {k: v for k, v in kwargs.items() if k in init_names}, {k: v for k, v in kwargs.items() if k not in init_names}


def run(qualname: str, *args, init_names=(), **kwargs):
    layer = not qualname.startswith(F)
    init_kwargs, kwargs = split(kwargs, layer, init_names)
    return differential(qualname, *args, init_kwargs=init_kwargs, **kwargs)


REGRESSION = [("torch.nn.MSELoss", F + "mse_loss"), ("torch.nn.L1Loss", F + "l1_loss"),
              ("torch.nn.SmoothL1Loss", F + "smooth_l1_loss"), ("torch.nn.HuberLoss", F + "huber_loss")]
_LEGACY = ("size_average", "reduce", "reduction", "beta", "delta")


@SETTINGS
@given(st.data(), st.sampled_from(REGRESSION), st.booleans())
def test_regression_losses(data, names, functional):
    qualname = names[functional]
    shape = data.draw(shapes(max_rank=3, max_size=3))
    target = variant(data, shape)
    huber = "huber" in qualname.lower()
    kwargs = reduction_kwargs(data, legacy=not huber)
    if "smooth" in qualname.lower() and data.draw(st.booleans()):
        kwargs["beta"] = data.draw(st.sampled_from([0.0, 0.5, 2.0]))
    if huber and data.draw(st.booleans()):
        kwargs["delta"] = data.draw(st.sampled_from([0.5, 2.0]))
    if functional and "smooth" not in qualname and data.draw(st.booleans()):
        kwargs["weight"] = T(*variant(data, shape))
    run(qualname, T(*shape), T(*target), init_names=_LEGACY, **kwargs)


_FLOATS = ["float32", "float32", "float32", "float64"]
_TARGET_DTYPES = _FLOATS + ["int64", "int32", "bool"]


@SETTINGS
@given(st.data(), st.sampled_from([("torch.nn.BCELoss", F + "binary_cross_entropy"),
                                   ("torch.nn.BCEWithLogitsLoss", F + "binary_cross_entropy_with_logits")]),
       st.booleans())
def test_binary_cross_entropy(data, names, functional):
    qualname = names[functional]
    shape = data.draw(shapes(max_rank=3, max_size=3))
    target = variant(data, shape)
    kwargs = reduction_kwargs(data)
    in_dtype = data.draw(st.sampled_from(_FLOATS + ["int64"]))
    target_dtype = data.draw(st.sampled_from(_TARGET_DTYPES))
    if functional:  # the nn form's weights are constructor tensors, which this harness does not build
        for name in ("weight", "pos_weight") if "logits" in qualname else ("weight",):
            if data.draw(st.booleans()):
                kwargs[name] = T(*variant(data, target))
    run(qualname, T(*shape, dtype=in_dtype), T(*target, dtype=target_dtype),
        init_names=("size_average", "reduce", "reduction"), **kwargs)


def class_target(data, inp: tuple) -> tuple:
    """What a class-index target of `inp`'s scores is, or a near miss."""
    right = () if len(inp) == 1 else inp[:1] + inp[2:]
    return data.draw(st.sampled_from([right, right, inp])) if data.draw(st.booleans()) else variant(data, right)


@SETTINGS
@given(st.data(), st.sampled_from([("torch.nn.CrossEntropyLoss", F + "cross_entropy"),
                                   ("torch.nn.NLLLoss", F + "nll_loss")]), st.booleans())
def test_cross_entropy_and_nll(data, names, functional):
    qualname = names[functional]
    inp = data.draw(shapes(min_rank=1, max_rank=5, max_size=3))
    target = class_target(data, inp)
    dtype = data.draw(st.sampled_from(["int64", "int64", "int64", "int32", "uint8", "float32", "bool"]))
    kwargs = reduction_kwargs(data)
    if data.draw(st.booleans()):
        kwargs["ignore_index"] = data.draw(st.sampled_from([-100, -1, 0, 5]))
    if "cross_entropy" in qualname.lower() or "CrossEntropy" in qualname:
        if data.draw(st.booleans()):
            kwargs["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1, 1.0]))
    if functional and data.draw(st.booleans()):
        classes = inp[0] if len(inp) == 1 else inp[1]
        kwargs["weight"] = T(*data.draw(st.sampled_from([(classes,), (classes + 1,), (classes, 1), (1, classes), ()])))
    run(qualname, T(*inp), T(*target, dtype=dtype),
        init_names=("size_average", "reduce", "reduction", "ignore_index", "label_smoothing"), **kwargs)


@SETTINGS
@given(st.data(), st.booleans())
def test_kl_div(data, functional):
    qualname = F + "kl_div" if functional else "torch.nn.KLDivLoss"
    shape = data.draw(shapes(max_rank=3, max_size=3))
    kwargs = reduction_kwargs(data)
    if data.draw(st.booleans()):
        kwargs["reduction"] = "batchmean"
    kwargs["log_target"] = data.draw(st.booleans())
    run(qualname, T(*shape, dtype=data.draw(st.sampled_from(_FLOATS + ["int64"]))),
        T(*variant(data, shape), dtype=data.draw(st.sampled_from(_FLOATS + ["int64"]))),
        init_names=("size_average", "reduce", "reduction", "log_target"), **kwargs)


@SETTINGS
@given(st.data(), st.booleans())
def test_cosine_embedding(data, functional):
    qualname = F + "cosine_embedding_loss" if functional else "torch.nn.CosineEmbeddingLoss"
    a = data.draw(shapes(min_rank=1, max_rank=2, max_size=3))
    b = variant(data, a)
    target = data.draw(st.sampled_from([a[:1], a[:1], (), (1,), a])) if data.draw(st.booleans()) else variant(data, a[:1])
    kwargs = reduction_kwargs(data)
    run(qualname, T(*a), T(*b), T(*target), init_names=("size_average", "reduce", "reduction", "margin"), **kwargs)


# -- symbolic and unranked inputs: no torch -------------------------------------------------------
def test_cross_entropy_follows_a_symbolic_batch():
    out = symbolic(F + "cross_entropy", Shape.of([B, 10]), Shape.of([B]), reduction="none")
    assert out == Shape.of([B])
    assert symbolic(F + "cross_entropy", Shape.of([B, 10, N]), Shape.of([B, N])) == Shape.of([])


def test_cross_entropy_batch_unknown_is_a_condition_not_an_error():
    out, call = call_rule(F + "cross_entropy", Shape.of([B, 10]), Shape.of([4]), reduction="none")
    assert out == Shape.of([B])
    assert call.conditions and "4" in call.conditions[0].message


def test_cross_entropy_known_batch_mismatch_names_both_batches():
    out = symbolic(F + "cross_entropy", Shape.of([8, 10]), Shape.of([4]))
    assert isinstance(out, ShapeError) and out.code == "loss-target"
    assert "batch_size (8)" in out.message and "batch_size (4)" in out.message


def test_unranked_scores_still_reduce_to_a_scalar():
    assert symbolic(F + "cross_entropy", Shape.unknown(), Shape.of([B])) == Shape.of([])
    assert isinstance(symbolic(F + "cross_entropy", Shape.unknown(), Shape.of([B]), reduction="none"), Unknowable)
    assert symbolic(F + "mse_loss", Shape.suffix([4]), Shape.suffix([4]), reduction="none") == Shape.suffix([4])


def test_unknown_target_dtype_decides_nothing():
    # a target of (N,) for (N, C) scores, dtype unknown: class indices, no finding
    out, _ = call_rule(F + "cross_entropy", Shape.of([B, 10]), Shape.of([B]))
    assert out == Shape.of([])
    out, _ = call_rule("torch.nn.BCEWithLogitsLoss", Shape.of([B, 1]), Shape.of([B, 1]))
    assert out == Shape.of([])


def test_mse_broadcast_is_silent_and_a_mismatch_is_not():
    assert symbolic(F + "mse_loss", Shape.of([B, 10]), Shape.of([10]), reduction="none") == Shape.of([B, 10])
    out = symbolic("torch.nn.MSELoss", Shape.of([B, 129, 201]), Shape.of([B, 128, 201]))
    assert isinstance(out, ShapeError) and out.code == "loss-target" and "129" in out.message
