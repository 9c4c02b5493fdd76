import torch
import torch.nn as nn


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size, d_model=64, nhead=4, num_layers=2, num_classes=5, max_len=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.pos_embedding = nn.Parameter(torch.zeros(1, max_len, d_model))
        encoder_layer = nn.TransformerEncoderLayer(d_model=d_model, nhead=nhead, dim_feedforward=128,
                                                   dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(encoder_layer, num_layers=num_layers)
        self.norm = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, src):
        seq_len = src.size(1)
        x = self.embedding(src) + self.pos_embedding[:, :seq_len, :]
        x = self.encoder(x)
        x = self.norm(x)
        x = x.mean(dim=1)
        return self.fc(x)


model = TransformerClassifier(vocab_size=1000)
src = torch.randint(0, 1000, (8, 20))
logits = model(src)
print(logits.shape)
