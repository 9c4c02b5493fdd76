"""Every rule's examples, run against the rule and against real torch on the CPU (Fixit-style).

For each example: torch's output shape, the rule's output and the example's `out` must be equal
(nested tuples for tuple outputs, ints for numbers), or, for `error=`, torch must raise and the rule
must raise ShapeError with that code. A rule registered under several names runs under its first.
"""

from __future__ import annotations

import pytest

from harnesses import load  # tests/ is on sys.path: pytest's rootdir import mode

H = load("_core_harness")
CASES = H.all_examples()


def test_there_are_examples():
    assert len(CASES) > 50


@pytest.mark.parametrize("rule, example", [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_rule_example(rule, example):
    H.check_example(rule, example)


def test_example_codes_exist():
    from shapels.codes import CODES

    unknown = sorted({e.error for _, _, e in CASES if e.error is not None and e.error not in CODES})
    assert not unknown, f"examples use codes missing from shapels/codes.py: {unknown}"
