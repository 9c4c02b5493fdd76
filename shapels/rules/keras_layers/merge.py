"""The merge layers, called on a list of tensors: Add, Subtract, Multiply, Average, Maximum, Minimum
(elementwise, broadcasting the non-batch axes), Concatenate (along an axis) and Dot (a batched dot
product over one axis of each)."""

from __future__ import annotations

from shapels.codes import BROADCAST_MISMATCH, CALL_MISMATCH, CAT_MISMATCH, DIM_OUT_OF_RANGE, MATMUL_MISMATCH
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.keras_layers.spec import KERAS_LAYERS, is_none_dim, keras_dim, keras_layer, none_dim
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq, Tensor


def _inputs(call: RuleCall, count=None) -> list:
    """The list a merge layer is called on, as ranked shapes."""
    value = call.value("inputs")
    name = layer_name(call)
    if isinstance(value, Tensor):
        call.fail(CALL_MISMATCH, f"{name} merges a list of tensors, but is called on one tensor {value.shape.show()}",
                  input_name="inputs")
    if not isinstance(value, (Seq, ListValue)):
        raise Unknowable("inputs")
    if count is not None and len(value.items) != count:
        call.fail(CALL_MISMATCH, f"{name} merges exactly {count} tensors, but is called on {len(value.items)}",
                  input_name="inputs")
    if not value.items:
        call.fail(CALL_MISMATCH, f"{name} is called on an empty list", input_name="inputs")
    shapes = []
    for item in value.items:
        if not isinstance(item, Tensor) or not item.shape.ranked:
            raise Unknowable("inputs")
        shapes.append(item.shape)
    return shapes


def _shown(shapes) -> str:
    return ", ".join(s.show() for s in shapes)


def _batch(call: RuleCall, shapes) -> object:
    """The common batch size: Keras refuses tensors whose batch sizes differ."""
    known = [s.dims[0] for s in shapes if s.dims and not is_none_dim(s.dims[0])]
    for b in known[1:]:
        if D.eq(b, known[0]) is False:
            call.fail(BROADCAST_MISMATCH, f"{layer_name(call)} cannot merge tensors with different batch sizes: "
                      f"{_shown(shapes)}", input_name="inputs")
    if known:
        return known[0]
    # all None: the first input's where each is a None of its own (the batches of several keras.Inputs):
    # Keras's build refuses batch sizes that differ, so where the merge runs every input's batch is that
    # one, and a later known batch (the data's) replaces it. Nones computed from one another (N and 2N after
    # a reshape took the batch in) are left open: Keras's symbolic build passes them
    nones = [s.dims[0] for s in shapes if s.dims]
    if nones and all(D.is_symbol(d) for d in nones):
        return nones[0]
    return _shared_none(nones)


def _shared_none(dims: list):
    """Keras's None for axes that are all None: the same one where every input has the same (the batch of
    one keras.Input through both branches of a residual block), so a later known batch replaces it."""
    return dims[0] if dims and all(d is dims[0] or D.const(d) == D.const(dims[0]) for d in dims) else none_dim()


def _elementwise(count=None):
    def rule(call: RuleCall):
        shapes = _inputs(call, count)
        if len({s.rank for s in shapes}) != 1:
            raise Unknowable("inputs")  # Keras reshapes inputs of different ranks (not modelled)
        if any(s.rank == 0 for s in shapes):
            raise Unknowable("inputs")
        batch = _batch(call, shapes)
        out = list(shapes[0].dims[1:])
        for shape in shapes[1:]:
            for i, d in enumerate(shape.dims[1:]):
                a = out[i]
                if is_none_dim(a) or is_none_dim(d):
                    out[i] = _shared_none([a, d])  # as Keras says, even against a 1
                elif D.eq(a, 1) is True:
                    out[i] = d
                elif D.eq(d, 1) is True:
                    out[i] = a
                elif D.eq(a, d) is False:
                    call.fail(BROADCAST_MISMATCH, f"{layer_name(call)}: its inputs {_shown(shapes)} have "
                              f"incompatible shapes ({D.show(a)} against {D.show(d)} at axis {i + 1})",
                              input_name="inputs")
        return Shape.of([batch, *out])

    return rule


_ELEMENTWISE_EXAMPLES = [
    ex([T(2, 3, 4), T(2, 3, 4)], out=(2, 3, 4)),
    ex([T(None, 8), T(None, 8), T(None, 8)], out=(None, 8)),
    ex([T(2, 1, 4), T(2, 3, 1)], out=(2, 3, 4)),
    ex([T(2, 3, 4), T(2, 3, 5)], error=BROADCAST_MISMATCH),
    ex([T(2, 4), T(3, 4)], error=BROADCAST_MISMATCH),
]

# Keras layers called on several tensors (a list, or query and value): a chain of single-input layers
# stops at them (shapels/analysis/keras_models.py re-applies such chains to data)
MULTI_INPUT = frozenset(KERAS_LAYERS + n for n in ("Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract",
                                                   "Concatenate", "Dot", "MultiHeadAttention"))

for _name in ("Add", "Multiply", "Average", "Maximum", "Minimum"):
    keras_layer(_name, examples=_ELEMENTWISE_EXAMPLES)(_elementwise())
keras_layer("Subtract", examples=[
    ex([T(2, 3), T(2, 3)], out=(2, 3)),
    ex([T(2, 3), T(2, 3), T(2, 3)], error=CALL_MISMATCH),
    ex([T(2, 3), T(2, 4)], error=BROADCAST_MISMATCH),
])(_elementwise(count=2))


@keras_layer(
    "Concatenate",
    init="axis=-1",
    examples=[
        ex([T(2, 3, 4), T(2, 3, 5)], out=(2, 3, 9)),
        ex([T(None, 4), T(None, 6)], out=(None, 10)),
        ex([T(2, 3, 4), T(2, 5, 4)], init=(1,), out=(2, 8, 4)),
        ex([T(2, None, 4), T(2, 5, 4)], init=(1,), out=(2, None, 4)),
        ex([T(2, 3, 4), T(2, 5, 4)], error=CAT_MISMATCH),
        ex([T(2, 3), T(2, 3, 1)], error=CAT_MISMATCH),
        ex([T(2, 3), T(2, 3)], init=(2,), error=DIM_OUT_OF_RANGE),
    ],
)
def concatenate(call: RuleCall):
    axis = D.as_int(to_dim(call.value("axis"))) if to_dim(call.value("axis")) is not None else None
    if axis is None:
        raise Unknowable("axis")
    shapes = _inputs(call)
    if len(shapes) == 1:  # a lone input comes back as it is, if the axis passes build's check
        if axis < -shapes[0].rank:
            call.fail(DIM_OUT_OF_RANGE, f"{layer_name(call)}: axis {axis} is out of range for its "
                      f"{shapes[0].rank}-D input {shapes[0].show()}", param="axis", input_name="inputs")
        if axis >= shapes[0].rank:
            raise Unknowable("axis")  # Keras's eager call refuses the axis, its symbolic one does not
        return shapes[0]
    name = layer_name(call)
    ranks = {s.rank for s in shapes}
    if len(ranks) != 1:
        call.fail(CAT_MISMATCH, f"{name}: its inputs {_shown(shapes)} have different ranks", input_name="inputs")
    (rank,) = ranks
    if not -rank <= axis < rank:
        call.fail(DIM_OUT_OF_RANGE, f"{name}: axis {axis} is out of range for its {rank}-D inputs {_shown(shapes)}",
                  param="axis", input_name="inputs")
    axis %= rank
    out = list(shapes[0].dims)
    for shape in shapes[1:]:
        for i, d in enumerate(shape.dims):
            if i == axis:
                continue
            a = out[i]
            if is_none_dim(a) or is_none_dim(d):
                out[i] = d if is_none_dim(a) else a
            elif D.eq(a, d) is False:
                call.fail(CAT_MISMATCH, f"{name}: its inputs {_shown(shapes)} differ at axis {i}, outside the "
                          f"concatenation axis {axis}", input_name="inputs")
    out[axis] = keras_dim(sum((s.dims[axis] for s in shapes[1:]), shapes[0].dims[axis]))
    return Shape.of(out)


@keras_layer(
    "Dot",
    init="axes, normalize=False",
    examples=[
        ex([T(4, 5), T(4, 5)], init=(1,), out=(4, 1)),
        ex([T(4, 3, 5), T(4, 7, 5)], init=(2,), out=(4, 3, 7)),
        ex([T(4, 3, 5), T(4, 3, 7)], init=((1, 1),), out=(4, 5, 7)),
        ex([T(None, 3, 5), T(None, 5, 2)], init=((2, 1),), out=(None, 3, 2)),
        ex([T(4, 3, 5), T(4, 7, 6)], init=(-1,), error=MATMUL_MISMATCH),
        ex([T(4, 5), T(4, 5), T(4, 5)], init=(1,), error=CALL_MISMATCH),
    ],
)
def dot(call: RuleCall):
    value = call.value("axes")
    single = to_dim(value)
    if single is not None:
        axes = [D.as_int(single)] * 2
    elif isinstance(value, (Seq, ListValue)) and len(value.items) == 2:
        axes = [D.as_int(to_dim(i)) if to_dim(i) is not None else None for i in value.items]
    else:
        raise Unknowable("axes")
    if None in axes:
        raise Unknowable("axes")
    a, b = _inputs(call, count=2)
    if a.rank == 0 or b.rank == 0:
        raise Unknowable("inputs")  # a 0-D input to a batched dot: not modelled
    if single is not None and axes[0] < 0:
        axes = [axes[0] % a.rank, axes[1] % b.rank]
    name = layer_name(call)
    for axis, shape in zip(axes, (a, b)):
        if not -shape.rank <= axis < shape.rank:
            call.fail(DIM_OUT_OF_RANGE, f"{name}: axis {axis} is out of range for {shape.show()}", param="axes",
                      input_name="inputs")
    # Keras's build compares the two axes' sizes (a None only with a None)
    x, y = a.dims[axes[0]], b.dims[axes[1]]
    if is_none_dim(x) != is_none_dim(y) or (not is_none_dim(x) and D.eq(x, y) is False):
        call.fail(MATMUL_MISMATCH, f"{name}: axis {axes[0]} of {a.show()} ({D.show(x)}) differs from axis "
                  f"{axes[1]} of {b.show()} ({D.show(y)})", input_name="inputs")
    if a.rank not in (2, 3) or b.rank not in (2, 3):
        raise Unknowable("inputs")  # batch_dot on other ranks: not modelled
    axes = [axes[0] % a.rank, axes[1] % b.rank]
    if 0 in axes:
        raise Unknowable("axes")  # a product over the batch axis: not modelled
    if not is_none_dim(a.dims[0]) and not is_none_dim(b.dims[0]) and D.eq(a.dims[0], b.dims[0]) is not True:
        raise Unknowable("inputs")  # Keras checks the batch only when it runs
    out = [d for i, d in enumerate(a.dims) if i != axes[0]] + [d for i, d in enumerate(b.dims) if i not in (0, axes[1])]
    if len(out) == 1:
        out.append(1)
    return Shape.of(out)


# The functional forms (`layers.add([a, b])`, `layers.concatenate([a, b], axis=1)`): the layer, made and
# called at once.
for _name, _rule in (("add", _elementwise()), ("multiply", _elementwise()), ("average", _elementwise()),
                     ("maximum", _elementwise()), ("minimum", _elementwise()), ("subtract", _elementwise(count=2))):
    function(f"keras.layers.{_name}", signature="inputs, **kwargs",
             examples=[ex([T(2, 3), T(2, 3)], out=(2, 3)), ex([T(2, 3), T(2, 4)], error=BROADCAST_MISMATCH)])(_rule)
function("keras.layers.concatenate", signature="inputs, axis=-1, **kwargs",
         examples=[ex([T(2, 3), T(2, 4)], out=(2, 7)), ex([T(2, 3), T(3, 3)], axis=0, out=(5, 3)),
                   ex([T(2, 3), T(3, 3)], error=CAT_MISMATCH)])(concatenate)
function("keras.layers.dot", signature="inputs, axes=-1, **kwargs",
         examples=[ex([T(2, 3, 4), T(2, 5, 4)], out=(2, 3, 5)), ex([T(2, 3), T(2, 4)], axes=1, error=MATMUL_MISMATCH)])(dot)
