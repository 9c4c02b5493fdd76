"""Causes beyond the constructor argument (shapels/analysis/causes.py, chosen in repair.py).

Each case is a working program (what the author meant) and one mistake people really make in it. The
diagnostic must land on the mistaken line, and its fix, applied, must give back the author's program
exactly: a fix that only makes torch run (resizing a Linear to a map's width, to one sample's
channels) fails these tests. Every fixed text is also run under torch.
"""

from __future__ import annotations

import textwrap

import pytest

from shapels.analysis.engine import analyze

from producer_models import STATE_FOR_ONE_BATCH
from program_runs import apply_fix, torch_error

torch = pytest.importorskip("torch")

CNN = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


model = Net()
x = torch.randn(1, 1, 28, 28)
out = model(x)
'''

LENET = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


net = LeNet()
images = torch.randn(4, 3, 32, 32)
out = net(images)
'''

TABULAR = '''
import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.hidden = nn.Linear(n_features, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


model = Regressor(6)
row = torch.randn(1, 6)
pred = model(row)
'''

NORMALISE = '''
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        std = x.std(dim=-1, keepdim=True)
        x = (x - mean) / (std + 1e-5) * self.scale
        return self.proj(x)


block = Block(16)
tokens = torch.randn(8, 10, 16)
y = block(tokens)
'''

RESNET = '''
import torch
import torch.nn as nn


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm1 = nn.GroupNorm(8, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.norm2 = nn.GroupNorm(8, out_ch)
        self.skip = nn.Conv2d(in_ch, out_ch, 1)

    def forward(self, x):
        h = torch.relu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        return torch.relu(h + self.skip(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = ResBlock(3, 64)
        self.b2 = ResBlock(64, 128)

    def forward(self, x):
        return self.b2(self.b1(x))


model = Net()
y = model(torch.randn(2, 3, 32, 32))
'''

AUTOENCODER = '''
import torch
import torch.nn as nn


class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, stride=2),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 2, stride=2),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 2, stride=2),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AE()
x = torch.rand(4, 1, 28, 28)
loss = nn.MSELoss()(model(x), x)
'''


SENSOR_CNN = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class HAR(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(9, 32, 5, padding=2)
        self.pool1 = nn.MaxPool1d(2, 2)
        self.conv2 = nn.Conv1d(32, 64, 5, padding=2)
        self.pool2 = nn.MaxPool1d(2, stride=2)
        self.fc = nn.Linear(64 * 32, 6)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        return self.fc(x.flatten(1))


x = torch.randn(8, 9, 128)
out = HAR()(x)
'''


FORECASTER = '''
import torch
import torch.nn as nn


class Forecaster(nn.Module):
    def __init__(self, features=16, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


x = torch.randn(1, 20, 16)
y = Forecaster()(x)
'''

SEQUENTIAL_AT_TOP_LEVEL = '''
import torch
import torch.nn as nn

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(start_dim=1),
    nn.Linear(8 * 14 * 14, 10),
)
x = torch.randn(4, 1, 28, 28)
out = model(x)
'''

LOOPED_MLP = '''
import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, n_in, widths, n_out):
        super().__init__()
        layers = []
        for width in widths:
            layers.append(nn.Linear(n_in, width))
            layers.append(nn.ReLU())
            n_in = width
        layers.append(nn.Linear(widths[-1], n_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


model = MLP(23, [200, 100], 2)
y = model(torch.randn(64, 23))
'''

CHAR_LSTM = '''
import torch
import torch.nn as nn


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, vocab_size)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x))
        return self.fc(out)


model = CharLSTM(65, 32, 128)
logits = model(torch.randint(0, 65, (16, 50)))
'''

GAN = '''
import torch
import torch.nn as nn

latent_dim = 64
img_channels = 1


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(latent_dim, 32 * 7 * 7)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, img_channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(self.fc(z).view(-1, 32, 7, 7))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(img_channels, 16, 4, 2, 1)
        self.fc = nn.Linear(16 * 14 * 14, 1)

    def forward(self, img):
        return self.fc(self.conv(img).flatten(1))


G, D = Generator(), Discriminator()
d_real = D(torch.randn(8, img_channels, 28, 28))
d_fake = D(G(torch.randn(8, latent_dim)))
'''

SENTIMENT = '''
import torch
import torch.nn as nn


class Sentiment(nn.Module):
    def __init__(self, vocab, embedding_dim, hidden_dim, output_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding_dim)
        self.rnn = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, text):
        _, hidden = self.rnn(self.embedding(text))
        return self.fc(hidden[-1])


model = Sentiment(1000, 50, 32, 1)
predictions = model(torch.randint(0, 1000, (16, 30))).squeeze(1)
loss = nn.BCEWithLogitsLoss()(predictions, torch.ones(16))
'''

CLIPS = '''
import torch
import torch.nn as nn


class Clips(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv3d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm3d(32)
        self.pool = nn.MaxPool3d(2)
        self.fc = nn.Linear(32 * 2 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        x = x.view(-1, 32 * 2 * 4 * 4)
        return self.fc(x)


out = Clips()(torch.randn(2, 3, 8, 16, 16))
'''

# A patch embedding (einops) sized by the constructor: nothing in the failing call names the input's layout,
# channels or side; the file does (image_size=32 at the call, channels=3 as a default).
PATCHES = '''
import torch
from torch import nn
from einops.layers.torch import Rearrange


class ViT(nn.Module):
    def __init__(self, image_size, patch_size, channels=3, dim=64, num_classes=10):
        super().__init__()
        patch_dim = channels * patch_size * patch_size
        self.to_patch_embedding = nn.Sequential(
            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size),
            nn.LayerNorm(patch_dim),
            nn.Linear(patch_dim, dim),
        )
        self.head = nn.Linear(dim, num_classes)

    def forward(self, img):
        return self.head(self.to_patch_embedding(img).mean(dim=1))


model = ViT(image_size=32, patch_size=8)
img = torch.randn(1, 3, 32, 32)
out = model(img)
'''

# (name, the author's program, what was written instead, the code the diagnostic has)
CLASS_TOKEN = '''
import torch
import torch.nn as nn


class ViT(nn.Module):
    def __init__(self, image_size=32, patch_size=8, dim=64):
        super().__init__()
        self.patch_size = patch_size
        self.to_embedding = nn.Linear(3 * patch_size * patch_size, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))

    def forward(self, img):
        b, c, h, w = img.shape
        p = self.patch_size
        x = img.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), -1)
        x = self.to_embedding(x)
        return torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)


out = ViT()(torch.randn(1, 3, 32, 32))
'''


LAYER_SCALE = '''
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, dim=16, hidden_dim=32):
        super().__init__()
        self.expand = nn.Conv2d(dim, hidden_dim, 1)
        self.project = nn.Conv2d(hidden_dim, dim, 1)
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x):
        return self.project(self.expand(x)) * self.gamma


out = Block()(torch.randn(1, 16, 8, 8))
'''


CASES = [
    ("no batch dim", CNN, ("x = torch.randn(1, 1, 28, 28)", "x = torch.randn(1, 28, 28)"), "input-shape"),
    ("channels-last", LENET, ("torch.randn(4, 3, 32, 32)", "torch.randn(4, 32, 32, 3)"), "input-shape"),
    ("a column for a row", TABULAR, ("torch.randn(1, 6)", "torch.randn(6, 1)"), "input-shape"),
    ("view never assigned", LENET, ("x = x.view(-1, 16 * 5 * 5)", "x.view(-1, 16 * 5 * 5)"), "unused-result"),
    ("flatten never assigned", CNN, ("x = torch.flatten(x, 1)", "torch.flatten(x, 1)"), "unused-result"),
    ("flatten from dim 0", CNN.replace("randn(1, 1, 28, 28)", "randn(4, 1, 28, 28)"),
     ("torch.flatten(x, 1)", "torch.flatten(x, 0)"), "flatten-batch"),
    ("mean without keepdim", NORMALISE, ("x.mean(dim=-1, keepdim=True)", "x.mean(dim=-1)"), "missing-keepdim"),
    ("the wrong name", RESNET, ("self.norm1 = nn.GroupNorm(8, out_ch)", "self.norm1 = nn.GroupNorm(8, in_ch)"),
     "groupnorm-groups"),
    ("a flatten from dim 0 in a top-level Sequential", SEQUENTIAL_AT_TOP_LEVEL,
     ("nn.Flatten(start_dim=1)", "nn.Flatten(start_dim=0)"), "flatten-batch"),
    ("a pool unlike its siblings before an autoencoder's loss", AUTOENCODER,
     ("nn.MaxPool2d(2, stride=2)", "nn.MaxPool2d(3, stride=2)"), "loss-target"),
    ("a 1-D pool unlike its siblings before a Linear", SENSOR_CNN,
     ("nn.MaxPool1d(2, stride=2)", "nn.MaxPool1d(4, stride=2)"), "linear-in-features"),
    ("one sequence where the LSTM takes a batch", FORECASTER,
     ("torch.randn(1, 20, 16)", "torch.randn(20, 16)"), "input-shape"),
    ("no batch dim where the targets keep the batch size",
     CNN.replace("x = torch.randn(1, 1, 28, 28)\nout = model(x)\n",
                 "batch_size = 8\nx = torch.randn(batch_size, 1, 28, 28)\nlabels = torch.randint(0, 10, (batch_size,))\n"
                 "loss = F.cross_entropy(model(x), labels)\n"),
     ("torch.randn(batch_size, 1, 28, 28)", "torch.randn(1, 28, 28)"), "input-shape"),
    ("a name a loop rebinds (n_in = width), meant where the loop's own name is written", LOOPED_MLP,
     ("nn.Linear(n_in, width)", "nn.Linear(width, width)"), "linear-in-features"),
    # Both `lstm(vocab_size, ...)` and `Embedding(vocab_size, embed_dim)` run; only the second uses the
    # parameter embed_dim that the caller passes and the mistake left unused.
    ("a name swapped at the producer, where the consumer's name would leave a parameter unused", CHAR_LSTM,
     ("nn.Embedding(vocab_size, embed_dim)", "nn.Embedding(vocab_size, vocab_size)"), "rnn-input-size"),
    ("no batch dim where a target written inline keeps the batch size",
     CNN.replace("x = torch.randn(1, 1, 28, 28)\nout = model(x)\n",
                 "x = torch.randn(8, 1, 28, 28)\nloss = F.cross_entropy(model(x), torch.randint(0, 10, (8,)))\n"),
     ("torch.randn(8, 1, 28, 28)", "torch.randn(1, 28, 28)"), "input-shape"),
    # The discriminator also takes real images, so only the generator's last layer can change; the
    # generator's output step keeps that layer, so the blame reaches it.
    ("a name swapped in the last layer of another module", GAN,
     ("nn.ConvTranspose2d(16, img_channels, 4, 2, 1)", "nn.ConvTranspose2d(16, latent_dim, 4, 2, 1)"),
     "conv-in-channels"),
    # The loss is where it fails; the constructor's never-used output_dim says which width was meant.
    ("a width written as another name, where the constructor never uses a parameter", SENTIMENT,
     ("nn.Linear(hidden_dim, output_dim)", "nn.Linear(hidden_dim, hidden_dim)"), "loss-target"),
    # bn2's num_features=64 would run too, but then the view's -1 doubles the batch: the conv is the fix.
    ("a producer's literal where the consumer's fix would let a view merge the batch", CLIPS,
     ("self.conv2 = nn.Conv3d(16, 32, 3, padding=1)", "self.conv2 = nn.Conv3d(16, 64, 3, padding=1)"),
     "norm-num-features"),
    ("a view by the batch size written for another image size",
     LENET.replace("x = x.view(-1, 16 * 5 * 5)", "x = x.view(x.size(0), 16 * 5 * 5)"),
     ("torch.randn(4, 3, 32, 32)", "torch.randn(4, 3, 28, 28)"), "input-shape"),
    ("channels-last where an einops pattern splits the image", PATCHES,
     ("torch.randn(1, 3, 32, 32)", "torch.randn(1, 32, 32, 3)"), "input-shape"),
    ("other channels than the default the model is built with", PATCHES,
     ("torch.randn(1, 3, 32, 32)", "torch.randn(1, 6, 32, 32)"), "input-shape"),
    ("another image side than the one the driver names", PATCHES,
     ("torch.randn(1, 3, 32, 32)", "torch.randn(1, 3, 28, 28)"), "input-shape"),
    # conv1 takes RGB, and no image has 6 channels: the data is what is wrong, not the first layer
    ("a channel count no image has, into a first conv built for RGB", LENET,
     ("torch.randn(4, 3, 32, 32)", "torch.randn(4, 6, 32, 32)"), "input-shape"),
    # the class token is (1, 1, dim): the embedding that made the other width is the one to change
    ("another name for a width joined to a class token", CLASS_TOKEN,
     ("nn.Linear(3 * patch_size * patch_size, dim)", "nn.Linear(3 * patch_size * patch_size, image_size)"),
     "cat-mismatch"),
    # 3 * patch_size * patch_size features per patch: the patch embedding was built for RGB patches
    ("a channel count no image has, into a patch embedding built for RGB", CLASS_TOKEN,
     ("torch.randn(1, 3, 32, 32)", "torch.randn(1, 6, 32, 32)"), "input-shape"),
    # gamma is (dim, 1, 1), paired from the right with the conv's channels: the conv made the odd width
    ("a width doubled before a per-channel scale of lower rank", LAYER_SCALE,
     ("nn.Conv2d(hidden_dim, dim, 1)", "nn.Conv2d(hidden_dim, dim * 2, 1)"), "broadcast-mismatch"),
    # ...but a first conv of 4 channels fed RGB images is the conv's typo
    ("a first conv's channel count unlike the RGB images it gets", LENET,
     ("nn.Conv2d(3, 6, 5)", "nn.Conv2d(4, 6, 5)"), "conv-in-channels"),
]


def _mutant(program: str, change: tuple) -> str:
    before, after = change
    assert program.count(before) == 1
    return program.replace(before, after)


_apply, _torch_error = apply_fix, torch_error  # (the names this file's tests use)


@pytest.mark.parametrize("name, program, change, code", CASES, ids=[c[0] for c in CASES])
def test_the_fix_gives_back_the_authors_program(name, program, change, code):
    assert _torch_error(program) is None
    mutant = _mutant(program, change)
    assert _torch_error(mutant) is not None  # the mistake is real
    errors = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert errors, name
    first = errors[0]
    mutated_line = next(i for i, line in enumerate(mutant.splitlines(), 1) if change[1] in line)
    assert (first.code, first.span.start_line) == (code, mutated_line)
    assert first.fix is not None
    assert _apply(mutant, first.fix) == program
    assert [f for f in analyze(program, "model.py").findings if f.severity == "error"] == []


def test_the_diagnosis_says_the_cause_and_the_consequence_is_related():
    mutant = _mutant(CNN, CASES[0][2])
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.message.startswith("`x` has no batch dim")
    assert "(N, 1, 28, 28)" in finding.message
    assert finding.related[0].message.startswith("then: fc1 expects in_features=9216")


def test_no_number_fix_for_a_linear_on_a_feature_map_nor_for_one_sample():
    # Without a cause to name, the Linear's size that would make torch run (the map's width, or the
    # features of one unbatched sample) is still not offered: it changes what the model computes.
    forgot = CNN.replace("        x = torch.flatten(x, 1)\n", "")
    (finding,) = [f for f in analyze(forgot, "model.py").findings if f.severity == "error"]
    assert finding.code == "missing-flatten" and finding.fix.content == "x.flatten(1)"
    assert _torch_error(_apply(forgot, finding.fix)) is None
    loaded = _mutant(CNN, CASES[0][2]).replace("x = torch.randn(1, 28, 28)", "x = torch.randn(1, 784).view(1, 28, 28)")
    (finding,) = [f for f in analyze(loaded, "model.py").findings if f.severity == "error"]
    assert finding.fix is None and finding.alternatives == []
    assert "one unbatched sample" in finding.message


def test_an_image_size_wins_where_the_linear_is_written_for_a_map():
    # fc1's 16 * 5 * 5 says which map it was written for: a 32x32 input gives it, the 28x28 one given does
    # not. Both edits run; the input's keeps the model as written, the Linear's is offered beside it.
    program = LENET.replace("x = x.view(-1, 16 * 5 * 5)", "x = torch.flatten(x, 1)")
    mutant = program.replace("torch.randn(4, 3, 32, 32)", "torch.randn(4, 3, 28, 28)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.message.startswith("the model was built for 32×32 inputs")
    assert _apply(mutant, finding.fix) == program
    assert [a.content for a in finding.alternatives] == ["256"]
    assert _torch_error(_apply(mutant, finding.alternatives[0])) is None


def test_an_image_size_is_the_second_reading_beside_a_plain_number():
    # fc1's 9216 does not say which map it was for: its number stays the fix, the size is offered.
    mutant = CNN.replace("torch.randn(1, 1, 28, 28)", "torch.randn(1, 1, 32, 32)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "linear-in-features" and finding.fix.content == "12544"
    assert "torch.randn(1, 1, 28, 28)" in [a.content for a in finding.alternatives]
    assert any(r.message.startswith("or: the model was built for 28×28 inputs") for r in finding.related)


def test_every_offered_fix_is_valid_python_that_runs():
    for name, program, change, _ in CASES:
        mutant = _mutant(program, change)
        for finding in analyze(mutant, "model.py").findings:
            for fix in ([finding.fix] if finding.fix else []) + finding.alternatives:
                fixed = _apply(mutant, fix)
                compile(fixed, name, "exec")
                assert _torch_error(fixed) is None, (name, fix.message)


def test_a_later_error_with_the_same_cause_folds_into_the_first():
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Two(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(400, 10)
                self.b = nn.Linear(400, 10)

            def forward(self, x):
                x.view(x.size(0), -1)
                return self.a(x) + self.b(x)


        y = Two()(torch.randn(2, 16, 5, 5))
    ''')
    found = [f for f in analyze(text, "model.py").findings if f.severity in ("error", "warning")]
    assert [f.code for f in found] == ["unused-result"]


def test_a_name_in_the_class_before_the_callers_width():
    # LayerNorm(in_dim) where d_model was meant: the fix is the class's name, never Block(64, 64) at the
    # caller, which would change the caller's hyperparameters.
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self, in_dim, d_model):
                super().__init__()
                self.proj = nn.Linear(in_dim, d_model)
                self.norm = nn.LayerNorm(d_model)

            def forward(self, x):
                return self.norm(self.proj(x))


        b = Block(32, 64)
        y = b(torch.randn(4, 10, 32))
    ''')
    mutant = program.replace("nn.LayerNorm(d_model)", "nn.LayerNorm(in_dim)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.span.start_line == program.splitlines().index("        self.norm = nn.LayerNorm(d_model)") + 1
    assert _apply(mutant, finding.fix) == program


def test_an_odd_width_upstream_is_the_typo():
    # Linear(64, 63) then Linear(64, 128): both fixes run, but widths are multiples of 8, so the 63 is
    # the mistake, not the 64 the next layer expects.
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn

        net = nn.Sequential(
            nn.Linear(32, 64),
            nn.ReLU(),
            nn.Linear(64, 128),
        )
        y = net(torch.randn(4, 32))
    ''')
    mutant = program.replace("nn.Linear(32, 64)", "nn.Linear(32, 63)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.span.start_line == program.splitlines().index("    nn.Linear(32, 64),") + 1
    assert _apply(mutant, finding.fix) == program
    assert "63" in [a.content for a in finding.alternatives]


def test_the_one_pool_unlike_its_siblings():
    # Linear(32 * 4 * 4) says a 4x4 map; the pools all halve the map but one, whose kernel 4 leaves 3x3.
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn

        features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 10),
        )
        y = features(torch.randn(2, 3, 32, 32))
    ''')
    mutant = program.replace("nn.ReLU(), nn.MaxPool2d(2, 2),\n    nn.Conv2d(32", "nn.ReLU(), nn.MaxPool2d(4, 2),\n    nn.Conv2d(32")
    assert mutant != program and _torch_error(mutant) is not None
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.span.start_line == 7
    assert _apply(mutant, finding.fix) == program


def test_a_conv_whose_padding_does_not_keep_the_size_before_a_residual_add():
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Basic(nn.Module):
            def __init__(self, ch):
                super().__init__()
                self.conv1 = nn.Conv2d(ch, ch, kernel_size=3, padding=1)
                self.conv2 = nn.Conv2d(ch, ch, kernel_size=3, padding=1)

            def forward(self, x):
                return torch.relu(self.conv2(torch.relu(self.conv1(x))) + x)


        y = Basic(8)(torch.randn(2, 8, 16, 16))
    ''')
    mutant = program.replace("self.conv2 = nn.Conv2d(ch, ch, kernel_size=3, padding=1)",
                             "self.conv2 = nn.Conv2d(ch, ch, kernel_size=5, padding=1)")
    assert _torch_error(mutant) is not None
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert _apply(mutant, finding.fix) == program


def test_pools_of_a_cfg_loop_change_together():
    # One constructor call builds every pool: its kernel 4 with stride 2 breaks the pool convention, and
    # kernel 2 in every pool it builds gives the 4x4 map the classifier was written for.
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn

        cfg = [16, "M", 32, "M", 32, "M"]
        layers = []
        channels = 3
        for v in cfg:
            if v == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(channels, v, kernel_size=3, padding=1), nn.ReLU()]
                channels = v
        model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(32 * 4 * 4, 10))
        y = model(torch.randn(2, 3, 32, 32))
    ''')
    mutant = program.replace("nn.MaxPool2d(kernel_size=2, stride=2)", "nn.MaxPool2d(kernel_size=4, stride=2)")
    assert _torch_error(mutant) is not None
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert _apply(mutant, finding.fix) == program


def test_a_flattening_view_written_for_another_image_size():
    mutant = LENET.replace("torch.randn(4, 3, 32, 32)", "torch.randn(4, 3, 28, 28)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and _apply(mutant, finding.fix) == LENET


def test_an_odd_width_in_a_broadcast():
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(784, 400)
                self.fc21 = nn.Linear(400, 20)
                self.fc22 = nn.Linear(400, 20)

            def forward(self, x):
                h = torch.relu(self.fc1(x))
                mu, logvar = self.fc21(h), self.fc22(h)
                return mu + torch.exp(0.5 * logvar)


        z = Encoder()(torch.randn(8, 784))
    ''')
    mutant = program.replace("self.fc22 = nn.Linear(400, 20)", "self.fc22 = nn.Linear(400, 19)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert _apply(mutant, finding.fix) == program


def test_the_channels_a_product_names():
    # Linear(32 * 7 * 7) names a 32-channel map; the conv before it makes 64: its out_channels changes.
    program = CNN.replace("self.conv2 = nn.Conv2d(32, 64, 3, 1)", "self.conv2 = nn.Conv2d(32, 16, 3, 1)").replace(
        "self.fc1 = nn.Linear(9216, 128)", "self.fc1 = nn.Linear(16 * 12 * 12, 128)")
    assert _torch_error(program) is None
    mutant = program.replace("nn.Conv2d(32, 16, 3, 1)", "nn.Conv2d(32, 64, 3, 1)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert "written for a 16×12×12 map" in finding.message
    assert _apply(mutant, finding.fix) == program


def test_a_stride_unlike_its_siblings_through_a_functional_pool():
    # F.max_pool2d's arithmetic is not followed, so the re-analysis alone decides: conv2's stride 2,
    # where conv1 has 1, leaves a 6x6 map where fc1's 9216 is 64 x 12 x 12.
    mutant = CNN.replace("self.conv2 = nn.Conv2d(32, 64, 3, 1)", "self.conv2 = nn.Conv2d(32, 64, 3, 2)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert _apply(mutant, finding.fix) == CNN


def test_names_where_the_width_is_written_at_a_wrapped_layer_or_a_broadcast():
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn

        channels = 32
        reduction = 4


        class SE(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1)
                self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1)

            def forward(self, x):
                s = x.mean(dim=(2, 3), keepdim=True)
                return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


        class Classifier(nn.Module):
            def __init__(self, d_model=64, nhead=4):
                super().__init__()
                layer = nn.TransformerEncoderLayer(d_model=d_model, nhead=nhead, batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, num_layers=2)

            def forward(self, x):
                return self.encoder(x)


        y = SE()(torch.randn(2, 32, 8, 8))
        z = Classifier()(torch.randn(2, 10, 64))
    ''')
    for before, after in (("nn.Conv2d(channels // reduction, channels, kernel_size=1)",
                           "nn.Conv2d(channels // reduction, reduction, kernel_size=1)"),
                          ("TransformerEncoderLayer(d_model=d_model,", "TransformerEncoderLayer(d_model=nhead,")):
        mutant = program.replace(before, after)
        assert _torch_error(mutant) is not None
        first = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"][0]
        assert _apply(mutant, first.fix) == program, after


def test_a_state_built_for_one_batch_size_follows_the_batch_in_one_fix_of_two_edits():
    from shapels.fixes import apply_fix

    program = STATE_FOR_ONE_BATCH
    assert _torch_error(program) is not None
    (finding,) = [f for f in analyze(program, "model.py").findings if f.severity == "error"]
    assert finding.span.start_line == program.splitlines().index(
        "        h0 = torch.zeros(self.num_layers, 32, self.hidden_size)") + 1
    assert [content for _, content in finding.fix.edits()] == ["x.size(0)", "x.size(0)"]
    fixed = apply_fix(program, finding.fix)
    assert fixed.count("torch.zeros(self.num_layers, x.size(0), self.hidden_size)") == 2
    assert _torch_error(fixed) is None and _torch_error(fixed.replace("randn(16,", "randn(5,")) is None


def test_a_residual_without_its_downsample_is_named():
    source = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
                self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

            def forward(self, x):
                return torch.relu(self.conv2(torch.relu(self.conv1(x))) + x)


        y = Block(16, 32, 2)(torch.randn(2, 16, 8, 8))
    ''')
    assert _torch_error(source) is not None
    (finding,) = [f for f in analyze(source, "model.py").findings if f.severity == "error"]
    assert finding.code == "broadcast-mismatch" and finding.fix is None
    assert "the shortcut needs a downsample" in finding.message


def test_the_width_of_a_wrapped_layer_where_it_is_written():
    source = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(1000, 256)
                layer = nn.TransformerEncoderLayer(d_model=512, nhead=8, batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, 2)
                self.head = nn.Linear(256, 10)

            def forward(self, tokens):
                return self.head(self.encoder(self.embed(tokens)).mean(1))


        y = Model()(torch.randint(0, 1000, (4, 12)))
    ''')
    assert _torch_error(source) is not None
    (finding,) = [f for f in analyze(source, "model.py").findings if f.severity == "error"]
    assert finding.span.start_line == source.splitlines().index(
        "        layer = nn.TransformerEncoderLayer(d_model=512, nhead=8, batch_first=True)") + 1
    assert _torch_error(_apply(source, finding.fix)) is None


def test_a_shape_unpacked_into_one_name_more_finds_the_missing_batch():
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class SelfAttention(nn.Module):
            def __init__(self, dim, heads):
                super().__init__()
                self.heads = heads
                self.qkv = nn.Linear(dim, dim * 3)

            def forward(self, x):
                B, T, C = x.size()
                q, k, v = self.qkv(x).split(C, dim=2)
                return q.view(B, T, self.heads, C // self.heads).transpose(1, 2)


        tokens = torch.randn(1, 10, 64)
        y = SelfAttention(64, 4)(tokens)
    ''')
    mutant = program.replace("torch.randn(1, 10, 64)", "torch.randn(10, 64)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and _apply(mutant, finding.fix) == program


def test_token_ids_given_as_sequence_by_batch_are_transposed():
    # Nothing names the orientation and no constructor number fits: only then is the transpose tried.
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class CharModel(nn.Module):
            def __init__(self, vocab=50, hidden=32, seq_len=20):
                super().__init__()
                self.seq_len, self.hidden = seq_len, hidden
                self.embed = nn.Embedding(vocab, 16)
                self.lstm = nn.LSTM(16, hidden, batch_first=True)

            def forward(self, ids):
                out, _ = self.lstm(self.embed(ids))
                return out.reshape(ids.size(0), self.seq_len * self.hidden)


        ids = torch.randint(0, 50, (4, 20))
        y = CharModel()(ids)
    ''')
    mutant = program.replace("(4, 20)", "(20, 4)")
    assert _torch_error(program) is None and _torch_error(mutant) is not None
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and _apply(mutant, finding.fix) == program


def test_a_sequence_without_its_batch_summed_to_the_features_gets_the_batch_not_the_number():
    # Without its batch, the (50, 40) sequence is pooled over its features and reaches `out` as (50,):
    # in_features=50 would run, with the sequence as the features. The input's batch is the fix.
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Pool(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.score = nn.Linear(dim, 1)

            def forward(self, x):
                weights = torch.softmax(self.score(x), dim=1)
                return (weights * x).sum(dim=1, keepdim=True).squeeze(1)


        class Encoder(nn.Module):
            def __init__(self, in_dim=40, hidden=64, out_dim=32):
                super().__init__()
                self.proj = nn.Linear(in_dim, hidden)
                self.pool = Pool(hidden)
                self.out = nn.Linear(hidden, out_dim)

            def forward(self, feats):
                h = torch.tanh(self.proj(feats))
                h = h / h.norm(dim=-1, keepdim=True)
                return self.out(self.pool(h))


        emb = Encoder()(torch.randn(6, 50, 40))
    ''')
    mutant = program.replace("torch.randn(6, 50, 40)", "torch.randn(50, 40)")
    assert _torch_error(program) is None and _torch_error(mutant) is not None
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(1, 50, 40)"
    assert _torch_error(_apply(mutant, finding.fix)) is None


@pytest.mark.parametrize("shape, view, merges", [
    ("2, 128, 2, 4, 4", "-1, 64 * 2 * 4 * 4", True),  # the -1 takes the batch with half the channels
    ("2, 64, 2, 4, 4", "-1, 64 * 2 * 4 * 4", False),  # whole dims: the batch stays
    ("16, 50, 128", "-1, 128", False),  # batch and time together, whole dims (a char LSTM's logits)
    ("4, 6", "-1, 3", True),
    ("4, 6", "4, -1", False),  # no leading -1
])
def test_a_view_whose_leading_minus_one_takes_part_of_a_dim_is_recorded(shape, view, merges):
    text = f"import torch\nx = torch.randn({shape})\ny = x.view({view})\n"
    result = analyze(text, "view.py")
    assert bool(result.batch_merges) == merges
    x = torch.randn(*eval(f"({shape},)"))
    assert (x.view(*eval(f"({view},)")).shape[0] != x.shape[0]) or not merges  # torch runs it, on another dim 0


def test_an_unused_count_parameter_is_not_offered_as_a_width():
    # num_layers is never used and holds the 2 the input has; it is a count, not the width meant
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Head(nn.Module):
            def __init__(self, in_dim, out_dim, num_layers):
                super().__init__()
                self.fc = nn.Linear(in_dim, out_dim)

            def forward(self, x):
                return self.fc(x)


        y = Head(8, 4, 2)(torch.randn(3, 2))
    ''')
    (finding,) = [f for f in analyze(program, "model.py").findings if f.severity == "error"]
    assert all(fix.content != "num_layers" for fix in [finding.fix, *finding.alternatives] if fix is not None)


def test_a_row_of_targets_is_transposed_where_the_scores_it_meets_are_its_column():
    # (1, 16) against the discriminator's (16, 1) scores: the targets' transpose is what the loss takes. A
    # (1, n) tensor that meets nothing of shape (n, 1) is not transposed (it would make a batch of n).
    program = textwrap.dedent('''
        import torch
        import torch.nn as nn

        d = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
        scores = d(torch.randn(16, 8))
        loss = nn.BCELoss()(scores, torch.ones(16, 1))
    ''')
    mutant = program.replace("torch.ones(16, 1)", "torch.ones(1, 16)")
    assert _torch_error(program) is None and _torch_error(mutant) is not None
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and _apply(mutant, finding.fix) == program
