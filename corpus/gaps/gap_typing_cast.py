# Gap (vgg): typing.cast(int, v) returns an unknown value instead of v, so every conv after it loses its
# channels. Runs with torch: (1, 16, 4, 4). Expected from shapels: output (1, 16, 4, 4).
from typing import cast

import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        in_channels = 3
        for v in [8, "M", 16]:
            if v == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                v = cast(int, v)
                layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = v
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


model = Net()
out = model(torch.randn(1, 3, 8, 8))
