"""torchvision's ResNets built by shapels (shapels/rules/vision_models.py): the analysis side runs everywhere;
the comparison with torchvision itself where it imports (`bash scripts/vision-venv.sh`, as
tests/rules/test_vision_data.py)."""

from __future__ import annotations

import textwrap

import pytest

from shapels.analysis.engine import analyze

SCRIPT = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torchvision


    class Features(nn.Module):
        def __init__(self):
            super().__init__()
            resnet = torchvision.models.{arch}(weights=None)
            resnet.conv1 = nn.Conv2d({channels}, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
            self.width = resnet.fc.in_features
            self.body = nn.Sequential(*(list(resnet.children())[:-1]))
            self.head = nn.Linear(self.width, 10)

        def forward(self, x):
            features = self.body(x)
            return self.head(features.view(features.size(0), -1))


    out = Features()(torch.randn({shape}))
''')


def _analysed(arch: str, channels: int, shape: tuple) -> tuple:
    result = analyze(SCRIPT.format(arch=arch, channels=channels, shape=", ".join(map(str, shape))), "features.py")
    (features,) = [m for m in result.modules if m.name == "Features"]
    errors = [f for f in result.findings if f.severity == "error"]
    body = next((layer for layer in features.layers if layer.name == "body"), None)
    output = body.output if body is not None else None
    dims = None if output is None or not output.ranked else [int(d) for d in output.dims]
    return dims, errors


def test_a_resnet_feature_extractor_is_followed():
    dims, errors = _analysed("resnet18", 1, (8, 1, 28, 28))
    assert dims == [8, 512, 1, 1] and errors == []
    _, errors = _analysed("resnet18", 3, (8, 1, 28, 28))  # conv1 left for RGB, MNIST's 1 channel given
    assert len(errors) == 1 and "1" in errors[0].message


@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "resnet50"])
@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (1, 1, 64, 48), (3, 1, 33, 17)])
def test_resnets_agree_with_torchvision(arch, shape):
    torchvision = pytest.importorskip("torchvision")
    import torch

    model = getattr(torchvision.models, arch)(weights=None)
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
    names = [name for name, _ in model.named_children()]
    assert names == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
    body = torch.nn.Sequential(*(list(model.children())[:-1])).eval()
    with torch.no_grad():
        real = list(body(torch.randn(*shape)).shape)
    dims, errors = _analysed(arch, 1, shape)
    assert dims == real and errors == []
    for stage in ("layer1", "layer2", "layer3", "layer4"):  # members of each block, downsample aside
        for block in getattr(model, stage):
            expected = "BasicBlock" if arch in ("resnet18", "resnet34") else "Bottleneck"
            assert type(block).__name__ == expected


WHOLE = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torchvision

    model = torchvision.models.{arch}({options})
    {replace}
    logits = model(torch.randn({shape}))
''')


@pytest.mark.parametrize("arch, options, replace, shape, expected", [
    # torchvision's ResNet.forward flattens before fc; the shapes as torch gives them (the layers of
    # resnet_recipe built with torch and run so)
    ("resnet18", "num_classes=10", "", "4, 3, 64, 64", [4, 10]),
    ("resnet18", "weights=None", "model.fc = nn.Linear(512, 10)", "4, 3, 224, 224", [4, 10]),
    ("resnet18", "weights=None", "model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)", "8, 1, 28, 28", [8, 1000]),
    ("resnet50", "num_classes=10", "", "2, 3, 224, 224", [2, 10]),
])
def test_a_whole_resnet_is_followed(arch, options, replace, shape, expected):
    result = analyze(WHOLE.format(arch=arch, options=options, replace=replace, shape=shape), "train.py")
    assert [f for f in result.findings if f.severity == "error"] == []
    [logits] = [b for b in result.loop_names if b.name == "logits" and b.write]
    assert [int(d) for d in logits.shape.dims] == expected


def test_a_wrong_head_on_a_whole_resnet_is_found():
    source = WHOLE.format(arch="resnet18", options="pretrained=True", replace="model.fc = nn.Linear(256, 2)",
                          shape="4, 3, 224, 224")
    [error] = [f for f in analyze(source, "train.py").findings if f.severity == "error"]
    assert error.code == "linear-in-features" and "its input (4, 512)" in error.message
    assert error.fix.content == "512"


# A stand-in for an installed torchvision, read as source where the loader finds it (site-packages): a
# dataset whose samples its source does not say, a resnet18 whose layers differ from torchvision's (so
# that reading it would show), and a VGG, which no builder models.
INSTALLED_TORCHVISION = {
    "torchvision/__init__.py": "from torchvision import datasets, models, transforms\n",
    "torchvision/datasets/__init__.py": textwrap.dedent('''
        class MNIST:
            def __init__(self, root, train=True, transform=None, download=False):
                self.data, self.targets = load(root)

            def __getitem__(self, index):
                return self.data[index], self.targets[index]

            def __len__(self):
                return len(self.data)
        '''),
    "torchvision/transforms/__init__.py": textwrap.dedent('''
        class ToTensor:
            def __call__(self, pic):
                return to_tensor(pic)
        '''),
    "torchvision/models/__init__.py": "from .resnet import *\nfrom .vgg import *\n",
    "torchvision/models/resnet.py": textwrap.dedent('''
        import torch
        import torch.nn as nn

        __all__ = ["ResNet", "ResNet18_Weights", "resnet18"]


        class ResNet18_Weights:
            DEFAULT = "IMAGENET1K_V1"


        class ResNet(nn.Module):
            def __init__(self, num_classes=1000):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
                self.pool = nn.AdaptiveAvgPool2d((1, 1))
                self.fc = nn.Linear(64, num_classes)
                for m in self.modules():
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight, mode="fan_out")

            def forward(self, x):
                return self.fc(torch.flatten(self.pool(self.conv1(x)), 1))


        def resnet18(*, weights=None, progress=True, **kwargs):
            return ResNet(**kwargs)
        '''),
    "torchvision/models/vgg.py": textwrap.dedent('''
        import torch
        import torch.nn as nn

        __all__ = ["VGG", "vgg11"]


        class VGG(nn.Module):
            def __init__(self, num_classes=1000):
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
                self.classifier = nn.Linear(64 * 16 * 16, num_classes)

            def forward(self, x):
                return self.classifier(torch.flatten(self.features(x), 1))


        def vgg11(*, weights=None, progress=True, **kwargs):
            return VGG(**kwargs)
        '''),
}

MNIST_LOOP = '''
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms
from torch.utils.data import DataLoader

ds = torchvision.datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28 * 3, 10))
for images, labels in DataLoader(ds, batch_size=64):
    out = net(images)
'''
RESNET_HEAD = '''
import torch
import torch.nn as nn
from torchvision.models import resnet18, ResNet18_Weights

model = resnet18(weights=ResNet18_Weights.DEFAULT)
model.fc = nn.Linear(256, 10)
logits = model(torch.randn(4, 3, 224, 224))
'''
RESNET_FEATURES = '''
import torch
import torch.nn as nn
import torchvision.models as models


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        resnet = models.resnet18(weights=None)
        self.body = nn.Sequential(*list(resnet.children())[:-1])
        self.head = nn.Linear(256, 10)

    def forward(self, x):
        return self.head(torch.flatten(self.body(x), 1))


out = Encoder()(torch.randn(2, 3, 224, 224))
'''

RESNET_MODULE = '''
import torch
import torch.nn as nn
from torchvision.models import resnet

model = resnet.resnet18(weights=None)
model.fc = nn.Linear(256, 10)
logits = model(torch.randn(4, 3, 224, 224))
'''


def _outcome(tmp_path, source: str, installed: bool) -> list:
    from shapels.analysis.engine import Options
    from shapels.imports import FileLoader

    site = tmp_path / "site"
    if installed and not site.exists():
        for name, text in INSTALLED_TORCHVISION.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text(text)
    program = tmp_path / "project" / "train.py"
    program.parent.mkdir(exist_ok=True)
    program.write_text(source)
    loader = FileLoader(roots=[site] if installed else [], include_site_packages=False)
    result = analyze(source, str(program), Options(loader=loader))
    return [(f.code, f.span.start_line if f.span else None, f.message,
             [fix.content for fix in ([f.fix] if f.fix else []) + f.alternatives]) for f in result.findings]


@pytest.mark.parametrize("source, code", [(MNIST_LOOP, "linear-in-features"), (RESNET_HEAD, "linear-in-features"),
                                          (RESNET_FEATURES, "linear-in-features")])
def test_an_installed_torchvision_does_not_change_what_is_modelled(tmp_path, source, code):
    # torchvision's datasets, transforms and ResNet builders are modelled; an installed copy's source used to
    # take over from them, and the same file gave other findings (the MNIST images unknown: no error) or fixes
    # (no LazyLinear, its ResNet's weight init read) according to what happened to be installed
    without = _outcome(tmp_path, source, installed=False)
    assert [c for c, *_ in without] == [code]
    assert _outcome(tmp_path, source, installed=True) == without


def test_an_installed_torchvision_does_not_change_what_a_modules_builder_is(tmp_path):
    # `resnet.resnet18()` of `from torchvision.models import resnet`: the module is read where it is installed,
    # its builder stays the modelled one, as `from torchvision.models.resnet import resnet18` gives it
    [without] = _outcome(tmp_path, RESNET_MODULE, installed=False)
    [installed] = _outcome(tmp_path, RESNET_MODULE, installed=True)
    # and its library source's weight init (ResNet.__init__'s) does not withdraw the LazyLinear stand-in
    assert installed == without and without[3] == ["512", "nn.LazyLinear(10)"]


def test_an_installed_torchvision_still_gives_the_models_no_builder_covers(tmp_path):
    source = '''
import torch
import torch.nn as nn
import torchvision

model = torchvision.models.vgg11(weights=None)
model.classifier = nn.Linear(64 * 8 * 8, 10)
logits = model(torch.randn(2, 3, 32, 32))
'''
    assert _outcome(tmp_path, source, installed=False) == []  # a library name, unknown
    [(code, line, message, fixes)] = _outcome(tmp_path, source, installed=True)
    assert code == "linear-in-features" and line == 7 and "16384" in message and fixes[0] == "16384"
