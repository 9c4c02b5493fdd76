"""The analysis's parse (validation switched off) gives libcst's own tree and errors, and leaves
libcst validating afterwards."""

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

