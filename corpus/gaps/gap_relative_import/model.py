# Gap (mobilenetv2/v3, efficientnet, regnet, convnext, swin, maxvit): a layer class imported from a
# sibling module of the package (`from .ops import ConvBNReLU`, torchvision's `from ..ops.misc import
# Conv2dNormActivation, SqueezeExcitation, MLP, Permute`) is not resolved, so its output is unknown.
# Runs with torch (python -m gap_relative_import.model from corpus/gaps): (1, 10).
# Expected from shapels: output (1, 10).
import torch
import torch.nn as nn

from .ops import ConvBNReLU


class Net(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(ConvBNReLU(3, 16, stride=2), ConvBNReLU(16, 32))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = x.mean([2, 3])
        return self.fc(x)


model = Net()
out = model(torch.randn(1, 3, 32, 32))
