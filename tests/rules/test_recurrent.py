"""Recurrent rules (shapels/rules/recurrent.py) against real torch on small generated configurations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import _torch_diff_nra as H  # tests/rules is on sys.path: pytest's rootdir import mode
T, check, SETTINGS = H.T, H.check, H.SETTINGS
size = st.integers(1, 3)


def near(draw, value, lo=1, hi=5):
    """Usually `value`, sometimes any small int (which may equal it)."""
    return value if draw(st.integers(0, 2)) else draw(st.integers(lo, hi))


def perturb(draw, dims, rank_too=True):
    """Usually `dims`, sometimes with one dim changed or (with rank_too) the rank changed."""
    dims = list(dims)
    choice = draw(st.integers(0, 5 if rank_too else 4))
    if choice == 4 and dims:
        i = draw(st.integers(0, len(dims) - 1))
        dims[i] = draw(st.integers(1, 5))
    elif choice == 5:
        dims = dims[1:] if dims and draw(st.booleans()) else [1] + dims
    return T(*dims)


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in H.examples_of("shapels.rules.recurrent")])
def test_examples(case):
    _, qualname, example = case
    H.check_example(qualname, example)


@SETTINGS
@given(st.data())
def test_rnn_lstm_gru(data):
    draw = data.draw
    kind = draw(st.sampled_from(["RNN", "LSTM", "GRU"]))
    input_size, hidden = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    layers, bidirectional, batch_first = draw(st.integers(1, 2)), draw(st.booleans()), draw(st.booleans())
    init_kwargs = {"num_layers": layers, "bidirectional": bidirectional, "batch_first": batch_first}
    if kind == "LSTM" and hidden > 1 and draw(st.booleans()):
        init_kwargs["proj_size"] = draw(st.integers(1, hidden - 1))
    if kind == "RNN" and draw(st.booleans()):
        init_kwargs["nonlinearity"] = "relu"
    rank = draw(st.sampled_from([2, 3])) if draw(st.integers(0, 4)) else draw(st.sampled_from([1, 4]))
    dims = [draw(size) for _ in range(rank)]
    dims[-1] = near(draw, input_size)
    args = [T(*dims)]
    if draw(st.booleans()) and rank in (2, 3):
        # An initial state: the right shape, or a perturbed one.
        states = (2 if bidirectional else 1) * layers
        batch = [] if rank == 2 else [dims[0] if batch_first else dims[1]]
        h_out = init_kwargs.get("proj_size", hidden)
        h = perturb(draw, [states, *batch, h_out])
        if kind == "LSTM" and draw(st.integers(0, 5)):
            h = (h, perturb(draw, [states, *batch, hidden]))  # else a lone tensor: the wrong kind
        args.append(h)
    check(f"torch.nn.{kind}", *args, init=(input_size, hidden), init_kwargs=init_kwargs)


@SETTINGS
@given(st.data())
def test_cells(data):
    draw = data.draw
    kind = draw(st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]))
    input_size, hidden = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rank = draw(st.sampled_from([1, 2])) if draw(st.integers(0, 4)) else draw(st.sampled_from([0, 3]))
    dims = [draw(size) for _ in range(rank)]
    if dims:
        dims[-1] = near(draw, input_size)
    args = [T(*dims)]
    if draw(st.booleans()) and rank in (1, 2):
        want = dims[:-1] + [hidden]
        # torch 2.13 segfaults on an unbatched input with a 2-D state (GRUCell(2, 1)((2,), (1, 1)),
        # LSTMCell(2, 3)((2,), ((3, 3), (3,)))): the rule reports it, but torch must not run it.
        h = perturb(draw, want, rank_too=rank == 2)
        if kind == "LSTMCell":  # (a lone tensor is a TypeError in torch, not a shape error)
            h = (h, perturb(draw, want, rank_too=rank == 2))
        args.append(h)
    check(f"torch.nn.{kind}", *args, init=(input_size, hidden))
