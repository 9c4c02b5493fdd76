"""F.conv1d/2d/3d against torch: the sizes come off the weight (out, in / groups, *kernel)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _fn_harness import SETTINGS, T, differential


@SETTINGS
@given(st.data(), st.sampled_from([1, 2, 3]))
def test_functional_conv_against_torch(data, n):
    groups = data.draw(st.sampled_from([1, 1, 2, 3]))
    per_group = data.draw(st.integers(1, 3))
    channels = data.draw(st.sampled_from([per_group * groups, per_group * groups, per_group * groups + 1]))
    out_channels = groups * data.draw(st.integers(1, 2))
    kernel = [data.draw(st.integers(1, 3)) for _ in range(n)]
    spatial = [data.draw(st.integers(1, 6)) for _ in range(n)]
    batched = data.draw(st.booleans())
    stride = data.draw(st.integers(1, 2))
    dilation = data.draw(st.integers(1, 2))
    padding = data.draw(st.sampled_from([0, 1, "valid", "same"]))
    if padding == "same":
        stride = 1  # torch refuses 'same' with a stride (a TypeError-like refusal, not a shape finding)
    shape = ([2] if batched else []) + [channels] + spatial
    differential(f"torch.nn.functional.conv{n}d", T(*shape), T(out_channels, per_group, *kernel),
                 stride=stride, padding=padding, dilation=dilation, groups=groups)
