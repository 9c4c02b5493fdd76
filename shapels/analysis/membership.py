"""Sets, `in` tests, and the equality of values whose identity is known: strings, ints, classes,
functions, enum members.

timm keeps its layer types in sets (`_NORM_ACT_REQUIRES_ARG = {BatchNormAct2d, GroupNormAct, ...}`)
and asks `norm_layer in _NORM_ACT_TYPES`. A set is a `SetValue`, mutable as Python's is: its members
answer `in` and `len`; a set of ints iterates in the same order on every run (an int hashes to
itself), any other set's order (by string hashes or object ids) is unknown.
"""

from __future__ import annotations

from typing import Optional

from shapels.analysis.library_names import canonical
from shapels.analysis.objects import ClassRef, EnumMember, UserFunction
from shapels.rules import registry as rule_registry
from shapels.symbolic import dims as D
from shapels.values import UNKNOWN, Const, FunctionRef, Number, SetValue, Value


def same(a: Value, b: Value) -> Optional[bool]:
    """Whether `a == b` for two members of a container, where that is certain; else None."""
    if isinstance(a, EnumMember) or isinstance(b, EnumMember):
        return enum_equal(a, b)
    if isinstance(a, Const) and isinstance(b, Const):
        return a.value == b.value
    if isinstance(a, Number) and isinstance(b, Number):
        if isinstance(a.value, float) or isinstance(b.value, float):
            return None
        return D.eq(a.value, b.value)
    if isinstance(a, ClassRef) and isinstance(b, ClassRef):
        return a.info.node is b.info.node  # one class statement, one class object
    if isinstance(a, UserFunction) and isinstance(b, UserFunction) and a.closure is None and b.closure is None:
        return a.node is b.node  # module-level functions: one def, one function object
    if isinstance(a, FunctionRef) and isinstance(b, FunctionRef):
        return _same_library_callable(a.qualname, b.qualname)
    kinds = (type(a), type(b))
    if ClassRef in kinds and (Const in kinds or UserFunction in kinds or FunctionRef in kinds):
        return False  # a class defined in analysed source is none of these
    if Const in kinds and (UserFunction in kinds or FunctionRef in kinds or Number in kinds):
        const = a if isinstance(a, Const) else b
        if const.value is None or isinstance(const.value, str):
            return False  # None and strings equal no number, function or class
    return None


def _same_library_callable(a: str, b: str) -> Optional[bool]:
    a, b = canonical(a), canonical(b)
    if a == b:
        return True
    rule_a, rule_b = rule_registry.lookup(a), rule_registry.lookup(b)
    if rule_a is not None and rule_b is not None and rule_a.is_layer and rule_b.is_layer:
        return False  # two torch.nn classes (their other spellings canonicalise to these names)
    return None


def _same_member(a: EnumMember, b: EnumMember) -> Optional[bool]:
    """Members are singletons; a second name for a value already taken is an alias of the first."""
    if a.info.node is not b.info.node:
        return False
    return True if a.name == b.name else same(a.value, b.value)


def enum_equal(a: Value, b: Value) -> Optional[bool]:
    """`a == b` where one side is a member."""
    if isinstance(a, EnumMember) and isinstance(b, EnumMember):
        if a.mixin and b.mixin:
            return same(a.value, b.value)  # str/int mixins compare as their values, across classes too
        return _same_member(a, b)
    one, other = (a, b) if isinstance(a, EnumMember) else (b, a)
    if one.mixin:
        return same(one.value, other)
    if isinstance(other, (Const, Number)):
        return False  # a plain enum's member equals no str, number, None
    return None


def enum_identical(a: Value, b: Value) -> Optional[bool]:
    """`a is b` where one side is a member: members are singletons, and none is a raw value."""
    if isinstance(a, EnumMember) and isinstance(b, EnumMember):
        return _same_member(a, b)
    other = b if isinstance(a, EnumMember) else a
    return False if isinstance(other, (Const, Number)) else None



def contains(members: list, value: Value) -> Optional[bool]:
    """`value in members`: True if one member certainly equals it, False if every one certainly
    differs, else None."""
    undecided = False
    for member in members:
        found = same(value, member)
        if found:
            return True
        if found is None:
            undecided = True
    return None if undecided else False


def make_set(items: Optional[list]) -> Value:
    """A set display, comprehension or set() of known items."""
    if items is None:
        return UNKNOWN
    distinct: list = []
    for item in items:
        found = contains(distinct, item)
        if found is None:
            return SetValue(tuple(items), sized=False)
        if not found:
            distinct.append(item)
    return SetValue(tuple(distinct))


def iteration(value: SetValue) -> Optional[list]:
    """A set's members in the order Python iterates them, where that order is the same on every run:
    a set of ints (an int hashes to itself); strings and objects hash by run."""
    if value.uncertain or not value.sized:
        return None
    ints = [D.as_int(i.value) if isinstance(i, Number) and not isinstance(i.value, float) else None for i in value.items]
    if any(v is None for v in ints):
        return None
    return [Number(int(v)) for v in set(ints)]


__all__ = ["contains", "enum_equal", "enum_identical", "iteration", "make_set", "same"]
