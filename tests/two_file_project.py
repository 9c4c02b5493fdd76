"""A model whose block comes from another file, for the tests of what reads imports across analyses:
the import loader (tests/analysis/test_imports.py) and the results cache (tests/cli/test_cli_cache.py).
With `WIDTH = 64` the model runs; `WIDTH = 48` (an edit of the same size) makes its head's in_features wrong."""

BLOCKS = """\
import torch.nn as nn

WIDTH = 64


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, WIDTH)

    def forward(self, x):
        return self.fc(x)
"""

MODEL = """\
import torch
import torch.nn as nn
from blocks import Block, WIDTH


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.block(x))


Net()(torch.randn(2, 32))
"""
