"""What every Keras layer rule shares: registration under `keras.layers.*`, Keras's input-spec rank
checks, `data_format`, int-or-tuple arguments, and Keras's `None` dims.

Keras 3 semantics, as `keras.src.layers` implements them: the batch axis comes first and is not part
of a layer's configuration; layers build their weights from the first input they see (a Dense has no
in_features); images are channels-last unless `data_format="channels_first"` (the default is
`keras.config.image_data_format()`, "channels_last" unless the user's keras.json changes it).
"""

from __future__ import annotations

from typing import Optional

from shapels.codes import CALL_MISMATCH, INPUT_SHAPE, LAYER_INPUT_RANK, UNDEFINED_DIM
from shapels.rules.base import RuleCall, Unknowable, layer_name, on_call, to_dim
from shapels.rules.registry import Window, layer, lookup
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, Layer, ListValue, Seq, Tensor

KERAS_LAYERS = "keras.layers."
# A constructor argument Keras rejects (ValueError in __init__ or build): no code in the catalogue
# names it; call-mismatch is the nearest, as for torch's.
BAD_ARGUMENT = CALL_MISMATCH
RANK = LAYER_INPUT_RANK


class KerasLayer:
    """A Keras layer passed to another one in an example (`Bidirectional(LSTM(8))`): its class name
    under keras.layers and its constructor arguments."""

    def __init__(self, name: str, *args, **kwargs):
        self.qualname = name if "." in name else KERAS_LAYERS + name
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        inner = ", ".join([repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()])
        return f"{self.qualname.rsplit('.', 1)[-1]}({inner})"


def keras_layer(*names: str, init: str = "", call: str = "inputs", examples=(), preserves_shape: bool = False,
                builds=None, makes_width: Optional[str] = None, refuses_other_sizes: bool = True,
                input_spec: bool = False, window=None):
    """Register a rule for a Keras layer class. `names` are the class names under `keras.layers`
    (aliases included: MaxPool2D for MaxPooling2D); `init` its constructor's own parameters (the
    base Layer's name=, dtype=, input_shape=... are taken by **kwargs); `call` those of its call().
    Every Keras layer's __call__ also takes `training=`. `builds`: (call, input shape) -> the
    {axis: size} its weights are built from at the first call (the InputSpec Keras sets in build()),
    which every later call of the same layer must match (unless `refuses_other_sizes` is False: a layer
    whose built weights broadcast against a later input, which its rule then reads from `call.layer.built`).
    `input_spec`: Keras states the built sizes in the layer's InputSpec (Dense, the convolutions,
    BatchNormalization), so its error says "expected axis -1 of input shape to have value"; elsewhere the
    layer's computation fails (an RNN's matmul). `makes_width`: the argument that sizes its output's last
    axis (Dense's units), as for torch's layers."""
    qualnames = [n if "." in n else KERAS_LAYERS + n for n in names]
    init_spec = ", ".join(p for p in (init, "**kwargs") if p)
    call_spec = call if "training" in call else f"{call}, training=None"
    register = layer(*qualnames, init=init_spec, forward=call_spec, preserves_shape=preserves_shape, examples=examples,
                     builds=builds, makes_width=makes_width, window=window)

    def wrap(fn):
        register(on_call(_matching_built_input(fn, input_spec) if builds is not None and refuses_other_sizes else fn))
        return fn

    return wrap


def keras_window(spatial: int, slides: str = "conv") -> Window:
    """A Keras window layer's Window (registry.Window): `strides`, a padding mode ("valid", "same"), and a
    pool's `pool_size` for its kernel (its strides default to it), a convolution's `kernel_size` and
    `dilation_rate`."""
    if slides == "pool":
        return Window("pool", kernel="pool_size", stride="strides", spatial=spatial, padding_mode=True)
    return Window(slides, stride="strides", dilation="dilation_rate", spatial=spatial, padding_mode=True)


def _matching_built_input(fn, input_spec: bool):
    """A layer already built (its `Layer.built`, set by the analysis at its first certain call) refuses
    an input of another size on a built axis: Keras's InputSpec check, or its weights' computation."""

    def rule(call: RuleCall):
        built = call.layer.built if call.layer is not None else None
        name = _first_input(call)
        shape = call.shape_or_none(name) if name is not None else None
        if built and shape is not None and shape.ranked:
            for axis, size in built.items():
                if not -shape.rank <= axis < shape.rank:
                    continue
                got, want = D.as_int(shape.dim(axis)), D.as_int(size)
                if got is not None and want is not None and got != want:
                    how = (f"Keras: expected axis {axis} of input shape to have value {want}" if input_spec else
                           "its weights were built for it: Keras fails computing with them")
                    call.fail(INPUT_SHAPE, f"{layer_name(call)} was built for inputs with {want} at axis {axis} (at its "
                              f"first call), and this input {shape.show()} has {got} there ({how})", input_name=name)
        return fn(call)

    return rule


def last_axis_built(call: RuleCall, shape: Shape) -> dict:
    """A Dense's kernel is built from the input's last axis."""
    return {-1: shape.dim(-1)}


def channels_built(call: RuleCall, shape: Shape) -> dict:
    """A convolution's kernel is built from the input's channels axis."""
    return {-1 if data_format(call) == "channels_last" else 1: shape.dim(-1 if data_format(call) == "channels_last" else 1)}


def none_dim():
    """Keras's `None`: a size not fixed until the model runs (the batch of a `keras.Input`)."""
    return D.fresh(D.OPEN)


def is_none_dim(d) -> bool:
    """Whether a dim depends on a Keras None (arithmetic on None gives None, as in Keras)."""
    return D.depends_on_open(d)


def keras_dim(d):
    """A computed size as Keras states it: None where it depends on a None."""
    return none_dim() if is_none_dim(d) else d


def require_defined(call: RuleCall, shape: Shape, axis: int, what: str, *, input_name: Optional[str] = None) -> None:
    """Keras builds a weight from this axis of the input: a None there is its error when the layer is
    built ("Shapes used to initialize variables must be fully-defined"). Only Keras's own None (a
    keras.Input's) counts; a size shapels does not know decides nothing."""
    d = shape.dim(axis)
    if d is not None and is_none_dim(d):
        call.fail(UNDEFINED_DIM, f"{layer_name(call)} builds {what} from axis {axis} of its input {shape.show()}, "
                  f"whose size is None: Keras needs it defined", input_name=input_name or _first_input(call))


def is_none(value) -> bool:
    return isinstance(value, Const) and value.value is None


def check_rank(call: RuleCall, shape: Shape, *, ndim: Optional[int] = None, min_ndim: Optional[int] = None,
               max_ndim: Optional[int] = None, code: str = RANK, needs: str = "") -> None:
    """Keras's InputSpec check (`expected min_ndim=2, found ndim=1`). `needs` says what the axes are
    for, in the message."""
    if not shape.ranked:
        return
    rank = shape.rank
    if ndim is not None and rank != ndim:
        expected = f"ndim={ndim}"
    elif min_ndim is not None and rank < min_ndim:
        expected = f"min_ndim={min_ndim}"
    elif max_ndim is not None and rank > max_ndim:
        expected = f"max_ndim={max_ndim}"
    else:
        return
    why = f": {needs}" if needs else ""
    wanted = ndim if ndim is not None else min_ndim
    hint = ""
    if wanted is not None and rank == wanted - 1 and rank >= 1:
        # the usual cause: one sample without its batch axis
        hint = f"; with a batch axis it would be {Shape.of([1, *shape.dims]).show()}"
    call.fail(code, f"{layer_name(call)} gets a {rank}-D input {shape.show()} (Keras: expected {expected}, found "
              f"ndim={rank}){why}{hint}", input_name=_first_input(call))


def _first_input(call: RuleCall) -> Optional[str]:
    for name in ("inputs", "sequences", "query"):
        if name in call.args:
            return name
    return None


def const(call: RuleCall, name: str):
    try:
        return call.const(name)
    except Unknowable:
        return None


def data_format(call: RuleCall) -> str:
    """`channels_last` or `channels_first`; None means Keras's default image_data_format()."""
    value = call.const("data_format")
    if value is None:
        return "channels_last"
    if not isinstance(value, str):
        raise Unknowable("data_format")
    if value.lower() not in ("channels_last", "channels_first"):
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: data_format must be 'channels_last' or 'channels_first', "
                  f"got {value!r}", param="data_format")
    return value.lower()


def int_tuple(call: RuleCall, name: str, n: int, *, allow_zero: bool = False) -> tuple:
    """An int-or-tuple argument (kernel_size=3 or (3, 3)) as n Dims, as Keras's standardize_tuple
    reads it: a tuple of another length, or a value below 1 (0 where allowed), is Keras's ValueError."""
    value = call.value(name)
    if isinstance(value, (Seq, ListValue)):
        items = [to_dim(i) for i in value.items]
        if len(items) != n:
            call.fail(BAD_ARGUMENT, f"{layer_name(call)}: {name} must be an int or a tuple of {n} integers, "
                      f"got {len(items)} of them", param=name)
        if any(i is None for i in items):
            raise Unknowable(name)
    else:
        single = to_dim(value)
        if single is None:
            raise Unknowable(name)
        items = [single] * n
    for item in items:
        v = D.as_int(item)
        if v is not None and (v < 0 if allow_zero else v <= 0):
            bound = ">= 0" if allow_zero else "> 0"
            call.fail(BAD_ARGUMENT, f"{layer_name(call)}: {name} values must be {bound}, got {D.show(item)}",
                      param=name)
    return tuple(items)


def padding_mode(call: RuleCall, *, allow_causal: bool = False) -> str:
    value = call.const("padding")
    if not isinstance(value, str):
        raise Unknowable("padding")
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if value.lower() not in allowed:
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: padding must be one of {', '.join(map(repr, allowed))}, "
                  f"got {value!r}", param="padding")
    return value.lower()


def split_channels(shape: Shape, n: int, fmt: str):
    """(batch, spatial dims, channels) of a ranked (n+2)-D input in `fmt`."""
    dims = list(shape.dims)
    if fmt == "channels_last":
        return dims[0], dims[1:-1], dims[-1]
    return dims[0], dims[2:], dims[1]


def apply_layer(call: RuleCall, inner, shape: Shape):
    """The output of a wrapped Keras layer (Bidirectional's RNN, TimeDistributed's layer) called on a
    tensor of `shape`, by its own rule."""
    rule = lookup(inner.kind) if isinstance(inner, Layer) else None
    if rule is None or not rule.is_layer or not inner.kind.startswith(KERAS_LAYERS):
        raise Unknowable("layer")
    bound = rule.call_signature.bind([Tensor(shape)], {})
    return rule.fn(RuleCall(inner.kind, inner.args, bound, inner))


def show_dims(dims) -> str:
    """A tuple of dims as Python prints it: (5, 5), (3,)."""
    parts = [D.show(d) for d in dims]
    return f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def join_channels(batch, spatial, channels, fmt: str) -> Shape:
    if fmt == "channels_last":
        return Shape.of([batch, *spatial, channels])
    return Shape.of([batch, channels, *spatial])


def positive_int(call: RuleCall, name: str):
    """An argument Keras requires to be a positive int (Dense's units, RepeatVector's n)."""
    value = call.dim_or_none(name)
    if value is None:
        raise Unknowable(name)
    v = D.as_int(value)
    if v is not None and v <= 0:
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: {name} must be a positive integer, got {v}", param=name)
    return value
