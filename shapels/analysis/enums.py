"""Enum classes: `class Format(str, Enum): NCHW = 'NCHW'`, `Format(fmt)`, `fmt == Format.NHWC`.

timm picks a layout by comparing an enum member with another (`if self.output_fmt != Format.NCHW`).
A member is an `EnumMember`: equal only to itself, except that a member of a mixin enum (str, int,
IntEnum, StrEnum) also equals its raw value, as in Python. Flag enums combine members with `|`, which
is not followed: their classes stay ordinary classes (unknown members).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from shapels.analysis.modtable import ClassInfo
from shapels.values import UNKNOWN, Const, Number, Value

PLAIN_BASES = {"enum.Enum"}
MIXIN_BASES = {"enum.IntEnum", "enum.StrEnum"}
VALUE_TYPES = {"str", "int"}


@dataclass(frozen=True, eq=False)
class EnumMember(Value):
    info: ClassInfo
    name: str
    value: Any  # the raw value (a Value)
    mixin: bool  # str/int mixin: equal to its raw value too


def enum_kind(info: ClassInfo) -> Optional[str]:
    """'mixin', 'plain', or None for a class that is no (modelled) enum."""
    names: set = set()
    for cls in [info] + info.mro_after(info):
        names.update(cls.base_names)
    if names & MIXIN_BASES or (names & PLAIN_BASES and names & VALUE_TYPES):
        return "mixin"
    if names & PLAIN_BASES:
        return "plain"
    return None


def is_member_name(info: ClassInfo, name: str) -> bool:
    """A class-level assignment of the enum itself names a member (not `_ignore_`, not a dunder)."""
    return name in info.attributes and not name.startswith("_")


def member(interp, info: ClassInfo, name: str, kind: str) -> Value:
    from shapels.analysis.attributes import class_attribute

    raw = class_attribute(interp, info, name)
    return EnumMember(info, name, raw if raw is not None else UNKNOWN, kind == "mixin")


def members(interp, info: ClassInfo, kind: str) -> list:
    return [member(interp, info, name, kind) for name in info.attributes if is_member_name(info, name)]


def lookup(interp, info: ClassInfo, value: Value) -> Value:
    """`Format('NHWC')` or `Format(Format.NHWC)`: the member with that value; unknown where it is not
    certain which (Python raises ValueError where none has it: not a shape finding)."""
    from shapels.analysis.membership import same

    if isinstance(value, EnumMember):
        return value if value.info is info else UNKNOWN
    verdicts = [(m, same(m.value, value)) for m in members(interp, info, enum_kind(info))]
    found = [m for m, verdict in verdicts if verdict]
    undecided = any(verdict is None for _, verdict in verdicts)
    return found[0] if found and not undecided else UNKNOWN  # aliases share a value: the first is it


def _same_member(a: EnumMember, b: EnumMember) -> Optional[bool]:
    """Members are singletons; a second name for a value already taken is an alias of the first."""
    from shapels.analysis.membership import same

    if a.info.node is not b.info.node:
        return False
    return True if a.name == b.name else same(a.value, b.value)


def equal(a: Value, b: Value) -> Optional[bool]:
    """`a == b` where one side is a member."""
    from shapels.analysis.membership import same

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


def identical(a: Value, b: Value) -> Optional[bool]:
    """`a is b` where one side is a member: members are singletons, and none is a raw value."""
    if isinstance(a, EnumMember) and isinstance(b, EnumMember):
        return _same_member(a, b)
    other = b if isinstance(a, EnumMember) else a
    return False if isinstance(other, (Const, Number)) else None


def attribute(member_value: EnumMember, name: str) -> Value:
    if name == "value":
        return member_value.value
    if name == "name":
        return Const(member_value.name)
    return UNKNOWN
