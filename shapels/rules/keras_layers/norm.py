"""BatchNormalization, LayerNormalization and GroupNormalization: the output has the input's shape;
what can be wrong is an axis outside the input's rank and, for GroupNormalization, groups that do not
divide the channels (the default groups=32 on fewer or other channels)."""

from __future__ import annotations

from shapels.codes import DIM_OUT_OF_RANGE, GROUPNORM_GROUPS, UNDEFINED_DIM
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.keras_layers.spec import keras_layer, require_defined
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq


def _axes(call: RuleCall) -> list:
    value = call.value("axis")
    items = value.items if isinstance(value, (Seq, ListValue)) else [value]
    axes = [D.as_int(to_dim(i)) if to_dim(i) is not None else None for i in items]
    if None in axes:
        raise Unknowable("axis")
    return axes


def _check_axes(call: RuleCall, shape: Shape, axes: list) -> None:
    for axis in axes:
        if not -shape.rank <= axis < shape.rank:
            call.fail(DIM_OUT_OF_RANGE, f"{layer_name(call)}: axis {axis} is out of range for its {shape.rank}-D "
                      f"input {shape.show()}", param="axis", input_name="inputs")
    for axis in axes:
        require_defined(call, shape, axis, "its scale and offset")


def _normalization(call: RuleCall):
    axes = _axes(call)
    shape = call.shape("inputs")
    if shape.ranked:
        _check_axes(call, shape, axes)
    return shape


_NORM_COMMON = ("beta_initializer='zeros', gamma_initializer='ones', beta_regularizer=None, gamma_regularizer=None, "
                "beta_constraint=None, gamma_constraint=None")

def _axis_built(call: RuleCall, shape: Shape) -> dict:
    """BatchNormalization's moving mean and variance are built from the size of its axis."""
    [axis] = _axes(call)
    return {axis: shape.dim(axis)}


keras_layer(
    "BatchNormalization",
    init="axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, " + _NORM_COMMON + ", "
         "moving_mean_initializer='zeros', moving_variance_initializer='ones', renorm=False, renorm_clipping=None, "
         "renorm_momentum=0.99, synchronized=False",
    call="inputs, training=None, mask=None",
    preserves_shape=True,
    examples=[
        ex(T(4, 5, 5, 8), out=(4, 5, 5, 8)),
        ex(T(None, 8, 5, 5), init=(1,), out=(None, 8, 5, 5)),
        ex(T(4, 8), init=(2,), error=DIM_OUT_OF_RANGE),
        ex(T(None, 5, None), error=UNDEFINED_DIM),
    ],
    builds=_axis_built,
    input_spec=True,
)(_normalization)
def _layer_normalization(call: RuleCall):
    axes = sorted(_axes(call))
    shape = _normalization(call)
    if len(axes) > 1 and not _contiguous(axes) and min(axes) < 0:
        raise Unknowable("axis")  # negative and other axes: Keras's eager broadcast of gamma goes astray
    if shape.ranked and len({a % shape.rank for a in axes}) < len(axes):
        raise Unknowable("axis")  # an axis named twice: torch refuses it under Keras's eager call, not symbolically
    if shape.ranked and _contiguous(axes):
        # Keras's torch backend hands contiguous axes to torch's layer_norm, which normalizes the last
        # len(axes) dims and so refuses other sizes there; Keras's symbolic shape does not check
        at_axes = [shape.dims[a] for a in axes]
        last = list(shape.dims[shape.rank - len(axes):])
        if [a % shape.rank for a in axes] != list(range(shape.rank - len(axes), shape.rank)) and \
                not all(D.eq(x, y) is True for x, y in zip(at_axes, last)):
            raise Unknowable("axis")
    return shape


def _contiguous(axes: list) -> bool:
    """Keras's is_continuous_axis, on the axes as given (sorted)."""
    if len(axes) <= 1:
        return True
    step = axes[1] - axes[0]
    return step in (1, -1) and all(b - a == step for a, b in zip(axes, axes[1:]))


def _trailing_axes_built(call: RuleCall, shape: Shape) -> dict:
    """LayerNormalization's gamma and beta are built from the sizes of its axes; where they are the last
    ones (axis=-1, the usual case), torch's layer_norm refuses a later input of other sizes there."""
    if not shape.ranked:
        return {}
    axes = sorted(a % shape.rank for a in _axes(call) if -shape.rank <= a < shape.rank)
    if not axes or axes != list(range(shape.rank - len(axes), shape.rank)):
        return {}
    return {a - shape.rank: shape.dim(a) for a in axes}


keras_layer(
    "LayerNormalization",
    init="axis=-1, epsilon=0.001, center=True, scale=True, " + _NORM_COMMON,
    preserves_shape=True,
    builds=_trailing_axes_built,
    examples=[
        ex(T(2, 10, 16), out=(2, 10, 16)),
        ex(T(2, 3, 4, 5), init=([1, 2, 3],), out=(2, 3, 4, 5)),
        ex(T(2, 10), init=(-3,), error=DIM_OUT_OF_RANGE),
        ex(T(2, 10), init=([1, 2],), error=DIM_OUT_OF_RANGE),
    ],
)(_layer_normalization)


@keras_layer(
    "GroupNormalization",
    init="groups=32, axis=-1, epsilon=0.001, center=True, scale=True, " + _NORM_COMMON,
    preserves_shape=True,
    examples=[
        ex(T(2, 8, 8, 64), out=(2, 8, 8, 64)),
        ex(T(2, 6, 4, 4), init=(3, 1), out=(2, 6, 4, 4)),
        ex(T(2, 5, 7), init=(-1,), out=(2, 5, 7)),
        ex(T(2, 8, 8, 16), error=GROUPNORM_GROUPS),  # the default 32 groups on 16 channels
        ex(T(2, 8, 8, 48), error=GROUPNORM_GROUPS),
        ex(T(2, 6, 4, 4), init=(4, 1), error=GROUPNORM_GROUPS),
        ex(T(2, 6), init=(2, 3), error=DIM_OUT_OF_RANGE),
        ex(T(2, 6, None), init=(2,), error=UNDEFINED_DIM),
    ],
)
def group_normalization(call: RuleCall):
    axes = _axes(call)
    if len(axes) != 1 or isinstance(call.value("axis"), (Seq, ListValue)):
        raise Unknowable("axis")  # GroupNormalization takes one int axis
    (axis,) = axes
    groups = to_dim(call.value("groups"))
    if groups is None:
        raise Unknowable("groups")
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    _check_axes(call, shape, [axis])
    channels = shape.dims[axis]
    g, c = D.as_int(groups), D.as_int(channels)
    if g == -1:
        return _usual_axis(shape, axis)
    name = layer_name(call)
    if g is not None and g <= 0:
        raise Unknowable("groups")  # Keras fails on 0 with a ZeroDivisionError; other negatives: not modelled
    if g is not None and c is not None and c < g:
        call.fail(GROUPNORM_GROUPS, f"{name}: groups={g} is more than the {c} channels of its input {shape.show()} "
                  f"(axis {axis})", param="groups", fix=c, input_name="inputs")
    if D.divides(groups, channels) is False:
        call.fail(GROUPNORM_GROUPS, f"{name}: groups={D.show(groups)} does not divide the {D.show(channels)} channels "
                  f"of its input {shape.show()} (axis {axis})", param="groups", input_name="inputs")
    return _usual_axis(shape, axis)


def _usual_axis(shape: Shape, axis: int) -> Shape:
    """GroupNormalization's call reshapes the input into groups correctly only for axis -1 or a
    positive axis past the batch; elsewhere its eager call fails where its symbolic one does not."""
    if shape.rank < 2 or not (axis == -1 or 1 <= axis < shape.rank):
        raise Unknowable("axis")
    return shape
