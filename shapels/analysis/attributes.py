"""Attribute lookup on abstract values: `self.fc`, `x.shape`, `Block.expansion`, bound methods."""


from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst
import sympy

from shapels.analysis import argparse_values, enums
from shapels.analysis.env import join_all
from shapels.analysis.frame import Frame
from shapels.analysis.library_names import canonical
from shapels.analysis.modtable import dotted_name
from shapels.analysis.objects import (
    CHAINED_MODULE_METHODS,
    CONTAINERS,
    Partial,
    ModuleRef,
    BoundUserMethod,
    ClassRef,
    Instance,
    SuperRef,
    UserFunction,
)
from shapels.rules import registry as rule_registry
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
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
    if base.info.is_module and name in MODULE_METHODS:
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
        return Number(sympy.Integer(shape.rank)) if shape.ranked else UNKNOWN
    if name == "T" and shape.ranked:
        return Tensor(Shape.of(reversed(shape.dims)), tensor.trace)
    if name in ("mT", "mH") and len(shape.dims) >= 2:
        return Tensor(shape.replace_tail(2, [shape.dims[-1], shape.dims[-2]]), tensor.trace)
    if name in ("dtype", "device", "is_cuda", "requires_grad", "grad", "data"):
        return tensor if name == "data" else UNKNOWN
    return BoundMethod(tensor, name)


# Layers whose `bias` constructor flag becomes a `bias` parameter of (size argument,) or None.
_BIAS_SIZE = {"torch.nn.Linear": "out_features", "torch.nn.Bilinear": "out_features",
              **{f"torch.nn.Conv{n}d": "out_channels" for n in (1, 2, 3)},
              **{f"torch.nn.ConvTranspose{n}d": "out_channels" for n in (1, 2, 3)}}
# What a convolution stores as a tuple of one int per spatial dim, whatever int it was given.
_CONV_TUPLES = ("kernel_size", "stride", "padding", "dilation", "output_padding")


# Normalisation layers: the argument their weight and bias are sized by, and the flag that makes them.
_NORM_PARAMETERS = {
    **{f"torch.nn.{kind}{n}d": ("num_features", "affine") for kind in ("BatchNorm", "InstanceNorm") for n in (1, 2, 3)},
    "torch.nn.LayerNorm": ("normalized_shape", "elementwise_affine"),
    "torch.nn.RMSNorm": ("normalized_shape", "elementwise_affine"),
    "torch.nn.GroupNorm": ("num_channels", "affine"),
}


def _sizes(value: Value) -> Optional[list]:
    """An int or a sequence of ints (LayerNorm's normalized_shape) as dims, or None."""
    items = value.items if isinstance(value, (Seq, ListValue)) else [value]
    dims = [to_dim(item) for item in items]
    return None if not dims or None in dims else dims


def _norm_attribute(layer: Layer, name: str) -> Optional[Value]:
    """A norm layer's weight/bias (a tensor, or None without affine) and LayerNorm's normalized_shape,
    which torch keeps as a tuple: what F.layer_norm(x, self.normalized_shape, self.weight, ...) reads in
    a subclass's forward (timm's LayerNorm2d)."""
    size_param, flag_param = _NORM_PARAMETERS[layer.kind]
    sizes = _sizes(layer.args.get(size_param, UNKNOWN))
    if name == "normalized_shape" and size_param == name:
        if sizes is None:
            return UNKNOWN
        origin = (Step(f"{layer.label}.normalized_shape", Shape.of(sizes), layer.loc, layer),)
        return Seq(tuple(Number(d, origin) for d in sizes))  # the origin: report.py blames the layer
    if name not in ("weight", "bias") or name == "bias" and "bias" not in layer.args:
        return None  # (RMSNorm has no bias: its constructor takes none, so its bound arguments hold none)
    flags = [layer.args.get(flag_param)] + ([layer.args.get("bias")] if name == "bias" else [])
    if any(isinstance(f, Const) and f.value is False for f in flags):
        return NONE
    if all(isinstance(f, Const) and f.value is True for f in flags) and sizes is not None:
        shape = Shape.of(sizes)
        return Tensor(shape, (Step(f"{layer.label}.{name}", shape, layer.loc, layer),))
    return UNKNOWN


def _conv_weight(layer: Layer) -> Value:
    """(out, in / groups, *kernel) for a convolution; (in, out / groups, *kernel) for a transposed one."""
    n = int(layer.kind[-2])
    transposed = "Transpose" in layer.kind
    first, second = (("in_channels", "out_channels") if transposed else ("out_channels", "in_channels"))
    lead, split, groups = (to_dim(layer.args.get(k, UNKNOWN)) for k in (first, second, "groups"))
    kernel = _sizes(layer.args.get("kernel_size", UNKNOWN))
    if None in (lead, split, groups) or kernel is None or D.divides(groups, split) is not True:
        return UNKNOWN
    kernel = kernel * n if len(kernel) == 1 else kernel
    if len(kernel) != n:
        return UNKNOWN
    shape = Shape.of([lead, D.floordiv(split, groups)] + kernel)
    return Tensor(shape, (Step(f"{layer.label}.weight", shape, layer.loc, layer),))


def _embedding_weight(layer: Layer) -> Value:
    """(num_embeddings, embedding_dim), or the `_weight` tensor it was given."""
    given = layer.args.get("_weight", NONE)
    if not (isinstance(given, Const) and given.value is None):
        return given if isinstance(given, Tensor) else UNKNOWN
    rows, width = to_dim(layer.args.get("num_embeddings", UNKNOWN)), to_dim(layer.args.get("embedding_dim", UNKNOWN))
    if rows is None or width is None:
        return UNKNOWN
    shape = Shape.of([rows, width])
    return Tensor(shape, (Step(f"{layer.label}.weight", shape, layer.loc, layer),))


def _constructed_attribute(layer: Layer, name: str) -> Optional[Value]:
    """Attributes torch builds from a constructor argument of the same name: `conv.bias` is a tensor
    (or None), not the flag; `conv.kernel_size` is (3, 3) for a 3."""
    if layer.kind in _NORM_PARAMETERS:
        return _norm_attribute(layer, name)
    if name == "weight" and layer.kind[-2:] in ("1d", "2d", "3d") and layer.kind.startswith("torch.nn.Conv"):
        return _conv_weight(layer)
    if name == "bias" and layer.kind in _BIAS_SIZE:
        flag = layer.args.get("bias")
        if isinstance(flag, Const) and flag.value is False:
            return NONE
        size = to_dim(layer.args.get(_BIAS_SIZE[layer.kind], UNKNOWN))
        if isinstance(flag, Const) and flag.value is True and size is not None:
            return Tensor(Shape.of([size]))
        return UNKNOWN
    if name == "weight" and layer.kind == "torch.nn.Embedding":
        return _embedding_weight(layer)
    if name in _CONV_TUPLES and layer.kind[-2:] in ("1d", "2d", "3d") and "Conv" in layer.kind:
        value = layer.args.get(name)
        if isinstance(value, Number) and not isinstance(value.value, float):
            return Seq((value,) * int(layer.kind[-2]))
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
    if layer.kind in CONTAINERS and name in layer.child_names:
        return layer.children[layer.child_names.index(name)]
    if name == "weight" and layer.kind == "torch.nn.Linear":
        out, inp = to_dim(layer.args.get("out_features", UNKNOWN)), to_dim(layer.args.get("in_features", UNKNOWN))
        if out is not None and inp is not None:
            shape = Shape.of([out, inp])
            # The step names its layer: a mismatch in F.linear(x, fc.weight) is blamed on fc's in_features.
            return Tensor(shape, (Step(f"{layer.label}.weight", shape, layer.loc, layer),))
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


def _library_attribute(base: FunctionRef, name: str) -> Value:
    """`torch.nn.functional` -> a deeper name; `nn.BatchNorm2d.__name__` is its class name (timm's
    get_norm_act_layer maps layer types by it), known for the classes and functions the rules model."""
    if name == "__name__":
        qualname = canonical(base.qualname)
        return Const(qualname.rsplit(".", 1)[-1]) if rule_registry.lookup(qualname) is not None else UNKNOWN
    return FunctionRef(f"{base.qualname}.{name}")


def _alternatives_attribute(interp: Interp, base: Alternatives, name: str, frame) -> Value:
    """`self.norm.weight` where norm is one of several layers: each one's, joined."""
    return join_all([get_attribute(interp, option, name, frame) for option in base.options])


# What looking up an attribute on each kind of value does (see get_attribute()).
_ATTRIBUTE_BY_TYPE = {
    Alternatives: _alternatives_attribute,
    enums.EnumMember: lambda interp, base, name, frame: enums.attribute(base, name),
    Partial: _partial_attribute,
    FunctionRef: lambda interp, base, name, frame: _library_attribute(base, name),
    ModuleRef: lambda interp, base, name, frame: interp.lookup_global(name, base.scope),
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
}
