"""Model files with a producer bug, shared by the tests of blame by repair (engine, editor, confirm)."""

import textwrap

# conv1 makes 128 channels; bn1 and the block after it both expect 64: conv1 is the one to change.
CONV_PRODUCER_BUG = textwrap.dedent("""
    import torch
    import torch.nn as nn


    class Block(nn.Module):
        def __init__(self, planes):
            super().__init__()
            self.conv = nn.Conv2d(planes, planes, 3, padding=1)

        def forward(self, x):
            return self.conv(x)


    class Net(nn.Module):
        def __init__(self, width=64):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width * 2, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(width)
            self.block = Block(width)

        def forward(self, x):
            return self.block(torch.relu(self.bn1(self.conv1(x))))


    model = Net()
    model.eval()
    out = model(torch.randn(1, 3, 8, 8))
""")


# fc1 makes 8 features where fc2 and fc3 both expect 4: fc1's out_features is the one to change.
LINEAR_PRODUCER_BUG = textwrap.dedent("""\
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 4 * 2)
            self.fc2 = nn.Linear(4, 2)
            self.fc3 = nn.Linear(4, 2)

        def forward(self, x):
            h = self.fc1(x)
            return self.fc2(h) + self.fc3(h)

    model = Net()
    out = model(torch.randn(3, 8))
""")


# h0 and c0 built in forward for a batch of 32, the model called on 16: one fix of two edits.
STATE_FOR_ONE_BATCH = '''import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, input_size=28, hidden_size=64, num_layers=2, num_classes=10):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, 32, self.hidden_size)
        c0 = torch.zeros(self.num_layers, 32, self.hidden_size)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


model = Classifier()
y = model(torch.randn(16, 28, 28))
'''
