# Bidirectional GRU sentiment classifier (IMDB-style): the final forward and backward hidden states are concatenated.
import torch
import torch.nn as nn


class SentimentGRU(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, dropout, pad_idx):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.GRU(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=True,
                          dropout=dropout, batch_first=True)
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text):
        # text = [batch size, sent len]
        embedded = self.dropout(self.embedding(text))
        output, hidden = self.rnn(embedded)
        # hidden = [n layers * n directions, batch size, hid dim]
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


INPUT_DIM = 1000
EMBEDDING_DIM = 50
HIDDEN_DIM = 32
OUTPUT_DIM = 1
N_LAYERS = 2
DROPOUT = 0.5
PAD_IDX = 1

model = SentimentGRU(INPUT_DIM, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM, N_LAYERS, DROPOUT, PAD_IDX)
text = torch.randint(0, INPUT_DIM, (16, 30))
predictions = model(text).squeeze(1)
loss = nn.BCEWithLogitsLoss()(predictions, torch.ones(16))
print(predictions.shape, loss.item())
