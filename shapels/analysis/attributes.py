"""Attribute lookup on abstract values: `self.fc`, `x.shape`, `Block.expansion`, bound methods."""


from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst
from shapels.analysis import argparse_values, data_values, enums, keras_models, processes
from shapels.analysis.env import join_all
from shapels.analysis.frame import Frame
from shapels.analysis.library_names import canonical
from shapels.analysis.modtable import dotted_name
from shapels.analysis.python_values import library_name
from shapels.analysis.scopes import read_inside_library
from shapels.analysis.objects import (
    CHAINED_MODULE_METHODS,
    Partial,
    ModuleRef,
    BoundUserMethod,
    ClassRef,
    Instance,
    SuperRef,
    UserFunction,
)
from shapels.rules import parameters
from shapels.rules import registry as rule_registry
from shapels.rules.base import to_dim
from shapels.rules.parameters import Parameter, StoredTuple
from shapels.symbolic.shape import Shape
from shapels.values import (
    NONE,
    UNKNOWN,
    Alternatives,
    BoundMethod,
    Const,
    DictValue,
    FunctionRef,
    Layer,
    ListValue,
    Number,
    Seq,
    SetValue,
    Step,
    Tensor,
    Value,
)

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp

MODULE_METHODS = {"add_module", "register_module", "register_buffer", "register_parameter", "children",
                  "named_children"} | CHAINED_MODULE_METHODS


def get_attribute(interp: Interp, base: Value, name: str, frame) -> Value:
    handler = _ATTRIBUTE_BY_TYPE.get(type(base))  # value classes are never subclassed: exact types
    if handler is not None:
        return handler(interp, base, name, frame)
    if isinstance(base, Const) and isinstance(base.value, str):
        return BoundMethod(base, name)
    return UNKNOWN


def _instance_attribute(interp: Interp, base: Instance, name: str, frame) -> Value:
    if base.opaque:
        return UNKNOWN
    if name in base.attrs:
        return base.attrs[name]
    if name == "__class__":
        return ClassRef(base.info)
    if name == "training" and base.info.is_module:
        return Const(base.training) if base.training is not None else UNKNOWN
    found = base.info.find_method(name)
    if found is not None:
        return bind_method(interp, base, found, frame)
    attr = class_attribute(interp, base.info, name)
    if attr is not None:
        if type(attr) is UserFunction and isinstance(attr.node, cst.Lambda):
            return BoundUserMethod(base, attr)  # `act = lambda self, x: ...` in the class body binds as a def
        return attr
    if base.info.is_module and (name in MODULE_METHODS or base.info.is_keras and name in keras_models.MODEL_METHODS):
        return BoundMethod(base, name)
    if base.base_layer is not None:
        return layer_attribute(base.base_layer, name)
    return UNKNOWN


def _super_attribute(interp: Interp, base: SuperRef, name: str, frame) -> Value:
    for cls in base.instance.info.mro_after(base.owner):
        if name in cls.methods:
            return BoundUserMethod(base.instance, UserFunction(cls.methods[name], cls))
    return BoundMethod(base, name)  # nn.Module's own methods: __init__ and friends


def _class_attribute_or_method(interp: Interp, base: ClassRef, name: str, frame) -> Value:
    if name == "__name__":
        return Const(base.info.name)
    kind = enums.enum_kind(base.info) if enums.is_member_name(base.info, name) else None
    if kind is not None:
        return enums.member(interp, base.info, name, kind)
    attr = class_attribute(interp, base.info, name)
    if attr is not None:
        return attr
    found = base.info.find_method(name)
    if found is not None:
        return bind_method(interp, base, found, frame)
    return UNKNOWN


def function_name(function: UserFunction) -> str:
    """A def's name; `<lambda>` for a lambda, as Python names it."""
    return function.node.name.value if isinstance(function.node, cst.FunctionDef) else "<lambda>"


def _method_of(interp: Interp, base: Value, name: str, frame) -> Value:
    return BoundMethod(base, name)


def _decorators(node: cst.FunctionDef) -> set:
    return {(dotted_name(d.decorator) or "").rsplit(".", 1)[-1] for d in node.decorators}


def bind_method(interp: Interp, receiver: Value, found: tuple, frame) -> Value:
    """A method looked up on an instance or a class, bound as Python binds it."""
    owner, node = found
    function = UserFunction(node, owner)
    decorators = _decorators(node)
    if "staticmethod" in decorators:
        return function
    if "classmethod" in decorators:
        info = receiver.info if isinstance(receiver, (Instance, ClassRef)) else owner
        return BoundUserMethod(ClassRef(info), function)
    if isinstance(receiver, ClassRef):
        return function  # Class.method(instance, ...): self is passed explicitly
    if "property" in decorators or "cached_property" in decorators:
        return interp.invoke(function, [], {}, frame, receiver=receiver)
    return BoundUserMethod(receiver, function)


def class_attribute(interp: Interp, info, name: str) -> Optional[Value]:
    """A class-level `expansion = 4`, evaluated in the scope of the class that defines it."""
    found = info.find_attribute(name)
    if found is None:
        return None
    owner, expr = found
    return interp.eval(expr, Frame(owner.node, {}, True, owner, scope=owner.scope))


def tensor_attribute(tensor: Tensor, name: str) -> Value:
    shape = tensor.shape
    if name == "shape":
        if not shape.ranked:
            return UNKNOWN
        return Seq(tuple(Number(d) for d in shape.dims))
    if name == "ndim":
        return Number(int(shape.rank)) if shape.ranked else UNKNOWN
    if name == "T" and shape.ranked:
        return Tensor(Shape.of(reversed(shape.dims)), tensor.trace)
    if name in ("mT", "mH") and len(shape.dims) >= 2:
        return Tensor(shape.replace_tail(2, [shape.dims[-1], shape.dims[-2]]), tensor.trace)
    if name in ("dtype", "device", "is_cuda", "requires_grad", "grad", "data"):
        return tensor if name == "data" else UNKNOWN
    return BoundMethod(tensor, name)


def _parameter(layer: Layer, parameter: Parameter) -> Value:
    """A parameter or buffer the layer's constructor made, as its registry entry declares it: a
    tensor whose one step names the layer (a mismatch in F.linear(x, fc.weight) is blamed on fc's
    in_features), None where a flag turned it off, the tensor it was given (Embedding's `_weight`)."""
    if parameter.given_by is not None:
        given = layer.args.get(parameter.given_by, NONE)
        if not (isinstance(given, Const) and given.value is None):
            return given if isinstance(given, Tensor) else UNKNOWN
    found = parameters.shape(parameter, layer.args)
    if found == parameters.ABSENT:
        return NONE
    if found is None:
        return UNKNOWN
    shape = Shape.of(found)
    return Tensor(shape, (Step(f"{layer.label}.{parameter.name}", shape, layer.loc, layer),))


def _stored_tuple(layer: Layer, stored: StoredTuple) -> Optional[Value]:
    """An argument torch keeps as a tuple: `conv.kernel_size` is (3, 3) for a 3. A traced one
    (LayerNorm's normalized_shape, which F.layer_norm(x, self.normalized_shape, ...) reads in a
    subclass's forward: timm's LayerNorm2d) names the layer as its items' origin, for report.py's
    blame; None: the argument as given."""
    items = parameters.stored_items(stored, layer.args)
    if not stored.traced:
        return Seq(tuple(items)) if items is not None else None
    sizes = [to_dim(item) for item in items] if items is not None else []
    if not sizes or None in sizes:
        return UNKNOWN
    origin = (Step(f"{layer.label}.{stored.arg}", Shape.of(sizes), layer.loc, layer),)
    return Seq(tuple(Number(d, origin) for d in sizes))


def _constructed_attribute(layer: Layer, name: str) -> Optional[Value]:
    """Attributes torch builds from the constructor's arguments, as the layer's registry entry
    declares them: `conv.bias` is a tensor (or None), not the flag; `conv.kernel_size` is (3, 3) for
    a 3. None: the layer builds no such attribute."""
    rule = rule_registry.lookup(layer.kind)
    if rule is None:
        return None
    parameter = rule.parameter(name)
    if parameter is not None:
        return _parameter(layer, parameter)
    stored = rule.stored_tuple(name)
    if stored is not None:
        return _stored_tuple(layer, stored)
    return None


def layer_attribute(layer: Layer, name: str) -> Value:
    if name in layer.assigned:  # `self.head.weight = self.emb.weight`: the tensor assigned, not the one built
        return layer.assigned[name]
    return built_attribute(layer, name)


def built_attribute(layer: Layer, name: str) -> Value:
    """An attribute as the layer's constructor made it (assignments after construction aside)."""
    if layer.opaque:
        return BoundMethod(layer, name) if name in ("add_module", "append", "extend") else UNKNOWN
    constructed = _constructed_attribute(layer, name)
    if constructed is not None:
        return constructed
    if name in layer.args:
        return layer.args[name]
    if name in layer.child_names and rule_registry.container_for(layer.kind) is not None:
        return layer.children[layer.child_names.index(name)]
    return BoundMethod(layer, name)


def _partial_attribute(interp: Interp, base: Partial, name: str, frame) -> Value:
    """functools.partial's func, args and keywords: timm's get_norm_layer unbinds a partial so."""
    if name == "func":
        return base.func
    if name == "args":
        return Seq(tuple(base.args))
    if name == "keywords":
        return DictValue(dict(base.kwargs))
    return UNKNOWN


def _library_attribute(interp: Interp, base: FunctionRef, name: str, frame) -> Value:
    """`torch.nn.functional` -> a deeper name; `nn.BatchNorm2d.__name__` is its class name (timm's
    get_norm_act_layer maps layer types by it), known for the classes and functions the rules model.
    A name a library keeps as source (`keras.applications.ResNet50`, scopes.LOADED_INSIDE) is read there."""
    if name == "__name__":
        qualname = canonical(base.qualname)
        return Const(qualname.rsplit(".", 1)[-1]) if rule_registry.lookup(qualname) is not None else UNKNOWN
    qualname, inside = _deeper_name(base.qualname, name)
    if inside is not None:
        found = interp.linker.resolve_external(inside, frame.scope or interp.main)
        if found is not None:
            return found
    return library_name(qualname)


def _deeper_name(qualname: str, name: str) -> tuple:
    """(`qualname.name`, its canonical name where a library keeps it as source, else None): the same for
    the same names, and asked at every attribute of a library name (`nn.Conv2d`, `torch.flatten`: 600
    times on efficientnet with its driver), so remembered, up to a size a server would not notice."""
    key = (qualname, name)
    found = _DEEPER.get(key)
    if found is None:
        deeper = f"{qualname}.{name}"
        canon = canonical(deeper)
        found = (deeper, canon if read_inside_library(canon) and canon.count(".") >= 2 else None)
        if len(_DEEPER) < MAX_DEEPER:
            _DEEPER[key] = found
    return found


_DEEPER: dict = {}
MAX_DEEPER = 65536


def _alternatives_attribute(interp: Interp, base: Alternatives, name: str, frame) -> Value:
    """`self.norm.weight` where norm is one of several layers: each one's, joined."""
    return join_all([get_attribute(interp, option, name, frame) for option in base.options])


# What looking up an attribute on each kind of value does (see get_attribute()).
_ATTRIBUTE_BY_TYPE = {
    Alternatives: _alternatives_attribute,
    enums.EnumMember: lambda interp, base, name, frame: enums.attribute(base, name),
    Partial: _partial_attribute,
    FunctionRef: _library_attribute,
    ModuleRef: lambda interp, base, name, frame: interp.linker.module_attribute(name, base.scope),
    Instance: _instance_attribute,
    UserFunction: lambda interp, base, name, frame: Const(function_name(base)) if name == "__name__" else UNKNOWN,
    SuperRef: _super_attribute,
    ClassRef: _class_attribute_or_method,
    Tensor: lambda interp, base, name, frame: tensor_attribute(base, name),
    Layer: lambda interp, base, name, frame: layer_attribute(base, name),
    ListValue: _method_of,
    DictValue: _method_of,
    SetValue: _method_of,
    Seq: _method_of,
    Number: _method_of,
    argparse_values.ArgParser: argparse_values.parser_attribute,
    argparse_values.Namespace: argparse_values.namespace_attribute,
    keras_models.KerasModel: lambda interp, base, name, frame: keras_models.attribute(base, name) or BoundMethod(base, name),
    data_values.PILImageValue: lambda interp, base, name, frame: BoundMethod(base, name),
    data_values.DatasetValue: lambda interp, base, name, frame: data_values.dataset_attribute(base, name),
    processes.ProcessValue: lambda interp, base, name, frame: BoundMethod(base, name),
}
