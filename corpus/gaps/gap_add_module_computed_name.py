# Gap (FALSE POSITIVE, densenet): add_module with a computed name ("block%d" % (i + 1) or an f-string)
# is dropped, while the later constant-name add_module is kept, so BatchNorm2d(32) is checked against the
# output of features.0 (8 channels). Runs with torch: (1, 32, 8, 8). Expected from shapels: no error;
# output (1, 32, 8, 8) (evaluate the name, or make the container unknown).
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1))
        channels = 8
        for i in range(2):
            self.features.add_module("block%d" % (i + 1), nn.Conv2d(channels, channels * 2, 3, padding=1))
            channels = channels * 2
        self.features.add_module("norm", nn.BatchNorm2d(channels))

    def forward(self, x):
        return self.features(x)


model = Net()
out = model(torch.randn(1, 3, 8, 8))  # runs: (1, 32, 8, 8)
