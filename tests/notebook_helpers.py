"""Notebooks that the tests write themselves (nbformat 4 structure, written by nbformat), and the
split of a .py file into cells that keeps a map from its lines to (cell, line in cell)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

# A model split across five code cells, with markdown and IPython lines between them. The
# driver feeds 32x32 images to a model whose fc1 was sized for 28x28.
FIVE_CELLS = [
    ("markdown", "# A small CNN\nSplit across cells, as notebooks are."),
    ("code", "%matplotlib inline\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F"),
    ("code", "!pip install --quiet torch\nNUM_CLASSES = 10"),
    ("markdown", "The model:"),
    ("code", "class SmallCNN(nn.Module):\n"
             "    def __init__(self, num_classes):\n"
             "        super().__init__()\n"
             "        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)\n"
             "        self.pool = nn.MaxPool2d(2)\n"
             "        self.fc1 = nn.Linear(2000, num_classes)\n"
             "\n"
             "    def forward(self, x):\n"
             "        x = self.pool(F.relu(self.conv1(x)))\n"
             "        x = torch.flatten(x, 1)\n"
             "        return self.fc1(x)"),
    ("code", "%%time\nmodel = SmallCNN(NUM_CLASSES)\ndisplay(model)"),
    ("markdown", "Run it:"),
    ("code", "x = torch.randn(4, 3, 32, 32)\nout = model(x)\nout.shape"),
]
# Where things are in FIVE_CELLS (1-based cell numbers count every cell, markdown included).
FC1_CELL, FC1_ROW = 5, 6  # self.fc1 = nn.Linear(2000, num_classes)
DRIVER_CELL = 8


def write_notebook(path: Path, cells: list, **kwargs) -> Path:
    nb = new_notebook(cells=[new_code_cell(src) if kind == "code" else new_markdown_cell(src) for kind, src in cells],
                      **kwargs)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def split_into_cells(source: str) -> tuple:
    """A program's top-level statements, each with the comments and blank lines above it, as code
    cells with a markdown cell before each; and line -> (cell number, line in cell) for the source."""
    lines = source.splitlines(keepends=True)
    starts = [stmt.lineno for stmt in ast.parse(source).body]
    # a statement's cell begins after the previous statement's last line
    ends = [stmt.end_lineno for stmt in ast.parse(source).body]
    bounds = [1] + [ends[i] + 1 for i in range(len(starts) - 1)]
    cells, where = [], {}
    for i, first in enumerate(bounds):
        last = bounds[i + 1] - 1 if i + 1 < len(bounds) else len(lines)
        cells.append(("markdown", f"Step {i + 1}"))
        chunk = lines[first - 1:last]
        text = "".join(chunk)
        if text.endswith("\n"):
            text = text[:-1]  # as editors store a cell: no newline after its last line
        cells.append(("code", text))
        for n in range(first, last + 1):
            where[n] = (len(cells), n - first + 1)
    return cells, where
