"""The intent mutation corpus (corpus/intent/, corpus/intent_mutants.py).

The unmutated programs are the truth of intent, so each must run under torch and be clean under shapels;
every mutation operator must find something to change, in one place, leaving code that parses; and the
judgement of a fix against the unmutated run (restores / merges the batch) must be right on hand-made cases.
The figures themselves are not asserted here: `.venv/bin/python corpus/intent_mutants.py` reports them in
corpus/INTENT_RESULTS.md. Labelling runs the programs in a torch worker process; without torch those tests skip.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import libcst as cst
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "corpus"))

import intent_mutants as im  # noqa: E402

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="labelling runs the programs with torch")


@pytest.fixture(scope="module")
def labeller():
    lab = im.Labeller(cache=None)  # no cache: the test labels what is on disk now
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def traced(labeller):
    """Each program's text and its traced run (the int locals swap_name needs)."""
    return {p.stem: (p, p.read_text(), labeller.label(p.read_text(), str(p), trace=True)) for p in im.programs()}


def test_corpus_size():
    names = [p.stem for p in im.programs()]
    assert 16 <= len(names) <= 24, names


@needs_torch
def test_unmutated_programs_run_and_are_clean(traced):
    broken = {name: (label["error_type"], label["error"]) for name, (_, _, label) in traced.items()
              if not label["runs"]}
    assert not broken
    for name, (_, _, label) in traced.items():
        assert label["calls"], f"{name}: no module call was recorded"
    flagged = {}
    for name, (path, text, _) in traced.items():
        static = im.shapels_errors(text, str(path))
        if static["errors"] or static["crash"]:
            flagged[name] = static["crash"] or [(e["line"], e["code"], e["message"]) for e in static["errors"]]
    assert not flagged


@needs_torch
def test_each_operator_makes_one_line_mutants_that_parse(traced):
    made: dict = {op: 0 for op in im.OPERATORS}
    for name, (_, text, label) in traced.items():
        lines = text.splitlines()
        for m in im.mutants(name, text, label.get("locals")):
            mutated = m.apply(text)
            cst.parse_module(mutated)  # raises if the mutant does not parse
            changed = [i + 1 for i, (a, b) in enumerate(zip(lines, mutated.splitlines())) if a != b]
            assert len(mutated.splitlines()) == len(lines) and changed == [m.line], m.id
            if m.reference is not None:
                cst.parse_module(m.intended(text))
            made[m.operator] += 1
    assert all(made.values()), made


def test_mutants_are_deterministic():
    path = im.PROGRAMS / "lenet.py"
    text = path.read_text()
    first = [m.id for m in im.mutants("lenet", text, None)]
    assert first and first == [m.id for m in im.mutants("lenet", text, None)]


# A hand-made program and a mutant of it (fc's in_features 784 -> 392), with two candidate fixes.
BASE = """import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc(x)


model = Net()
out = model(torch.randn(8, 1, 28, 28))
"""
MUTANT = BASE.replace("nn.Linear(784, 10)", "nn.Linear(392, 10)")
LINEAR = (8, BASE.splitlines()[7].index("784"))  # (line, column) of the in_features argument
VIEW = (11, BASE.splitlines()[10].index("x.view"))


@needs_torch
def test_a_fix_that_restores_the_original(labeller):
    base, mutant = labeller.label(BASE, "base.py"), labeller.label(MUTANT, "base.py")
    assert base["runs"] and not mutant["runs"]
    line, col = LINEAR
    fixed = im.apply_fix(MUTANT, {"span": [line, col, line, col + 3], "content": "784"})
    assert fixed == BASE
    assert im.judge(base, labeller.label(fixed, "base.py")) == "restores"


@needs_torch
def test_a_fix_that_merges_the_batch_dim(labeller):
    # `x.view(-1, 392)` makes fc's input fit by folding the batch into rows: (16, 392) where (8, 784) was meant.
    base = labeller.label(BASE, "base.py")
    line, col = VIEW
    end = col + len("x.view(x.size(0), -1)")
    fixed = im.apply_fix(MUTANT, {"span": [line, col, line, end], "content": "x.view(-1, 392)"})
    label = labeller.label(fixed, "base.py")
    assert label["runs"]
    assert im.batch_merged(base, label)
    assert im.judge(base, label) == "batch merged"


def test_judgement_on_recorded_shapes():
    """The same judgements on labels written by hand (no torch needed)."""
    def label(runs, fc_in, out):
        return {"runs": runs, "calls": [{"module": "model.fc", "call": 0, "class": "Linear", "in": {"seq": [fc_in]},
                                         "out": out}]}

    base = label(True, [8, 784], [8, 10])
    assert im.judge(base, label(True, [8, 784], [8, 10])) == "restores"
    assert im.judge(base, label(True, [16, 392], [16, 10])) == "batch merged"
    assert im.judge(base, label(True, [784], [10])) == "batch merged"  # the rank differs
    assert im.judge(base, label(True, [8, 784], [8, 12])) == "shapes differ"
    assert im.judge(base, label(False, [8, 784], [8, 10])) == "fails"


def test_every_fix_the_corpus_gets_is_python_that_the_analysis_accepts():
    """Every fix shapels offers on the corpus's mutants (the preferred one and the alternatives) is Python in
    the source's own terms and, applied, leaves no problem on the fixed text that the mutant did not have:
    what the repair verified by construction, checked again from outside. Static only: the mutants whose
    labels need torch (swap_name's int locals) are left out."""
    from shapels.analysis.engine import analyze
    from shapels.fixes import apply_fix

    checked = 0
    for path in im.programs():
        text = path.read_text()
        for mutant in im.mutants(path.stem, text, None):
            mutated = mutant.apply(text)
            result = analyze(mutated, str(path))
            before = {(f.code, f.span.start_line) for f in result.findings if f.severity in ("error", "warning")}
            for finding in result.findings:
                for fix in ([finding.fix] if finding.fix else []) + list(finding.alternatives):
                    fixed = apply_fix(mutated, fix)
                    assert fixed is not None, (path.stem, mutant.new, fix.message)
                    compile(fixed, str(path), "exec")
                    after = analyze(fixed, str(path))
                    new = {(f.code, f.span.start_line) for f in after.findings
                           if f.severity in ("error", "warning")} - before
                    assert not new, (path.stem, mutant.new, fix.message, new)
                    checked += 1
    assert checked > 100
