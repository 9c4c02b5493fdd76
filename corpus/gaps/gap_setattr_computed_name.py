# Gap (shufflenetv2): setattr(self, name, layer) in a loop over computed names (f-strings, zip) leaves
# self.stage2/self.stage3 unknown (the bare annotations `self.stage2: nn.Sequential` carry no value).
# Runs with torch: (1, 16, 8, 8). Expected from shapels: output (1, 16, 8, 8).
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        channels = 3
        for name, out in zip([f"stage{i}" for i in [2, 3]], [8, 16]):
            setattr(self, name, nn.Sequential(nn.Conv2d(channels, out, 3, padding=1)))
            channels = out

    def forward(self, x):
        x = self.stage2(x)
        return self.stage3(x)


model = Net()
out = model(torch.randn(1, 3, 8, 8))
