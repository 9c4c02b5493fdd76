import torch
import torch.nn as nn


class EmbeddingNet(nn.Module):
    def __init__(self, embedding_dim=32):
        super(EmbeddingNet, self).__init__()
        self.convnet = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.PReLU(),
            nn.MaxPool2d(2, stride=2),
            nn.Conv2d(32, 64, 5), nn.PReLU(),
            nn.MaxPool2d(2, stride=2),
        )
        self.fc = nn.Sequential(
            nn.Linear(64 * 4 * 4, 256), nn.PReLU(),
            nn.Linear(256, embedding_dim),
        )

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        output = self.fc(output)
        return output / output.norm(p=2, dim=1, keepdim=True)


class SiameseNet(nn.Module):
    def __init__(self, embedding_net):
        super(SiameseNet, self).__init__()
        self.embedding_net = embedding_net

    def forward(self, x1, x2):
        output1 = self.embedding_net(x1)
        output2 = self.embedding_net(x2)
        return (output1 * output2).sum(dim=1)


net = SiameseNet(EmbeddingNet())
img1 = torch.randn(8, 1, 28, 28)
img2 = torch.randn(8, 1, 28, 28)
similarity = net(img1, img2)
print(similarity.shape)
