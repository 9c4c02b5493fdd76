"""Python-level values shapels follows while it builds models, checked against Python itself: what
model code computes layer arguments from (configs turned into dicts, dataclass copies)."""

from __future__ import annotations

import pytest

from shapels.symbolic import dims as D
from shapels.values import Const, DictValue, ListValue, Number, Seq, Unknown

from conftest import driver_globals


def _python(value):
    """A followed value as the Python value it stands for; Unknown stays Unknown."""
    if isinstance(value, Number):
        return value.value if isinstance(value.value, float) else D.as_int(value.value)
    if isinstance(value, Const):
        return value.value
    if isinstance(value, ListValue):
        return [_python(v) for v in value.items]
    if isinstance(value, Seq):
        return tuple(_python(v) for v in value.items)
    if isinstance(value, DictValue):
        return {k: _python(v) for k, v in value.items.items()}
    return value


PRELUDE = "import collections\nfrom collections import OrderedDict\n"


@pytest.mark.parametrize("expression", [
    "dict(zip(['out_chs', 'stride'], [24, 2]))",
    "dict(zip(['a', 'b', 'c'], (1, 2)))",  # zip stops at the shorter
    "dict([('a', 1), ('b', 2), ('a', 3)])",  # a repeated key keeps the last value
    "dict({'a': 1}, b=2)",
    "dict({'a': 1}, a=5)",
    "dict(a=1, b=[2, 3])",
    "dict()",
    "OrderedDict([('x', 1), ('y', 2)])",
    "collections.OrderedDict(zip(['x'], [7]))",
    "[dict(zip(['w', 'd'], p)) for p in zip([24, 56], [1, 3])]",
])
def test_dicts_from_pairs_keywords_and_dicts_match_python(expression):
    source = PRELUDE + f"value = {expression}\n"
    scope: dict = {}
    exec(source, scope)
    assert _python(driver_globals(source)["value"]) == scope["value"]


@pytest.mark.parametrize("expression", [
    "dict(unknown_pairs())",  # pairs nobody knows
    "dict([(unknown_key(), 1)])",  # a key nobody knows
    "dict([(1, 2, 3)])",  # not a pair: Python's ValueError
    "dict({'a': 1}, {'b': 2})",  # two positional arguments: Python's TypeError
])
def test_dicts_that_cannot_be_known_stay_unknown(expression):
    assert isinstance(driver_globals(f"value = {expression}\n")["value"], Unknown)


def test_a_dict_copy_is_a_new_dict():
    scope = driver_globals("a = {'k': 1}\nb = dict(a)\nb['k'] = 2\nvalue = a['k']\n")
    assert _python(scope["value"]) == 1


DATACLASS = """
from dataclasses import dataclass, replace
import dataclasses


@dataclass
class Base:
    depth: int = 13
    w0: int = 24

@dataclass
class Cfg(Base):
    wa: float = 36.44
    name: str = 'x'

cfg = Cfg(depth=4)
"""


@pytest.mark.parametrize("expression", [
    "replace(cfg).depth", "replace(cfg, depth=7).depth", "replace(cfg, wa=1.5).wa", "replace(cfg, w0=8).depth",
    "dataclasses.replace(cfg, name='y').name", "replace(cfg, depth=2).w0", "cfg.depth",
])
def test_dataclass_replace_copies_and_changes_fields_as_python_does(expression):
    source = DATACLASS + f"value = {expression}\n"
    scope: dict = {}
    exec(source, scope)
    assert _python(driver_globals(source)["value"]) == scope["value"]


def test_replace_leaves_the_original_and_rejects_an_unknown_field():
    scope = driver_globals(DATACLASS + "other = replace(cfg, depth=9)\nvalue = cfg.depth\nbad = replace(cfg, nope=1)\n")
    assert _python(scope["value"]) == 4 and _python(scope["other"].attrs["depth"]) == 9
    assert isinstance(scope["bad"], Unknown)  # Python raises TypeError
