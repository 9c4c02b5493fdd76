# LSTM for multivariate time-series forecasting: predicts the next value of the target from a window of
# past features; the hidden state is built in forward from the batch size.
import torch
import torch.nn as nn


class LSTMForecaster(nn.Module):
    def __init__(self, n_features, hidden_size, num_layers, horizon):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size=n_features, hidden_size=hidden_size, num_layers=num_layers,
                            batch_first=True)
        self.norm = nn.LayerNorm(hidden_size)
        self.head = nn.Linear(hidden_size, horizon)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        out, _ = self.lstm(x, (h0, c0))
        out = self.norm(out[:, -1, :])  # last time step
        return self.head(out)


n_features = 5
lookback = 24
horizon = 3

model = LSTMForecaster(n_features, 50, 2, horizon)
window = torch.randn(32, lookback, n_features)
target = torch.randn(32, horizon)
pred = model(window)
loss = nn.MSELoss()(pred, target)
print(pred.shape, loss.item())
