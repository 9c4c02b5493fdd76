"""Normalisation rules (shapels/rules/norm.py) against real torch on small generated configurations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import _torch_diff_nra as H  # tests/rules is on sys.path: pytest's rootdir import mode
T, check = H.T, H.check
SETTINGS = H.SETTINGS
size = st.integers(1, 3)


def near(draw, value, lo=1, hi=5):
    """Usually `value`, sometimes any small int (which may equal it)."""
    return value if draw(st.integers(0, 2)) else draw(st.integers(lo, hi))


def rank_near(draw, ranks):
    """Usually one of `ranks`, sometimes a rank around them."""
    return draw(st.sampled_from(ranks)) if draw(st.integers(0, 3)) else draw(st.integers(max(min(ranks) - 1, 0), max(ranks) + 1))


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in H.examples_of("shapels.rules.norm")])
def test_examples(case):
    _, qualname, example = case
    H.check_example(qualname, example)


@SETTINGS
@given(st.data())
def test_batch_norm(data):
    draw = data.draw
    n, lazy = draw(st.integers(1, 3)), draw(st.booleans())
    c = draw(st.integers(1, 4))
    rank = rank_near(draw, (2, 3) if n == 1 else (n + 2,))
    dims = [draw(size) for _ in range(rank)]
    if rank >= 2:
        dims[1] = near(draw, c)
    flags = {"affine": draw(st.booleans()), "track_running_stats": draw(st.booleans()), "bias": draw(st.booleans())}
    name = f"torch.nn.{'Lazy' if lazy else ''}BatchNorm{n}d"
    check(name, T(*dims), init=() if lazy else (c,), init_kwargs=flags)


@SETTINGS
@given(st.data())
def test_instance_norm(data):
    draw = data.draw
    n, lazy = draw(st.integers(1, 3)), draw(st.booleans())
    c = draw(st.integers(1, 4))
    rank = rank_near(draw, (n + 1, n + 2))
    dims = [draw(size) for _ in range(rank)]
    if rank >= n + 1:
        dims[-(n + 1)] = near(draw, c)
    flags = {"affine": draw(st.booleans()), "track_running_stats": draw(st.booleans())}
    name = f"torch.nn.{'Lazy' if lazy else ''}InstanceNorm{n}d"
    check(name, T(*dims), init=() if lazy else (c,), init_kwargs=flags)


@SETTINGS
@given(st.data())
def test_layer_norm_and_rms_norm(data):
    draw = data.draw
    dims = draw(st.lists(size, min_size=0, max_size=4))
    k = draw(st.integers(1, 3))
    tail = dims[-k:] if len(dims) >= k else [draw(size) for _ in range(k)]
    wanted = tuple(near(draw, d, hi=3) for d in tail)
    normalized = wanted[0] if k == 1 and draw(st.booleans()) else draw(st.sampled_from([wanted, list(wanted)]))
    kind = draw(st.sampled_from(["LayerNorm", "RMSNorm"]))
    flags = {"elementwise_affine": draw(st.booleans())}
    if kind == "LayerNorm":
        flags["bias"] = draw(st.booleans())
    check(f"torch.nn.{kind}", T(*dims), init=(normalized,), init_kwargs=flags)


@SETTINGS
@given(st.data())
def test_functional_layer_norm(data):
    draw = data.draw
    dims = draw(st.lists(size, min_size=1, max_size=4))
    k = draw(st.integers(1, min(3, len(dims))))
    normalized = [near(draw, d, hi=3) for d in dims[-k:]]
    fn = draw(st.sampled_from(["layer_norm", "rms_norm"]))
    weight = draw(st.sampled_from([None, T(*normalized), T(*[near(draw, d, hi=3) for d in normalized])]))
    check(f"torch.nn.functional.{fn}", T(*dims), normalized, weight)


@SETTINGS
@given(st.data())
def test_group_norm(data):
    draw = data.draw
    groups = draw(st.integers(1, 4))
    channels = groups * draw(st.integers(1, 3)) if draw(st.integers(0, 3)) else draw(st.integers(1, 8))
    rank = draw(st.integers(1, 4))
    dims = [draw(size) for _ in range(rank)]
    if rank >= 2:
        dims[1] = near(draw, channels, hi=8)
    check("torch.nn.GroupNorm", T(*dims), init=(groups, channels), init_kwargs={"affine": draw(st.booleans())})


@SETTINGS
@given(st.data())
def test_functional_group_and_batch_norm(data):
    draw = data.draw
    rank = draw(st.integers(1, 4))
    dims = [draw(size) for _ in range(rank)]
    c = dims[1] if rank >= 2 else 3
    if draw(st.booleans()):
        weight = draw(st.sampled_from([None, T(c), T(near(draw, c))]))
        check("torch.nn.functional.group_norm", T(*dims), draw(st.integers(1, 4)), weight)
    else:
        training = draw(st.booleans())
        stats = T(near(draw, c)) if not training or draw(st.booleans()) else None
        weight = draw(st.sampled_from([None, T(c), T(near(draw, c))]))
        check("torch.nn.functional.batch_norm", T(*dims), stats, stats, weight, training=training)


@SETTINGS
@given(st.data())
def test_local_response_norm_and_normalize(data):
    draw = data.draw
    dims = draw(st.lists(size, min_size=0, max_size=5))
    if draw(st.booleans()):
        if not dims:
            dims = [2]  # torch's LRN cannot take a 0-d tensor at all (it indexes dims first)
        if draw(st.booleans()):
            check("torch.nn.LocalResponseNorm", T(*dims), init=(draw(st.integers(1, 4)),))
        else:
            check("torch.nn.functional.local_response_norm", T(*dims), draw(st.integers(1, 4)))
    else:
        check("torch.nn.functional.normalize", T(*dims), dim=draw(st.integers(-4, 4)))
