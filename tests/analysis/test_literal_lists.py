"""A long list of literals is evaluated once per node (interpreter._literal_items); each evaluation must
still give a list of its own, as Python does, since the program may change it."""

from __future__ import annotations

import libcst as cst

from shapels.analysis import interpreter
from shapels.analysis.engine import analyze

ITEMS = ", ".join(str(i) for i in range(1, 41))  # 40 items: past MIN_LITERAL_ITEMS

PROGRAM = f'''import torch

def sizes():
    return [{ITEMS}]

a = sizes()
a.append(0)
b = sizes()
y = torch.randn(2, len(b)) @ torch.randn(40, 3)
z = torch.randn(2, len(a)) @ torch.randn(41, 3)
w = torch.randn(2, len(b)) @ torch.randn(41, 3)
'''


def test_a_list_one_call_appended_to_is_not_the_list_the_next_call_gets():
    assert interpreter.MIN_LITERAL_ITEMS <= 40
    errors = [f for f in analyze(PROGRAM, "model.py").findings if f.severity == "error"]
    assert [f.span.start_line for f in errors] == [11]  # only `w`: b has 40 items, a 41


def test_items_are_kept_per_node_not_per_spelling():
    first, second = (cst.parse_expression(f"[{ITEMS}]") for _ in range(2))
    mixed = cst.parse_expression(f"[{ITEMS}, x]")
    assert interpreter._literal_items(first) == interpreter._literal_items(second)
    assert interpreter._literal_items(first) is interpreter._literal_items(first)  # the node's entry, kept
    assert interpreter._literal_items(mixed) is None  # a name among them: evaluated item by item
