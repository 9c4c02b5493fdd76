# Gap (googlenet, inception): after model.eval(), self.training is not False, and torch.jit.is_scripting()
# is not False, so the output joins a tensor with a tuple. Runs with torch: (1, 10).
# Expected from shapels: output (1, 10).
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 10)
        self.aux = nn.Linear(8, 10)

    def forward(self, x):
        out = self.fc(x)
        if torch.jit.is_scripting():
            return out, self.aux(x)
        if self.training:
            return out, self.aux(x)
        return out


model = Net()
model.eval()
out = model(torch.randn(1, 8))
