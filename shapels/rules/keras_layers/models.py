"""What a Keras model checks where data meets it, and what its losses take.

- `keras.Model.__call__` (a functional model, or a Sequential built for an input shape) standardizes
  each input against the keras.Input it was built for, as `Functional._adjust_input_rank` and its
  InputSpec do: one extra trailing axis of size 1 is squeezed, one missing axis is added where the
  Input's last axis is 1, any other rank is an error; a size that differs where the Input fixes it is
  an error for a functional model, compared as its InputSpec does, on the data as passed, a last axis of
  1 dropped on either side, over the axes both have (a Sequential's layers check their own built sizes
  instead).
- The losses `compile(loss=...)` names, called with (y_true, y_pred) by `fit`/`evaluate`: Keras's
  rules for the target's shape.
"""

from __future__ import annotations

from shapels.codes import INPUT_SHAPE, LOSS_TARGET
from shapels.rules.base import RuleCall, Unknowable, on_call
from shapels.rules.keras_layers.spec import is_none_dim
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq, Tensor


def _keras_shape(shape: Shape) -> str:
    """A shape as Keras prints it, None for its open sizes."""
    return "(" + ", ".join("None" if is_none_dim(d) else D.show(d) for d in shape.dims) + \
        ("," if shape.rank == 1 else "") + ")"


def _differs(expected, received) -> bool:
    """A size the Input fixes, and the data's, both known and different."""
    if is_none_dim(expected):
        return False
    a, b = D.as_int(expected), D.as_int(received)
    return a is not None and b is not None and a != b


@function(
    "keras.Model.__call__",
    signature="received, expected, check_sizes=True",
    preserves_shape=True,
)
@on_call
def model_input(call: RuleCall):
    """The data as the model runs it (received: the data's shape, expected: the keras.Input's). Given the
    model's list of Inputs as `expected`, only the count is checked: Keras refuses another number of
    tensors before it looks at any."""
    inputs = call.value("expected")
    if isinstance(inputs, (Seq, ListValue)):
        data = call.value("received")
        given = len(data.items) if isinstance(data, (Seq, ListValue)) else 1 if isinstance(data, Tensor) else None
        if given is not None and given != len(inputs.items):
            call.fail(INPUT_SHAPE, f"the model takes {len(inputs.items)} inputs, and it is given {given} (Keras: "
                      f"Layer \"functional\" expects {len(inputs.items)} input(s), but it received {given} input "
                      f"tensors)", input_name="received")
        raise Unknowable("received")
    expected, received = call.shape("expected"), call.shape("received")
    if not (expected.ranked and received.ranked):
        raise Unknowable("received")
    want, got = list(expected.dims), list(received.dims)
    if len(got) == len(want) + 1 and D.as_int(got[-1]) == 1:
        got = got[:-1]  # (N, 20, 32, 1) for (None, 20, 32): squeezed
    elif len(got) == len(want) - 1 and D.as_int(want[-1]) == 1:
        got = got + [1]  # (N, 28, 28) for (None, 28, 28, 1): expanded
    elif len(got) != len(want):
        call.fail(INPUT_SHAPE, f"the model was built for inputs of shape {_keras_shape(expected)}, and this input "
                  f"{received.show()} has rank {received.rank} (Keras: expected shape={_keras_shape(expected)}, found "
                  f"shape={received.show()})", input_name="received")
    if call.flag("check_sizes") is not False:
        # the InputSpec (allow_last_axis_squeeze) looks at the data as passed, before the rank is adjusted:
        # it drops a last axis of 1 on either side and compares only the axes both then have, so a
        # (4, 12, 1) image meets a (None, 12, 12, 1) Input on its first two axes only and runs, expanded
        # to (4, 12, 1, 1): its layers decide (a conv built for 3 channels refuses 1)
        spec, data = list(want), list(received.dims)
        if data and D.as_int(data[-1]) == 1:
            data = data[:-1]
        if spec and D.as_int(spec[-1]) == 1:
            spec = spec[:-1]
        for axis, (w, g) in enumerate(zip(spec, data)):
            if _differs(w, g):
                call.fail(INPUT_SHAPE, f"the model was built for inputs of shape {_keras_shape(expected)}, and this "
                          f"input {received.show()} has {D.show(g)} at axis {axis}, where the model takes {D.show(w)} "
                          f"(Keras: expected shape={_keras_shape(expected)}, found shape={received.show()})",
                          input_name="received")
    return Shape.of(got)


def _target_message(loss: str, what: str, target: Shape, output: Shape) -> str:
    return (f"{loss}: the target {target.show()} and the model's output {output.show()} must have the same shape{what} "
            f"(Keras: Arguments `target` and `output` must have the same shape{what})")


def _shapes(call: RuleCall) -> tuple:
    target, output = call.shape("y_true"), call.shape("y_pred")
    if not (target.ranked and output.ranked) or output.rank < 1:
        raise Unknowable("y_pred")
    return list(target.dims), list(output.dims)


def _sparse(call: RuleCall, loss: str, target: list, output: list) -> Shape:
    """Integer labels: the target is the output without its class axis ((N,), or (N, 1) squeezed)."""
    labels = target[:-1] if len(target) == len(output) and target and D.as_int(target[-1]) == 1 else target
    want = output[:-1]
    if len(labels) != len(want) or any(D.eq(a, b) is False for a, b in zip(labels, want)):
        call.fail(LOSS_TARGET, _target_message(loss, " up until the last dimension", Shape.of(target), Shape.of(output)),
                  input_name="y_true")
    return Shape.of(want)


def _same_shape(call: RuleCall, loss: str, target: list, output: list) -> Shape:
    """One-hot (or probability) targets: the output's shape exactly; the class axis is reduced."""
    if len(target) != len(output) or any(D.eq(a, b) is False for a, b in zip(target, output)):
        call.fail(LOSS_TARGET, _target_message(loss, "", Shape.of(target), Shape.of(output)), input_name="y_true")
    if any(D.eq(a, b) is not True for a, b in zip(target, output)):
        raise Unknowable("y_true")
    return Shape.of(output[:-1])


def _broadcasting(call: RuleCall, loss: str, target: list, output: list) -> Shape:
    """`mean(square(y_true - y_pred), axis=-1)`: the two broadcast, the last axis is reduced."""
    for a, b in zip(reversed(target), reversed(output)):
        x, y = D.as_int(a), D.as_int(b)
        if x is not None and y is not None and x != y and 1 not in (x, y):
            call.fail(LOSS_TARGET, f"{loss}: the target {Shape.of(target).show()} and the model's output "
                      f"{Shape.of(output).show()} do not broadcast ({x} against {y}; torch: The size of tensor a ({x}) "
                      f"must match the size of tensor b ({y}))", input_name="y_true")
    raise Unknowable("y_true")  # the broadcast result itself is not needed by anything downstream


@function(
    "keras.losses.sparse_categorical_crossentropy",
    signature="y_true, y_pred, from_logits=False, ignore_class=None, axis=-1",
    examples=[ex(T(10, dtype="int64"), T(10, 5), out=(10,)), ex(T(10, 1, dtype="int64"), T(10, 5), out=(10,)),
              ex(T(10, 5), T(10, 10), error=LOSS_TARGET), ex(T(4, 7, dtype="int64"), T(4, 7, 3), out=(4, 7))],
)
@on_call
def sparse_categorical_crossentropy(call: RuleCall):
    return _sparse(call, "sparse_categorical_crossentropy", *_shapes(call))


def categorical_crossentropy(call: RuleCall):
    return _same_shape(call, call.qualname.rsplit(".", 1)[-1], *_shapes(call))


# (random normal floats are no binary targets: binary_crossentropy's examples that run would fail on values)
_TARGET_ERRORS = [ex(T(10, 5), T(10, 10), error=LOSS_TARGET), ex(T(10, dtype="int64"), T(10, 10), error=LOSS_TARGET)]
for _name, _runs in (("categorical_crossentropy", [ex(T(10, 5), T(10, 5), out=(10,))]), ("binary_crossentropy", [])):
    function(f"keras.losses.{_name}", signature="y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1",
             examples=_runs + _TARGET_ERRORS)(on_call(categorical_crossentropy))


def _same_rank(target: list, output: list) -> tuple:
    """Keras's squeeze_or_expand_to_same_rank, which a loss object (and compile's loss by name) applies
    first: ranks one apart meet where the longer one ends in 1."""
    if len(target) == len(output) + 1 and D.as_int(target[-1]) == 1:
        return (target, output + [1]) if len(output) == 1 else (target[:-1], output)
    if len(output) == len(target) + 1 and D.as_int(output[-1]) == 1:
        return (target + [1], output) if len(target) == 1 else (target, output[:-1])
    return target, output


def _loss_object(check, name: str):
    def rule(call: RuleCall):
        target, output = _same_rank(*_shapes(call))
        check(call, name, target, output)
        return Shape.of([])  # reduced over the batch: one number

    return on_call(rule)


_LOSS_INIT = "*args, **kwargs"
# compile(loss=...)'s names for the loss objects, as keras.losses.get resolves them
LOSS_NAMES = {
    "sparse_categorical_crossentropy": "keras.losses.SparseCategoricalCrossentropy",
    "categorical_crossentropy": "keras.losses.CategoricalCrossentropy",
    "binary_crossentropy": "keras.losses.BinaryCrossentropy",
    "mean_squared_error": "keras.losses.MeanSquaredError", "mse": "keras.losses.MeanSquaredError",
    "mean_absolute_error": "keras.losses.MeanAbsoluteError", "mae": "keras.losses.MeanAbsoluteError",
}

layer("keras.losses.SparseCategoricalCrossentropy", init=_LOSS_INIT, forward="y_true, y_pred, sample_weight=None",
      examples=[ex(T(10, dtype="int64"), T(10, 5), out=()), ex(T(10, 5, dtype="int64"), T(10, 10), error=LOSS_TARGET),
                ex(T(10, 1, dtype="int64"), T(10, 4), out=())],
      )(_loss_object(_sparse, "SparseCategoricalCrossentropy"))
for _name, _runs in (("CategoricalCrossentropy", [ex(T(10, 5), T(10, 5), out=()), ex(T(10, 3), T(10, 3, 1), out=())]),
                     ("BinaryCrossentropy", [])):
    layer(f"keras.losses.{_name}", init=_LOSS_INIT, forward="y_true, y_pred, sample_weight=None",
          examples=_runs + [ex(T(10, 5), T(10, 10), error=LOSS_TARGET), ex(T(4, 3), T(4, 3, 2), error=LOSS_TARGET)],
          )(_loss_object(_same_shape, _name))
for _name in ("MeanSquaredError", "MeanAbsoluteError"):
    layer(f"keras.losses.{_name}", init=_LOSS_INIT, forward="y_true, y_pred, sample_weight=None",
          examples=[ex(T(10, 5), T(10, 10), error=LOSS_TARGET), ex(T(10, 3, 4), T(10, 5, 4), error=LOSS_TARGET)],
          )(_loss_object(_broadcasting, _name))
