# A small C3D-style network for video clips: Conv3d over (N, C, T, H, W), pooling only spatially at first.
import torch
import torch.nn as nn


class C3DSmall(nn.Module):
    def __init__(self, num_classes=101):
        super(C3DSmall, self).__init__()
        self.conv1 = nn.Conv3d(3, 16, kernel_size=(3, 3, 3), padding=(1, 1, 1))
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2 = nn.Conv3d(16, 32, kernel_size=(3, 3, 3), padding=(1, 1, 1))
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv3 = nn.Conv3d(32, 64, kernel_size=(3, 3, 3), padding=(1, 1, 1))
        self.bn3 = nn.BatchNorm3d(64)
        self.pool3 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.fc6 = nn.Linear(64 * 2 * 4 * 4, 256)
        self.fc7 = nn.Linear(256, num_classes)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=0.5)

    def forward(self, x):
        x = self.pool1(self.relu(self.conv1(x)))  # (N, 16, 8, 16, 16)
        x = self.pool2(self.relu(self.conv2(x)))  # (N, 32, 4, 8, 8)
        x = self.pool3(self.relu(self.bn3(self.conv3(x))))  # (N, 64, 2, 4, 4)
        x = x.view(-1, 64 * 2 * 4 * 4)
        x = self.dropout(self.relu(self.fc6(x)))
        return self.fc7(x)


model = C3DSmall(num_classes=11)
clips = torch.randn(2, 3, 8, 32, 32)
out = model(clips)
print(out.shape)
