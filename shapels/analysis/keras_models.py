"""Keras models as the analysis follows them: `keras.Sequential` (a list of layers, `.add`, an input
shape given by `keras.Input` or a first layer's `input_shape=`, which builds it at once) and the
functional `keras.Model(inputs, outputs)`; calling either on data, `predict`, and `fit`/`evaluate`
against the loss `compile` named.

What Keras checks is in the rules (shapels/rules/keras_layers/): each layer's own rule, the model's
input standardization (`keras.Model.__call__`) and the losses. This module only orchestrates: it
keeps what a model holds and calls those rules where Keras would, so their findings land where
Keras raises (a layer of a Sequential built at construction: on that layer in the list; a model
called on data: on the call).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import libcst as cst
from shapels.analysis.objects import Instance, UserFunction
from shapels.analysis.positions import Loc
from shapels.analysis.recorder import Run
from shapels.analysis.semantics import iterate
from shapels.rules.base import to_dim
from shapels.rules.keras_layers.merge import MULTI_INPUT
from shapels.rules.keras_layers.models import LOSS_NAMES
from shapels.rules.keras_layers.spec import is_none_dim, none_dim
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import (NONE, UNKNOWN, Const, DictValue, FunctionRef, Layer, ListValue, Number, Seq, Step, Tensor,
                            Value)

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp

SEQUENTIAL, FUNCTIONAL = "keras.Sequential", "keras.Model"
# The rule that standardizes data against the Input a model was built for (rules/keras_layers/models.py)
_INPUT_RULE = "keras.Model.__call__"


@dataclass(eq=False)
class KerasModel(Value):
    """A Keras model: a Sequential's layers in order, or a functional model's inputs and outputs."""

    kind: str  # SEQUENTIAL or FUNCTIONAL
    loc: Optional[Loc] = None  # the constructor call
    layers: list = field(default_factory=list)  # a Sequential's layers (Layer, Instance or KerasModel)
    inputs: Value = NONE  # the keras.Input(s) it was built for: a Sequential's single Tensor, or NONE
    outputs: Value = NONE  # what it returns for `inputs`, once built
    opaque: bool = False  # its layers are not known (a list not followed, an .add on a path that may not run)
    compiled_loss: Optional[str] = None  # the loss object's qualname, from compile(loss=...), as an Instance's
    name: Optional[str] = None

    @property
    def label(self) -> str:
        return self.name or ("sequential" if self.kind == SEQUENTIAL else "functional")

    @property
    def built(self) -> bool:
        return isinstance(self.inputs, (Tensor, Seq, ListValue, DictValue))


class _TopLevelRun:
    """A model's run of its own where no other run is current (a model built or called at a file's top
    level), for `shapes` and hover: `with _TopLevelRun(...) as run:` ... `run.output = result`."""

    def __init__(self, interp: Interp, name: str, model: Value, inputs: Value, concrete: bool):
        self.recorder = interp.recorder
        self.active = self.recorder.at_top_level
        self.run = Run(name, model, {"inputs": inputs}, interp.source, concrete=concrete,
                       forward_loc=getattr(model, "loc", None))
        self.output: Value = UNKNOWN

    def __enter__(self) -> "_TopLevelRun":
        if self.active:
            self.recorder.begin_model_run(self.run)
        return self

    def __exit__(self, *exc) -> bool:
        if self.active:
            self.recorder.end_run(self.output)
        return False


# -- construction ----------------------------------------------------------------------------------
def sequential(interp: Interp, args: list, kwargs: dict, frame: Frame, node) -> Value:
    """`keras.Sequential([...], name=...)`: its layers, and, where the first says its input shape, the
    model built at once (Keras builds it in the constructor, so a layer that cannot take its input
    fails here)."""
    members = args[0] if args else kwargs.get("layers", NONE)
    model = KerasModel(SEQUENTIAL, frame.loc(node), name=_name(kwargs))
    if not _is_none(members):
        items = iterate(members)
        if items is None:
            model.opaque = True
            return model
        for item in items:
            _append(model, item)
    _build(interp, model, frame)
    return model


def functional(interp: Interp, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`keras.Model(inputs, outputs)` / `keras.Model(inputs=..., outputs=...)`. None where it is not a
    functional model (a subclass's `super().__init__()`)."""
    inputs = args[0] if args else kwargs.get("inputs")
    outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
    if inputs is None or outputs is None:
        return None
    model = KerasModel(FUNCTIONAL, frame.loc(node), inputs=inputs, outputs=outputs, name=_name(kwargs))
    if not all(isinstance(t, Tensor) for t in _flat(inputs)):
        model.opaque = True
    else:
        with _TopLevelRun(interp, model.label, model, inputs, False) as run:  # as built, until called on data
            if run.active:
                _record_graph(interp, model, {})
            run.output = outputs
    return model


def _name(kwargs: dict) -> Optional[str]:
    name = kwargs.get("name")
    return name.value if isinstance(name, Const) and isinstance(name.value, str) else None


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None


def _append(model: KerasModel, item: Value) -> None:
    """One member, as Sequential.add takes it: a keras.Input first is the input, not a layer."""
    if isinstance(item, Tensor) and not model.layers and not model.built and _is_input(item):
        model.inputs = item
        return
    if not isinstance(item, (Layer, Instance, KerasModel)):
        model.opaque = True  # a member we do not know: what runs is unknown
        return
    if not model.layers and not model.built:
        declared = _declared_input(item)
        if declared is not None:
            model.inputs = declared
    model.layers.append(item)


def _is_input(tensor: Tensor) -> bool:
    return len(tensor.trace) == 1 and tensor.trace[0].label == "Input"


def _declared_input(item: Value) -> Optional[Tensor]:
    """A first layer's `input_shape=(28, 28, 1)` or `input_dim=64` (Keras 3 turns either into an
    Input with a None batch)."""
    extra = item.args.get("kwargs") if isinstance(item, Layer) else None
    if not isinstance(extra, dict):
        return None
    given = extra.get("input_shape")
    if given is None or _is_none(given):
        given = extra.get("input_dim")
        dims = [to_dim(given)] if given is not None and not _is_none(given) else None
    else:
        dims = _shape_tuple(given)
    if dims is None or any(d is None for d in dims):
        return None
    shape = Shape.of([none_dim(), *dims])
    return Tensor(shape, (Step("Input", shape, item.loc),))


def _shape_tuple(value: Value) -> Optional[list]:
    if not isinstance(value, (Seq, ListValue)):
        return None
    return [none_dim() if _is_none(i) else to_dim(i) for i in value.items]


def _build(interp: Interp, model: KerasModel, frame: Frame) -> None:
    """Run a Sequential's layers on the Input it was built for, each call placed on that layer's own
    constructor, where Keras's error in the constructor points."""
    if model.opaque or not isinstance(model.inputs, Tensor):
        return
    # a model built and never called on data is reported as built, as model.summary() shows it
    with _TopLevelRun(interp, model.label, model, model.inputs, False) as run:
        x: Value = model.inputs
        for member in model.layers:
            where = member.loc if isinstance(member, (Layer, KerasModel)) and member.loc is not None else model.loc
            x = run.output = interp.call(member, [x], {}, dataclasses.replace(frame, unit=where.unit), where.node)
    model.outputs = x


# -- calls -----------------------------------------------------------------------------------------
def call_model(interp: Interp, model: KerasModel, args: list, kwargs: dict, frame: Frame, node) -> Value:
    """`model(x)`: the model run on `x`, recorded as a run of its own (for `shapes` and hover) where
    no other run is current."""
    data = args[0] if args else kwargs.get("inputs", kwargs.get("x"))
    if data is None or model.opaque:
        return UNKNOWN
    with _TopLevelRun(interp, _display_name(interp, model, node), model, data, _concrete(data)) as run:
        run.output, substitution = _forward(interp, model, data, frame, node)
        if run.active and model.kind == FUNCTIONAL:
            _record_graph(interp, model, substitution)
    return run.output


def call_layer_on_data(interp: Interp, layer: Layer, args: list, kwargs: dict, frame: Frame, node, apply) -> Value:
    """A Keras layer called on data at a file's top level (`dense(tf.random.normal((1, 64)))`) is a
    model of its own, as Keras runs it: recorded as a run, for `shapes` and hover. `apply` runs it."""
    if not args or not _concrete(args[0]):
        return apply()
    with _TopLevelRun(interp, _display_name(interp, layer, node), layer, args[0], True) as run:
        run.output = apply()
    return run.output


def call_lambda(interp: Interp, layer: Layer, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`layers.Lambda(fn)(x)` is `fn(x)`: Keras infers the output by running the function (eagerly, and
    symbolically in a functional model). With `output_shape=` Keras's symbolic output is that shape instead of
    the function's, and `arguments=` adds keyword arguments: both are left to the rule (unknown)."""
    function = layer.args.get("function")
    if (len(args) != 1 or set(kwargs) - {"training", "mask"} or not isinstance(function, (UserFunction, FunctionRef))
            or not _is_none(layer.args.get("output_shape", NONE)) or not _is_none(layer.args.get("arguments", NONE))):
        return None
    return interp.call(function, [args[0]], {}, frame, node)


def keras_name(layer: Layer) -> Optional[str]:
    """The `name=` a Keras layer was given (`Dense(256, name='dense_2')`): what Keras's messages call it."""
    extra = layer.args.get("kwargs")
    name = extra.get("name") if isinstance(extra, dict) else None
    return name.value if isinstance(name, Const) and isinstance(name.value, str) else None


def _forward(interp: Interp, model: KerasModel, data: Value, frame: Frame, node) -> tuple:
    """The model's output for `data`, and (functional) the sizes its Inputs' Nones take."""
    if model.kind == SEQUENTIAL:
        x = data
        if isinstance(model.inputs, Tensor) and isinstance(data, Tensor):
            x = _standardized(interp, model.inputs, data, False, frame, node)
        for member in model.layers:
            x = interp.call(member, [x], {}, frame, node)
        return x, {}
    pairs = _pair_inputs(model.inputs, data)
    if pairs is None:
        if isinstance(model.inputs, (Seq, ListValue)):  # another number of tensors than Inputs: Keras refuses it
            interp.call(FunctionRef(_INPUT_RULE), [data, model.inputs, Const(True)], {}, frame, node)
        return _unknown_like(model.outputs), {}
    substitution: dict = {}
    for expected, received in pairs:
        if not (isinstance(expected, Tensor) and isinstance(received, Tensor)):
            continue
        standard = _standardized(interp, expected, received, True, frame, node)
        if not (isinstance(standard, Tensor) and standard.shape.ranked and expected.shape.ranked):
            return _unknown_like(model.outputs), {}
        for want, got in zip(expected.shape.dims, standard.shape.dims):
            if is_none_dim(want) and D.is_symbol(want):
                substitution[want] = got
            elif D.eq(want, got) is not True:
                # data the Input does not fix and Keras still runs (a last axis of 1): the graph built for the
                # Input's sizes is not what runs on it; its first layers, run on the data, may refuse it
                _rerun_first_layers(interp, model, expected, standard, frame, node)
                return _unknown_like(model.outputs), {}
    return _substituted(model.outputs, substitution, frame.loc(node), model.label), substitution


def _rerun_first_layers(interp: Interp, model: KerasModel, expected: Tensor, data: Tensor, frame: Frame, node) -> None:
    """The layers the functional API called on this Input, one after the other (each on the tensor the last
    one gave), up to the first that takes several tensors, run on the data: a convolution built for 3
    channels refuses 1 (Keras's InputSpec), a per-channel Normalization broadcasts it. Their errors are
    reported on the model's call."""
    consumers: dict = {}
    for event in interp.recorder.graph:
        if len(event.inputs) == 1 and isinstance(event.inputs[0], Tensor):
            consumers.setdefault(id(event.inputs[0]), event)
    built: Value = expected
    x: Value = data
    while True:
        event = consumers.get(id(built))
        if event is None or not isinstance(event.layer, Layer) or event.layer.kind in MULTI_INPUT \
                or not isinstance(x, Tensor) or not x.shape.ranked:
            return
        x = interp.call(event.layer, [x], {}, frame, node)
        built = event.output


def _standardized(interp: Interp, expected: Tensor, received: Tensor, check_sizes: bool, frame: Frame, node) -> Value:
    return interp.call(FunctionRef(_INPUT_RULE), [received, Tensor(expected.shape), Const(check_sizes)], {}, frame, node)


def _pair_inputs(inputs: Value, data: Value) -> Optional[list]:
    """(Input, data) pairs: one input, or lists of the same length."""
    if isinstance(inputs, Tensor):
        if isinstance(data, (Seq, ListValue)) and len(data.items) == 1:
            data = data.items[0]
        return [(inputs, data)]
    if isinstance(inputs, (Seq, ListValue)) and isinstance(data, (Seq, ListValue)) and len(inputs.items) == len(data.items):
        return list(zip(inputs.items, data.items))
    return None


def _with_sizes(shape: Shape, substitution: dict) -> Shape:
    if not shape.ranked or not substitution:
        return shape
    return Shape.of([D.substitute(d, substitution) for d in shape.dims])


def _substituted(value: Value, substitution: dict, loc: Loc, label: str) -> Value:
    """The model's outputs for this data: each None the Inputs left open takes the data's size."""
    if isinstance(value, Tensor):
        if not value.shape.ranked:
            return Tensor(Shape.unknown(), value.trace)
        shape = _with_sizes(value.shape, substitution)
        return Tensor(shape, value.trace + (Step(label, shape, loc),))
    if isinstance(value, Seq):
        return Seq(tuple(_substituted(v, substitution, loc, label) for v in value.items))
    if isinstance(value, ListValue):
        return ListValue([_substituted(v, substitution, loc, label) for v in value.items])
    if isinstance(value, DictValue):
        return DictValue({k: _substituted(v, substitution, loc, label) for k, v in value.items.items()})
    return UNKNOWN


def _unknown_like(value: Value) -> Value:
    if isinstance(value, Tensor):
        return Tensor(Shape.unknown(), value.trace)
    if isinstance(value, (Seq, ListValue)):
        items = [_unknown_like(v) for v in value.items]
        return Seq(tuple(items)) if isinstance(value, Seq) else ListValue(items)
    return UNKNOWN


def _flat(value: Value) -> list:
    if isinstance(value, (Seq, ListValue)):
        return [t for v in value.items for t in _flat(v)]
    if isinstance(value, DictValue):
        return [t for v in value.items.values() for t in _flat(v)]
    return [value]


def _concrete(data: Value) -> bool:
    tensors = [t for t in _flat(data) if isinstance(t, Tensor)]
    return bool(tensors) and all(t.shape.ranked and all(D.is_concrete(d) for d in t.shape.dims) for t in tensors)


def _display_name(interp: Interp, model: KerasModel, node) -> str:
    """What the code calls the model (`model` in `model(x)` or `model.fit(...)`), else its own name."""
    func = node.func if isinstance(node, cst.Call) else None
    if isinstance(func, cst.Attribute):
        func = func.value
    if isinstance(func, (cst.Name, cst.Attribute)):
        return interp.node_text(func)
    return model.label


def _record_graph(interp: Interp, model: KerasModel, substitution: dict) -> None:
    """A functional model's layers, for `shapes`: the steps its output came through (the longest
    path of the graph), each with the shape it gave for this data."""
    if not isinstance(model.outputs, Tensor):
        return
    steps = model.outputs.trace
    for before, step in zip(steps, steps[1:]):
        if isinstance(step.layer, Layer) and step.loc is not None:
            interp.recorder.layer(step.loc, step.layer, [Tensor(_with_sizes(before.shape, substitution))],
                                  Tensor(_with_sizes(step.shape, substitution)))


# -- methods ---------------------------------------------------------------------------------------
# Methods that run the model on their first argument (predict_on_batch, ...) and those that also
# compare the target with the output under the compiled loss.
_PREDICTS = {"predict", "predict_on_batch", "predict_step"}
_TRAINS = {"fit", "evaluate", "train_on_batch", "test_on_batch"}
# What keras.Model gives a subclass (a user class's own methods of these names come first)
MODEL_METHODS = _PREDICTS | _TRAINS | {"compile", "add_weight", "summary"}


def call_method(interp: Interp, model: Value, name: str, args: list, kwargs: dict, frame: Frame, node) -> Value:
    """A method of a Keras model: a KerasModel, or an Instance of a keras.Model / keras.layers.Layer
    subclass (whose `call` runs where the model is called)."""
    if name in _PREDICTS:
        data = args[0] if args else kwargs.get("x")
        if data is None:
            return UNKNOWN
        if name == "predict":
            data = _first_batch(data, _batch_size(args, kwargs, 1), frame.loc(node))
        return _run(interp, model, data, frame, node)
    if name in _TRAINS:
        return _train(interp, model, name, args, kwargs, frame, node)
    if name == "compile":
        if isinstance(model, (KerasModel, Instance)):
            model.compiled_loss = _loss_name(args[1] if len(args) > 1 else kwargs.get("loss"))
        return NONE
    if name == "add_weight":
        dims = _shape_tuple(kwargs.get("shape", args[0] if args else NONE))
        return Tensor(Shape.of(dims)) if dims is not None and None not in dims else UNKNOWN
    if not isinstance(model, KerasModel):
        return NONE if name == "summary" else UNKNOWN
    if name == "add" and model.kind == SEQUENTIAL and args:
        return _add(interp, model, args[0], frame, node)
    if name == "build" and model.kind == SEQUENTIAL and args and not model.built:
        dims = _shape_tuple(args[0])
        if dims is not None and all(d is not None for d in dims):
            shape = Shape.of(dims)
            model.inputs = Tensor(shape, (Step("Input", shape, frame.loc(node)),))
            _build(interp, model, frame)
        return NONE
    if name == "pop" and model.kind == SEQUENTIAL:
        model.opaque = True  # the layers that remain are rebuilt: not followed
        return UNKNOWN
    return NONE if name in ("summary", "save", "save_weights", "load_weights") else UNKNOWN


# fit/evaluate/predict(batch_size=None) on arrays: Keras's default batch
_DEFAULT_BATCH = 32


def _batch_size(args: list, kwargs: dict, position: int) -> Optional[int]:
    """The batch_size a fit/evaluate/predict call asks for (its positional place after x[, y]); Keras's
    default where it is None; None where it is not a known int."""
    value = args[position] if len(args) > position else kwargs.get("batch_size", NONE)
    if _is_none(value):
        return _DEFAULT_BATCH
    return D.as_int(to_dim(value))


def _first_batch(data: Value, size: Optional[int], loc: Optional[Loc] = None) -> Value:
    """The first batch Keras cuts from arrays of N samples: min(batch_size, N) of them (every batch but the
    last is full); unchanged where N or the size is not known."""
    if isinstance(data, (Seq, ListValue)):
        items = [_first_batch(item, size, loc) for item in data.items]
        return Seq(tuple(items)) if isinstance(data, Seq) else ListValue(items)
    if not isinstance(data, Tensor) or size is None or not data.shape.ranked or not data.shape.rank:
        return data
    samples = D.as_int(data.shape.dims[0])
    if samples is None or samples <= size:
        return data
    shape = data.shape.with_dim(0, size)
    return dataclasses.replace(data, shape=shape, trace=data.trace + (Step("batch", shape, loc),))


def _run(interp: Interp, model: Value, data: Value, frame: Frame, node) -> Value:
    if isinstance(model, KerasModel):
        return call_model(interp, model, [data], {}, frame, node)
    return interp.call(model, [data], {}, frame, node)


def build_subclass(interp: Interp, instance: Instance, args: list, frame: Frame) -> None:
    """A Keras subclass's first call runs its own `build(input_shape)` first, with the input's shape as a
    tuple (None where Keras leaves a size open), as Layer.__call__ does."""
    if instance.keras_built:
        return
    instance.keras_built = True
    found = instance.info.find_method("build")
    first = args[0] if args else None
    if found is None:
        return
    if isinstance(first, (Seq, ListValue)) and first.items and not getattr(first, "uncertain", False):
        shapes = [_shape_value(item) for item in first.items]  # a list of inputs: a list of shapes, as Keras gives
        shape = ListValue(shapes) if None not in shapes else None
    else:
        shape = _shape_value(first)
    if shape is not None:
        interp.invoke(UserFunction(found[1], found[0]), [shape], {}, frame, receiver=instance)


def _shape_value(value: Value) -> Optional[Seq]:
    """A tensor's shape as the tuple Keras's build() receives (None where Keras leaves a size open)."""
    if not isinstance(value, Tensor) or not value.shape.ranked:
        return None
    return Seq(tuple(Const(None) if is_none_dim(d) else Number(D.const(d)) for d in value.shape.dims))


def _add(interp: Interp, model: KerasModel, item: Value, frame: Frame, node) -> Value:
    """`model.add(layer)`: where the model is built, Keras rebuilds it at once, so a layer that cannot
    take the model's output fails at this call."""
    if not frame.certain:
        model.opaque = True
        return NONE
    was_built = model.built and isinstance(model.outputs, Tensor)
    _append(model, item)
    if model.opaque:
        return NONE
    if was_built and model.layers and model.layers[-1] is item:
        model.outputs = interp.call(item, [model.outputs], {}, frame, node)
    elif not was_built and model.built:
        _build(interp, model, frame)
    return NONE


def _loss_name(value: Optional[Value]) -> Optional[str]:
    """compile(loss=...) as the loss object's qualname: a name Keras knows, or keras.losses.<fn>."""
    if isinstance(value, Const) and isinstance(value.value, str):
        return LOSS_NAMES.get(value.value)
    if isinstance(value, FunctionRef):
        return LOSS_NAMES.get(value.qualname.rsplit(".", 1)[-1])
    if isinstance(value, Layer) and value.kind.startswith("keras.losses."):
        return value.kind
    return None


def _train(interp: Interp, model: Value, name: str, args: list, kwargs: dict, frame: Frame, node) -> Value:
    """fit/evaluate(x, y): the model on x, then the compiled loss on (y, output), as Keras computes it."""
    x = args[0] if args else kwargs.get("x")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if x is None:
        return UNKNOWN
    if name in ("fit", "evaluate"):  # the model sees batches of batch_size: its first one
        size = _batch_size(args, kwargs, 2)
        x, y = _first_batch(x, size, frame.loc(node)), _first_batch(y, size, frame.loc(node)) if y is not None else None
    output = _run(interp, model, x, frame, node)
    compiled = model.compiled_loss if isinstance(model, (KerasModel, Instance)) else None
    if compiled is not None and isinstance(y, Tensor) and isinstance(output, Tensor):
        loss = interp.call(FunctionRef(compiled), [], {}, frame, node)
        interp.call(loss, [y, output], {}, frame, node)
    return UNKNOWN


# -- attributes ------------------------------------------------------------------------------------
def attribute(model: KerasModel, name: str) -> Optional[Value]:
    """`model.layers`, `model.output_shape`, `model.inputs`...; None: a method (bound by the caller)."""
    if name == "layers" and not model.opaque:
        return ListValue(list(model.layers))
    if name in ("input", "inputs") and model.built:
        return model.inputs if name == "input" or not isinstance(model.inputs, Tensor) else ListValue([model.inputs])
    if name in ("output", "outputs") and isinstance(model.outputs, (Tensor, Seq, ListValue)):
        return model.outputs if name == "output" or not isinstance(model.outputs, Tensor) else ListValue([model.outputs])
    if name in ("input_shape", "output_shape"):
        value = model.inputs if name == "input_shape" else model.outputs
        if isinstance(value, Tensor) and value.shape.ranked:
            return Seq(tuple(Const(None) if is_none_dim(d) else Number(D.const(d)) for d in value.shape.dims))
        return UNKNOWN
    if name == "name":
        return Const(model.label)
    return None


__all__: list[Any] = ["FUNCTIONAL", "MODEL_METHODS", "SEQUENTIAL", "KerasModel", "attribute", "build_subclass", "call_method",
                      "call_model", "functional", "sequential"]
