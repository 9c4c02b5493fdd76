# GAN for 28x28 MNIST: the generator projects the noise with a Linear and upsamples with ConvTranspose2d;
# the discriminator's Linear head is sized by hand from the conv arithmetic.
import torch
import torch.nn as nn

latent_dim = 64
img_channels = 1


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.fc = nn.Linear(latent_dim, 128 * 7 * 7)
        self.net = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.ReLU(True),
            nn.ConvTranspose2d(128, 64, 4, 2, 1),  # 7 -> 14
            nn.BatchNorm2d(64),
            nn.ReLU(True),
            nn.ConvTranspose2d(64, img_channels, 4, 2, 1),  # 14 -> 28
            nn.Tanh(),
        )

    def forward(self, z):
        x = self.fc(z)
        x = x.view(-1, 128, 7, 7)
        return self.net(x)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(img_channels, 32, 4, 2, 1),  # 28 -> 14
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(32, 64, 4, 2, 1),  # 14 -> 7
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.fc = nn.Linear(64 * 7 * 7, 1)

    def forward(self, img):
        x = self.conv(img)
        x = x.view(x.size(0), -1)
        return torch.sigmoid(self.fc(x))


G = Generator()
D = Discriminator()
criterion = nn.BCELoss()

real = torch.randn(16, img_channels, 28, 28)
z = torch.randn(16, latent_dim)
fake = G(z)
d_real = D(real)
d_fake = D(fake.detach())
loss_d = criterion(d_real, torch.ones(16, 1)) + criterion(d_fake, torch.zeros(16, 1))
print(fake.shape, d_real.shape, loss_d.item())
