"""confirm's static side resolves imports as `check` does: a model whose blocks come from a sibling
file is compared with the blocks' shapes, not with unknowns (the confirm API used to analyse the
file alone when given no options, as the editor's confirm command does)."""

from __future__ import annotations

from shapels.analysis.engine import Options
from shapels.confirm.api import confirm_file, static_options

BLOCKS = """
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, padding=1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            return self.pool(self.conv(x))
"""

MODEL = """
    import torch
    import torch.nn as nn
    from blocks import Block

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block(3, 8)
            self.flatten = nn.Flatten()
            self.head = nn.Linear(8 * 16 * 16, 10)

        def forward(self, x):
            return self.head(self.flatten(self.block(x)))

    model = Net()
    out = model(torch.randn(2, 3, 32, 32))
"""


def _verdicts(report) -> dict:
    return {v.name: v.verdict for v in report.verdicts}


def test_static_options_resolve_a_sibling_import(script):
    script(BLOCKS, "blocks.py")
    path = script(MODEL, "model.py")
    assert static_options(str(path)).loader is not None


def test_confirm_compares_with_the_shapes_of_an_imported_block(pool, script):
    script(BLOCKS, "blocks.py")
    path = script(MODEL, "model.py")
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok and report.output_shape == [2, 10]
    verdicts = _verdicts(report)
    assert verdicts.get("head") == "agreed", report.verdicts
    assert verdicts.get("flatten") == "agreed", report.verdicts
    assert "runtime-only" not in verdicts.values(), report.verdicts


def test_without_the_imports_the_same_model_compares_against_unknowns(pool, script):
    # What the test above guards against: the file analysed alone knows nothing after the block.
    script(BLOCKS, "blocks.py")
    path = script(MODEL, "model.py")
    report = confirm_file(str(path), device="cpu", pool=pool, options=Options())
    assert report.ok
    assert _verdicts(report).get("head") == "runtime-only", report.verdicts
