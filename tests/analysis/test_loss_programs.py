"""Losses in the programs people write (rules/loss.py through the engine): each program is analysed and run
under torch. Where torch raises, shapels reports `loss-target` as an error on the loss call's line (a loss
has no constructor argument to blame); where torch runs (a broadcast MSE only warns), nothing is reported."""

from __future__ import annotations

import textwrap
import warnings

import pytest
import torch  # noqa: F401 - the programs below run under it

from shapels.analysis.engine import Options, analyze

HEAD = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
"""

PROGRAMS = {
    # The LSTM: h_n of num_layers=2 viewed as (-1, H) doubles the rows that reach the loss.
    "lstm_h_n_doubles_the_rows": ("""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.fc = nn.Linear(32, 5)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n.view(-1, 32))  # blamed: the view merges the 2 layers into the rows

model = Net()
criterion = nn.CrossEntropyLoss()
labels = torch.randint(0, 5, (4,))
loss = criterion(model(torch.randn(4, 7, 16)), labels)  # error
""", True),
    "lstm_last_layer_fits": ("""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.fc = nn.Linear(32, 5)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(h_n[-1])

model = Net()
criterion = nn.CrossEntropyLoss()
loss = criterion(model(torch.randn(4, 7, 16)), torch.randint(0, 5, (4,)))
loss.backward()
""", False),
    # A spectrogram one bin off: MSELoss's shapes cannot broadcast.
    "mse_one_bin_off": ("""
net = nn.Conv2d(1, 1, 3, padding=2)
noisy = torch.randn(2, 1, 127, 201)
clean = torch.randn(2, 1, 128, 201)
loss = nn.MSELoss()(net(noisy), clean)  # error
""", True),
    # (N, 1) predictions against (N,) targets: torch warns and broadcasts to (N, N); it runs.
    "mse_broadcast_only_warns": ("""
head = nn.Linear(8, 1)
pred = head(torch.randn(6, 8))
loss = F.mse_loss(pred, torch.randn(6))
""", False),
    "one_hot_targets_of_the_wrong_width": ("""
logits = nn.Linear(12, 10)(torch.randn(3, 12))  # blamed: the targets say 9 classes
target = F.one_hot(torch.randint(0, 9, (3,)), 9).float()
loss = F.cross_entropy(logits, target)  # error
""", True),
    "one_hot_targets_as_probabilities": ("""
logits = nn.Linear(12, 10)(torch.randn(3, 12))
target = F.one_hot(torch.randint(0, 10, (3,)), 10).float()
loss = F.cross_entropy(logits, target, label_smoothing=0.1)
""", False),
    "bce_logits_of_n_by_1_against_n": ("""
head = nn.Sequential(nn.Linear(4, 1))
criterion = nn.BCEWithLogitsLoss()
loss = criterion(head(torch.randn(5, 4)), torch.rand(5))  # error
""", True),
    "bce_after_squeeze": ("""
head = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())
criterion = nn.BCELoss(reduction="none")
loss = criterion(head(torch.randn(5, 4)).squeeze(1), torch.rand(5))
""", False),
    "segmentation_targets": ("""
net = nn.Conv2d(3, 4, 1)
masks = torch.randint(0, 4, (2, 16, 16))
loss = nn.CrossEntropyLoss(ignore_index=255)(net(torch.randn(2, 3, 16, 16)), masks)
""", False),
    "segmentation_targets_with_a_channel_dim": ("""
net = nn.Conv2d(3, 4, 1)
masks = torch.randint(0, 4, (2, 1, 16, 16))
loss = nn.CrossEntropyLoss()(net(torch.randn(2, 3, 16, 16)), masks)  # error
""", True),
    "float_class_indices": ("""
logits = torch.randn(8, 10)
labels = torch.randint(0, 10, (8,)).float()
loss = nn.CrossEntropyLoss()(logits, labels)  # error
""", True),
    "nll_after_log_softmax": ("""
logits = nn.Linear(20, 10)(torch.randn(8, 20))
loss = F.nll_loss(F.log_softmax(logits, dim=1), torch.randint(0, 10, (8,)), reduction="sum")
""", False),
    "bce_integer_labels": ("""
logits = nn.Linear(20, 3)(torch.randn(8, 20))
loss = F.binary_cross_entropy_with_logits(logits, torch.randint(0, 2, (8, 3)))  # error
""", True),
    "kl_div_batchmean": ("""
p = F.log_softmax(torch.randn(4, 6), dim=-1)
q = F.softmax(torch.randn(4, 6), dim=-1)
loss = nn.KLDivLoss(reduction="batchmean")(p, q)
""", False),
}


def _run(source: str):
    """None where the program runs under torch, else the line of the statement that raised."""
    scope = {"__name__": "__main__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(source, "<program>", "exec"), scope)
        except (RuntimeError, ValueError) as error:
            import traceback

            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "<program>"]
            return frames[-1].lineno
    return None


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_loss_program_against_torch(name):
    body, fails = PROGRAMS[name]
    source = HEAD + textwrap.dedent(body)
    raised_at = _run(source)
    assert (raised_at is not None) == fails, f"torch: {raised_at}"
    findings = [f for f in analyze(source, "m.py", Options()).findings if f.severity in ("error", "warning")]
    if not fails:
        assert findings == [], [(f.code, f.message) for f in findings]
        return
    [finding] = findings
    lines = source.splitlines()
    marked = next(i for i, line in enumerate(lines, 1) if "# error" in line)  # where torch raises
    # where the blame belongs, when a cause names another line (with a fix that makes the program run)
    blamed = next((i for i, line in enumerate(lines, 1) if "# blamed" in line), marked)
    assert (finding.code, finding.severity, finding.span.start_line) == ("loss-target", "error", blamed), finding
    assert raised_at == marked
    if blamed != marked:
        span = finding.fix.span
        lines[span.start_line - 1] = lines[span.start_line - 1][:span.start_col] + finding.fix.content + \
            lines[span.start_line - 1][span.end_col:]
        assert _run("\n".join(lines)) is None, finding.fix.content


def test_float_class_indices_offer_a_cast_on_the_target():
    source = HEAD + textwrap.dedent(PROGRAMS["float_class_indices"][0])
    [finding] = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    assert finding.fix is not None and finding.fix.content == "labels.long()"
    assert "embedding" not in finding.fix.message
