"""Embedding, SimpleRNN/LSTM/GRU (return_sequences, return_state), and the wrappers Bidirectional and
TimeDistributed, which apply their inner layer's own rule.

An RNN takes (batch, timesteps, features) and gives (batch, units), or (batch, timesteps, units) with
return_sequences; with return_state it gives a list: the output, then each state (batch, units) (an
LSTM has two, h and c). An Embedding adds an output_dim axis to any input (Keras casts the indices).
"""

from __future__ import annotations

from shapels.codes import RNN_INPUT_RANK, UNDEFINED_DIM
from shapels.rules.base import RuleCall, ShapeError, Unknowable, layer_name
from shapels.rules.keras_layers.spec import (BAD_ARGUMENT, RANK, KerasLayer, apply_layer, check_rank, keras_dim,
                                             keras_layer, last_axis_built, positive_int, require_defined)
from shapels.rules.registry import T, ex
from shapels.symbolic.shape import Shape
from shapels.values import Layer


@keras_layer(
    "Embedding",
    init="input_dim, output_dim, embeddings_initializer='uniform', embeddings_regularizer=None, "
         "embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None, "
         "quantization_config=None",
    makes_width="output_dim",
    examples=[
        ex(T(2, 8, dtype="long"), init=(1000, 64), out=(2, 8, 64)),
        ex(T(None, 10, dtype="int"), init=(50, 4), out=(None, 10, 4)),
        ex(T(3, dtype="long"), init=(10, 4), out=(3, 4)),
        ex(T(2, 8, dtype="long"), init=(0, 4), error=BAD_ARGUMENT),
        ex(T(2, 8, dtype="long"), init=(10, -1), error=BAD_ARGUMENT),
    ],
)
def embedding(call: RuleCall):
    positive_int(call, "input_dim")
    output_dim = positive_int(call, "output_dim")
    shape = call.shape("inputs")
    return Shape(tuple(shape.dims) + (output_dim,), shape.ranked)


_RNN_COMMON = ("use_bias=True, kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal', "
               "bias_initializer='zeros', kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, "
               "activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, "
               "dropout=0.0, recurrent_dropout=0.0")
_RNN_FLAGS = "return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False"
_RNN_CALL = "sequences, initial_state=None, mask=None, training=False"
# The states an RNN layer returns with return_state, each (batch, units).
_STATES = {"keras.layers.SimpleRNN": 1, "keras.layers.LSTM": 2, "keras.layers.GRU": 1}


def _rnn(call: RuleCall):
    units = positive_int(call, "units")
    return_sequences = call.known_flag("return_sequences")
    return_state = call.known_flag("return_state")
    shape = call.shape("sequences")
    if not shape.ranked:
        raise Unknowable("sequences")
    check_rank(call, shape, ndim=3, code=RNN_INPUT_RANK, needs=f"{layer_name(call)} takes (batch, timesteps, "
               f"features)")
    require_defined(call, shape, -1, "its kernel", input_name="sequences")
    batch, steps, _ = shape.dims
    out = Shape.of([batch, steps, units] if return_sequences else [batch, units])
    if return_state:
        return (out, *[Shape.of([batch, units])] * _STATES[call.qualname])
    return out


keras_layer(
    "SimpleRNN",
    builds=last_axis_built,  # its kernel: a later call with other features fails (torch's matmul)
    init="units, activation='tanh', " + _RNN_COMMON + ", " + _RNN_FLAGS + ", seed=None",
    call=_RNN_CALL,
    examples=[
        ex(T(2, 5, 8), init=(4,), out=(2, 4)),
        ex(T(2, 5, 8), init=(4,), init_kwargs={"return_sequences": True, "return_state": True}, out=((2, 5, 4), (2, 4))),
        ex(T(2, 8), init=(4,), error=RNN_INPUT_RANK),
    ],
)(_rnn)
keras_layer(
    "LSTM",
    builds=last_axis_built,  # its kernel: a later call with other features fails (torch's matmul)
    init="units, activation='tanh', recurrent_activation='sigmoid', " + _RNN_COMMON.replace(
        "bias_initializer='zeros', ", "bias_initializer='zeros', unit_forget_bias=True, ") + ", seed=None, "
         + _RNN_FLAGS + ", use_cudnn='auto'",
    call=_RNN_CALL,
    examples=[
        ex(T(None, 20, 32), init=(64,), init_kwargs={"return_sequences": True}, out=(None, 20, 64)),
        ex(T(2, 3, 8), init=(4,), init_kwargs={"return_state": True}, out=((2, 4), (2, 4), (2, 4))),
        ex(T(2, 3, 5, 8), init=(4,), error=RNN_INPUT_RANK),
        ex(T(2, 3, 8), init=(0,), error=BAD_ARGUMENT),
    ],
)(_rnn)
keras_layer(
    "GRU",
    builds=last_axis_built,  # its kernel: a later call with other features fails (torch's matmul)
    init="units, activation='tanh', recurrent_activation='sigmoid', " + _RNN_COMMON + ", seed=None, " + _RNN_FLAGS
         + ", reset_after=True, use_cudnn='auto'",
    call=_RNN_CALL,
    examples=[
        ex(T(10, 20, 32), init=(64,), out=(10, 64)),  # seed 003 example 1: GRU(64) then Dense(10) runs
        ex(T(10, 20, 32), init=(64,), init_kwargs={"return_sequences": True, "return_state": True},
           out=((10, 20, 64), (10, 64))),
        ex(T(10, 32), init=(64,), error=RNN_INPUT_RANK),
        ex(T(None, 20, None), init=(8,), error=UNDEFINED_DIM),
    ],
)(_rnn)

_MERGE_MODES = ("sum", "mul", "concat", "ave", None)


@keras_layer(
    "Bidirectional",
    builds=last_axis_built,
    init="layer, merge_mode='concat', weights=None, backward_layer=None",
    call="sequences, initial_state=None, mask=None, training=None",
    examples=[
        ex(T(2, 5, 8), init=(KerasLayer("LSTM", 4),), out=(2, 8)),
        ex(T(2, 5, 8), init=(KerasLayer("GRU", 4, return_sequences=True), "sum"), out=(2, 5, 4)),
        ex(T(2, 5, 8), init=(KerasLayer("GRU", 4, return_sequences=True), None), out=((2, 5, 4), (2, 5, 4))),
        ex(T(2, 5, 8), init=(KerasLayer("LSTM", 4, return_state=True),), out=((2, 8), (2, 4), (2, 4), (2, 4), (2, 4))),
        ex(T(2, 5, 8), init=(KerasLayer("SimpleRNN", 3, return_state=True), None),
           out=((2, 3), (2, 3), (2, 3), (2, 3))),
        ex(T(2, 8), init=(KerasLayer("LSTM", 4),), error=RNN_INPUT_RANK),
        ex(T(2, 5, 8), init=(KerasLayer("LSTM", 4), "max"), error=BAD_ARGUMENT),
    ],
)
def bidirectional(call: RuleCall):
    inner = call.value("layer")
    if not isinstance(inner, Layer) or inner.kind not in _STATES or not call.is_none("backward_layer"):
        raise Unknowable("layer")
    mode = call.const("merge_mode")
    if mode not in _MERGE_MODES:
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or "
                  f"None, got {mode!r}", param="merge_mode")
    result = apply_layer(call, inner, call.shape("sequences"))
    out, states = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
    if mode is None:
        return (out, out, *states, *states)
    if mode == "concat":
        out = out.replace_tail(1, [keras_dim(out.dims[-1] * 2)])
    return (out, *states, *states) if states else out


def _inner_dense_built(call: RuleCall, shape: Shape) -> dict:
    """A TimeDistributed Dense's kernel is built from the last axis (a later call with other features
    fails in Keras, torch's matmul); other inner layers are not followed here."""
    inner = call.value("layer")
    if isinstance(inner, Layer) and inner.kind == "keras.layers.Dense" and shape.ranked:
        return {-1: shape.dim(-1)}
    return {}


@keras_layer(
    "TimeDistributed",
    builds=_inner_dense_built,
    init="layer",
    call="inputs, training=None, mask=None",
    examples=[
        ex(T(2, 3, 8), init=(KerasLayer("Dense", 5),), out=(2, 3, 5)),
        ex(T(None, 10, 28, 28, 1), init=(KerasLayer("Conv2D", 8, 3),), out=(None, 10, 26, 26, 8)),
        ex(T(2, 3, 4, 5), init=(KerasLayer("Flatten"),), out=(2, 3, 20)),
        ex(T(2, 8), init=(KerasLayer("Dense", 5),), error=RANK),
    ],
)
def time_distributed(call: RuleCall):
    inner = call.value("layer")
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    check_rank(call, shape, min_ndim=3, needs="TimeDistributed takes (batch, timesteps, ...) and applies its layer "
               "to each step")
    try:
        out = apply_layer(call, inner, Shape.of([shape.dims[0], *shape.dims[2:]]))
    except ShapeError:
        # Keras's symbolic shape asks the inner layer's compute_output_shape, which skips the checks
        # its eager call makes: the model builds, then fails when it runs; not reported
        raise Unknowable("layer") from None
    if not isinstance(out, Shape) or not out.ranked:
        raise Unknowable("layer")
    return Shape.of([out.dims[0], shape.dims[1], *out.dims[1:]])
