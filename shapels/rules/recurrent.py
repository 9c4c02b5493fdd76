"""RNN, LSTM, GRU and their cells.

Sequence layers take (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in), and return
(output, h_n) — (output, (h_n, c_n)) for LSTM — where output's last dim is D * H_out (D = 2 when
bidirectional; H_out = proj_size for an LSTM with projections, else hidden_size) and the hidden states
are (D * num_layers, N, H_out) ((D * num_layers, H_out) unbatched). batch_first never applies to the
hidden states. Cells take (N, H_in) or (H_in,) and return (N, hidden_size) or (hidden_size,).
"""

from __future__ import annotations

from shapels.codes import CALL_MISMATCH, OP_INPUT_SHAPE, RNN_INPUT_RANK, RNN_INPUT_SIZE
from shapels.rules.base import RuleCall, layer_name
from shapels.rules.registry import T, ex, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq, Tensor

_RNN_INIT = (
    "input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0, "
    "bidirectional=False, device=None, dtype=None"
)
_GRU_INIT = (
    "input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False, "
    "device=None, dtype=None"
)
_LSTM_INIT = (
    "input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False, "
    "proj_size=0, device=None, dtype=None"
)


def _check_input(call: RuleCall, shape: Shape, ranks: tuple) -> None:
    if shape.ranked and shape.rank not in ranks:
        call.fail(
            RNN_INPUT_RANK,
            f"{layer_name(call)} expects a {ranks[0]}-D (unbatched) or {ranks[1]}-D (batched) input, "
            f"got {shape.rank}-D {shape.show()}",
            input_name="input",
        )
    features, expected = shape.dim(-1), call.dim_or_none("input_size")
    if features is not None and expected is not None:
        call.expect(
            features,
            expected,
            code=RNN_INPUT_SIZE,
            param="input_size",
            fix=features,
            input_name="input",
            message=lambda: (
                f"{layer_name(call)} expects input_size={D.show(expected)}, "
                f"but its input {shape.show()} has {D.show(features)} features"
            ),
        )


def _check_hidden(call: RuleCall, value, expected: Shape, what: str) -> None:
    """A given initial state must have exactly the shape the layer would produce."""
    if not isinstance(value, Tensor) or not value.shape.ranked:
        return
    got = value.shape
    message = f"{layer_name(call)} expects {what} of shape {expected.show()}, got {got.show()}"
    if got.rank != expected.rank:
        call.fail(OP_INPUT_SHAPE, message, input_name="hx")
    for g, e in zip(got.dims, expected.dims):
        call.expect(g, e, code=OP_INPUT_SHAPE, message=message, input_name="hx")


def _hidden_state(call: RuleCall, lstm: bool) -> tuple:
    """The given initial state as a tuple of values: (h_0, c_0) for LSTMs, (h_0,) otherwise, () when
    hx is None or unreadable. A single tensor for an LSTM, or a tuple for the others, is the wrong kind."""
    if call.is_none("hx"):
        return ()
    v = call.value("hx")
    if (lstm and isinstance(v, Tensor)) or (not lstm and isinstance(v, (Seq, ListValue))):
        wanted = "an (h_0, c_0) tuple" if lstm else "a single tensor"
        call.fail(CALL_MISMATCH, f"{layer_name(call)} expects hx to be {wanted}", input_name="hx")
    if lstm:
        return tuple(v.items) if isinstance(v, (Seq, ListValue)) and len(v.items) == 2 else ()
    return (v,)


def _sequence(kind: str):
    def rule(call: RuleCall):
        shape = call.shape("input")
        _check_input(call, shape, (2, 3))
        hidden = call.dim("hidden_size")
        proj = call.dim("proj_size") if kind == "lstm" else 0
        h_out = hidden if D.as_int(proj) == 0 else proj
        directions = 2 if call.known_flag("bidirectional") else 1
        states = directions * call.dim("num_layers")
        out_features = directions * h_out
        if not shape.ranked:  # batched or not is unknown, so only the output's tail is known
            out = shape.replace_tail(1, [out_features]) if shape.dims else Shape.suffix([out_features])
            return (out, (None, None)) if kind == "lstm" else (out, None)
        if shape.rank == 3:
            batch, length = shape.dims[:2] if call.known_flag("batch_first") else shape.dims[1::-1]
            batch_dims = [batch]
        else:
            length, batch_dims = shape.dims[0], []
            call.unbatched = True  # (L, H_in) is one sequence: the repair asks whether a batch dim went missing
        if D.as_int(length) == 0:
            call.fail(OP_INPUT_SHAPE, f"{layer_name(call)} needs a sequence length above 0, got {shape.show()}")
        out = shape.replace_tail(1, [out_features])
        h = Shape.of([states, *batch_dims, h_out])
        c = Shape.of([states, *batch_dims, hidden])
        names = ("h_0", "c_0") if kind == "lstm" else ("hx",)
        for state, want, what in zip(_hidden_state(call, kind == "lstm"), (h, c), names):
            _check_hidden(call, state, want, what)
        return (out, (h, c)) if kind == "lstm" else (out, h)

    return rule


layer(
    "torch.nn.RNN",
    makes_width="hidden_size",
    init=_RNN_INIT,
    float_inputs=("input",),
    forward="input, hx=None",
    examples=[
        ex(T(5, 3, 10), init=(10, 20), out=((5, 3, 20), (1, 3, 20))),
        ex(T(5, 10), init=(10, 20, 2), out=((5, 20), (2, 20))),
        ex(T(3, 5, 10), init=(10, 20), init_kwargs={"batch_first": True, "bidirectional": True},
           out=((3, 5, 40), (2, 3, 20))),
        ex(T(5, 3, 10), T(2, 3, 20), init=(10, 20, 2), out=((5, 3, 20), (2, 3, 20))),
        ex(T(5, 3, 10), T(1, 3, 20), init=(10, 20, 2), error=OP_INPUT_SHAPE),
        ex(T(5, 3, 12), init=(10, 20), error=RNN_INPUT_SIZE),
        ex(T(10), init=(10, 20), error=RNN_INPUT_RANK),
    ],
)(_sequence("rnn"))
layer(
    "torch.nn.LSTM",
    makes_width="hidden_size",
    init=_LSTM_INIT,
    float_inputs=("input",),
    forward="input, hx=None",
    examples=[
        ex(T(5, 3, 10), init=(10, 20), out=((5, 3, 20), ((1, 3, 20), (1, 3, 20)))),
        ex(T(4, 7, 8), init=(8, 16, 2), init_kwargs={"batch_first": True, "bidirectional": True, "proj_size": 4},
           out=((4, 7, 8), ((4, 4, 4), (4, 4, 16)))),
        ex(T(7, 8), init=(8, 16), init_kwargs={"proj_size": 4}, out=((7, 4), ((1, 4), (1, 16)))),
        ex(T(5, 3, 10), (T(1, 3, 20), T(1, 3, 20)), init=(10, 20), out=((5, 3, 20), ((1, 3, 20), (1, 3, 20)))),
        ex(T(4, 10, 100), init=(128, 64), error=RNN_INPUT_SIZE),
        ex(T(5, 3, 10), (T(1, 3, 20), T(1, 3, 4)), init=(10, 20), error=OP_INPUT_SHAPE),
        ex(T(5, 3, 10), T(1, 3, 20), init=(10, 20), error=CALL_MISMATCH),
    ],
)(_sequence("lstm"))
layer(
    "torch.nn.GRU",
    makes_width="hidden_size",
    init=_GRU_INIT,
    float_inputs=("input",),
    forward="input, hx=None",
    examples=[
        ex(T(2, 7, 4), init=(4, 6, 3), init_kwargs={"batch_first": True, "bidirectional": True},
           out=((2, 7, 12), (6, 2, 6))),
        ex(T(1, 2, 3, 8), init=(8, 8), error=RNN_INPUT_RANK),
    ],
)(_sequence("gru"))


def _cell(kind: str):
    def rule(call: RuleCall):
        shape = call.shape("input")
        _check_input(call, shape, (1, 2))
        hidden = call.dim("hidden_size")
        out = shape.replace_tail(1, [hidden]) if shape.dims else Shape.suffix([hidden])
        states = _hidden_state(call, kind == "lstm")
        if shape.ranked:
            for state, what in zip(states, ("h_0", "c_0") if kind == "lstm" else ("hx",)):
                _check_hidden(call, state, out, what)
        return (out, out) if kind == "lstm" else out

    return rule


_CELL_INIT = "input_size, hidden_size, bias=True, device=None, dtype=None"
layer(
    "torch.nn.RNNCell",
    makes_width="hidden_size",
    init="input_size, hidden_size, bias=True, nonlinearity='tanh', device=None, dtype=None",
    float_inputs=("input",),
    forward="input, hx=None",
    examples=[
        ex(T(3, 4), init=(4, 6), out=(3, 6)),
        ex(T(4), init=(4, 6), out=(6,)),
        ex(T(3, 4), T(2, 6), init=(4, 6), error=OP_INPUT_SHAPE),
        ex(T(3, 5), init=(4, 6), error=RNN_INPUT_SIZE),
        ex(T(1, 3, 4), init=(4, 6), error=RNN_INPUT_RANK),
    ],
)(_cell("rnn"))
layer(
    "torch.nn.LSTMCell",
    makes_width="hidden_size",
    init=_CELL_INIT,
    float_inputs=("input",),
    forward="input, hx=None",
    examples=[
        ex(T(3, 4), init=(4, 6), out=((3, 6), (3, 6))),
        ex(T(3, 4), (T(3, 6), T(3, 6)), init=(4, 6), out=((3, 6), (3, 6))),
        ex(T(4), init=(4, 6), out=((6,), (6,))),
        ex(T(3, 5), init=(4, 6), error=RNN_INPUT_SIZE),
    ],
)(_cell("lstm"))
layer(
    "torch.nn.GRUCell",
    makes_width="hidden_size",
    init=_CELL_INIT,
    float_inputs=("input",),
    forward="input, hx=None",
    examples=[ex(T(3, 4), init=(4, 6), out=(3, 6)), ex(T(5), init=(4, 6), error=RNN_INPUT_SIZE)],
)(_cell("gru"))
