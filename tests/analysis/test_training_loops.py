"""Training scripts as pytorch/examples writes them (issue 23): loader options built in a dict that an
`if` may extend, and the shapes a data loop's body binds (hover), against torch's own run."""

from __future__ import annotations

import sys
import textwrap

import pytest

from shapels.analysis.engine import analyze

torch = pytest.importorskip("torch")

SCRIPT = textwrap.dedent('''
    import argparse
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(WIDTH, 10)

        def forward(self, x):
            return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


    def train(model, loader):
        for batch_idx, (data, target) in enumerate(loader):
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            SEEN.append((tuple(data.shape), tuple(target.shape), tuple(output.shape), tuple(loss.shape)))


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument('--batch-size', type=int, default=16)
        parser.add_argument('--no-accel', action='store_true')
        args = parser.parse_args()
        kwargs = {'batch_size': args.batch_size}
        if not args.no_accel and torch.cuda.is_available():
            kwargs.update({'num_workers': 1, 'pin_memory': True, 'shuffle': True})
        data = TensorDataset(torch.randn(100, 1, 6, 6), torch.randint(0, 10, (100,)))
        train(Net(), DataLoader(data, **kwargs))


    if __name__ == '__main__':
        main()
''')


def _run(text: str, monkeypatch) -> list:
    monkeypatch.setattr(sys, "argv", ["train.py"])
    seen: list = []
    exec(compile(text, "train.py", "exec"), {"__name__": "__main__", "SEEN": seen})
    return seen


def test_a_loader_whose_options_an_if_may_extend_is_followed(monkeypatch):
    """`kwargs.update(...)` under an unknown condition changes only the keys it names: batch_size stays
    known, the loop is followed, and a model that does not fit its batches is an error, as in torch."""
    bad = SCRIPT.replace("WIDTH", "35")
    with pytest.raises(RuntimeError):
        _run(bad, monkeypatch)
    errors = [f for f in analyze(bad, "train.py").findings if f.severity == "error"]
    assert [(f.code, f.span.start_line) for f in errors] == [("linear-in-features", 12)]
    good = SCRIPT.replace("WIDTH", "36")
    _run(good, monkeypatch)
    assert [f for f in analyze(good, "train.py").findings if f.severity in ("error", "warning")] == []


def test_names_in_a_data_loop_hold_the_first_batch_a_run_gives(monkeypatch):
    text = SCRIPT.replace("WIDTH", "36")
    data, target, output, loss = _run(text, monkeypatch)[0]
    result = analyze(text, "train.py")
    lines = text.splitlines()

    def bound(name: str, line_text: str) -> tuple:
        line = next(i + 1 for i, t in enumerate(lines) if line_text in t)
        [shape] = {b.shape.show() for b in result.loop_names if b.name == name and b.write and b.span.start_line == line}
        return shape

    def show(shape: tuple) -> str:
        return "(" + ", ".join(map(str, shape)) + ")" if len(shape) != 1 else f"({shape[0]},)"

    assert bound("data", "for batch_idx") == show(data)
    assert bound("target", "for batch_idx") == show(target)
    assert bound("output", "output = model(data)") == show(output)
    assert bound("loss", "loss = F.nll_loss") == show(loss)


BACKWARD = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    model = nn.Linear(6, 3)
    x, y = torch.randn(8, 6), torch.randn(8, 3)
    out = model(x)
    loss = LOSS
    loss.backward(GRADIENT)
''')

LOSSES = {
    "mean": ("F.mse_loss(out, y)", ""),
    "none": ("F.mse_loss(out, y, reduction='none')", ""),
    "none_summed": ("F.mse_loss(out, y, reduction='none').sum()", ""),
    "per_sample": ("(out - y).pow(2).mean(1)", ""),
    "per_sample_keepdim": ("(out - y).pow(2).mean(1, keepdim=True)", ""),
    "one_element": ("(out - y).pow(2).mean().view(1, 1)", ""),
    "a_gradient_given": ("F.mse_loss(out, y, reduction='none')", "torch.ones(8, 3)"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_backward_of_a_non_scalar_is_an_error_as_in_torch(name):
    loss, gradient = LOSSES[name]
    text = BACKWARD.replace("LOSS", loss).replace("GRADIENT", gradient)
    try:
        exec(compile(text, "train.py", "exec"), {"__name__": "__main__"})
        expected = []
    except RuntimeError as error:
        assert "scalar" in str(error)
        expected = [("loss-target", text.splitlines().index("loss.backward(" + gradient + ")") + 1)]
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    assert [(f.code, f.span.start_line) for f in errors] == expected


LSTM = textwrap.dedent('''
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, TensorDataset


    class Classifier(nn.Module):
        def __init__(self, hidden=32, layers=2, classes=5):
            super().__init__()
            self.hidden = hidden
            self.lstm = nn.LSTM(8, hidden, num_layers=layers, batch_first=True)
            self.fc = nn.Linear(hidden, classes)

        def forward(self, x):
            out, (h_n, c_n) = self.lstm(x)
            return self.fc(h_n.view(-1, self.hidden))


    model = Classifier()
    criterion = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(torch.randn(64, 20, 8), torch.randint(0, 5, (64,))), batch_size=16)
    for i, (xb, yb) in enumerate(loader, 1):
        loss = criterion(model(xb), yb)
        loss.backward()
''')


def test_the_view_that_doubled_the_rows_is_blamed_and_its_fix_runs():
    """h_n.view(-1, H) of a two-layer LSTM doubles the rows that reach the loss (torch: 32 against 16): the view
    is the place to edit, and `h_n[-1]` (the last layer's state) runs under torch. Adding a dim to the dataset's
    tensor instead makes TensorDataset fail, so the analysis no longer follows the loop: that silences the loss
    call, it does not fix it, and is never offered."""
    with pytest.raises(ValueError, match="batch_size"):
        exec(compile(LSTM, "train.py", "exec"), {"__name__": "__main__"})
    errors = [f for f in analyze(LSTM, "train.py").findings if f.severity == "error"]
    line = LSTM.splitlines().index("        return self.fc(h_n.view(-1, self.hidden))") + 1
    assert [(f.code, f.span.start_line) for f in errors] == [("loss-target", line)]  # enumerate(loader, 1) followed
    fix = errors[0].fix
    assert fix is not None and fix.content == "h_n[-1]" and "randn(1, 64" not in fix.content
    fixed = LSTM.replace("h_n.view(-1, self.hidden)", "h_n[-1]")
    exec(compile(fixed, "train.py", "exec"), {"__name__": "__main__"})
    assert [f for f in analyze(fixed, "train.py").findings if f.severity in ("error", "warning")] == []


def test_a_fix_that_only_loses_the_loop_is_no_fix():
    """With the view's cause out of reach (a one-layer state viewed into rows of two), the one edit that would
    silence the loss is the dataset's tensor given a leading dim, which only loses the loop: not offered."""
    text = LSTM.replace("self.fc(h_n.view(-1, self.hidden))", "self.fc(out[:, -1].reshape(-1, self.hidden // 2))") \
        .replace("self.fc = nn.Linear(hidden, classes)", "self.fc = nn.Linear(hidden // 2, classes)") \
        .replace("layers=2", "layers=1")
    with pytest.raises(ValueError, match="batch_size"):
        exec(compile(text, "train.py", "exec"), {"__name__": "__main__"})
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    assert errors and errors[0].code == "loss-target"
    assert all(f.fix is None or "randn(1, 64" not in f.fix.content for f in errors)


AUTOENCODER = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset


    class AutoEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encode = nn.Linear(48, 12)
            self.decode = nn.Linear(12, WIDTH)

        def forward(self, x):
            return torch.sigmoid(self.decode(F.relu(self.encode(x.view(-1, 48)))))


    def loss_function(recon, x):
        return F.binary_cross_entropy(recon, x.view(-1, 48), reduction='sum')


    model = AutoEncoder()
    loader = DataLoader(TensorDataset(torch.rand(20, 3, 4, 4)), batch_size=5)
    for (data,) in loader:
        loss = loss_function(model(data), data)
        loss.backward()
''')


def test_a_loss_target_blames_the_linear_that_made_the_input_width():
    """The target's width is the data's: a Linear that made the loss's input another width is the place to edit,
    and its fix runs under torch."""
    text = AUTOENCODER.replace("WIDTH", "50")
    with pytest.raises(ValueError):
        exec(compile(text, "train.py", "exec"), {"__name__": "__main__"})
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    line = text.splitlines().index("        self.decode = nn.Linear(12, 50)") + 1
    assert [(f.code, f.span.start_line) for f in errors] == [("loss-target", line)]
    assert errors[0].fix is not None and errors[0].fix.content == "48"
    fixed = text.replace("nn.Linear(12, 50)", "nn.Linear(12, 48)")
    exec(compile(fixed, "train.py", "exec"), {"__name__": "__main__"})
    assert [f for f in analyze(fixed, "train.py").findings if f.severity in ("error", "warning")] == []


def test_loader_options_from_a_conditional_dict_are_followed(monkeypatch):
    """`kwargs = {'num_workers': 1, 'pin_memory': True} if use_accel else {}` (pytorch/examples' vae): the keys
    one branch alone has may be there, unknown; the batch size given beside them stays known."""
    conditional = SCRIPT.replace(
        "    kwargs = {'batch_size': args.batch_size}\n", "").replace(
        "    if not args.no_accel and torch.cuda.is_available():\n"
        "        kwargs.update({'num_workers': 1, 'pin_memory': True, 'shuffle': True})\n",
        "    kwargs = {'num_workers': 1, 'pin_memory': True} if not args.no_accel and torch.cuda.is_available() else {}\n"
    ).replace("DataLoader(data, **kwargs)", "DataLoader(data, batch_size=args.batch_size, **kwargs)")
    assert "if not args.no_accel and torch.cuda.is_available() else {}" in conditional
    bad = conditional.replace("WIDTH", "35")
    with pytest.raises(RuntimeError):
        _run(bad, monkeypatch)
    errors = [f for f in analyze(bad, "train.py").findings if f.severity == "error"]
    assert [(f.code, f.span.start_line) for f in errors] == [("linear-in-features", 12)]
    good = conditional.replace("WIDTH", "36")
    assert _run(good, monkeypatch)[0][0] == (16, 1, 6, 6)
    assert [f for f in analyze(good, "train.py").findings if f.severity in ("error", "warning")] == []


DISCRIMINATOR = textwrap.dedent('''
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, TensorDataset

    netD = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, CHANNELS, 4, 1, 0), nn.Sigmoid())
    criterion = nn.BCELoss()
    loader = DataLoader(TensorDataset(torch.randn(32, 3, 8, 8)), batch_size=8)
    for (real,) in loader:
        output = netD(real).view(-1, 1).squeeze(1)
        label = torch.full((real.size(0),), 1.0)
        loss = criterion(output, label)
        loss.backward()
''')


def test_the_layer_whose_channels_a_view_spread_over_the_rows_is_blamed():
    """dcgan's discriminator with out_channels=2 where the view expects 1 value a sample: 16 rows against 8 labels
    (torch's ValueError at the loss); the conv's out_channels is the place to edit, and 1 runs."""
    text = DISCRIMINATOR.replace("CHANNELS", "2")
    with pytest.raises(ValueError):
        exec(compile(text, "train.py", "exec"), {"__name__": "__main__"})
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    assert [(f.code, f.span.start_line) for f in errors] == [("loss-target", 6)]
    assert errors[0].fix is not None and errors[0].fix.content == "1" and errors[0].fix.param == "out_channels"
    fixed = DISCRIMINATOR.replace("CHANNELS", "1")
    exec(compile(fixed, "train.py", "exec"), {"__name__": "__main__"})
    assert [f for f in analyze(fixed, "train.py").findings if f.severity in ("error", "warning")] == []


OPTION_SIZED = textwrap.dedent('''
    import argparse
    import torch
    import torch.nn as nn
    import torchvision.datasets as dset
    import torchvision.transforms as transforms

    parser = argparse.ArgumentParser()
    parser.add_argument('--batchSize', type=int, default=8)
    parser.add_argument('--imageSize', type=int, default=SIZE, help='the height / width of the input image')
    opt = parser.parse_args()

    netD = nn.Sequential(
        nn.Conv2d(3, 16, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(16, 32, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 1, 4, 1, 0), nn.Sigmoid())
    dataset = dset.CIFAR10(root='data', download=True, transform=transforms.Compose([
        transforms.Resize(opt.imageSize), transforms.ToTensor()]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=opt.batchSize, shuffle=True)
    for i, data in enumerate(loader, 0):
        output = netD(data[0]).view(-1, 1).squeeze(1)
        loss = nn.BCELoss()(output, torch.full((data[0].size(0),), 1.0))
''')


def test_an_image_size_option_default_is_the_place_to_edit():
    """`Resize(opt.imageSize)` with the option's default 16 where the discriminator was built for 32×32: the
    default is blamed, and 32 is its fix. Torch: the net fails on 16×16 images and gives one value a sample on
    32×32 ones (the images Resize gives, tests/rules/test_vision_data.py checks against torchvision)."""
    text = OPTION_SIZED.replace("SIZE", "16")
    scope: dict = {}
    net = "import torch.nn as nn\n" + text[text.index("netD = "):text.index("dataset = ")]
    exec(compile(net, "train.py", "exec"), scope)  # the net, without torchvision
    with pytest.raises(RuntimeError):
        scope["netD"](torch.randn(8, 3, 16, 16))
    assert scope["netD"](torch.randn(8, 3, 32, 32)).view(-1, 1).squeeze(1).shape == (8,)
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    line = text.splitlines().index("parser.add_argument('--imageSize', type=int, default=16, "
                                   "help='the height / width of the input image')") + 1
    assert [(f.code, f.span.start_line) for f in errors] == [("input-shape", line)]
    assert errors[0].fix.content == "32"
    assert [f for f in analyze(OPTION_SIZED.replace("SIZE", "32"), "train.py").findings
            if f.severity in ("error", "warning")] == []


@pytest.mark.parametrize("resize", ["opt.imageSize * 2", "opt.imageSize // 2"])
def test_a_transform_size_computed_from_its_option_is_fixed_to_the_option(resize):
    """`Resize(opt.imageSize * 2)` where the net was built for the option's own 32: the Resize line is blamed,
    and `Resize(opt.imageSize)` is the fix. Torch: the net fails on 64×64 and 16×16 images, runs on 32×32."""
    text = OPTION_SIZED.replace("SIZE", "32").replace("transforms.Resize(opt.imageSize)", f"transforms.Resize({resize})")
    scope: dict = {}
    exec(compile("import torch.nn as nn\n" + text[text.index("netD = "):text.index("dataset = ")], "train.py", "exec"),
         scope)
    side = eval(resize, {"opt": type("Opt", (), {"imageSize": 32})})
    with pytest.raises((RuntimeError, AssertionError)):
        assert scope["netD"](torch.randn(8, 3, side, side)).view(-1, 1).squeeze(1).shape == (8,)
    errors = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if f"transforms.Resize({resize})" in t)
    assert [(f.code, f.span.start_line) for f in errors] == [("input-shape", line)]
    assert errors[0].fix.content == "opt.imageSize"


SEQUENCE = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 32, batch_first=True)
            self.fc = nn.Linear(32, 5)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out.reshape(-1, 32))


    x = torch.randn(4, 12, 8)
    targets = torch.randint(0, 5, TARGETS)
    loss = nn.functional.cross_entropy(Tagger()(x), targets.view(-1))
''')


def test_a_batch_first_sequence_viewed_into_rows_is_not_blamed_for_a_target_without_its_batch():
    """out.reshape(-1, H) of a batch-first (4, 12, H) output gives the 48 rows the loss wants; a target of (12,)
    lost its batch, so the view is not the place to edit (dim 0 is the data's batch), and `out[-1]` is never
    offered."""
    with pytest.raises(ValueError):
        exec(compile(SEQUENCE.replace("TARGETS", "(12,)"), "train.py", "exec"), {"__name__": "__main__"})
    exec(compile(SEQUENCE.replace("TARGETS", "(4, 12)"), "train.py", "exec"), {"__name__": "__main__"})
    errors = [f for f in analyze(SEQUENCE.replace("TARGETS", "(12,)"), "train.py").findings if f.severity == "error"]
    assert errors and all(f.fix is None or "[-1]" not in f.fix.content for f in errors)
    assert all(f.span.start_line != 14 for f in errors)


CHUNKED = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    def tokenize(path):
        ids = []
        for line in open(path):
            ids.append(torch.tensor([len(w) for w in line.split()], dtype=torch.int64))
        return torch.cat(ids)


    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


    data = batchify(tokenize("train.txt"), 4)
    model = nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 50))
    for i in {loop}:
        seq_len = min(5, len(data) - 1 - i)
        source, target = data[i:i + seq_len], data[i + 1:i + 1 + seq_len].view(-1)
        output = model(source).view(-1, 50)
        loss = F.nll_loss(F.log_softmax(output, dim=1), {target})
''')


def test_a_loop_over_offsets_into_data_of_unknown_length_is_checked_once():
    """Tokens read from a file (a list grown in a loop of unknown length, then torch.cat: a tensor of unknown
    shape) batched into columns, walked in chunks with `range(0, data.size(0) - 1, 5)`: the body is checked
    at an offset, a 2-D target to nll_loss is torch's error; a range that reads no size stays unknown."""
    def errors(loop: str, target: str) -> list:
        text = CHUNKED.format(loop=loop, target=target)
        return [(f.span.start_line, f.code) for f in analyze(text, "train.py").findings if f.severity == "error"]

    assert errors("range(0, data.size(0) - 1, 5)", "target") == []
    assert errors("range(0, data.size(0) - 1, 5)", "target.unsqueeze(1)") == [(25, "loss-target")]
    assert errors("range(len(data) - 1)", "target.view(-1, 1)") == [(25, "loss-target")]
    assert errors("range(0, steps, 5)", "target.unsqueeze(1)") == []  # a count from elsewhere: not followed
    logits = torch.nn.functional.log_softmax(torch.randn(20, 50), dim=1)
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        torch.nn.functional.nll_loss(logits, torch.randint(0, 50, (20,)).unsqueeze(1))


def test_a_binary_head_of_two_is_blamed_where_its_width_is_written():
    """siamese_network's head `nn.Linear(256, 2)` then `.squeeze()` against labels (N,) for BCELoss: the
    width the squeeze meant to drop is 1, so the finding lands on the 2 (torch runs with 1, refuses 2)."""
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))

            def forward(self, x):
                return torch.sigmoid(self.fc(x))


        outputs = Head()(torch.randn(4, 16)).squeeze()
        loss = nn.BCELoss()(outputs, torch.ones(4))
    ''')
    (error,) = [f for f in analyze(text, "head.py").findings if f.severity == "error"]
    assert error.span.start_line == 9 and error.fix is not None and error.fix.content == "1", error.message
    for width, fails in ((2, True), (1, False)):
        outputs = torch.sigmoid(torch.nn.Linear(16, width)(torch.randn(4, 16))).squeeze()
        try:
            torch.nn.BCELoss()(outputs, torch.ones(4))
            assert not fails
        except ValueError:
            assert fails


def test_a_training_function_run_by_a_process_is_analysed_with_its_arguments():
    """mnist_hogwild's `mp.Process(target=train, args=(rank, model, dataset, kwargs)).start()` runs
    `train(rank, model, dataset, kwargs)` (in another process): its loop is checked on those arguments."""
    template = textwrap.dedent('''
        import torch
        import torch.nn as nn
        import torch.multiprocessing as mp
        from torch.utils.data import DataLoader, TensorDataset


        def train(rank, model, dataset, kwargs):
            for x, y in DataLoader(dataset, **kwargs):
                loss = nn.functional.nll_loss(model(x), {target})


        if __name__ == '__main__':
            model = nn.Linear(8, 3)
            dataset = TensorDataset(torch.randn(100, 8), torch.randint(0, 3, (100,)))
            workers = []
            for rank in range(2):
                p = mp.Process(target=train, args=(rank, model, dataset, {{'batch_size': 10}}))
                p.start()
                workers.append(p)
            for p in workers:
                p.join()
    ''')
    assert [f for f in analyze(template.format(target="y"), "hogwild.py").findings if f.severity == "error"] == []
    (error,) = [f for f in analyze(template.format(target="y.unsqueeze(1)"), "hogwild.py").findings
                if f.severity == "error"]
    assert error.span.start_line == 10 and error.code == "loss-target"
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        torch.nn.functional.nll_loss(torch.nn.Linear(8, 3)(torch.randn(10, 8)), torch.randint(0, 3, (10,)).unsqueeze(1))


def test_an_index_loss_given_a_sigmoid_score_per_sample_is_blamed_at_its_constructor():
    """dcgan's discriminator ends in a Sigmoid and its labels are floats (N,): NLLLoss there is torch's error,
    and the loss's class is the edit (BCELoss runs); without the Sigmoid nothing says which loss was meant."""
    template = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Critic(nn.Module):
            def __init__(self):
                super().__init__()
                self.main = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1){end})

            def forward(self, x):
                return self.main(x).view(-1, 1).squeeze(1)


        criterion = nn.NLLLoss()
        label = torch.full((4,), 1.0)
        loss = criterion(Critic()(torch.randn(4, 16)), label)
    ''')
    (error,) = [f for f in analyze(template.format(end=", nn.Sigmoid()"), "critic.py").findings if f.severity == "error"]
    assert error.span.start_line == 15 and error.fix is not None and error.fix.content == "nn.BCELoss", error.message
    (plain,) = [f for f in analyze(template.format(end=""), "critic.py").findings if f.severity == "error"]
    assert plain.span.start_line == 17 and plain.fix is None
    scores = torch.sigmoid(torch.randn(4))
    with pytest.raises(RuntimeError):
        torch.nn.NLLLoss()(scores, torch.full((4,), 1.0))
    assert torch.nn.BCELoss()(scores, torch.full((4,), 1.0)).dim() == 0
