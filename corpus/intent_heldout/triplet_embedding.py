# Triplet network for metric learning: one shared CNN embeds anchor, positive and negative images;
# AdaptiveAvgPool2d makes the embedding head independent of the image size.
import torch
import torch.nn as nn


class EmbeddingNet(nn.Module):
    def __init__(self, embedding_size=128):
        super(EmbeddingNet, self).__init__()
        self.convnet = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2, stride=2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2, stride=2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Sequential(
            nn.Linear(128, 256),
            nn.PReLU(),
            nn.Linear(256, embedding_size),
        )

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        output = self.fc(output)
        return output / output.norm(p=2, dim=1, keepdim=True)  # unit length


class TripletNet(nn.Module):
    def __init__(self, embedding_net):
        super(TripletNet, self).__init__()
        self.embedding_net = embedding_net

    def forward(self, x1, x2, x3):
        return self.embedding_net(x1), self.embedding_net(x2), self.embedding_net(x3)


model = TripletNet(EmbeddingNet(embedding_size=64))
anchor = torch.randn(4, 3, 64, 64)
positive = torch.randn(4, 3, 64, 64)
negative = torch.randn(4, 3, 64, 64)
a, p, n = model(anchor, positive, negative)
loss = nn.TripletMarginLoss(margin=1.0)(a, p, n)
print(a.shape, loss.item())
