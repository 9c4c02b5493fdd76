"""Dataclasses: the `__init__` that @dataclass writes (fields in order, from arguments or their
defaults), and `dataclasses.replace`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shapels.analysis.frame import Frame
from shapels.analysis.objects import ClassRef, Instance
from shapels.values import UNKNOWN, Value

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp


def dataclass_init(interp: Interp, instance: Instance, cls, args: list, kwargs: dict, frame: Frame) -> None:
    """The `__init__` that @dataclass writes: fields in order, from arguments or defaults."""
    for i, (name, default) in enumerate(dataclass_fields(cls)):
        if i < len(args):
            value = args[i]
        elif name in kwargs:
            value = kwargs[name]
        elif default is not None:
            value = interp.eval(default, Frame(cls.node, {}, True, cls, scope=cls.scope))
        else:
            value = UNKNOWN
        instance.attrs[name] = value


def dataclass_fields(cls) -> list:
    """(name, default expression) of a dataclass's fields, base fields first, as dataclasses orders them."""
    fields: list = []
    for klass in reversed([cls] + cls.mro_after(cls)):
        if klass.is_dataclass:
            fields = [f for f in fields if f[0] not in {n for n, _ in klass.fields}] + list(klass.fields)
    return fields


def dataclass_replace(interp: Interp, args: list, kwargs: dict, frame: Frame, node) -> Value:
    """`dataclasses.replace(cfg, depth=3)`: a new instance built by the generated __init__ from cfg's
    fields, the given ones changed (a name that is no field is Python's TypeError: unknown here)."""
    if len(args) != 1 or not isinstance(args[0], Instance):
        return UNKNOWN
    source = args[0]
    owner = generated_init_owner(source.info)
    if owner is None:
        return UNKNOWN
    names = [name for name, _ in dataclass_fields(owner)]
    if set(kwargs) - set(names):
        return UNKNOWN
    values = {name: kwargs[name] if name in kwargs else source.attrs.get(name, UNKNOWN) for name in names}
    return interp.call(ClassRef(source.info), [], values, frame, node)  # a call of the class builds it


def generated_init_owner(info, after=None):
    """The dataclass whose generated __init__ runs: the first in the MRO (after `after`) without its own."""
    chain = info.mro_after(after) if after is not None else [info] + info.mro_after(info)
    for klass in chain:
        if "__init__" in klass.methods:
            return None
        if klass.is_dataclass:
            return klass
    return None
