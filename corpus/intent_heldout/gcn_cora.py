# A two-layer graph convolutional network (Kipf & Welling) on one graph: H' = A_hat @ H @ W.
import torch
import torch.nn as nn
import torch.nn.functional as F


class GraphConv(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x, adj):
        support = self.linear(x)
        return torch.mm(adj, support)


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout=0.5):
        super().__init__()
        self.gc1 = GraphConv(nfeat, nhid)
        self.gc2 = GraphConv(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        x = self.gc2(x, adj)
        return F.log_softmax(x, dim=1)


num_nodes = 30
num_features = 16
num_classes = 7

features = torch.randn(num_nodes, num_features)
adj = (torch.rand(num_nodes, num_nodes) > 0.8).float()
adj = adj + adj.t() + torch.eye(num_nodes)
adj = (adj > 0).float()
deg = adj.sum(dim=1, keepdim=True)
adj = adj / deg

model = GCN(num_features, 32, num_classes)
out = model(features, adj)
print(out.shape)
