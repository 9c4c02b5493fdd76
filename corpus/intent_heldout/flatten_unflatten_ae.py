# Autoencoder built only from nn.Sequential, with nn.Flatten in the encoder and nn.Unflatten in the decoder.
import torch
from torch import nn

latent_dims = 10

encoder = nn.Sequential(
    nn.Conv2d(1, 8, 3, stride=2, padding=1),  # 28 -> 14
    nn.ReLU(True),
    nn.Conv2d(8, 16, 3, stride=2, padding=1),  # 14 -> 7
    nn.BatchNorm2d(16),
    nn.ReLU(True),
    nn.Flatten(),
    nn.Linear(16 * 7 * 7, 64),
    nn.ReLU(True),
    nn.Linear(64, latent_dims),
)

decoder = nn.Sequential(
    nn.Linear(latent_dims, 64),
    nn.ReLU(True),
    nn.Linear(64, 16 * 7 * 7),
    nn.ReLU(True),
    nn.Unflatten(dim=1, unflattened_size=(16, 7, 7)),
    nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1),  # 7 -> 14
    nn.BatchNorm2d(8),
    nn.ReLU(True),
    nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1),  # 14 -> 28
    nn.Sigmoid(),
)

x = torch.rand(32, 1, 28, 28)
z = encoder(x)
x_hat = decoder(z)
print(z.shape, x_hat.shape)
