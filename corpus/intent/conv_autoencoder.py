import torch
import torch.nn as nn


class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1),  # 16 x 16 x 16
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),  # 32 x 8 x 8
            nn.ReLU(),
            nn.Conv2d(32, 64, 8),  # 64 x 1 x 1
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 8),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 3, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        encoded = self.encoder(x)
        decoded = self.decoder(encoded)
        return decoded


model = ConvAutoencoder()
x = torch.randn(8, 3, 32, 32)
x_hat = model(x)
loss = nn.functional.mse_loss(x_hat, x)
print(x_hat.shape, loss.item())
