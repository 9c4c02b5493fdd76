"""No driver: the input shape comes from a jaxtyping-style annotation, with a symbolic batch dim."""
import torch.nn as nn
from jaxtyping import Float
from torch import Tensor


class MLP(nn.Module):
    def __init__(self, d_in=784, d_hidden=256, d_out=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, d_hidden),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(d_hidden, d_out),
        )

    def forward(self, x: Float[Tensor, "batch 784"]):
        return self.net(x)
