"""`shapels check --fix` and `--diff`: the fixes the analysis offers, applied one at a time with a
re-analysis after each, files keeping their encoding and line endings; an edit that would add a
problem is reverted (fixes.fix_text, with a stand-in analysis, since the engine offers only fixes
it verified)."""

from __future__ import annotations

import json
import textwrap

from conftest import run_python, run_shapels

from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Span
from shapels import fixes

# Two independent mistakes: the driven MLP's fc1 and the commented SeqModel's head. (SeqModel is not
# called by the driver too: the engine offers no fix for an error whose run also fails later on.)
TWO = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    class MnistMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(700, 256)
            self.fc2 = nn.Linear(256, 10)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x.flatten(1))))


    class SeqModel(nn.Module):
        def __init__(self, vocab=100, dim=64):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.head = nn.Linear(32, 5)

        # shapels: input tokens=(4, 12)
        def forward(self, tokens):
            return self.head(self.embed(tokens).mean(1))


    mlp = MnistMLP()
    out = mlp(torch.randn(8, 1, 28, 28))
""")
FIXED = TWO.replace("nn.Linear(700, 256)", "nn.Linear(784, 256)").replace("nn.Linear(32, 5)", "nn.Linear(64, 5)")


def test_text_shows_each_fix_on_a_help_line(tmp_path):
    (tmp_path / "m.py").write_text(TWO)
    result = run_shapels("check", "m.py", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("m.py:8:30: linear-in-features ") and lines[1] == "  help: Set in_features to 784"
    assert lines[2].startswith("m.py:19:31: linear-in-features ") and lines[3] == "  help: Set in_features to 64"


def test_diff_prints_the_fixes_and_changes_nothing(tmp_path):
    model = tmp_path / "m.py"
    model.write_text(TWO)
    result = run_shapels("check", "--diff", "m.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert model.read_text() == TWO
    removed = [l for l in result.stdout.splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l for l in result.stdout.splitlines() if l.startswith("+") and not l.startswith("+++")]
    assert result.stdout.startswith("--- m.py\n+++ m.py\n@@ ")
    assert removed == ["-        self.fc1 = nn.Linear(700, 256)", "-        self.head = nn.Linear(32, 5)"]
    assert added == ["+        self.fc1 = nn.Linear(784, 256)", "+        self.head = nn.Linear(64, 5)"]
    assert "would fix 2 errors in 1 file" in result.stderr

    model.write_text(FIXED)
    clean = run_shapels("check", "--diff", "m.py", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout == ""


def test_fix_applies_every_fix_and_the_model_then_runs(tmp_path):
    model = tmp_path / "m.py"
    model.write_text(TWO)
    assert run_python(model).returncode != 0
    result = run_shapels("check", "--fix", "m.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert model.read_text() == FIXED
    assert "m.py:8: fixed linear-in-features: Set in_features to 784" in result.stderr
    assert "fixed 2 errors; 0 errors in 1 file left" in result.stderr
    assert run_python(model).returncode == 0
    assert run_shapels("check", "m.py", cwd=tmp_path).returncode == 0


def test_fix_reports_what_is_left(tmp_path):
    (tmp_path / "m.py").write_text(TWO)
    (tmp_path / "broken.py").write_text("x = (1,\n")
    result = run_shapels("check", "--fix", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert [(d["filename"], d["code"]) for d in json.loads(result.stdout)] == [("broken.py", "syntax-error")]
    assert (tmp_path / "m.py").read_text() == FIXED and (tmp_path / "broken.py").read_text() == "x = (1,\n"


def test_fix_keeps_bom_line_endings_and_non_ascii(tmp_path):
    source = TWO.replace("self.fc1", "self.größe")
    model = tmp_path / "m.py"
    model.write_bytes(b"\xef\xbb\xbf" + source.replace("\n", "\r\n").encode("utf-8"))
    result = run_shapels("check", "--fix", "m.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = FIXED.replace("self.fc1", "self.größe")
    assert model.read_bytes() == b"\xef\xbb\xbf" + expected.replace("\n", "\r\n").encode("utf-8")


def test_fix_keeps_a_declared_encoding(tmp_path):
    source = "# -*- coding: latin-1 -*-\n# Gewichte für das Modell\n" + TWO
    model = tmp_path / "m.py"
    model.write_bytes(source.encode("latin-1"))
    result = run_shapels("check", "--fix", "m.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = "# -*- coding: latin-1 -*-\n# Gewichte für das Modell\n" + FIXED
    assert model.read_bytes() == expected.encode("latin-1")


def test_fix_and_diff_usage_errors(tmp_path):
    (tmp_path / "m.py").write_text(TWO)
    assert run_shapels("check", "--fix", "--diff", "m.py", cwd=tmp_path).returncode == 2
    assert run_shapels("check", "--diff", "--format", "json", "m.py", cwd=tmp_path).returncode == 2
    assert (tmp_path / "m.py").read_text() == TWO


# -- the loop itself, with a stand-in analysis -----------------------------------------------------
class _Result:
    def __init__(self, findings, syntax_error=None, partial=False):
        self.findings, self.syntax_error, self.partial = findings, syntax_error, partial


def _error(line: int, col: int, end_col: int, content: str, code: str = "linear-in-features") -> Finding:
    span = Span(line, col, line, end_col)
    return Finding(code, "error", "m", None, span=span, fix=Fix(f"Set to {content}", None, content, span=span))


def test_a_fix_that_adds_a_problem_is_reverted_and_the_file_left_there():
    text = "a = f(1)\nb = g(2)\nc = h(3)\n"

    def analyse(t: str):
        found = []
        if "f(1)" in t:
            found.append(_error(1, 6, 7, "10"))
        if "g(2)" in t:
            found.append(_error(2, 6, 7, "20"))
        if "g(20)" in t:
            found.append(_error(3, 6, 7, "30", code="broadcast-mismatch"))  # the second fix breaks line 3
        return _Result(found)

    outcome = fixes.fix_text(text, analyse)
    assert outcome.text == "a = f(10)\nb = g(2)\nc = h(3)\n"  # the first applied, the second reverted
    assert [a.message for a in outcome.applied] == ["Set to 10"]
    assert "line 2: Set to 20: not applied, it would add broadcast-mismatch on line 3" in outcome.stopped


def test_each_fix_is_taken_from_the_analysis_of_the_edited_text():
    """The second fix's value depends on the first: it is read after re-analysing."""
    text = "a = f(1)\nb = g(2)\n"

    def analyse(t: str):
        if "f(1)" in t:
            return _Result([_error(1, 6, 7, "5"), _error(2, 6, 7, "99")])
        if "g(2)" in t:
            return _Result([_error(2, 6, 7, "5")])  # now that a = f(5), g needs 5
        return _Result([])

    outcome = fixes.fix_text(text, analyse)
    assert outcome.text == "a = f(5)\nb = g(5)\n"


def test_edits_count_code_points_and_keep_crlf():
    text = "ä = f(1)\r\nb = g(2)\r\n"
    assert fixes.apply_edit(text, Span(1, 6, 1, 7), "10") == "ä = f(10)\r\nb = g(2)\r\n"
    assert fixes.apply_edit(text, Span(2, 0, 2, 1), "x\ny") == "ä = f(1)\r\nx\r\ny = g(2)\r\n"
    assert fixes.apply_edit(text, Span(1, 6, 1, 40), "1") is None  # past the line's end: not applied
