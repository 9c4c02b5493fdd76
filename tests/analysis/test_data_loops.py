"""Datasets, loaders and training loops (issue 23): the batches shapels gives a loop's body against the
batches torch's DataLoader yields, and a loop body's errors reported like a forward's."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapels.analysis.engine import analyze
from shapels.symbolic import dims as D

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402


def _program(n: int, features: tuple, batch_size: int, drop_last: bool) -> str:
    sizes = ", ".join(map(str, (n, *features)))
    return textwrap.dedent(f'''
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, TensorDataset


        class Probe(nn.Module):
            def forward(self, xb, yb):
                return xb


        probe = Probe()
        x = torch.randn({sizes})
        y = torch.randint(0, 3, ({n},))
        loader = DataLoader(TensorDataset(x, y), batch_size={batch_size}, shuffle=True, drop_last={drop_last})
        for xb, yb in loader:
            probe(xb, yb)
    ''')


def _probe_inputs(text: str) -> dict:
    """The shapes the loop's batches reach Probe with: name -> dims (ints, or a string where symbolic)."""
    result = analyze(text, "train.py")
    (probe,) = [m for m in result.modules if m.name == "Probe"]
    return {name: None if shape is None or not shape.ranked else
            [D.as_int(d) if D.is_concrete(d) else str(d) for d in shape.dims]
            for name, shape in probe.inputs.items()}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), features=st.lists(st.integers(1, 5), min_size=0, max_size=2).map(tuple),
       batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_batches_agree_with_torch(n, features, batch_size, drop_last):
    """The first batch torch yields has the shape shapels gives (every batch but the last is full), and every
    other batch differs from it at most in its batch dim."""
    inputs = _probe_inputs(_program(n, features, batch_size, drop_last))
    batches = list(DataLoader(TensorDataset(torch.randn(n, *features), torch.randint(0, 3, (n,))),
                              batch_size=batch_size, drop_last=drop_last))
    if not batches:  # drop_last with fewer samples than a batch: the loop never runs, nothing is claimed
        assert inputs["xb"] is None or any(isinstance(d, str) for d in inputs["xb"])
        return
    xb, yb = inputs["xb"], inputs["yb"]
    for x_batch, y_batch in batches:
        assert len(xb) == x_batch.dim() and xb[1:] == list(x_batch.shape[1:])
        assert len(yb) == y_batch.dim() == 1
    assert xb[0] == yb[0] == batches[0][0].shape[0] == batches[0][1].shape[0]
    assert all(len(x) == batch_size for x, _ in batches[:-1])


def test_a_loop_body_error_is_reported_like_a_forward():
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, TensorDataset

        model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3))
        loader = DataLoader(TensorDataset(torch.randn(100, 24), torch.randint(0, 3, (100,))), batch_size=16)
        for epoch in range(3):
            for i, (xb, yb) in enumerate(loader):
                loss = nn.functional.cross_entropy(model(xb), yb)
    ''')
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    assert [(f.code, f.span.start_line) for f in errors] == [("linear-in-features", 6)]
    with pytest.raises(RuntimeError):
        exec(compile(text, "train.py", "exec"), {"__name__": "__main__"})


def test_a_loader_of_unknown_samples_stays_an_unknown_loop():
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        def batches(dataset):
            return DataLoader(dataset, batch_size=4)

        model = nn.Linear(20, 3)
        for xb, yb in batches(some_dataset):
            model(xb)
    ''')
    assert [f for f in analyze(text, "train.py").findings if f.severity == "error"] == []


def test_a_user_dataset_counts_by_its_own_getitem_and_len():
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, Dataset


        class Images(Dataset):
            def __init__(self, n):
                self.n = n

            def __len__(self):
                return self.n

            def __getitem__(self, i):
                return torch.randn(3, 32, 32), i % 10


        class Probe(nn.Module):
            def forward(self, xb, yb):
                return xb


        loader = DataLoader(Images(64), batch_size=8)
        for xb, yb in loader:
            Probe()(xb, yb)
    ''')
    inputs = _probe_inputs(text)
    namespace = {"__name__": "shapels_test"}
    exec(compile(text.split("\nloader =")[0], "data.py", "exec"), namespace)
    xb, yb = next(iter(torch.utils.data.DataLoader(namespace["Images"](64), batch_size=8)))
    assert inputs["xb"] == list(xb.shape) and inputs["yb"] == list(yb.shape)


def test_a_dataset_of_unknown_length_still_has_its_first_batch_checked():
    """A folder's dataset has a length not known here: the loop body is checked on its first batch (a
    named `batch` dim of at least 1), so a target that cannot broadcast is an error; a dataset known to
    yield no batch (drop_last, fewer samples than one) is not."""
    template = textwrap.dedent('''
        import os
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, Dataset


        class Pairs(Dataset):
            def __init__(self, n):
                self.n = n

            def __len__(self):
                return {length}

            def __getitem__(self, i):
                return torch.randn(1, 16, 16), torch.randn(1, 16, 16)


        loader = DataLoader(Pairs(3), batch_size=4, drop_last={drop_last})
        for x, target in loader:
            loss = nn.MSELoss()(x, target.view(-1, 1))
    ''')
    unknown = analyze(template.format(length="len(os.listdir('data'))", drop_last=False), "train.py")
    (error,) = [f for f in unknown.findings if f.severity == "error"]
    assert error.span.start_line == 21 and "(256*batch, 1)" in error.message, error.message
    empty = analyze(template.format(length="self.n", drop_last=True), "train.py")
    assert [f for f in empty.findings if f.severity == "error"] == []
    with pytest.raises(RuntimeError):  # what torch does with the batch of the unknown-length dataset
        torch.nn.MSELoss()(torch.randn(3, 1, 16, 16), torch.randn(3, 1, 16, 16).view(-1, 1))


def test_a_dict_looked_up_by_an_unknown_key_is_what_all_its_values_are():
    """siamese_network's `grouped[random.randint(0, 9)]`: one of the values, so their join (all 1-D index
    arrays: 1-D); after a write under an unknown key the dict may hold more than it lists: not known."""
    template = textwrap.dedent('''
        import random
        import torch

        grouped = dict()
        for i in range(3):
            grouped[i] = torch.arange(i + 2)
        WRITE
        picked = grouped[random.randint(0, 2)]
    ''')

    def picked(write: str):
        bindings = [b for b in analyze(template.replace("WRITE", write), "d.py").loop_names if b.name == "picked"]
        shape = bindings[-1].shape if bindings else None
        return None if shape is None or not shape.ranked else shape.rank

    assert picked("") == 1
    assert picked("grouped[random.choice('abc')] = torch.zeros(2, 2)") is None
    assert torch.arange(3)[torch.tensor(1)].dim() == 0  # a 1-D value indexed by an int: what the script does next
