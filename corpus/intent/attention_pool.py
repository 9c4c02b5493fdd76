import torch
import torch.nn as nn
import torch.nn.functional as F


class AttentionPooling(nn.Module):
    def __init__(self, in_dim):
        super().__init__()
        self.score = nn.Linear(in_dim, 1)

    def forward(self, x):
        # x: (batch, time, features)
        weights = torch.softmax(self.score(x), dim=1)  # (batch, time, 1)
        pooled = (weights * x).sum(dim=1, keepdim=True)  # (batch, 1, features)
        return pooled.squeeze(1)


class SentenceEncoder(nn.Module):
    def __init__(self, in_dim=40, hidden=64, out_dim=32):
        super().__init__()
        self.proj = nn.Linear(in_dim, hidden)
        self.pool = AttentionPooling(hidden)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, feats):
        h = torch.tanh(self.proj(feats))
        h = h / h.norm(dim=-1, keepdim=True)
        emb = self.out(self.pool(h))
        return F.normalize(emb, dim=-1)


encoder = SentenceEncoder()
feats = torch.randn(6, 50, 40)
emb = encoder(feats)
print(emb.shape)
