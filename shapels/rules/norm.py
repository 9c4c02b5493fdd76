"""Normalisation: BatchNorm, InstanceNorm, LayerNorm/RMSNorm, GroupNorm, LocalResponseNorm and their
functional forms. All of them preserve the input's shape; what they check is the channel dim (or the
trailing dims for LayerNorm) against their constructor arguments.

torch 2.13 details encoded here (checked against the real thing in tests/rules/test_norm.py):
- BatchNorm checks num_features only through its weight/running stats, so with affine=False and
  track_running_stats=False any channel count runs.
- InstanceNorm with affine=False only *warns* on a num_features mismatch; with affine=True it raises,
  and with track_running_stats=True the running stats do not fit, so it raises too.
- LazyInstanceNorm takes num_features from dim 1 even for unbatched input, where dim 0 is the channel
  dim, so an unbatched (C, L) input fails unless C == L (when affine or tracking).
- GroupNorm's num_channels is only checked through its weight, so with affine=False the input needs
  only a channel count divisible by num_groups.
- Statistics over a single value ("Expected more than 1 value per channel when training") raise. We
  report it only where it does not depend on train/eval mode, which the analysis does not track:
  BatchNorm/InstanceNorm without running stats (they use batch statistics in eval mode too), GroupNorm
  always, F.batch_norm with a known `training`.
"""

from __future__ import annotations

import functools
from typing import Optional

from shapels.codes import (
    DIM_OUT_OF_RANGE, GROUPNORM_GROUPS, LAYERNORM_SHAPE, NORM_INPUT_RANK, NORM_NUM_FEATURES, OP_INPUT_SHAPE,
)
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.common import normalize_dim
from shapels.rules.parameters import Parameter, Size, Sizes, StoredTuple
from shapels.rules.registry import Functional, T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

_BN_INIT = "num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *, bias=True"
_IN_INIT = "num_features, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False, device=None, dtype=None, *, bias=True"
_LAZY_INIT = "eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *, bias=True"


def _affine(size, flag: str) -> tuple:
    """The weight and bias a norm makes when `flag` (and, for the bias, its `bias` argument) is true."""
    return (Parameter("weight", (size,), present_if=(flag,)), Parameter("bias", (size,), present_if=(flag, "bias")))


# BatchNorm's and InstanceNorm's parameters and buffers (running statistics with track_running_stats).
_BN_PARAMETERS = _affine(Size("num_features"), "affine") + tuple(
    Parameter(name, (Size("num_features"),), present_if=("track_running_stats",))
    for name in ("running_mean", "running_var")
) + (Parameter("num_batches_tracked", (), present_if=("track_running_stats",)),)


def _preserving(checks):
    """A rule from a function that only checks `(call, input shape)`: the output is the input's
    shape even when a check cannot be decided (Unknowable skips the checks left, never the shape)."""

    @functools.wraps(checks)
    def rule(call: RuleCall):
        shape = call.shape("x" if call.has("x") else "input")  # RMSNorm's forward calls it x
        try:
            checks(call, shape)
        except Unknowable:
            pass
        return shape

    return rule


def _check_rank(call: RuleCall, shape: Shape, ranks: tuple) -> None:
    if shape.ranked and shape.rank not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        call.fail(
            NORM_INPUT_RANK,
            f"{layer_name(call)} expects {wanted} input, got {shape.rank}-D {shape.show()}",
            input_name="input",
        )


def _check_features(call: RuleCall, shape: Shape, channels, expected, *, param: Optional[str], what: str) -> None:
    """The channel dim against num_features (or a weight's size): fix offers the channel count."""
    if channels is None:
        return
    call.expect(
        channels,
        expected,
        code=NORM_NUM_FEATURES,
        param=param,
        fix=channels if param else None,
        input_name="input",
        message=lambda: (
            f"{layer_name(call)} expects {what}{D.show(expected)}, "
            f"but its input {shape.show()} has {D.show(channels)} channels"
        ),
    )


def _single_value(call: RuleCall, shape: Shape, count) -> None:
    """torch rejects normalising over `count` values when that is 1 (concrete dims only)."""
    if shape.ranked and D.as_int(count) == 1:
        call.fail(
            OP_INPUT_SHAPE,
            f"{layer_name(call)} would normalise over a single value per channel for input {shape.show()}",
            input_name="input",
        )


def _channel_dim(shape: Shape, n: int, ranks: tuple):
    """Dim 1 of a batched input: from the left when the rank is known, else from the right when
    only one rank is allowed (BatchNorm2d's (N, C, H, W): C is dim -3)."""
    if shape.ranked:
        return shape.dim(1) if shape.rank >= 2 else None
    if len(ranks) == 1:
        return shape.dim(-(n + 1))
    return None


# Flags are read with call.flag: an unknown flag skips a check rather than losing the output shape.


# -- BatchNorm ---------------------------------------------------------------------------------
def _batch_norm(n: int, lazy: bool):
    ranks = (2, 3) if n == 1 else (n + 2,)

    @_preserving
    def rule(call: RuleCall, shape: Shape):
        _check_rank(call, shape, ranks)
        # num_features reaches torch only through the weight and the running stats.
        if not lazy and (call.flag("affine") or call.flag("track_running_stats")):
            _check_features(call, shape, _channel_dim(shape, n, ranks), call.dim("num_features"),
                            param="num_features", what="num_features=")
        if call.flag("track_running_stats") is False and shape.ranked:  # batch statistics, even in eval mode
            _single_value(call, shape, D.dim_product((shape.dims[0],) + shape.dims[2:]))

    return rule


for _n in (1, 2, 3):
    _bad_rank = T(4, 3) if _n > 1 else T(4)
    layer(
        f"torch.nn.BatchNorm{_n}d",
        init=_BN_INIT,
        float_inputs=("input",),
        preserves_shape=True,
        parameters=_BN_PARAMETERS,
        examples={
            1: [
                ex(T(8, 16), init=(16,), out=(8, 16)),
                ex(T(8, 16, 5), init=(16,), out=(8, 16, 5)),
                ex(T(8, 16), init=(32,), error=NORM_NUM_FEATURES),
                ex(T(8, 3), init=(5,), init_kwargs={"affine": False, "track_running_stats": False}, out=(8, 3)),
                ex(T(16), init=(16,), error=NORM_INPUT_RANK),
            ],
            2: [
                ex(T(2, 16, 8, 8), init=(16,), out=(2, 16, 8, 8)),
                ex(T(1, 16, 8, 8), init=(32,), error=NORM_NUM_FEATURES),
                ex(T(16, 8, 8), init=(16,), error=NORM_INPUT_RANK),
            ],
            3: [ex(T(2, 4, 3, 5, 5), init=(4,), out=(2, 4, 3, 5, 5)), ex(T(2, 4, 3, 5), init=(4,), error=NORM_INPUT_RANK)],
        }[_n],
    )(_batch_norm(_n, lazy=False))
    layer(
        f"torch.nn.LazyBatchNorm{_n}d",
        init=_LAZY_INIT,
        float_inputs=("input",),
        preserves_shape=True,
        examples=[ex(T(2, 7, *([3] * _n)), out=(2, 7, *([3] * _n))), ex(_bad_rank, error=NORM_INPUT_RANK)],
    )(_batch_norm(_n, lazy=True))


@function(
    "torch.nn.functional.batch_norm",
    signature="input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05",
    preserves_shape=True,
    examples=[
        ex(T(4, 3, 5), T(3), T(3), out=(4, 3, 5)),
        ex(T(4, 3), T(4), T(4), error=NORM_NUM_FEATURES),
        ex(T(4, 3, 2, 2), None, None, T(5), training=True, error=NORM_NUM_FEATURES),
    ],
)
@_preserving
def f_batch_norm(call: RuleCall, shape: Shape):
    if shape.ranked and shape.rank < 2:
        call.fail(NORM_INPUT_RANK, f"batch_norm expects an input of at least 2 dims, got {shape.show()}")
    channels = shape.dim(1) if shape.ranked else None
    if call.flag("training") and shape.ranked:
        _single_value(call, shape, D.dim_product((shape.dims[0],) + shape.dims[2:]))
    for name in ("running_mean", "running_var", "weight", "bias"):
        stats = call.shape_or_none(name)
        if stats is not None and stats.ranked and stats.rank == 1:
            _check_features(call, shape, channels, stats.dims[0], param=None, what=f"{name} of size ")


# -- InstanceNorm ------------------------------------------------------------------------------
def _instance_norm(n: int, lazy: bool):
    ranks = (n + 1, n + 2)  # (C, *spatial) unbatched or (N, C, *spatial)

    @_preserving
    def rule(call: RuleCall, shape: Shape):
        _check_rank(call, shape, ranks)
        if call.flag("track_running_stats") is False and shape.ranked:  # instance statistics, always
            _single_value(call, shape, D.dim_product(shape.dims[-n:]))
        # A mismatch only warns unless the weight or the running stats need the size.
        if not (call.flag("affine") or call.flag("track_running_stats")):
            return
        channels = shape.dim(-(n + 1))  # the channel dim, batched or not
        if not lazy:
            _check_features(call, shape, channels, call.dim("num_features"), param="num_features", what="num_features=")
        elif shape.ranked and shape.rank == n + 1 and channels is not None:
            # Lazy init reads num_features from dim 1, which is a spatial dim of an unbatched input.
            call.expect(
                channels,
                shape.dims[1],
                code=NORM_NUM_FEATURES,
                input_name="input",
                message=lambda: (
                    f"{layer_name(call)} takes num_features from dim 1 ({D.show(shape.dims[1])}), but the "
                    f"unbatched input {shape.show()} has {D.show(channels)} channels at dim 0"
                ),
            )

    return rule


for _n in (1, 2, 3):
    layer(
        f"torch.nn.InstanceNorm{_n}d",
        init=_IN_INIT,
        float_inputs=("input",),
        preserves_shape=True,
        parameters=_BN_PARAMETERS,
        examples={
            1: [
                ex(T(4, 3, 6), init=(3,), out=(4, 3, 6)),
                ex(T(3, 6), init=(3,), out=(3, 6)),
                ex(T(4, 3, 6), init=(5,), out=(4, 3, 6)),  # affine=False: torch only warns
                ex(T(4, 3, 6), init=(5,), init_kwargs={"affine": True}, error=NORM_NUM_FEATURES),
                ex(T(3, 6), init=(5,), init_kwargs={"track_running_stats": True}, error=NORM_NUM_FEATURES),
                ex(T(6), init=(6,), error=NORM_INPUT_RANK),
            ],
            2: [
                ex(T(2, 3, 8, 8), init=(3,), init_kwargs={"affine": True}, out=(2, 3, 8, 8)),
                ex(T(3, 4, 5), init=(3,), out=(3, 4, 5)),
                ex(T(1, 3, 1, 1), init=(3,), error=OP_INPUT_SHAPE),  # one value per instance and channel
            ],
            3: [ex(T(2, 3, 4, 4, 4), init=(3,), out=(2, 3, 4, 4, 4)), ex(T(4, 4), init=(3,), error=NORM_INPUT_RANK)],
        }[_n],
    )(_instance_norm(_n, lazy=False))
    layer(
        f"torch.nn.LazyInstanceNorm{_n}d",
        init=_LAZY_INIT,
        float_inputs=("input",),
        preserves_shape=True,
        examples={
            1: [ex(T(2, 3, 6), out=(2, 3, 6)), ex(T(6, 6), out=(6, 6)), ex(T(3, 6), error=NORM_NUM_FEATURES)],
            2: [ex(T(2, 3, 5, 5), out=(2, 3, 5, 5))],
            3: [ex(T(2, 3, 4, 4, 4), out=(2, 3, 4, 4, 4))],
        }[_n],
    )(_instance_norm(_n, lazy=True))


# -- LayerNorm / RMSNorm -----------------------------------------------------------------------
def _check_normalized(call: RuleCall, shape: Shape, *, param: str) -> None:
    """The trailing dims must equal normalized_shape (an int or a sequence of ints)."""
    single = call.dim_or_none(param) is not None
    wanted = call.dims(param)
    if not wanted:
        call.fail(LAYERNORM_SHAPE, f"{layer_name(call)}: normalized_shape must have at least one element", param=param)
    k = len(wanted)
    listed = ", ".join(D.show(w) for w in wanted)
    shown = listed if single else f"({listed})"
    if shape.ranked and shape.rank < k:
        call.fail(
            LAYERNORM_SHAPE,
            f"{layer_name(call)} normalizes over the last {k} dims {shown}, but its input {shape.show()} has {shape.rank}",
            param=param, input_name="input",
        )
    tail = [shape.dim(-k + i) for i in range(k)]
    if any(t is None for t in tail):
        return
    fix = tail[0] if single else tuple(tail)
    def message() -> str:
        return f"{layer_name(call)} expects input of shape (*, {listed}) for normalized_shape={shown}, got {shape.show()}"

    for got, want in zip(tail, wanted):
        call.expect(got, want, code=LAYERNORM_SHAPE, param=param, fix=fix, input_name="input", message=message)


def _check_affine_shape(call: RuleCall, wanted: tuple) -> None:
    """F.layer_norm's weight/bias must have exactly normalized_shape."""
    for name in ("weight", "bias"):
        if not call.has(name):
            continue
        w = call.shape_or_none(name)
        if w is None or not w.ranked:
            continue
        if w.rank != len(wanted):
            call.fail(LAYERNORM_SHAPE, f"{name} of shape {w.show()} differs from normalized_shape {Shape.of(wanted).show()}")
        for got, want in zip(w.dims, wanted):
            call.expect(got, want, code=LAYERNORM_SHAPE,
                        message=lambda: f"{name} of shape {w.show()} differs from normalized_shape {Shape.of(wanted).show()}")


@layer(
    "torch.nn.LayerNorm",
    init="normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, device=None, dtype=None",
    float_inputs=("input",),
    preserves_shape=True,
    parameters=_affine(Sizes("normalized_shape"), "elementwise_affine"),
    stored_tuples=(StoredTuple("normalized_shape", traced=True),),
    functional=Functional("torch.nn.functional.layer_norm"),
    examples=[
        ex(T(2, 10, 512), init=(512,), out=(2, 10, 512)),
        ex(T(3, 4, 5), init=((4, 5),), out=(3, 4, 5)),
        ex(T(1, 10, 256), init=(512,), error=LAYERNORM_SHAPE),
        ex(T(5), init=((4, 5),), error=LAYERNORM_SHAPE),
        ex(T(2, 4), init=(5,), init_kwargs={"elementwise_affine": False}, error=LAYERNORM_SHAPE),
    ],
)
@_preserving
def layer_norm(call: RuleCall, shape: Shape):
    _check_normalized(call, shape, param="normalized_shape")


@layer(
    "torch.nn.RMSNorm",
    init="normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None",
    float_inputs=("x",),
    forward="x",
    preserves_shape=True,
    parameters=(Parameter("weight", (Sizes("normalized_shape"),), present_if=("elementwise_affine",)),),
    stored_tuples=(StoredTuple("normalized_shape", traced=True),),
    functional=Functional("torch.nn.functional.rms_norm"),
    examples=[ex(T(2, 7, 16), init=(16,), out=(2, 7, 16)), ex(T(2, 4), init=(5,), error=LAYERNORM_SHAPE)],
)
@_preserving
def rms_norm(call: RuleCall, shape: Shape):
    _check_normalized(call, shape, param="normalized_shape")


@function(
    "torch.nn.functional.layer_norm",
    signature="input, normalized_shape, weight=None, bias=None, eps=1e-05",
    preserves_shape=True,
    examples=[
        ex(T(2, 5), [5], out=(2, 5)),
        ex(T(2, 3, 5), (3, 5), T(3, 5), out=(2, 3, 5)),
        ex(T(2, 5), [4], error=LAYERNORM_SHAPE),
        ex(T(2, 5), [5], T(4), error=LAYERNORM_SHAPE),
    ],
)
@_preserving
def f_layer_norm(call: RuleCall, shape: Shape):
    _check_normalized(call, shape, param="normalized_shape")
    _check_affine_shape(call, call.dims("normalized_shape"))


@function(
    "torch.nn.functional.rms_norm",
    signature="input, normalized_shape, weight=None, eps=None",
    preserves_shape=True,
    examples=[ex(T(2, 5), [5], out=(2, 5)), ex(T(2, 4), [5], error=LAYERNORM_SHAPE)],
)
@_preserving
def f_rms_norm(call: RuleCall, shape: Shape):
    _check_normalized(call, shape, param="normalized_shape")
    _check_affine_shape(call, call.dims("normalized_shape"))


# -- GroupNorm ---------------------------------------------------------------------------------
def _check_groups(call: RuleCall, shape: Shape, groups) -> None:
    """Input (N, C, *): at least 2-D, and C divisible by num_groups."""
    if shape.ranked and shape.rank < 2:
        call.fail(NORM_INPUT_RANK, f"{layer_name(call)} expects an input of at least 2 dims (N, C, *), got {shape.show()}",
                  input_name="input")
    channels = shape.dim(1) if shape.ranked else None
    c, g = D.as_int(channels), D.as_int(groups)
    if c is not None and g is not None and g > 0:
        # Statistics per (sample, group): (N * C // G) * prod(spatial) values must not be 1.
        _single_value(call, shape, shape.dims[0] * (c // g) * D.dim_product(shape.dims[2:]))
        if c % g:
            call.fail(GROUPNORM_GROUPS, f"{layer_name(call)}: the input {shape.show()} has {c} channels, "
                                        f"which num_groups={g} does not divide", input_name="input")


@layer(
    "torch.nn.GroupNorm",
    init="num_groups, num_channels, eps=1e-05, affine=True, device=None, dtype=None, *, bias=True",
    float_inputs=("input",),
    preserves_shape=True,
    parameters=_affine(Size("num_channels"), "affine"),
    examples=[
        ex(T(2, 6, 4), init=(3, 6), out=(2, 6, 4)),
        ex(T(2, 32, 8, 8), init=(8, 32), out=(2, 32, 8, 8)),
        ex(T(2, 16, 4), init=(3, 16), error=GROUPNORM_GROUPS),
        ex(T(2, 9, 4), init=(3, 6), error=GROUPNORM_GROUPS),
        ex(T(2, 9, 4), init=(3, 6), init_kwargs={"affine": False}, out=(2, 9, 4)),
        ex(T(6), init=(3, 6), error=NORM_INPUT_RANK),
        ex(T(1, 6), init=(6, 6), error=OP_INPUT_SHAPE),  # one value per (sample, group)
    ],
)
@_preserving
def group_norm(call: RuleCall, shape: Shape):
    groups, num_channels = call.dim("num_groups"), call.dim_or_none("num_channels")
    g, c = D.as_int(groups), D.as_int(num_channels)
    # torch raises this in the constructor; a rule only runs at the call, which is early enough.
    if g is not None and g <= 0:
        call.fail(GROUPNORM_GROUPS, f"GroupNorm: num_groups must be positive, got {g}", param="num_groups")
    if g is not None and c is not None and c % g:
        call.fail(GROUPNORM_GROUPS, f"GroupNorm: num_channels={c} is not divisible by num_groups={g}", param="num_groups")
    _check_groups(call, shape, groups)
    channels = shape.dim(1) if shape.ranked else None
    if channels is not None and num_channels is not None and call.flag("affine"):  # only the weight's size
        call.expect(
            channels, num_channels, code=GROUPNORM_GROUPS, param="num_channels", fix=channels, input_name="input",
            message=lambda: f"{layer_name(call)} expects num_channels={D.show(num_channels)}, but its input {shape.show()} "
                    f"has {D.show(channels)} channels",
        )


@function(
    "torch.nn.functional.group_norm",
    signature="input, num_groups, weight=None, bias=None, eps=1e-05",
    preserves_shape=True,
    examples=[ex(T(2, 6, 4), 3, out=(2, 6, 4)), ex(T(2, 6, 4), 4, error=GROUPNORM_GROUPS)],
)
@_preserving
def f_group_norm(call: RuleCall, shape: Shape):
    _check_groups(call, shape, call.dim("num_groups"))
    channels = shape.dim(1) if shape.ranked else None
    for name in ("weight", "bias"):
        w = call.shape_or_none(name)
        if channels is not None and w is not None and w.ranked and w.rank == 1:
            call.expect(w.dims[0], channels, code=GROUPNORM_GROUPS, input_name="input",
                        message=lambda: f"group_norm: {name} of shape {w.show()} does not fit the "
                                        f"{D.show(channels)} channels of {shape.show()}")


# -- LocalResponseNorm, F.normalize --------------------------------------------------------------
@_preserving
def _lrn(call: RuleCall, shape: Shape):
    if shape.ranked and shape.rank < 3:
        call.fail(NORM_INPUT_RANK, f"{layer_name(call)} expects an input of at least 3 dims, got {shape.show()}",
                  input_name="input")


layer(
    "torch.nn.LocalResponseNorm",
    init="size, alpha=0.0001, beta=0.75, k=1.0",
    preserves_shape=True,
    examples=[ex(T(2, 8, 5, 5), init=(2,), out=(2, 8, 5, 5)), ex(T(2, 8), init=(2,), error=NORM_INPUT_RANK)],
)(_lrn)
function(
    "torch.nn.functional.local_response_norm",
    signature="input, size, alpha=0.0001, beta=0.75, k=1.0",
    preserves_shape=True,
    examples=[ex(T(2, 8, 5), 3, out=(2, 8, 5))],
)(_lrn)


@function(
    "torch.nn.functional.normalize",
    signature="input, p=2.0, dim=1, eps=1e-12, out=None",
    preserves_shape=True,
    examples=[ex(T(4, 128), out=(4, 128)), ex(T(3), dim=0, out=(3,)), ex(T(3), error=DIM_OUT_OF_RANGE)],
)
@_preserving
def f_normalize(call: RuleCall, shape: Shape):
    normalize_dim(call, call.dim("dim"), shape.rank)
