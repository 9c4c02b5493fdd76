"""Loss functions: nn.MSELoss/L1Loss/SmoothL1Loss/HuberLoss, BCELoss/BCEWithLogitsLoss, CrossEntropyLoss/
NLLLoss, KLDivLoss, CosineEmbeddingLoss and their `F.` forms, as torch computes their shapes.

`reduction='none'` keeps the per-element losses (the broadcast shape, the input's, or the input's without
the class dim); 'mean' and 'sum' (and KLDiv's 'batchmean') give a 0-d tensor. The legacy `size_average`/
`reduce` arguments, where given, decide the reduction instead, as in torch. A reduction string torch
refuses, a negative `beta`, a non-positive `delta` or a `label_smoothing` outside [0, 1] are torch's
errors about arguments, not shapes: the output is left unknown.

Torch's own checks, reproduced exactly:
- MSE/L1/SmoothL1/Huber and KLDiv broadcast input and target. A target of another size that broadcasts
  is only torch's UserWarning (the loss runs), so it is not reported; shapes that cannot broadcast are
  its error. Their `F.` forms' `weight=` must have the input's size exactly.
- BCE/BCEWithLogits want the target's size equal to the input's (ValueError otherwise), a floating
  target (BCE: of the input's dtype), and a `weight`/`pos_weight` that broadcasts to the target's shape
  without growing it.
- CrossEntropy takes class probabilities where the target's sizes equal the input's (a floating target,
  `ignore_index` < 0), else class indices as NLLLoss does: input (C,) with target () or (1,); (N, C) with
  (N,); (N, C, d1, ...) with (N, d1, ...); an int64 target (uint8 too for a 1-D or 2-D input); a weight
  of C elements.
- CosineEmbedding takes a 0-d target with 1-D inputs, a 1-D target with 2-D inputs; the rest broadcasts.

Every mismatch is `loss-target`. A loss has no constructor argument to blame: the finding is the call's.
Dtypes are checked only where the analysis knows them (analysis/dtypes.py); unknown decides nothing.
"""

from __future__ import annotations

from typing import Optional

from shapels.codes import LOSS_TARGET
from shapels.rules.base import CAST_FIX, RuleCall, ShapeError, Unknowable, layer_name, on_call
from shapels.rules.elementwise import broadcast, broadcast_inplace
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

CODE = LOSS_TARGET
SCALAR = Shape.of([])
_FLOATING = ("float32", "float64", "float16", "bfloat16")
_REDUCTIONS = ("none", "mean", "sum")


# -- shared reading ----------------------------------------------------------------------------


def _a(dtype: str) -> str:
    return f"an {dtype}" if dtype.startswith("int") else f"a {dtype}"


def _reduction(call: RuleCall, allowed: tuple = _REDUCTIONS) -> str:
    """The reduction in effect: the legacy size_average/reduce where either is given, else `reduction`."""
    legacy = [name for name in ("size_average", "reduce") if call.has(name) and not call.is_none(name)]
    if legacy:
        size_average = True if call.is_none("size_average") else call.flag("size_average")
        reduce = True if call.is_none("reduce") else call.flag("reduce")
        if size_average is None or reduce is None:
            raise Unknowable("reduce")
        return "mean" if size_average and reduce else "sum" if reduce else "none"
    reduction = call.const("reduction")
    if reduction not in allowed:
        raise Unknowable("reduction")  # torch's ValueError about the argument, not about shapes
    return reduction


def _reduced(reduction: str, shape: Shape) -> Shape:
    return shape if reduction == "none" else SCALAR


def _dtype(call: RuleCall, name: str) -> Optional[str]:
    return getattr(call.value(name), "dtype", None)


def _float_arg(call: RuleCall, name: str) -> Optional[float]:
    try:
        value = call.const(name)
    except Unknowable:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _sizes_equal(a: Shape, b: Shape) -> Optional[bool]:
    """Whether two shapes are the same sizes (torch's `a.size() == b.size()`), three-valued."""
    if a.ranked and b.ranked and a.rank != b.rank:
        return False
    if a.ranked != b.ranked and len((b if a.ranked else a).dims) > len((a if a.ranked else b).dims):
        return False  # the unranked one has more dims than the other has in all
    verdicts = [D.eq(x, y) for x, y in zip(reversed(a.dims), reversed(b.dims))]
    if False in verdicts:
        return False
    if a.ranked and b.ranked and all(v is True for v in verdicts):
        return True
    return None


def _broadcast(call: RuleCall, a: Shape, b: Shape, what: str, recover: Shape) -> Shape:
    try:
        return broadcast(call, a, b)
    except ShapeError as error:
        detail = error.message.rsplit(": ", 1)[0]  # torch's words, without the shapes `what` shows
        raise ShapeError(CODE, f"{layer_name(call)}: {what} cannot broadcast ({detail})", recover=recover) from None


def _without_dim(shape: Shape, index: int) -> Shape:
    return Shape(shape.dims[:index] + shape.dims[index + 1:], shape.ranked)


# -- MSE, L1, SmoothL1, Huber ------------------------------------------------------------------
def _regression(call: RuleCall):
    beta = _float_arg(call, "beta") if call.has("beta") else None
    if beta is not None and beta < 0:
        raise Unknowable("beta")  # torch: smooth_l1_loss does not support negative values for beta
    delta = _float_arg(call, "delta") if call.has("delta") else None
    if delta is not None and delta <= 0:
        raise Unknowable("delta")  # torch: huber_loss does not support non-positive values for delta
    reduction = _reduction(call)
    inp, target = call.shape("input"), call.shape("target")
    # A target of another size that broadcasts is torch's UserWarning, not its error: not reported.
    out = _broadcast(call, inp, target, f"the target {target.show()} and the input {inp.show()}",
                     _reduced(reduction, inp))
    if call.has("weight") and not call.is_none("weight"):
        weight = call.shape("weight")
        if _sizes_equal(weight, inp) is False:
            call.fail(CODE, f"{layer_name(call)}: the weight {weight.show()} must have the input's size {inp.show()} "
                            "(torch: Weights and input must have the same size)", recover=_reduced(reduction, out))
    return _reduced(reduction, out)


_MSE_EXAMPLES = [
    ex(T(4, 10), T(4, 10), out=()),
    ex(T(4, 10), T(4, 10), init_kwargs={"reduction": "none"}, out=(4, 10)),
    ex(T(4, 10), T(10), init_kwargs={"reduction": "none"}, out=(4, 10)),  # torch warns, and broadcasts
    ex(T(4, 1), T(4, 10), init_kwargs={"reduce": False}, out=(4, 10)),
    ex(T(4, 10), T(4, 10), init_kwargs={"size_average": False}, out=()),
    ex(T(4, 10), T(4, 9), error=CODE),
    ex(T(2, 129, 201), T(2, 128, 201), error=CODE),
]

layer("torch.nn.MSELoss", "torch.nn.L1Loss", init="size_average=None, reduce=None, reduction='mean'",
      forward="input, target", examples=_MSE_EXAMPLES)(on_call(_regression))
layer("torch.nn.SmoothL1Loss", init="size_average=None, reduce=None, reduction='mean', beta=1.0",
      forward="input, target",
      examples=_MSE_EXAMPLES + [ex(T(3, 2), T(3, 2), init_kwargs={"beta": 0.0, "reduction": "none"}, out=(3, 2))])(
    on_call(_regression))
layer("torch.nn.HuberLoss", init="reduction='mean', delta=1.0", forward="input, target",
      examples=[
          ex(T(4, 10), T(4, 10), out=()),
          ex(T(4, 10), T(1, 10), init_kwargs={"reduction": "none", "delta": 0.5}, out=(4, 10)),
          ex(T(4, 10), T(4, 3), init_kwargs={"reduction": "sum"}, error=CODE),
      ])(on_call(_regression))
function("torch.nn.functional.mse_loss", "torch.nn.functional.l1_loss",
         signature="input, target, size_average=None, reduce=None, reduction='mean', weight=None",
         examples=[
             ex(T(4, 10), T(4, 10), out=()),
             ex(T(3), T(2, 3), reduction="none", out=(2, 3)),
             ex(T(4, 10), T(4, 10), weight=T(4, 10), reduction="none", out=(4, 10)),
             ex(T(4, 10), T(10), weight=T(4, 10), out=()),
             ex(T(4, 10), T(4, 10), weight=T(10), error=CODE),
             ex(T(5), T(6), error=CODE),
         ])(on_call(_regression))
function("torch.nn.functional.smooth_l1_loss",
         signature="input, target, size_average=None, reduce=None, reduction='mean', beta=1.0",
         examples=[ex(T(4, 10), T(4, 1), reduction="none", out=(4, 10)), ex(T(4, 10), T(3, 10), error=CODE)],
         )(on_call(_regression))
function("torch.nn.functional.huber_loss", signature="input, target, reduction='mean', delta=1.0, weight=None",
         examples=[ex(T(4, 10), T(4, 10), out=()), ex(T(2, 3), T(3, 3), reduction="none", error=CODE)],
         )(on_call(_regression))


# -- BCE, BCEWithLogits --------------------------------------------------------------------------
def _bce(call: RuleCall, logits: bool):
    reduction = _reduction(call)
    inp, target = call.shape("input"), call.shape("target")
    name, out = layer_name(call), _reduced(reduction, inp)
    if _sizes_equal(inp, target) is False:
        call.fail(CODE, f"{name}: the target's size {target.show()} must be the input's {inp.show()} (torch refuses "
                        "a target of another size)", recover=out)
    for operand in ("weight", "pos_weight") if logits else ("weight",):
        if call.has(operand) and not call.is_none(operand):
            weight = call.shape(operand)
            try:
                broadcast_inplace(call, target, weight, operand)
            except ShapeError:
                call.fail(CODE, f"{name}: {operand} {weight.show()} must broadcast to the target's shape "
                                f"{target.show()}", recover=out)
    in_dtype, target_dtype = _dtype(call, "input"), _dtype(call, "target")
    if target_dtype is not None and target_dtype not in _FLOATING:
        call.fail(CODE, f"{name} takes a floating-point target (probabilities, 0. or 1.), got {_a(target_dtype)} "
                        "tensor; convert it first, e.g. `.float()`",
                  input_name="target", fix=CAST_FIX + "float", recover=out)
    if in_dtype is not None and in_dtype not in _FLOATING:
        call.fail(CODE, f"{name} takes a floating-point input, got {_a(in_dtype)} tensor", input_name="input",
                  recover=out)
    if not logits and in_dtype is not None and target_dtype is not None and in_dtype != target_dtype:
        call.fail(CODE, f"{name}: the target is {target_dtype} but the input is {in_dtype}; torch wants the same "
                        "dtype", input_name="target", recover=out)
    return out


@layer("torch.nn.BCELoss", init="weight=None, size_average=None, reduce=None, reduction='mean'",
       forward="input, target",
       examples=[
           ex(T(8, 1, dtype="probability"), T(8, 1, dtype="probability"), out=()),
           ex(T(8, 3, dtype="probability"), T(8, 3, dtype="probability"), init=(T(3),),
              init_kwargs={"reduction": "none"}, out=(8, 3)),
           ex(T(8, 1, dtype="probability"), T(8, dtype="probability"), error=CODE),
           ex(T(8, 3, dtype="probability"), T(8, 3, dtype="probability"), init=(T(8),), error=CODE),
           ex(T(8, 3, dtype="probability"), T(8, 3, dtype="long"), error=CODE),
           ex(T(8, 3, dtype="probability"), T(8, 3, dtype="float64"), error=CODE),
       ])
@on_call
def bce_loss(call: RuleCall):
    return _bce(call, logits=False)


@function("torch.nn.functional.binary_cross_entropy",
          signature="input, target, weight=None, size_average=None, reduce=None, reduction='mean'",
          examples=[
              ex(T(8, 2, dtype="probability"), T(8, 2, dtype="probability"), reduction="none", out=(8, 2)),
              ex(T(8, 2, dtype="probability"), T(2, 8, dtype="probability"), error=CODE),
          ])
@on_call
def f_bce(call: RuleCall):
    return _bce(call, logits=False)


@layer("torch.nn.BCEWithLogitsLoss",
       init="weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None",
       forward="input, target",
       examples=[
           ex(T(8, 5), T(8, 5), out=()),
           ex(T(8, 5), T(8, 5, dtype="float64"), init_kwargs={"reduction": "none"}, out=(8, 5)),
           ex(T(8, 5), T(8, 5), init_kwargs={"pos_weight": T(5), "reduction": "none"}, out=(8, 5)),
           ex(T(8, 5), T(8, 5), init_kwargs={"pos_weight": T(1, 8, 5)}, error=CODE),
           ex(T(8, 5), T(8), error=CODE),
           ex(T(8, 5), T(8, 5, dtype="long"), error=CODE),
       ])
@on_call
def bce_with_logits_loss(call: RuleCall):
    return _bce(call, logits=True)


@function("torch.nn.functional.binary_cross_entropy_with_logits",
          signature="input, target, weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None",
          examples=[
              ex(T(8, 2), T(8, 2), weight=T(2), reduction="none", out=(8, 2)),
              ex(T(8, 1), T(8), error=CODE),
              ex(T(8, 2), T(8, 2), weight=T(3), error=CODE),
          ])
@on_call
def f_bce_with_logits(call: RuleCall):
    return _bce(call, logits=True)


# -- CrossEntropy, NLL ---------------------------------------------------------------------------
def _class_dim(inp: Shape) -> int:
    return 0 if inp.rank == 1 else 1


def _per_sample(inp: Shape) -> Shape:
    """The input without its class dim: what reduction='none' gives (ranked inputs of rank >= 1)."""
    return _without_dim(inp, _class_dim(inp))


def _check_weight(call: RuleCall, classes, mode: str, out: Shape) -> None:
    """A class weight of C elements. `mode`: "1d" (exactly (C,)), "numel" (any shape of C elements), "lead" (C
    elements, C of them along its first dim: label smoothing views it as (1, C, 1, ...))."""
    if not call.has("weight") or call.is_none("weight"):
        return
    weight = call.shape("weight")
    if not weight.ranked:
        return
    if mode == "1d":
        mismatch = weight.rank != 1 or D.eq(weight.dims[0], classes) is False
    else:
        mismatch = D.eq(D.dim_product(weight.dims), classes) is False
        if mode == "lead" and not mismatch:
            mismatch = weight.rank == 0 or D.eq(weight.dims[0], classes) is False
    if mismatch:
        call.fail(CODE, f"{layer_name(call)}: the weight {weight.show()} must hold one value for each of the "
                        f"{D.show(classes)} classes", recover=out)


def _index_target(call: RuleCall, inp: Shape, target: Shape, reduction: str, smoothing: Optional[float]) -> Shape:
    """Class-index targets, as nll_loss_nd checks them."""
    name, rank = layer_name(call), inp.rank
    expected = SCALAR if rank == 1 else _per_sample(inp)
    out = _reduced(reduction, expected)
    shown = f"input {inp.show()}, target {target.show()}"
    if rank != 1 and target.ranked and target.rank == 0:
        call.fail(CODE, f"{name}: the target is 0-d but the input has a batch of {D.show(inp.dims[0])}: {shown}",
                  recover=out)
    if rank != 1 and target.dim(0) is not None:
        call.expect(target.dims[0], inp.dims[0], code=CODE, recover=out, message=lambda: (
            f"{name}: expected input batch_size ({D.show(inp.dims[0])}) to match target batch_size "
            f"({D.show(target.dims[0])}): {shown}"))
    if rank <= 2:
        if target.ranked and target.rank > 1:
            call.fail(CODE, f"{name}: for a {rank}-D input the target holds one class index per sample, 0-D or 1-D; "
                            f"got {target.rank}-D ({shown}); one-hot or probability targets need the input's shape",
                      recover=out)
        if rank == 1 and target.ranked and target.rank == 1:
            call.expect(target.dims[0], 1, code=CODE, recover=out, message=lambda: (
                f"{name}: for a 1-D input the target must be 0-D or of size 1: {shown}"))
            if smoothing is not None and smoothing > 0:
                call.fail(CODE, f"{name}: with label_smoothing a 1-D input takes a 0-D target ({shown})", recover=out)
    elif target.ranked:
        if rank == 4 and target.rank != 3:
            call.fail(CODE, f"{name}: a 4-D input takes a 3-D target of (N, H, W), got {target.rank}-D: {shown}",
                      recover=out)
        if target.rank != rank - 1:
            call.fail(CODE, f"{name}: expected a target of {expected.show()}: {shown}", recover=out)
        for want, got in zip(expected.dims[1:], target.dims[1:]):
            call.expect(got, want, code=CODE, recover=out,
                        message=lambda: f"{name}: expected a target of {expected.show()}: {shown}")
    dtype = _dtype(call, "target")
    allowed = ("int64", "uint8") if rank <= 2 else ("int64",)
    weighted = call.has("weight") and not call.is_none("weight")
    if weighted and reduction == "mean" and smoothing is not None and smoothing > 0:
        allowed = ("int64",)  # the smoothed, weighted mean gathers the weights by the target: no uint8 index
    if dtype is not None and dtype not in allowed:
        call.fail(CODE, f"{name}: class-index targets must be int64 (torch.long), got {dtype}; convert them first, "
                        "e.g. `.long()`", input_name="target", fix=CAST_FIX + "long", recover=out)
    classes = inp.dims[_class_dim(inp)]
    if rank <= 2 or smoothing is not None and smoothing > 0 and reduction == "mean":
        _check_weight(call, classes, "1d", out)  # nll_loss's check; the smoothed mean gathers from it by index
    elif smoothing is not None and smoothing > 0:
        _check_weight(call, classes, "lead", out)
    else:
        _check_weight(call, classes, "numel", out)  # nll_loss2d's check (what every case needs)
    return out


def _probability_target(call: RuleCall, inp: Shape, target: Shape, reduction: str) -> Shape:
    name = layer_name(call)
    out = _reduced(reduction, _per_sample(inp))
    for want, got in zip(inp.dims, target.dims):
        call.expect(got, want, code=CODE, recover=out, message=lambda: (
            f"{name}: a target of the input's rank holds class probabilities and needs the input's shape: "
            f"input {inp.show()}, target {target.show()}"))
    dtype = _dtype(call, "target")
    if dtype is not None and dtype not in _FLOATING:
        call.fail(CODE, f"{name}: a target of the input's shape {inp.show()} holds class probabilities and must be "
                        f"floating-point, got {dtype}; class indices would be of shape {_per_sample(inp).show()}",
                  input_name="target", recover=out)
    ignore = call.dim_or_none("ignore_index")
    if ignore is not None and D.as_int(ignore) is not None and D.as_int(ignore) >= 0:
        call.fail(CODE, f"{name}: ignore_index is not supported for class-probability targets", param="ignore_index",
                  recover=out)
    _check_weight(call, inp.dims[_class_dim(inp)], "1d", out)
    return out


def _classification(call: RuleCall, probabilities: bool):
    reduction = _reduction(call)
    smoothing = _float_arg(call, "label_smoothing") if call.has("label_smoothing") else 0.0
    if smoothing is not None and not 0.0 <= smoothing <= 1.0:
        raise Unknowable("label_smoothing")  # torch's error about the argument
    inp, target = call.shape("input"), call.shape("target")
    name = layer_name(call)
    if not inp.ranked:
        if reduction != "none":
            return SCALAR
        raise Unknowable("input")
    if inp.rank == 0:
        call.fail(CODE, f"{name} expects an input of (C,), (N, C) or (N, C, d1, ...) scores, got a 0-d tensor",
                  recover=SCALAR)
    if not target.ranked:
        return _reduced(reduction, SCALAR if inp.rank == 1 else _per_sample(inp))
    same = _sizes_equal(inp, target) if target.rank == inp.rank else False
    if probabilities and same is True:
        return _probability_target(call, inp, target, reduction)
    if same is False or not probabilities:
        return _index_target(call, inp, target, reduction, smoothing)
    # Ranks equal, sizes not known to be: class probabilities if the sizes agree (a 1-D input of (1,)
    # also takes a class-index target of (1,), which gives the same output).
    if inp.rank == 1:
        return _reduced(reduction, SCALAR)
    return _probability_target(call, inp, target, reduction)


@layer("torch.nn.CrossEntropyLoss",
       init="weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', label_smoothing=0.0",
       forward="input, target",
       examples=[
           ex(T(8, 10), T(8, dtype="long"), out=()),
           ex(T(8, 10), T(8, dtype="long"), init_kwargs={"reduction": "none", "label_smoothing": 0.1}, out=(8,)),
           ex(T(8, 10, 5, 5), T(8, 5, 5, dtype="long"), init_kwargs={"reduction": "none"}, out=(8, 5, 5)),
           ex(T(8, 10, 7), T(8, 7, dtype="long"), init_kwargs={"reduction": "none", "ignore_index": 0}, out=(8, 7)),
           ex(T(8, 10), T(8, 10), init_kwargs={"reduction": "none"}, out=(8,)),
           ex(T(10), T(dtype="long"), out=()),
           ex(T(8, 10), T(8, dtype="long"), init=(T(10),), init_kwargs={"reduction": "sum"}, out=()),
           ex(T(8, 10), T(4, dtype="long"), error=CODE),
           ex(T(8, 10), T(8, 1, dtype="long"), error=CODE),
           ex(T(8, 10), T(8, 9), error=CODE),
           ex(T(8, 10), T(8, 10, dtype="long"), error=CODE),
           ex(T(8, 10), T(8), error=CODE),
           ex(T(8, 10), T(8, dtype="int32"), error=CODE),
           ex(T(8, 10, 5, 5), T(8, 5, 6, dtype="long"), error=CODE),
           ex(T(8, 10, 5), T(8, dtype="long"), error=CODE),
           ex(T(8, 10), T(8, dtype="long"), init=(T(9),), error=CODE),
           ex(T(8, 10), T(8, 10), init_kwargs={"ignore_index": 1}, error=CODE),
       ])
@on_call
def cross_entropy_loss(call: RuleCall):
    return _classification(call, probabilities=True)


@function("torch.nn.functional.cross_entropy",
          signature="input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', "
                    "label_smoothing=0.0",
          examples=[
              ex(T(4, 3), T(4, dtype="long"), reduction="none", out=(4,)),
              ex(T(4, 3, 2, 2, 2), T(4, 3, 2, 2, 2), reduction="none", out=(4, 2, 2, 2)),
              ex(T(4, 3), T(5, dtype="long"), error=CODE),
              ex(T(3), T(1, dtype="long"), label_smoothing=0.2, error=CODE),
          ])
@on_call
def f_cross_entropy(call: RuleCall):
    return _classification(call, probabilities=True)


@layer("torch.nn.NLLLoss", init="weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'",
       forward="input, target",
       examples=[
           ex(T(8, 10), T(8, dtype="long"), out=()),
           ex(T(8, 10, 4), T(8, 4, dtype="long"), init_kwargs={"reduction": "none"}, out=(8, 4)),
           ex(T(8, 10), T(8, 10), error=CODE),
           ex(T(8, 10, 4), T(8, 4, dtype="int32"), error=CODE),
           ex(T(8, 10), T(7, dtype="long"), error=CODE),
       ])
@on_call
def nll_loss(call: RuleCall):
    return _classification(call, probabilities=False)


@function("torch.nn.functional.nll_loss",
          signature="input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'",
          examples=[
              ex(T(4, 3), T(4, dtype="long"), reduction="none", out=(4,)),
              ex(T(4, 3, 2, 2), T(4, 2, 2, dtype="long"), T(3), out=()),
              ex(T(4, 3, 2, 2), T(4, 2, dtype="long"), error=CODE),
          ])
@on_call
def f_nll_loss(call: RuleCall):
    return _classification(call, probabilities=False)


# -- KLDiv -----------------------------------------------------------------------------------------
def _kl_div(call: RuleCall):
    reduction = _reduction(call, _REDUCTIONS + ("batchmean",))
    inp, target = call.shape("input"), call.shape("target")
    out = _broadcast(call, inp, target, f"the target {target.show()} and the input {inp.show()}",
                     _reduced(reduction, inp))
    for operand in ("input", "target"):
        dtype = _dtype(call, operand)
        if dtype is not None and dtype not in _FLOATING:
            call.fail(CODE, f"{layer_name(call)}: integral inputs are not supported (the {operand} is {dtype})",
                      input_name=operand, recover=_reduced(reduction, out))
    return _reduced(reduction, out)


layer("torch.nn.KLDivLoss", init="size_average=None, reduce=None, reduction='mean', log_target=False",
      forward="input, target",
      examples=[
          ex(T(8, 10), T(8, 10), init_kwargs={"reduction": "batchmean"}, out=()),
          ex(T(8, 10), T(10), init_kwargs={"reduction": "none"}, out=(8, 10)),
          ex(T(8, 10), T(8, 9), init_kwargs={"reduction": "batchmean"}, error=CODE),
          ex(T(8, 10), T(8, 10, dtype="long"), error=CODE),
      ])(on_call(_kl_div))
function("torch.nn.functional.kl_div",
         signature="input, target, size_average=None, reduce=None, reduction='mean', log_target=False",
         examples=[ex(T(2, 3), T(2, 3), reduction="sum", log_target=True, out=()),
                   ex(T(2, 3), T(3, 3), error=CODE)])(on_call(_kl_div))


# -- CosineEmbedding -------------------------------------------------------------------------------
def _cosine_embedding(call: RuleCall):
    reduction = _reduction(call)
    a, b, target = call.shape("input1"), call.shape("input2"), call.shape("target")
    name = layer_name(call)
    if not target.ranked:
        raise Unknowable("target")
    if target.rank > 1:
        call.fail(CODE, f"{name}: the target must be 0-D or 1-D (one +1/-1 per pair), got {target.show()}")
    want = 2 if target.rank == 1 else 1
    for shape in (a, b):
        if shape.ranked and shape.rank != want:
            call.fail(CODE, f"{name}: a {target.rank}-D target takes {want}-D inputs, got {a.show()} and {b.show()}")
    if not (a.ranked and b.ranked):
        raise Unknowable("input1")
    pairs = _broadcast(call, a, b, f"the inputs {a.show()} and {b.show()}", None)
    cosine = _without_dim(pairs, want - 1)
    out = _broadcast(call, target, cosine, f"the target {target.show()} and the {cosine.show()} similarities", None)
    return _reduced(reduction, out)


layer("torch.nn.CosineEmbeddingLoss", init="margin=0.0, size_average=None, reduce=None, reduction='mean'",
      forward="input1, input2, target",
      examples=[
          ex(T(8, 16), T(8, 16), T(8), out=()),
          ex(T(8, 16), T(1, 16), T(8), init_kwargs={"reduction": "none"}, out=(8,)),
          ex(T(16), T(16), T(), init_kwargs={"reduction": "none"}, out=()),
          ex(T(8, 16), T(8, 16), T(7), error=CODE),
          ex(T(8, 16), T(8, 15), T(8), error=CODE),
          ex(T(8, 16), T(16), T(8), error=CODE),
          ex(T(8, 16), T(8, 16), T(8, 1), error=CODE),
      ])(on_call(_cosine_embedding))
function("torch.nn.functional.cosine_embedding_loss",
         signature="input1, input2, target, margin=0, size_average=None, reduce=None, reduction='mean'",
         examples=[ex(T(4, 3), T(4, 3), T(4), reduction="none", out=(4,)),
                   ex(T(3), T(3), T(1), error=CODE)])(on_call(_cosine_embedding))


# -- backward ------------------------------------------------------------------------------------
@function("torch.Tensor.backward", signature="input, gradient=None, retain_graph=None, create_graph=False, inputs=None")
def backward(call: RuleCall):
    """`loss.backward()` without a gradient: torch creates the gradient only for a tensor of one element
    ("grad can be implicitly created only for scalar outputs"). A dim known to be other than 1 decides it;
    a symbolic one leaves it open. It returns None: the output is unknown. (No registry examples: torch's
    own check needs a tensor that requires grad, which tests/analysis/test_training_loops.py runs.)"""
    shape = call.shape("input")
    if call.is_none("gradient") and shape.ranked and any(D.as_int(d) not in (None, 1) for d in shape.dims):
        call.fail(CODE, f"backward() of a {shape.show()} tensor: torch creates the gradient implicitly only for a "
                        "scalar (one element); reduce it (`.mean()`, `.sum()`, a loss with reduction='mean') or pass "
                        "gradient=")
    raise Unknowable("backward returns None")
