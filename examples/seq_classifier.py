"""An LSTM text classifier whose head forgot the LSTM is bidirectional."""
import torch
import torch.nn as nn


class SeqClassifier(nn.Module):
    def __init__(self, vocab=5000, embed=128, hidden=256, classes=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, tokens):
        x = self.embed(tokens)
        out, (h, c) = self.lstm(x)
        last = out[:, -1, :]
        return self.head(last)


model = SeqClassifier()
logits = model(torch.randint(0, 5000, (16, 40)))
