"""What containers hold and how their methods change it: container modules (torch's Sequential,
ModuleList, ModuleDict: each declared in the rule registry, shapels/rules/containers.py) and the
modules an nn.Module registers, as torch builds and mutates them; Python's lists, dicts and sets. A mutation on a path that may not run makes the members unknown (or joins old and new)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Optional

from shapels.analysis import membership
from shapels.analysis.attributes import layer_attribute
from shapels.analysis.env import join
from shapels.analysis.objects import Instance
from shapels.analysis.python_values import MISSING_VALUE, dict_key, key_value
from shapels.analysis.semantics import iterate
from shapels.rules.base import to_dim
from shapels.rules.registry import container_for
from shapels.symbolic import dims as D
from shapels.values import (
    NONE,
    UNKNOWN,
    Alternatives,
    Const,
    DictValue,
    Layer,
    ListValue,
    Number,
    Seq,
    SetValue,
    Tensor,
    Unknown,
    Value,
)

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame


def name_module(value: Value, name: str) -> None:
    """Give a layer (and its container children) the attribute name used in messages."""
    if isinstance(value, Alternatives):
        for option in value.options:
            name_module(option, name)
        return
    if isinstance(value, (Layer, Instance)) and value.name is None:
        value.name = name
        if isinstance(value, Instance) and value.base_layer is not None:
            value.base_layer.name = None
            name_module(value.base_layer, name)
        if isinstance(value, Layer):
            for i, child in enumerate(value.children):
                child_name = value.child_names[i] if i < len(value.child_names) else str(i)
                name_module(child, f"{name}.{child_name}")


# -- attributes --------------------------------------------------------------------------------
# Dicts written under a key not known (`blocks["conv2_" + str(i)] = ...` in a loop of unknown length): the
# write is not followed, so such a dict may hold keys and values it does not list; a lookup by an unknown key
# (indexing.py: the join of its values) is then not known either.
OPEN_DICTS: weakref.WeakSet = weakref.WeakSet()


def set_item(obj: Value, key: Value, value: Value, certain: bool = True) -> None:
    if isinstance(obj, DictValue) and dict_key(key) is MISSING_VALUE:
        OPEN_DICTS.add(obj)  # `d[k] = v` with k not known: not followed, but d may hold more than it lists
        return
    if not certain:
        # On a path that may not run, the old and the new value are both possible.
        if isinstance(obj, DictValue) and dict_key(key) is not MISSING_VALUE:
            k = dict_key(key)
            obj.items[k] = join(obj.items[k], value) if k in obj.items else UNKNOWN
        elif isinstance(obj, ListValue):
            obj.uncertain = True
        elif isinstance(obj, Layer):
            obj.opaque = True
        return
    if isinstance(obj, DictValue) and dict_key(key) is not MISSING_VALUE:
        obj.items[dict_key(key)] = value
    elif isinstance(obj, ListValue) and isinstance(key, Number):
        i = D.as_int(key.value)
        if i is not None and -len(obj.items) <= i < len(obj.items):
            obj.items[i] = value
        elif i is None:
            obj.uncertain = True
    elif isinstance(obj, Layer) and keyed_container(obj) and isinstance(key, Const):
        _container_put(obj, str(key.value), value)
    elif isinstance(obj, Layer) and container_for(obj.kind) is not None:
        i = D.as_int(to_dim(key)) if isinstance(key, Number) else None
        if i is not None and -len(obj.children) <= i < len(obj.children) and not obj.opaque:
            obj.children[i] = value  # `self.blocks[0] = Block(...)`: torch keeps the member's name
        else:
            obj.opaque = True


def delete_item(obj: Value, key: Value, certain: bool = True) -> None:
    """`del d[k]`, `del blocks[0]`: a dict loses a known key, a list or container the item at a known index
    (torch renumbers a ModuleList's members); anything else, or on a path that may not run, leaves the
    contents unknown."""
    if isinstance(obj, DictValue):
        k = dict_key(key)
        if certain and k is not MISSING_VALUE:
            obj.items.pop(k, None)
        else:
            for name in list(obj.items) if k is MISSING_VALUE else [k]:
                if name in obj.items:
                    obj.items[name] = UNKNOWN  # (still maybe there: a later read is unknown, not stale)
        return
    i = D.as_int(to_dim(key)) if isinstance(key, Number) else None
    if isinstance(obj, ListValue):
        if certain and i is not None and -len(obj.items) <= i < len(obj.items):
            del obj.items[i]
        else:
            obj.uncertain = True
    elif isinstance(obj, Layer) and container_for(obj.kind) is not None:
        count = len(obj.children)
        if certain and i is not None and -count <= i < count and not obj.opaque \
                and obj.child_names == [str(n) for n in range(count)]:
            del obj.children[i]
            obj.child_names.pop()
        else:
            obj.opaque = True


def keyed_container(layer: Layer) -> bool:
    """A container of members by name (a ModuleDict)."""
    spec = container_for(layer.kind)
    return spec is not None and spec.keyed


def sequence_container(layer: Layer) -> bool:
    """A container of members by position (a Sequential, a ModuleList)."""
    spec = container_for(layer.kind)
    return spec is not None and not spec.keyed


def _container_put(layer: Layer, name: str, value: Value) -> None:
    if name == str(len(layer.children)):  # the common append of Sequential/ModuleList: skip the scan
        layer.children.append(value)
        layer.child_names.append(name)
    elif name in layer.child_names:
        layer.children[layer.child_names.index(name)] = value
    else:
        layer.children.append(value)
        layer.child_names.append(name)


def _insert(layer: Layer, index: Value, value: Value) -> bool:
    """ModuleList/Sequential.insert(i, m) at a known 0 <= i <= len over members named 0..n-1: the members
    from i on move up one (karras_unet's `prepend(self.ups, dec)`). False where not followed."""
    i = D.as_int(to_dim(index)) if isinstance(index, Number) else None
    count = len(layer.children)
    if i is None or not 0 <= i <= count or layer.opaque or layer.child_names != [str(n) for n in range(count)]:
        return False
    layer.children.insert(i, value)
    layer.child_names.append(str(count))
    return True


def build_container(qualname: str, args: list, frame: Frame, node) -> Value:
    """A container module as its constructor builds it from `args`, as its registry entry declares."""
    built_from = container_for(qualname).built_from
    layer = Layer(qualname, {}, loc=frame.loc(node))
    if built_from == "members":  # Sequential(*modules), or Sequential(OrderedDict(...))
        if len(args) == 1 and isinstance(args[0], DictValue):
            for k, v in args[0].items.items():
                _container_put(layer, str(k), v)
            return layer
        members = args
    elif args:
        source = args[0]
        if built_from == "mapping":
            if isinstance(source, DictValue):
                for k, v in source.items.items():
                    _container_put(layer, str(k), v)
                return layer
            return UNKNOWN
        items = iterate(source)
        if items is None:
            return UNKNOWN
        members = items
    else:
        members = []
    for i, member in enumerate(members):
        _container_put(layer, str(i), member)
    return layer


def register_submodule(instance: Instance, name: str, value: Value, certain: bool = True,
                       reached: Optional[bool] = None) -> None:
    """`self.x = m`, `setattr(self, "x", m)`, `self.add_module("x", m)`: as nn.Module.__setattr__ does,
    a module assigned to a Sequential/ModuleDict subclass also becomes its next member. Set where the
    code may not run, which modules the instance holds is no longer known."""
    reached = certain if reached is None else reached  # False after `if not use: return` too
    if not reached and name not in instance.attrs:
        instance.maybe_absent.add(name)  # hasattr(self, name) is no longer certain either way
    elif reached:
        instance.maybe_absent.discard(name)
    name_module(value, name)
    if name in instance.attrs and _is_module(value) and not _is_module(instance.attrs[name]):
        del instance.attrs[name]  # a plain attribute becomes a child: registered last, as in _modules
    instance.attrs[name] = value
    if not certain:
        instance.members_uncertain = True
    container = instance.base_layer
    if container is not None and container_for(container.kind) is not None:
        if isinstance(value, (Layer, Instance, Alternatives)):
            _container_put(container, name, value)
        elif isinstance(value, Unknown):
            container.opaque = True  # it may be a module, which would join the container: members unknown


def module_children(instance: Instance) -> Optional[list]:
    """(name, module) in registration order, as nn.Module.named_children gives them; None when which
    modules the instance holds is not known (an attribute that may be a module, or one set where the
    code may not run)."""
    if instance.opaque or instance.members_uncertain:
        return None
    container = instance.base_layer
    if container is not None and container_for(container.kind) is not None:
        return None if container.opaque else list(zip(container.child_names, container.children))
    members = []
    for name, value in instance.attrs.items():
        if isinstance(value, (Unknown, Alternatives)) and not _is_module(value):
            return None  # it may be a module
        if _is_module(value):
            members.append((name, value))
    return members


def _is_module(value: Value) -> bool:
    if isinstance(value, Alternatives):
        return all(_is_module(option) for option in value.options)
    return isinstance(value, Layer) or isinstance(value, Instance) and value.info.is_module


def set_training(instance: Instance, mode) -> None:
    """`.eval()` / `.train(mode)` reach every user module inside, as in torch; None: unknown."""
    seen = set()
    stack = [instance]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Instance):
            item.training = mode
            stack.extend(item.attrs.values())
        elif isinstance(item, Layer):
            stack.extend(item.children)


def assign_layer_attribute(layer: Layer, name: str, value: Value, certain: bool) -> None:
    """`self.head.weight = self.emb.weight` (weight tying) replaces what the constructor built; on a
    path that may not run, either may be there. A module assigned to a container becomes its member
    (torch registers it: `self.layer0.pool = nn.Identity()` replaces the member of that name where it
    stands, a new name is appended); where that is not certain, the members are no longer known."""
    if container_for(layer.kind) is not None:
        if certain and _is_module(value) and not isinstance(value, Alternatives):
            name_module(value, f"{layer.name}.{name}" if layer.name else name)
            _container_put(layer, name, value)
        elif name in layer.child_names or not isinstance(value, (Tensor, Number, Const, Seq, ListValue, DictValue)):
            layer.opaque = True
        return
    if not certain:
        value = join(layer_attribute(layer, name), value)
    layer.assigned[name] = value


LIST_MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "__setitem__"}


def list_method(receiver: ListValue, name: str, args: list, frame: Frame) -> Value:
    """`xs.append(x)`, extend, insert, pop, copy: followed where they certainly run."""
    if name in LIST_MUTATORS and not frame.certain:
        receiver.uncertain = True  # it may or may not have happened
        return NONE
    if name == "append" and len(args) == 1:
        receiver.items.append(args[0])
        return NONE
    if name == "extend" and len(args) == 1:
        items = iterate(args[0])
        if items is None:
            receiver.uncertain = True
            return NONE
        receiver.items.extend(items)
        return NONE
    if name == "insert" and len(args) == 2:
        i = to_dim(args[0])
        if i is not None:
            receiver.items.insert(int(i), args[1])
        return NONE
    if name == "pop" and receiver.items:
        return receiver.items.pop()
    if name in ("tolist", "copy"):  # a numpy sequence modelled as a list, or list.copy()
        return ListValue(list(receiver.items), receiver.uncertain)
    return UNKNOWN


def set_method(receiver: SetValue, name: str, args: list, kwargs: dict, frame: Frame) -> Value:
    """`s.add(x)` is followed where it certainly runs; any other method may change the members."""
    if name == "copy" and not args and not receiver.uncertain:
        return SetValue(receiver.items, receiver.sized)
    if name == "add" and len(args) == 1 and not kwargs and frame.certain and not receiver.uncertain:
        found = membership.contains(list(receiver.items), args[0])
        if not found:
            receiver.items = receiver.items + (args[0],)
            receiver.sized = receiver.sized and found is False
        return NONE
    if name not in ("issubset", "issuperset", "isdisjoint", "union", "intersection", "difference"):
        receiver.uncertain = True  # update, discard, pop, ... or a method we do not know
    return UNKNOWN


def dict_method(receiver: DictValue, name: str, args: list, kwargs: dict, frame: Frame) -> Value:
    """A dict's views, get, copy, and pop/setdefault/update followed where they certainly run."""
    if name == "items":
        return ListValue([Seq((key_value(k), v)) for k, v in receiver.items.items()])
    if name == "keys":
        return ListValue([key_value(k) for k in receiver.items])
    if name == "values":
        return ListValue(list(receiver.items.values()))
    key = dict_key(args[0]) if args else MISSING_VALUE
    if name == "get" and key is not MISSING_VALUE:
        return receiver.items.get(key, args[1] if len(args) > 1 else NONE)
    if name == "copy":
        return DictValue(dict(receiver.items))
    if name == "update" and not frame.certain and len(args) <= 1 and (not args or isinstance(args[0], DictValue)):
        # only the keys it names may change, or appear (unknown: whether it ran is)
        for k in [*(args[0].items if args else ()), *kwargs]:
            receiver.items[k] = UNKNOWN
        return NONE
    if name in ("pop", "setdefault", "update") and not frame.certain:
        for k in [key] if key is not MISSING_VALUE else list(receiver.items):
            if k in receiver.items:
                receiver.items[k] = UNKNOWN  # changed on a path that may not run
        return UNKNOWN
    if name == "pop" and key is not MISSING_VALUE:
        if key in receiver.items:
            return receiver.items.pop(key)
        return args[1] if len(args) > 1 else UNKNOWN
    if name == "setdefault" and key is not MISSING_VALUE:
        return receiver.items.setdefault(key, args[1] if len(args) > 1 else NONE)
    if name == "setdefault":
        OPEN_DICTS.add(receiver)  # under a key not known: see set_item
    if name == "update" and len(args) <= 1:
        if args and not isinstance(args[0], DictValue):
            receiver.items.clear()  # what it added is unknown: forget all
            return NONE
        receiver.items.update(args[0].items if args else {})
        receiver.items.update(kwargs)
        return NONE
    return UNKNOWN


def layer_method(layer: Layer, name: str, args: list, kwargs: dict, frame: Frame) -> Value:
    """A torch layer's own methods other than forward: a container's append/extend/add_module, its
    children and ModuleDict views; `.to()`, `.eval()`... return the layer."""
    if name in LIST_MUTATORS | {"add_module", "register_module"} and not frame.certain:
        layer.opaque = True
        return NONE
    if sequence_container(layer):
        if name == "append" and len(args) == 1:
            _container_put(layer, str(len(layer.children)), args[0])
            return layer
        if name == "extend" and len(args) == 1:
            items = iterate(args[0])
            if items is None:
                layer.opaque = True
            for item in items or []:
                _container_put(layer, str(len(layer.children)), item)
            return layer
        if name in ("add_module", "register_module") and len(args) == 2:
            if isinstance(args[0], Const):
                _container_put(layer, str(args[0].value), args[1])
            else:
                layer.opaque = True  # where the member sits, and what it replaces, is unknown
            return NONE
        if name == "insert" and len(args) == 2 and _insert(layer, args[0], args[1]):
            return NONE
    if name in LIST_MUTATORS | {"update", "popitem"} and container_for(layer.kind) is not None:
        layer.opaque = True  # a change not followed (`prepend(self.ups, dec)` with a negative index, pop, ...)
        return UNKNOWN
    if container_for(layer.kind) is not None and name in ("children", "named_children") and not args and not kwargs \
            and not layer.opaque:
        pairs = list(zip(layer.child_names, layer.children))
        return ListValue([m for _, m in pairs] if name == "children" else [Seq((Const(n), m)) for n, m in pairs])
    if keyed_container(layer) and name in ("keys", "values", "items"):
        if name == "keys":
            return ListValue([Const(k) for k in layer.child_names])
        if name == "values":
            return ListValue(list(layer.children))
        return ListValue([Seq((Const(k), v)) for k, v in zip(layer.child_names, layer.children)])
    if name in ("to", "cuda", "cpu", "eval", "train", "float", "double", "half", "requires_grad_"):
        return layer
    return UNKNOWN
