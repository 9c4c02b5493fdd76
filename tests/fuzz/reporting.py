"""How a differential fuzz run checks its programs and ends, torch's and Keras's alike: each program's
check raises at once, or (collecting) notes the violation and goes on; at the end its figures are
printed, the first missed programs when collecting, and every violation (grouped by kind, written to
$SHAPELS_FUZZ_COLLECT_FILE if set) fails the test."""

from __future__ import annotations

import os
from collections import Counter

import pytest


def checker(check, stats, violations: list, collect: bool):
    """`check(program, stats)` for one generated program, its AssertionError kept in `violations` when
    collecting."""

    def run(program) -> None:
        try:
            check(program, stats)
        except AssertionError as error:
            if not collect:
                raise
            violations.append(str(error))

    return run


def report(label: str, stats, violations: list, collect: bool) -> None:
    print(f"\n{label}: {stats}")
    if collect and stats.missed_examples:
        print("missed (first few):", *stats.missed_examples, sep="\n\n")
    if not violations:
        return
    kinds = Counter(v.splitlines()[0][:90] for v in violations)
    print(f"{len(violations)} violations:", *kinds.most_common(), sep="\n  ")
    path = os.environ.get("SHAPELS_FUZZ_COLLECT_FILE")
    if path:
        with open(path, "w") as out:
            out.write("\n\n=====\n".join(violations))
    pytest.fail(f"{len(violations)} violations; first:\n{violations[0]}")
