import torch
import torch.nn as nn


class TabularModel(nn.Module):
    def __init__(self, n_features=6, hidden=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.BatchNorm1d(hidden),
            nn.Dropout(0.1),
            nn.Linear(hidden, 16),
            nn.ReLU(),
            nn.Linear(16, 1),
        )

    def forward(self, x):
        return self.net(x)


model = TabularModel()
batch = torch.randn(32, 6)
preds = model(batch)
model.eval()
row = torch.randn(1, 6)
pred = model(row)
print(preds.shape, pred.shape)
