"""The cold start: `shapels check` of a file whose sizes are all known never imports sympy (dims are
Python ints until an unknown or a named size appears, shapels/symbolic/dims.py), nor does one whose early
error leaves its later sizes unknown (unknowns are held without sympy, shapels/symbolic/unknowns.py);
a file that needs a symbol still gets it, with the same findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]

# Runs the CLI in this process, then says which of the heavy modules it imported.
_PROBE = textwrap.dedent("""
    import json, sys
    from shapels.cli import main
    try:
        main(["check", sys.argv[1], "--format", "json", "--no-cache"])
    except SystemExit:
        pass
    print(json.dumps({"sympy": "sympy" in sys.modules, "torch": "torch" in sys.modules}))
""")

CONCRETE = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(x.view(x.size(0), -1))

Net()(torch.randn(1, 3, 64, 64))
"""

# The view fails (torch: "shape '[8, 3, 28, 28]' is invalid for input of size 6272"); the convs, pools,
# size(0) and reshape(-1) after it run on sizes nothing is known about.
EARLY_ERROR = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(32 * 3 * 3, 10)

    def forward(self, x):
        x = x.view(x.size(0), 3, 28, 28)
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = x.reshape(x.size(0), -1)
        return self.fc(x)


print(Net()(torch.randn(8, 1, 28, 28)).shape)
"""

SEED_EARLY_ERROR = EXAMPLES / "torch" / "seed004_ex2.py"

# A named size: the input's batch is the symbol B.
SYMBOLIC = """
import torch.nn as nn
from jaxtyping import Float
from torch import Tensor


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: Float[Tensor, "B 32"]):
        return self.fc2(self.fc1(x))
"""


def _probe(tmp_path: Path, source: str) -> tuple[dict, list]:
    path = tmp_path / "model.py"
    path.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=300)
    lines = proc.stdout.strip().splitlines()
    modules = json.loads(lines[-1])
    report = json.loads("\n".join(lines[:-1]))
    return modules, report


def _codes(report: list) -> list:
    return [finding["code"] for finding in report if finding["severity"] == "error"]


def test_a_file_of_known_sizes_is_checked_without_sympy(tmp_path):
    modules, report = _probe(tmp_path, CONCRETE)
    assert modules == {"sympy": False, "torch": False}
    assert _codes(report) == ["input-shape"]  # built for 32x32 (fc's 16*16*16), run on 64x64


def test_a_symbolic_run_still_brings_sympy_in(tmp_path):
    modules, report = _probe(tmp_path, SYMBOLIC)
    assert modules["sympy"] is True
    assert _codes(report) == ["linear-in-features"]
    assert "(B, 64)" in report[0]["message"]


def _where(report: list) -> list:
    return [(f["code"], f["severity"], f["location"]["row"], f["location"]["column"], f["message"], f["fix"])
            for f in report]


def test_an_early_error_leaves_unknown_sizes_without_sympy(tmp_path):
    modules, report = _probe(tmp_path, EARLY_ERROR)
    assert modules == {"sympy": False, "torch": False}
    assert _where(report) == [(
        "view-invalid-shape", "error", 15, 13,
        "shape '[8, 3, 28, 28]' is invalid for input of size 6272: (8, 1, 28, 28) holds 6272 elements, the new "
        "shape 18816: input (8, 1, 28, 28)", None)]


@pytest.mark.skipif(not SEED_EARLY_ERROR.exists(), reason="the shared seed examples are not here")
def test_the_seed_whose_view_fails_is_checked_without_sympy(tmp_path, expected):
    """seed004_ex2: the view before the pool fails (expected.json's flag, line 17); the pool, the flatten
    and fc after it run on unknown sizes."""
    modules, report = _probe(tmp_path, SEED_EARLY_ERROR.read_text())
    assert modules == {"sympy": False, "torch": False}
    truth = expected["torch/seed004_ex2.py"]
    assert [(f["location"]["row"], f["code"]) for f in report] == [(flag["line"], "view-invalid-shape")
                                                                    for flag in truth["flags"]]
    assert _where(report) == [(
        "view-invalid-shape", "error", 17, 21,
        "shape '[1, 20, 32, 32]' is invalid for input of size 81920: (1, 81920) holds 81920 elements, the new "
        "shape 20480: input (1, 3, 64, 64) → conv1 (1, 10, 64, 64) → conv2 (1, 20, 64, 64) → view (1, 81920)",
        None)]
