"""A window layer (conv, pool) whose kernel, stride or padding is off, blamed on its own line with the
value its siblings and the conventions say was meant (shapels/analysis/causes/geometry.py for torch,
keras.py for Keras, sliding.py for what the file's other calls of the class write).

Each case is a working program and one slip in a layer's geometry; the program and the mutant are run
for real (torch, Keras on its torch backend), the error must be reported on the slipped line, and its
fix, applied, must give back the author's program exactly.
"""

from __future__ import annotations

import os
import textwrap

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
torch = pytest.importorskip("torch")

from program_runs import apply_fix, torch_error  # noqa: E402
from shapels.analysis.engine import analyze  # noqa: E402


_run, _apply = torch_error, apply_fix  # (the names this file's tests use)


def _check(program: str, before: str, after: str) -> None:
    """The program runs; with `before` written `after` it fails, shapels says so on that line, and its
    fix gives back the program."""
    program = textwrap.dedent(program)
    assert program.count(before) == 1
    mutant = program.replace(before, after)
    assert _run(program) is None
    assert _run(mutant) is not None  # the slip is real
    errors = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert errors
    line = next(i for i, text in enumerate(mutant.splitlines(), 1) if after in text)
    assert errors[0].span.start_line == line, errors[0].message
    assert errors[0].fix is not None and _apply(mutant, errors[0].fix) == program


UNET_1D = '''
import torch
import torch.nn as nn


class Unet1D(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.down = nn.Conv1d(dim, dim, 3, padding=1)
        self.mid = nn.Conv1d(dim, dim, 3, padding=1)
        self.up = nn.Conv1d(2 * dim, dim, 3, padding=1)

    def forward(self, x):
        h = self.down(x)
        x = self.mid(h)
        return self.up(torch.cat((x, h), dim=1))


out = Unet1D(8)(torch.randn(1, 8, 16))
'''


@pytest.mark.parametrize("after", ["nn.Conv1d(dim, dim, 3, padding=2)", "nn.Conv1d(dim, dim, 5, padding=1)"])
def test_a_conv_that_does_not_keep_the_size_before_a_skips_cat(after):
    # padding 2 with kernel 3, or kernel 5 with padding 1: which one slipped is the one its siblings do not
    # write (they write kernel 3 with padding 1)
    _check(UNET_1D, "self.mid = nn.Conv1d(dim, dim, 3, padding=1)", "self.mid = " + after)


def test_a_pointwise_conv_written_with_kernel_3_before_a_residual_add():
    program = '''
        import torch
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self, dim, hidden):
                super().__init__()
                self.expand = nn.Conv2d(dim, hidden, 1)
                self.mix = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
                self.project = nn.Conv2d(hidden, dim, 1)

            def forward(self, x):
                return x + self.project(self.mix(self.expand(x)))


        out = Block(8, 32)(torch.randn(1, 8, 16, 16))
    '''
    _check(program, "self.project = nn.Conv2d(hidden, dim, 1)", "self.project = nn.Conv2d(hidden, dim, 3)")


def test_a_stem_stride_that_neither_halves_nor_patchifies():
    # the positional bias is written for the 16x16 map a stride-2 stem leaves; stride 3 leaves 11x11
    program = '''
        import torch
        import torch.nn as nn


        class Stem(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
                self.pos = nn.Parameter(torch.zeros(1, 8, 16, 16))

            def forward(self, x):
                return self.conv(x) + self.pos


        out = Stem()(torch.randn(1, 3, 32, 32))
    '''
    _check(program, "nn.Conv2d(3, 8, 3, stride=2, padding=1)", "nn.Conv2d(3, 8, 3, stride=3, padding=1)")


def test_an_einops_split_after_a_conv_that_grew_the_map():
    pytest.importorskip("einops")
    program = '''
        import torch
        import torch.nn as nn
        from einops import rearrange


        class Windows(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.stem = nn.Conv2d(3, dim, 3, padding=1)
                self.local = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

            def forward(self, x):
                x = self.local(self.stem(x))
                return rearrange(x, "b d (x w1) (y w2) -> b x y w1 w2 d", w1=4, w2=4)


        out = Windows(8)(torch.randn(1, 3, 16, 16))
    '''
    _check(program, "nn.Conv2d(dim, dim, 3, padding=1, groups=dim)", "nn.Conv2d(dim, dim, 3, padding=2, groups=dim)")


def test_a_conv_that_runs_is_left_alone():
    # a valid 3x3 among 1x1 convs, where nothing needs the size kept: no finding, no fix
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn

        net = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 3), nn.Conv2d(8, 8, 1), nn.Flatten(),
                            nn.Linear(8 * 14 * 14, 10))
        out = net(torch.randn(1, 3, 16, 16))
    ''')
    assert _run(program) is None
    assert [f for f in analyze(program, "model.py").findings if f.severity == "error"] == []


keras = pytest.importorskip("keras")

RESIDUAL = '''
import numpy as np
from keras import layers
from keras.src.models import Functional

image = layers.Input(shape=(16, 16, 8))
x = layers.Conv2D(8, 1)(image)
x = layers.Conv2D(8, 3, padding="same")(x)
x = layers.Conv2D(32, 1)(x)
shortcut = layers.Conv2D(32, 1)(image)
x = layers.Add()([x, shortcut])
x = layers.GlobalAveragePooling2D()(x)
model = Functional(image, layers.Dense(10)(x))
out = model(np.zeros((2, 16, 16, 8), "float32"))
'''


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_a_projection_shortcut_written_with_kernel_3():
    # "valid" padding: kernel 3 leaves 14x14 where the block's other 1x1 convolutions keep 16x16
    _check(RESIDUAL, "shortcut = layers.Conv2D(32, 1)(image)", "shortcut = layers.Conv2D(32, 3)(image)")


INCEPTION = '''
import numpy as np
from keras import layers
from keras.src.models import Functional


def block(x):
    branch1x1 = layers.Conv2D(16, 1)(x)
    branch3x3 = layers.Conv2D(16, 3, padding="same")(x)
    branch_pool = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return layers.concatenate([branch1x1, branch3x3, branch_pool], axis=3)


image = layers.Input(shape=(16, 16, 8))
x = block(image)
x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
x = layers.GlobalAveragePooling2D()(x)
model = Functional(image, layers.Dense(10)(x))
out = model(np.zeros((2, 16, 16, 8), "float32"))
'''


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_an_inception_branchs_pool_that_strides():
    # the other AveragePooling2D of the file strides (1, 1): the branch's (2, 2) halves its map
    _check(INCEPTION, 'branch_pool = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)',
           'branch_pool = layers.AveragePooling2D((3, 3), strides=(2, 2), padding="same")(x)')


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_a_downsampling_conv_whose_kernel_is_not_its_strides():
    # ConvNeXt's stem and downsampling layers tile the map (kernel = strides); kernel 4 with strides 2
    # leaves a map too small for the next downsampling
    program = '''
        import numpy as np
        from keras import layers
        from keras.src.models import Functional

        image = layers.Input(shape=(16, 16, 3))
        x = layers.Conv2D(8, kernel_size=4, strides=4)(image)
        x = layers.Conv2D(16, kernel_size=2, strides=2)(x)
        x = layers.Conv2D(32, kernel_size=2, strides=2)(x)
        x = layers.GlobalAveragePooling2D()(x)
        model = Functional(image, layers.Dense(10)(x))
        out = model(np.zeros((2, 16, 16, 3), "float32"))
    '''
    _check(program, "x = layers.Conv2D(16, kernel_size=2, strides=2)(x)",
           "x = layers.Conv2D(16, kernel_size=4, strides=2)(x)")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_a_same_pool_that_strides_where_its_branch_meets_others():
    # no other AveragePooling2D in the file: "same" says the branch's map was to be kept, strides 2 halves it
    program = '''
        import numpy as np
        from keras import layers
        from keras.src.models import Functional

        image = layers.Input(shape=(16, 16, 8))
        branch_0 = layers.Conv2D(16, 1)(image)
        branch_pool = layers.AveragePooling2D(3, strides=1, padding="same")(image)
        x = layers.Concatenate(axis=3)([branch_0, branch_pool])
        x = layers.GlobalAveragePooling2D()(x)
        model = Functional(image, layers.Dense(10)(x))
        out = model(np.zeros((2, 16, 16, 8), "float32"))
    '''
    _check(program, 'layers.AveragePooling2D(3, strides=1, padding="same")',
           'layers.AveragePooling2D(3, strides=2, padding="same")')


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_a_stem_pool_far_upstream_of_the_window_with_no_room():
    # the blocks between the stem and the last window are more than a trace keeps: the file's other
    # MaxPooling2D layers write pool size 3, and the stem's 4 leaves too small a map at the end
    program = '''
        import numpy as np
        from keras import layers
        from keras.src.models import Functional

        image = layers.Input(shape=(15, 15, 3))
        x = layers.MaxPooling2D(3, strides=2)(image)
        for _ in range(24):
            x = layers.Conv2D(4, 3, padding="same")(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(3, strides=2)(x)
        x = layers.MaxPooling2D(3, strides=2)(x)
        x = layers.GlobalAveragePooling2D()(x)
        model = Functional(image, layers.Dense(10)(x))
        out = model(np.zeros((2, 15, 15, 3), "float32"))
    '''
    _check(program, "x = layers.MaxPooling2D(3, strides=2)(image)", "x = layers.MaxPooling2D(4, strides=2)(image)")
