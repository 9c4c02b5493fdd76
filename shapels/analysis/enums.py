"""Enum classes: `class Format(str, Enum): NCHW = 'NCHW'`, `Format(fmt)`, `fmt == Format.NHWC`.

timm picks a layout by comparing an enum member with another (`if self.output_fmt != Format.NCHW`).
A member is an `EnumMember` (objects.py): equal only to itself, except that a member of a mixin enum
(str, int, IntEnum, StrEnum) also equals its raw value, as in Python (membership.enum_equal, beside the
equality of other values that it recurses into). Flag enums combine members with `|`, which
is not followed: their classes stay ordinary classes (unknown members).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from shapels.analysis.membership import same
from shapels.analysis.modtable import ClassInfo
from shapels.analysis.objects import EnumMember
from shapels.values import UNKNOWN, Const, Value

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp

PLAIN_BASES = {"enum.Enum"}
MIXIN_BASES = {"enum.IntEnum", "enum.StrEnum"}
VALUE_TYPES = {"str", "int"}


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


def member(interp: Interp, info: ClassInfo, name: str, kind: str) -> Value:
    raw = interp.class_attribute(info, name)
    return EnumMember(info, name, raw if raw is not None else UNKNOWN, kind == "mixin")


def members(interp: Interp, info: ClassInfo, kind: str) -> list:
    return [member(interp, info, name, kind) for name in info.attributes if is_member_name(info, name)]


def lookup(interp: Interp, info: ClassInfo, value: Value) -> Value:
    """`Format('NHWC')` or `Format(Format.NHWC)`: the member with that value; unknown where it is not
    certain which (Python raises ValueError where none has it: not a shape finding)."""
    if isinstance(value, EnumMember):
        return value if value.info is info else UNKNOWN
    verdicts = [(m, same(m.value, value)) for m in members(interp, info, enum_kind(info))]
    found = [m for m, verdict in verdicts if verdict]
    undecided = any(verdict is None for _, verdict in verdicts)
    return found[0] if found and not undecided else UNKNOWN  # aliases share a value: the first is it


def attribute(member_value: EnumMember, name: str) -> Value:
    if name == "value":
        return member_value.value
    if name == "name":
        return Const(member_value.name)
    return UNKNOWN
