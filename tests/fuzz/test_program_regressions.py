"""Minimal programs for violations the program fuzzer found, one test per bug.

A known-failing one is `xfail(strict=True)` so that it turns into an XPASS failure once fixed: then
drop the marker and re-enable the construct in program_gen (the EXCLUDE_* flags).
"""

from __future__ import annotations

from .program_gen import Program
from .test_program_differential import check_program


def program(source: str, bug_line=None) -> Program:
    return Program(source, source, bug_line, "regression" if bug_line else None, 0)


# Found by test_program_differential: one tensor feeds two layers that both reject it. Torch stops at
# `self.a(x)` (line 12); shapels must report that one as the error and the second (line 9), true once
# the first is fixed, as a warning: within one execution only the first failure is certain.
FANOUT = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 2)
        self.b = nn.Linear(8, 4)

    def forward(self, x):
        a = self.a(x)
        b = self.b(x)
        return torch.cat([a, b], -1)


model = Net()
out = model(torch.randn(2, 6))
"""


def test_fanout_after_wrong_input_reports_one_error():
    check_program(program(FANOUT, bug_line=18))
