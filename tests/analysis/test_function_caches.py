"""functools' caches on the program's functions (function_caches.py), checked against Python itself.

Each program is run by Python and analysed: a function with `@lru_cache` / `@functools.cache` runs its body
once for equal arguments, and returns the very object it returned the first time. Where the analysis cannot
be sure that Python answers from its cache (a call that may not have run, arguments not known), the call
runs as every call does.
"""

from __future__ import annotations

import functools

import pytest

from shapels.analysis import function_caches
from shapels.analysis.engine import Options, analyze
from shapels.symbolic import dims as D
from shapels.values import UNKNOWN, Const, ListValue, Number, Seq


def _analysed(source: str) -> str:
    [net] = [m for m in analyze(source, "m.py", Options()).modules if m.name == "Net"]
    return net.output.shape.show()


def _python(source: str) -> str:
    scope = {"__name__": "__main__"}
    exec(compile(source, "<model>", "exec"), scope)
    return str(tuple(scope["out"].shape)).replace(",)", ")")


# `rows` is how many times the body of `width` ran: the output has that many rows
COUNTED = """
import functools
from functools import lru_cache
import torch
import torch.nn as nn

CALLS = []

def _make_compile_constant(fn):
    setattr(fn, "_dynamo_marked_constant", True)
    return fn

{decorators}
def width(n, scale=1):
    CALLS.append(n)
    return scale

class Net(nn.Module):
    def forward(self, x):
{calls}
        return x.new_zeros(len(CALLS), 2)

out = Net()(torch.zeros(2, 3))
"""

DECORATORS = ["@functools.cache", "@functools.lru_cache", "@lru_cache", "@lru_cache()", "@lru_cache(maxsize=None)",
              "@functools.lru_cache(maxsize=8, typed=False)", "@lru_cache\n@_make_compile_constant"]


def _counted(decorators: str, calls: list) -> str:
    return COUNTED.format(decorators=decorators, calls="\n".join(f"        {call}" for call in calls))


@pytest.mark.parametrize("decorators", DECORATORS)
@pytest.mark.parametrize("calls", [["width(3)", "width(3)"], ["width(3)", "width(4)"],
                                   ["width(3)", "width(4)", "width(3)", "width(4)"]])
def test_a_cached_body_runs_once_for_equal_arguments(decorators, calls):
    source = _counted(decorators, calls)
    assert _analysed(source) == _python(source)


@pytest.mark.parametrize("calls", [
    ["width(3)", "width(n=3)"],  # functools keys positional and keyword arguments apart
    ["width(3, 2)", "width(3, scale=2)", "width(n=3, scale=2)", "width(scale=2, n=3)"],  # and keywords by order
    ["width(1)", "width(True)"],  # one int is its own key; True is not an int there
    ["width(1, 2)", "width(True, 2)", "width(1.0, 2)"],  # in a tuple, equal values are one key
    ["width(3)", "width(3, 1)"],  # a default is not part of the key
    ["width('a')", "width('a')", "width(None)", "width(None)", "width((1, 'b'))", "width((1, 'b'))"],
])
def test_arguments_are_keyed_as_functools_keys_them(calls):
    source = _counted("@functools.cache", calls)
    assert _analysed(source) == _python(source)


@pytest.mark.parametrize("decorators, calls", [
    ("@lru_cache(maxsize=0)", ["width(3)", "width(3)"]),  # no cache at all
    ("@lru_cache(maxsize=1)", ["width(3)", "width(4)", "width(3)"]),  # 3 was evicted
    ("@lru_cache(1)", ["width(3)", "width(4)", "width(3)"]),
    ("@lru_cache(maxsize=2)", ["width(3)", "width(4)", "width(3)"]),  # nothing was
    ("@lru_cache(maxsize=8, typed=True)", ["width('a')", "width('a')", "width(None)", "width(None)"]),
])
def test_a_bounded_cache_answers_only_what_it_certainly_holds(decorators, calls):
    source = _counted(decorators, calls)
    assert _analysed(source) == _python(source)


def test_a_decorator_of_the_program_named_cache_is_not_functools():
    source = _counted("@cache", ["width(3)", "width(3)"]).replace("CALLS = []", "CALLS = []\n\ndef cache(f):\n    return f")
    assert _analysed(source) == _python(source) == "(2, 2)"


SAME_OBJECT = """
import functools
import torch
import torch.nn as nn

@functools.lru_cache(maxsize=None)
def sizes(n):
    return [n]

class Net(nn.Module):
    def forward(self, x):
        first = sizes(3)
        first.append(5)
        again = sizes(3)
        other = sizes(4)
        return x.new_zeros(len(again), len(other), again[-1])

out = Net()(torch.zeros(2, 3))
"""


def test_a_cached_function_returns_the_very_object_it_returned_before():
    assert _analysed(SAME_OBJECT) == _python(SAME_OBJECT) == "(2, 1, 5)"


NESTED = """
import functools
import torch
import torch.nn as nn

CALLS = []

def build():
    @functools.cache
    def width(n):
        CALLS.append(n)
        return n
    width(3)
    width(3)

class Net(nn.Module):
    def forward(self, x):
        build()
        build()
        return x.new_zeros(len(CALLS), 2)

out = Net()(torch.zeros(2, 3))
"""


def test_each_run_of_a_nested_def_makes_a_function_with_a_cache_of_its_own():
    assert _analysed(NESTED) == _python(NESTED) == "(2, 2)"


def test_the_cache_lasts_one_analysis():
    """The language server analyses a file again and again: each analysis starts with empty caches."""
    source = _counted("@functools.cache", ["width(3)", "width(3)"])
    assert [_analysed(source) for _ in range(2)] == ["(1, 2)", "(1, 2)"]


MAYBE_CALLED = """
import functools
import torch
import torch.nn as nn

CALLS = []

@functools.cache
def box(n):
    CALLS.append(n)
    return []

class Net(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            box(3).append(0)
        first = box(3)
        again = box(3)
        again.append(1)
        return x.new_zeros(len(CALLS), len(first) + 1)

out = Net()(torch.zeros(2, 3))
"""


def test_a_call_that_may_not_have_run_fills_no_cache():
    """Python has box(3) cached after the `if` only where it ran (not on these zeros): the call after it
    runs, as every call did before (the rows, appended to maybe once, maybe twice, are not known), and
    what that returns is certainly cached, for the call after that."""
    assert _python(MAYBE_CALLED) == "(1, 2)"
    assert _analysed(MAYBE_CALLED) == "(?, 2)"


UNKNOWN_ARGUMENT = """
import functools
import torch
import torch.nn as nn

@functools.cache
def width(n):
    return n

class Net(nn.Module):
    def forward(self, x):
        width(int(x.sum()))
        return x.new_zeros(width(3), 2)

out = Net()(torch.zeros(2, 3))
"""


def test_a_call_of_unknown_arguments_runs_and_is_not_kept():
    assert _analysed(UNKNOWN_ARGUMENT) == _python(UNKNOWN_ARGUMENT) == "(3, 2)"


def _keys_equal_in_functools(first: tuple, second: tuple) -> bool:
    """Whether functools answers the second call from the first's entry: (args, kwargs, typed) each."""
    runs = []

    @functools.lru_cache(maxsize=None, typed=first[2])
    def counted(*args, **kwargs):
        runs.append(args)

    counted(*first[0], **first[1])
    counted(*second[0], **second[1])
    return len(runs) == 1


PYTHON_ARGUMENTS = [((1,), {}), ((True,), {}), ((1.0,), {}), (("1",), {}), ((1, 2), {}), ((1.0, 2), {}),
                    ((), {"n": 1}), ((), {"n": 1, "m": 2}), ((), {"m": 2, "n": 1}), ((1,), {"m": 2}),
                    (((1, 2),), {}), ((None,), {}), ((), {})]


def _values(python) -> object:
    if isinstance(python, tuple):
        return Seq(tuple(_values(p) for p in python))
    return Number(python) if type(python) in (int, float) else Const(python)


@pytest.mark.parametrize("typed", [False, True])
def test_keys_are_equal_where_functools_keys_are(typed):
    for first in PYTHON_ARGUMENTS:
        for second in PYTHON_ARGUMENTS:
            ours = [function_caches._python_key([_values(a) for a in args], {k: _values(v) for k, v in kw.items()},
                                                typed) for args, kw in (first, second)]
            if None in ours:
                assert typed  # a typed key is made of constants only: a Number may be numpy's, a Seq a torch.Size
                continue
            assert (ours[0] == ours[1]) == _keys_equal_in_functools((*first, typed), (*second, typed)), (first, second)


@pytest.mark.parametrize("argument", [Number(D.symbol("n")), ListValue([Number(1)]), UNKNOWN, Number(float("nan")),
                                      Const(slice(1, 2)), Seq((Number(1), Number(D.symbol("n"))))])
def test_no_key_for_what_python_may_not_hash_by_this_value(argument):
    """A symbol may stand for another int in another run; a list is not hashable; NaN equals only itself."""
    assert function_caches._python_key([argument], {}, False) is None
    assert function_caches._python_key([Number(1)], {"n": argument}, False) is None


FINDING = """
import functools
import torch
import torch.nn as nn

@functools.lru_cache(maxsize=None)
def hidden(n):
    return n * 2

@functools.lru_cache(maxsize=None)
def project(n):
    return nn.Linear(n, 4)(torch.zeros(2, 5))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, hidden(4))
        self.b = nn.Linear(hidden(4) + 1, 2)
        self.c = nn.Linear(7, 2)

    def forward(self, x):
        project(6)
        project(6)
        return self.c(self.b(self.a(x)))

out = Net()(torch.zeros(2, 3))
"""


def _findings(source: str) -> list:
    return [(f.code, f.severity, f.message, f.span.start_line if f.span else None)
            for f in analyze(source, "m.py", Options()).findings]


def test_findings_through_a_cached_function_are_those_of_a_plain_one():
    """The same findings, at the same places, with or without the caches: on a size a cached call gave back
    (b's, line 18), and inside a cached function, blamed on each call's argument (lines 22 and 23: a call
    that reported something is never answered from the cache)."""
    cached = _findings(FINDING)
    plain = _findings(FINDING.replace("@functools.lru_cache(maxsize=None)", "# no cache"))
    assert cached == plain
    assert [(line, severity) for _, severity, _, line in cached] == [(18, "warning"), (22, "error"), (23, "warning")]
