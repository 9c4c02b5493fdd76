"""argument_asserts reads a function's assignments with its own walk over the nodes' fields (libcst's
visitor rebuilds every node it passes): it must find what a libcst visitor finds, in the same order,
up to the same stopping point, on real library code and on the statement kinds whose fields are not
in source order (an except clause's type, a case's guard)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import libcst as cst
import pytest

from shapels.analysis import argument_asserts
from shapels.analysis.parsing import parse_module

ROOT = Path(__file__).resolve().parents[2]


class _ReferenceAssignments(cst.CSTVisitor):
    """The visitor argument_asserts used before: assignments at the function's own level before `stop`."""

    def __init__(self, stop):
        self.stop, self.done, self.sources = stop, False, {}

    def on_visit(self, node):
        if node is self.stop:
            self.done = True
        if self.done or isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
        return super().on_visit(node)

    def _add(self, target, value):
        for name in argument_asserts._targets(target):
            self.sources.setdefault(name, []).append(value)

    def visit_Assign(self, node):
        for target in node.targets:
            self._add(target.target, node.value)

    def visit_AugAssign(self, node):
        self._add(node.target, node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self._add(node.target, node.value)

    def visit_For(self, node):
        self._add(node.target, node.iter)


class _ReferenceComprehensions(cst.CSTVisitor):
    def __init__(self):
        self.sources = {}

    def visit_CompFor(self, node):
        for name in argument_asserts._targets(node.target):
            self.sources.setdefault(name, []).append(node.iter)


def _reference(unit, stop) -> dict:
    assignments, comprehensions = _ReferenceAssignments(stop), _ReferenceComprehensions()
    unit.body.visit(assignments)
    unit.body.visit(comprehensions)
    for name, values in comprehensions.sources.items():
        assignments.sources.setdefault(name, []).extend(values)
    return assignments.sources


class _Collect(cst.CSTVisitor):
    def __init__(self):
        self.functions, self.expressions, self.out_of_order = [], [], []

    def visit_FunctionDef(self, node):
        self.functions.append(node)

    def visit_ExceptHandler(self, node):
        self.out_of_order.append(node.type)

    def visit_ExceptStarHandler(self, node):
        self.out_of_order.append(node.type)

    def visit_MatchCase(self, node):
        self.out_of_order.append(node.guard)

    def on_visit(self, node):
        if isinstance(node, cst.BaseExpression):
            self.expressions.append(node)
        return super().on_visit(node)


def _assert_same(module: cst.Module, every: int = 1) -> int:
    collected = _Collect()
    module.visit(collected)
    compared = 0
    for unit in collected.functions:
        inside = _Collect()
        unit.body.visit(inside)
        for stop in [None] + inside.expressions[::every] + [e for e in inside.out_of_order if e is not None]:
            ours = argument_asserts._assignments_before(unit, stop)
            theirs = _reference(unit, stop)
            assert {k: [id(v) for v in vs] for k, vs in ours.items()} == \
                {k: [id(v) for v in vs] for k, vs in theirs.items()}, (unit.name.value, stop)
            compared += 1
    return compared


TRICKY = '''
class Block(nn.Module):
    def __init__(self, dim, heads, depth: int = 2, kinds=("a", "b")):
        super().__init__()
        inner = dim * heads
        self.scale: float = inner ** -0.5
        width: int
        self.total = 0
        self.total += dim
        head_dim, rest = divmod(inner, heads)
        [a, *others] = kinds
        for i, d in enumerate(range(depth)):
            step = d + i
        while depth > 0:
            depth -= 1
        else:
            leftover = depth
        try:
            tried = int(dim)
        except lookup(dim := 3) as error:
            caught = dim
        else:
            fine = dim
        finally:
            done = True
        try:
            again = heads
        except* (grouped := ValueError):
            star = heads
        with open(dim) as f, ctx(heads):
            inside = f
        match kinds:
            case (x, y) if check(guarded := x):
                matched = x
            case _:
                other = y
        if dim > 3:
            big = dim
        elif heads:
            small = heads
        else:
            neither = 0
        def helper(q):
            hidden = q
            return [hidden for hidden in q]
        class Inner:
            attr = dim
        fn = lambda z: [z for z in range(z)]
        layers = [Attention(dim=d, heads=h) for d in dims if d for h in (heads,)]
        table = {k: v for k, v in zip(kinds, kinds)}
        assert inner % heads == 0, f"{inner} {heads}"
        late = step if big else small
        gen = sum(g for g in (1, 2))
        self.proj = Linear(inner, dim); self.out = late
'''


def test_tricky_statements_match_the_visitor():
    assert _assert_same(parse_module(TRICKY), every=7) > 30


def _library_files() -> list:
    spec = importlib.util.find_spec("torch")  # located only, read as text
    if spec is None or not spec.origin:
        return []
    modules = Path(spec.origin).parent / "nn" / "modules"
    return [p for p in (modules / "transformer.py",) if p.is_file()]


@pytest.mark.parametrize("path", _library_files(), ids=lambda p: p.name)
def test_library_functions_match_the_visitor(path):
    assert _assert_same(parse_module(path.read_text()), every=400) > 0


def test_parameter_alias_follows_the_one_renaming():
    unit = parse_module("def __init__(self, channels, n):\n    c = channels\n    self.c = c\n"
                        "    m = n\n    m = m + 1\n").body[0]
    self_c = cst.parse_expression("self.c")
    assert argument_asserts.parameter_alias(self_c, unit) == "channels"
    assert argument_asserts.parameter_alias(cst.parse_expression("m"), unit) is None  # assigned twice


# Comprehensions and stopping points in the fields the walk keeps after dropping those declared to
# hold only whitespace, operators or brackets (`_child_fields`): slices, keyword values, starred and
# double-starred arguments, decorators, annotations, defaults, f-strings, parenthesized and bracketed
# expressions, with-items, await, yield, a dict comprehension's key, a conditional's branches.
FIELDS = '''
def __init__(self, dim, heads, kinds):
    a = x[[i for i in dim]:(j for j in heads)]
    b = f(key=[k for k in kinds], *[s for s in dim], **{d: d for d in heads})
    c: List[[t for t in dim]] = ([p for p in heads])
    @decorate([q for q in kinds])
    def inner(z=[w for w in dim]) -> [r for r in heads]:
        hidden = 1
    e = lambda v=[u for u in dim]: v
    g = f"{[m for m in kinds]!r:>{[n for n in heads]}}"
    with ctx([o for o in dim]) as (cm, dm):
        h = (((dim)))
    i = [y for y in dim] if (heads) else {yy for yy in heads}
    async def later():
        await gather(*[aa for aa in dim])
    def gen():
        yield [bb for bb in heads]
    j = not (-(dim[0] + heads[1]))[[cc for cc in kinds]]
    assert (dim) % (heads) == 0, [dd for dd in kinds]
    k = heads
'''


def test_kept_fields_find_every_comprehension_and_stop():
    assert _assert_same(parse_module(FIELDS)) > 60
