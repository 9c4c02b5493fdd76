# Multi-input model: a CNN branch for the image and an MLP branch for a metadata vector, concatenated
# before the classifier (e.g. skin-lesion images + patient age/sex/site).
import torch
import torch.nn as nn
import torch.nn.functional as F


class SpatialAttention(nn.Module):
    """CBAM's spatial attention: a 7x7 conv over the channel-wise mean and max maps."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        avg_out = torch.mean(x, dim=1, keepdim=True)
        max_out, _ = torch.max(x, dim=1, keepdim=True)
        attn = torch.sigmoid(self.conv(torch.cat([avg_out, max_out], dim=1)))
        return x * attn


class FusionNet(nn.Module):
    def __init__(self, meta_features, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.attn = SpatialAttention()
        self.img_fc = nn.Linear(64 * 8 * 8, 128)

        self.meta = nn.Sequential(
            nn.Linear(meta_features, 32),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Linear(32, 16),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(128 + 16, num_classes)

    def forward(self, image, meta):
        x = self.pool(F.relu(self.conv1(image)))  # 64 -> 32
        x = self.pool(F.relu(self.conv2(x)))  # 32 -> 16
        x = self.attn(x)
        x = self.pool(F.relu(self.conv3(x)))  # 16 -> 8
        x = x.view(-1, 64 * 8 * 8)
        x = F.relu(self.img_fc(x))
        m = self.meta(meta)
        combined = torch.cat((x, m), dim=1)
        return self.classifier(combined)


model = FusionNet(meta_features=9, num_classes=8)
image = torch.randn(10, 3, 64, 64)
meta = torch.randn(10, 9)
out = model(image, meta)
print(out.shape)
