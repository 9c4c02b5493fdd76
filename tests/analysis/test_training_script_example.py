"""examples/train_mnist.py, the bundled training script (issue 23): correct as shipped, and each of its
mutants (an option default, a target's construction, a loss, a forgotten flatten) flagged on the line that
was changed. Whether each mutant really fails, and the script really runs, is checked by running them with
torchvision's FakeData in place of MNIST where torchvision imports (`bash scripts/vision-venv.sh`)."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT
from shapels.analysis.engine import analyze

SCRIPT = (ROOT / "examples" / "train_mnist.py").read_text()

MUTANTS = [  # (what, the text, the mutant's text, the code shapels must report on the mutant's line[, that line])
    ("an image size option the model was not built for", "default=28)", "default=32)", "input-shape"),
    ("targets made a column", "loss = F.nll_loss(output, target)", "loss = F.nll_loss(output, target.unsqueeze(1))",
     "loss-target"),
    ("a regression loss on class indices", "loss = F.nll_loss(output, target)",
     "loss = F.mse_loss(output, target.float())", "loss-target"),
    # the flatten is missing where the Linear takes the map: its fix goes into that call, the line after
    ("a forgotten flatten", "torch.flatten(self.dropout(x), 1)", "self.dropout(x)", "missing-flatten",
     "x = F.relu(self.fc1(x))"),
]


def _mutant(before: str, after: str) -> str:
    assert SCRIPT.count(before) == 1
    return SCRIPT.replace(before, after)


def _errors(text: str) -> list:
    return [f for f in analyze(text, "train_mnist.py").findings if f.severity in ("error", "warning")]


def test_the_script_as_shipped_is_clean():
    assert _errors(SCRIPT) == []


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_each_mutant_is_flagged_on_the_changed_line(mutant):
    what, before, after, code, *where = mutant
    text = _mutant(before, after)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if (where[0] if where else after) in row)
    first = _errors(text)[0]
    assert (first.code, first.span.start_line) == (code, line), first.message
    assert first.fix is None or first.fix.content in SCRIPT.splitlines()[first.span.start_line - 1] or \
        first.fix.content == "x.flatten(1)"  # a fix gives back what the script wrote (or the flatten it lacks)


def _run(text: str):
    """The script run for one batch on FakeData of MNIST's shapes: the exception it raises, or None."""
    pytest.importorskip("torchvision")
    text = text.replace('datasets.MNIST("./data", train=True, download=True, transform=transform)',
                        "datasets.FakeData(size=128, image_size=(1, 28, 28), num_classes=10, transform=transform)")
    argv, sys.argv = sys.argv, ["train_mnist.py", "--dry-run"]
    try:
        exec(compile(text, "train_mnist.py", "exec"), {"__name__": "__main__"})
    except Exception as error:  # noqa: BLE001 - the failure is the label
        return error
    finally:
        sys.argv = argv
    return None


def test_the_script_runs_and_every_mutant_fails_when_run():
    assert _run(SCRIPT) is None
    for what, before, after, *_ in MUTANTS:
        assert _run(_mutant(before, after)) is not None, what
