"""The analysis's parse (validation switched off) gives libcst's own tree and errors, and leaves
libcst validating afterwards; Python's warnings, silenced for `ast.parse`, are put back as they were
whatever threads overlap."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import libcst as cst
import pytest

from shapels.analysis.parsing import parse_module

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "examples" / "torch"


def _sources() -> list:
    paths = sorted(SEEDS.glob("*.py")) + sorted((ROOT / "shapels" / "analysis").glob("*.py"))
    spec = importlib.util.find_spec("torch")  # located only, read as text
    if spec is not None and spec.origin:
        modules = Path(spec.origin).parent / "nn" / "modules"
        paths += [modules / name for name in ("transformer.py", "conv.py", "rnn.py", "activation.py")]
    return [p for p in paths if p.is_file()]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.name)
def test_same_tree_as_libcst(path):
    text = path.read_text()
    ours = parse_module(text)
    assert ours.deep_equals(cst.parse_module(text))
    assert ours.code == text


def test_same_syntax_error_and_validation_back_on():
    bad = "class Net(nn.Module):\n    def forward(self, x)\n        return x\n"
    with pytest.raises(cst.ParserSyntaxError) as stock:
        cst.parse_module(bad)
    with pytest.raises(cst.ParserSyntaxError) as ours:
        parse_module(bad)
    assert (ours.value.message, ours.value.raw_line, ours.value.raw_column) == (
        stock.value.message, stock.value.raw_line, stock.value.raw_column)
    with pytest.raises(cst.CSTValidationError):  # constructed by hand after the parse: validated again
        cst.Name("not a name")


def test_validation_is_off_only_during_the_parse():
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Integer("1.5")


def test_silenced_warnings_leave_the_filters_as_they_were_when_threads_overlap():
    import threading
    import time
    import warnings

    from shapels.analysis.parsing import warnings_silenced

    before = list(warnings.filters)
    first_inside, release_first, release_second = threading.Event(), threading.Event(), threading.Event()

    def first():
        with warnings_silenced():
            first_inside.set()
            release_first.wait(10)

    def second():
        with warnings_silenced():  # waits for the first: entered alongside, it would leave after it
            release_second.wait(10)

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    first_inside.wait(10)
    two.start()
    time.sleep(0.2)  # the second reaches its `with` while the first is inside
    release_first.set()
    one.join(10)
    release_second.set()
    two.join(10)
    assert warnings.filters == before  # not the first one's "ignore" left in place for good
