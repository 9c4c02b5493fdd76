"""A bug in shapels costs only what it broke: the statement or class it hit gets a note, and the rest
of the file (and of the other files) is still analysed and reported.

The bug is injected: the rule of one layer (nn.Hardshrink) is made to raise an exception that no rule
may raise, the way an unforeseen case in the engine would."""

from __future__ import annotations

import textwrap

import pytest

from shapels import cli
from shapels.analysis import engine
from shapels.analysis.engine import Options, analyze
from shapels.analysis.recorder import Run
from shapels.rules import registry

PROGRAM = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.Hardshrink()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(self.act(x))


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1024, 128)

        def forward(self, x):
            return self.fc(x)


    b = Broken()
    z = b(torch.randn(2, 8))
    net = Net()
    y = net(torch.randn(1, 5120))
""")


@pytest.fixture
def broken_rule(monkeypatch):
    rule = registry.lookup("torch.nn.Hardshrink")

    def boom(call):
        raise RuntimeError("injected")

    monkeypatch.setattr(rule, "fn", boom)


def _codes(result) -> list:
    return [(f.code, f.span.start_line) for f in result.findings]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_failing_statement_gets_a_note_and_the_rest_is_analysed(broken_rule):
    result = analyze(PROGRAM, "m.py", Options())
    notes = [f for f in result.findings if f.code == "analysis-internal-error"]
    assert notes and notes[0].span.start_line == _line(PROGRAM, "z = b(") and notes[0].severity == "information"
    assert "RuntimeError: injected" in notes[0].message
    # The statements after it still run: Net's mismatch is found, with its fix.
    [error] = [f for f in result.findings if f.severity == "error"]
    assert (error.code, error.span.start_line, error.fix.content) == (
        "linear-in-features", _line(PROGRAM, "nn.Linear(1024, 128)"), "5120")
    assert result.partial
    net = next(m for m in result.modules if m.name == "Net")
    assert [int(d) for d in net.inputs["x"].dims] == [1, 5120]  # its run, recorded after the failed one


def test_without_the_bug_the_same_file_has_no_note():
    result = analyze(PROGRAM, "m.py", Options())
    assert [c for c, _ in _codes(result)] == ["linear-in-features"] and not result.partial


def test_a_class_run_that_fails_costs_that_class_only(broken_rule):
    # No driver: each class gets its own (symbolic) run; Broken's fails, Net's still reports.
    text = PROGRAM.split("b = Broken()")[0] + "\n\nclass Use(nn.Module):\n    def __init__(self):\n" \
        "        super().__init__()\n        self.fc = nn.Linear(1024, 2)\n\n    def forward(self, x):\n" \
        "        return self.fc(x.view(1, 5120))\n"
    result = analyze(text, "m.py", Options())
    codes = _codes(result)
    assert ("analysis-internal-error", _line(text, "class Broken")) in codes
    assert ("linear-in-features", _line(text, "nn.Linear(1024, 2)")) in codes  # Use's, after Broken's run failed


def test_a_failed_unit_leaves_the_recorder_where_it_began():
    from shapels.analysis.interpreter import Budget, Interpreter
    from shapels.analysis.recorder import Recorder
    from shapels.analysis.scopes import make_scope
    import libcst as cst

    module = cst.parse_module("x = 1\n")
    recorder = Recorder()
    interp = Interpreter(make_scope("__main__", "m.py", module), recorder, Budget(None), None)
    failures: list = []

    def work():
        recorder.begin_run(Run("A", None, {}, "symbolic", False))
        recorder.begin_run(Run("B", None, {}, "symbolic", False))
        assert len(recorder._stack) == 2
        raise KeyError("deep inside")

    engine._guarded(interp, failures, "this statement", module.body[0], work)
    assert recorder.current is None and len(failures) == 1
    assert "KeyError" in failures[0].message


def test_cli_reports_the_other_files_and_exits_2(tmp_path, monkeypatch, capsys):
    good = tmp_path / "good.py"
    good.write_text(PROGRAM)
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    real = engine.analyze

    def analyze_or_fail(text, path, options=None):
        if path.endswith("bad.py"):
            raise RuntimeError("injected")
        return real(text, path, options)

    monkeypatch.setattr(engine, "analyze", analyze_or_fail)
    status = cli.main(["check", str(bad), str(good)])
    out, err = capsys.readouterr()
    assert status == 2
    assert "bad.py: not analysed, internal error: RuntimeError: injected" in err
    assert f"good.py:{_line(PROGRAM, 'nn.Linear(1024, 128)')}:" in out and "linear-in-features" in out


def test_cli_exits_2_on_a_contained_failure_and_still_prints_findings(tmp_path, broken_rule, capsys):
    path = tmp_path / "m.py"
    path.write_text(PROGRAM)
    status = cli.main(["check", str(path)])
    out, _ = capsys.readouterr()
    assert status == 2
    assert f"m.py:{_line(PROGRAM, 'nn.Linear(1024, 128)')}:" in out and "linear-in-features" in out
    assert "analysis-internal-error" in out
