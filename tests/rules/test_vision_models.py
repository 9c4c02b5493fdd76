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
