"""The corpora's label caches keep what a program does, never how loaded the machine was: a labelling run that
timed out or whose worker died answers the run that made it, and a later run labels the program again
(corpus/intent_mutants.py's UNSETTLED, used by the intent, zoo and research labellers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "corpus"))

import intent_mutants  # noqa: E402
import research_mutants  # noqa: E402

TIMED_OUT = {"runs": False, "error_type": "Timeout", "error": "over 120 s", "error_line": None, "output_shape": None,
             "calls": []}
DIED = {**TIMED_OUT, "error_type": "WorkerDied", "error": ""}
RAN = {"runs": True, "error_type": None, "error": None, "error_line": None, "output_shape": [1, 10], "calls": []}
FAILED = {**RAN, "runs": False, "error_type": "RuntimeError", "error": "mat1 and mat2 shapes cannot be multiplied",
          "output_shape": None}


def _labellers(tmp_path: Path):
    yield "intent", intent_mutants.Labeller(cache=tmp_path / "intent.json"), \
        lambda lab, text: lab.label(text, "m.py")
    yield "research", research_mutants.Labeller([], cache=tmp_path / "research.json"), \
        lambda lab, text: lab.label("pkg.m", Path("m.py"), text + research_mutants.MARK + "\n")


@pytest.mark.parametrize("answer", [TIMED_OUT, DIED, RAN, FAILED], ids=lambda a: a["error_type"] or "runs")
def test_only_a_settled_label_is_cached(tmp_path, answer):
    for name, labeller, label in _labellers(tmp_path):
        runs = []
        labeller._run = lambda job, runs=runs: runs.append(job) or dict(answer)
        assert label(labeller, "x = 1\n") == answer
        assert label(labeller, "x = 1\n") == answer
        assert len(runs) == 1, name  # the same run asks once, whatever the answer
        labeller.save()
        cached = json.loads(labeller.cache_path.read_text())["labels"]
        settled = answer["error_type"] not in intent_mutants.UNSETTLED
        assert bool(cached) == settled, name

        again = type(labeller)(cache=labeller.cache_path) if name == "intent" else \
            type(labeller)([], cache=labeller.cache_path)
        later = []
        again._run = lambda job, later=later: later.append(job) or dict(RAN)
        label(again, "x = 1\n")
        assert len(later) == (0 if settled else 1), name  # a timed-out program is labelled again later
