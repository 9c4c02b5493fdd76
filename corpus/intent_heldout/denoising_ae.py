# Convolutional denoising autoencoder: MaxPool2d down, nn.Upsample + Conv2d up (no transposed convs).
import torch
import torch.nn as nn


class DenoisingAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(32, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 -> 7
        )
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),  # 7 -> 14
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),  # 14 -> 28
            nn.Conv2d(32, 1, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = DenoisingAE()
clean = torch.rand(8, 1, 28, 28)
noisy = (clean + 0.3 * torch.randn_like(clean)).clamp(0.0, 1.0)
recon = model(noisy)
loss = nn.MSELoss()(recon, clean)
print(recon.shape, loss.item())
