import torch
import torch.nn as nn


class GRUTagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, tagset_size):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.hidden2tag = nn.Linear(hidden_dim * 2, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        gru_out, _ = self.gru(embeds)
        tag_space = self.hidden2tag(gru_out)
        tag_scores = torch.log_softmax(tag_space, dim=-1)
        return tag_scores


model = GRUTagger(vocab_size=500, embedding_dim=32, hidden_dim=48, tagset_size=12)
tokens = torch.randint(0, 500, (4, 15))
scores = model(tokens)
print(scores.shape)
