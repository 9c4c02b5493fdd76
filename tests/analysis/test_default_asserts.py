"""A failing assertion in a class no program builds, which shapels builds with its defaults: claimed only
where it fails whatever the defaults' values (analysis/default_runs.py). Checked against running the same
programs: timm's CoaT pattern, whose defaults (patch_size=16 for stages sized for 4) fail and whose
builders (patch_size=4) run."""

from __future__ import annotations

import textwrap

import pytest

from shapels.analysis.engine import analyze

torch = pytest.importorskip("torch")

# timm/models/coat.py's stages, cut down: the second patch embedding is sized for the first one's grid
# at patch_size=4, but the default is 16
PROGRAM = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class PatchEmbed(nn.Module):
        def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=64):
            super().__init__()
            self.img_size = (img_size, img_size)
            self.grid_size = (img_size // patch_size, img_size // patch_size)
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x):
            B, C, H, W = x.shape
            assert H == self.img_size[0], f"Input height ({{H}}) doesn't match model ({{self.img_size[0]}})."
            return self.proj(x).flatten(2).transpose(1, 2)


    class CoaT(nn.Module):
        def __init__(self, img_size=224, patch_size=16):
            super().__init__()
            self.patch_embed1 = PatchEmbed(img_size, patch_size, 3, 64)
            self.patch_embed2 = PatchEmbed({second}, 2, 64, 128)

        def forward(self, x):
            B = x.shape[0]
            x1 = self.patch_embed1(x)
            H1, W1 = {grid}
            x1 = x1.reshape(B, H1, W1, -1).permute(0, 3, 1, 2)
            return self.patch_embed2(x1)


    def coat_lite(**kwargs):
        return CoaT(patch_size=4, **kwargs)
''')

COAT = PROGRAM.format(second="img_size // 4", grid="self.patch_embed1.grid_size")
# the same with the second stage's sizes written as numbers that no patch size makes agree
HARD = PROGRAM.format(second="56", grid="7, 7")


def _raises(text: str, build: str) -> bool:
    scope: dict = {"__name__": "__main__"}
    try:
        exec(compile(text, "model.py", "exec"), scope)  # a driver at the top level runs here
        eval(build, scope)(torch.randn(1, 3, 224, 224))
    except AssertionError:
        return True
    return False


def _asserts(text: str) -> list:
    return [(f.severity, f.span.start_line) for f in analyze(text, "model.py").findings if f.code == "assert-fails"]


def test_an_assertion_only_the_defaults_fail_is_not_claimed_on_a_class_no_program_builds():
    assert _raises(COAT, "CoaT()")  # the defaults fail whatever the input...
    assert not _raises(COAT, "coat_lite()")  # ...but what the file builds runs
    assert not _raises(COAT, "CoaT(img_size=224, patch_size=4)")
    assert _asserts(COAT) == []


def test_a_program_that_builds_the_class_with_its_defaults_gets_the_assertion():
    driven = COAT + "\n\ny = CoaT()(torch.randn(1, 3, 224, 224))\n"
    assert _raises(driven, "CoaT()")
    found = _asserts(driven)
    assert found and found[0][0] == "error"


@pytest.mark.parametrize("patch_size", [4, 16, 32])
def test_an_assertion_no_values_of_the_defaults_pass_is_still_claimed(patch_size):
    assert _raises(HARD, f"CoaT(patch_size={patch_size})")
    found = _asserts(HARD)
    assert found and found[0][0] == "error"
