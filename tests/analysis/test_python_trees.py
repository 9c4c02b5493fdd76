"""One analysis parses its file's text with Python's `ast` once: the screen, hasattr's scan of
attribute writes and the statement spans read the same tree, and none of them changes it."""

from __future__ import annotations

import ast

from shapels.analysis import attribute_writes, limits, positions, python_trees
from shapels.analysis.engine import analyze

# hasattr of an attribute no code writes (the scan of writes), and the module class's spans (statements)
TEXT = """\
# test_python_trees: a text no other test analyses, so none of its trees is kept yet
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        if hasattr(self, "scale"):
            x = x * 2
        return self.fc(x)


Net()(torch.randn(2, 8))
"""


def test_one_analysis_parses_its_text_once_for_every_reader(monkeypatch):
    parses = []
    parse = ast.parse

    def counting_parse(source, *args, **kwargs):
        if source == TEXT:
            parses.append(source)
        return parse(source, *args, **kwargs)

    read = {}  # reader -> the tree (the module's statement list for positions) it read

    def spy(reader, function, tree_argument):
        def wrapper(*args):
            read.setdefault(reader, args[tree_argument])  # the first call: the whole module's
            return function(*args)
        return wrapper

    monkeypatch.setattr(ast, "parse", counting_parse)
    monkeypatch.setattr(limits, "depth_past", spy("screen", limits.depth_past, 0))
    monkeypatch.setattr(attribute_writes._Scan, "module", spy("writes", attribute_writes._Scan.module, 1))
    monkeypatch.setattr(positions._StatementPlaces, "_place_block",  # (self, body, ast_body, indents)
                        spy("positions", positions._StatementPlaces._place_block, 2))
    result = analyze(TEXT, "net.py")
    assert result.class_runs  # the class's spans: its statements placed with ast's tree

    tree = python_trees.python_tree(TEXT)
    assert len(parses) == 1
    assert read["screen"] is tree and read["writes"] is tree and read["positions"] is tree.body
    assert ast.dump(tree, include_attributes=True) == ast.dump(parse(TEXT), include_attributes=True)  # unchanged


def test_a_text_that_does_not_parse_raises_each_time_and_a_long_one_is_not_kept():
    for _ in range(2):
        try:
            python_trees.python_tree("def (:\n")
        except SyntaxError:
            pass
        else:
            raise AssertionError("a syntax error was not raised")
    long = "x = 1\n" * (python_trees.KEPT_CHARACTERS // 6 + 1)
    assert python_trees.python_tree(long) is not python_trees.python_tree(long)
    short = "x = 2  # test_python_trees\n"
    assert python_trees.python_tree(short) is python_trees.python_tree(short)
