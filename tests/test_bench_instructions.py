"""benchmarks/bench_instructions.py's results file: a run over a few files (`--files`) changes only their rows."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_instructions  # noqa: E402 - from the benchmarks folder, which is no package

EXISTING = """# Instruction counts

Notes on earlier rounds, kept by hand.

| file | analyze (M instructions) | parse (M instructions) | analyze ÷ parse |
| --- | --- | --- | --- |
| a.py | 10.0 | 5.0 | 2.000× |
| b.py + driver `b()` | 30.0 | 10.0 | 3.000× |

A paragraph after the table.
"""


def test_measured_rows_replace_theirs_and_everything_else_stays():
    rows = [{"file": "b.py + driver `b()`", "analyze": 12e6, "parse": 10e6, "ratio": 1.2},
            {"file": "c.py", "analyze": 4e6, "parse": 2e6, "ratio": 2.0}]
    merged = bench_instructions.merge_rows(EXISTING, rows).splitlines()
    assert merged == EXISTING.replace("| b.py + driver `b()` | 30.0 | 10.0 | 3.000× |",
                                      "| b.py + driver `b()` | 12.0 | 10.0 | 1.200× |\n| c.py | 4.0 | 2.0 | 2.000× |"
                                      ).splitlines()
