"""Calls: where the interpreter meets the rule registry.

A call is dispatched on what the callee evaluated to: a library function or layer class (a rule),
a layer instance (its forward rule), a user class/instance/function (interpreted), a container,
or a builtin. Rule errors become findings here, placed on the blamed constructor argument.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import libcst as cst
import sympy

from shapels import rules as rule_registry
from shapels.analysis import argparse_values, dtypes, enums, membership, report, tensor_values
from shapels.analysis.objects import (
    BoundUserMethod,
    Builtin,
    ClassRef,
    Instance,
    Partial,
    SuperRef,
    UserFunction,
)
from shapels.analysis.objects import CHAINED_MODULE_METHODS, CONTAINERS
from shapels.analysis.python_builtins import (
    MISSING_VALUE,
    call_builtin,
    dict_key,
    key_value,
    copy_value,
    dict_from,
    numpy_sequence,
    repeated,
    plain,
    python_number,
    string_method,
    truth_of,
)
from shapels.analysis.recorder import Run
from shapels.analysis.positions import Loc
from shapels.rules.base import BindError, RuleCall, ShapeError, Unknowable, from_python, to_dim
from shapels.symbolic import dims as D
from shapels.symbolic import strides
from shapels.symbolic.shape import Shape
from shapels.values import (
    extend_trace,
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
    Unknown,
    Value,
)

LIST_MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "__setitem__"}
# nn.Module's own methods that matter for shapes: registration binds an attribute; the rest return self.
MAX_TRACE = 12

# Library paths that name the same thing as a canonical rule key.
_PREFIX_ALIASES = [
    ("torch.nn.modules.", "torch.nn."),
    ("torch.functional.", "torch."),
    ("torch.nn.functional.F.", "torch.nn.functional."),
]


def canonical(qualname: str) -> str:
    for old, new in _PREFIX_ALIASES:
        if qualname.startswith(old):
            tail = qualname[len(old):]
            if old == "torch.nn.modules.":
                tail = tail.rsplit(".", 1)[-1]  # torch.nn.modules.linear.Linear -> torch.nn.Linear
            return new + tail
    return qualname


def unknown_result(callee: Value) -> Value:
    if type(callee) is argparse_values.ParserMethod:
        argparse_values.unknown_call(callee)  # parser.add_argument(*flags, **options) not read
    return UNKNOWN


# -- attributes --------------------------------------------------------------------------------
def set_item(obj: Value, key: Value, value: Value, certain: bool = True) -> None:
    if not certain:
        # On a path that may not run, the old and the new value are both possible.
        from shapels.analysis.env import join

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
    elif isinstance(obj, Layer) and obj.kind == "torch.nn.ModuleDict" and isinstance(key, Const):
        _container_put(obj, str(key.value), value)


def _container_put(layer: Layer, name: str, value: Value) -> None:
    if name == str(len(layer.children)):  # the common append of Sequential/ModuleList: skip the scan
        layer.children.append(value)
        layer.child_names.append(name)
    elif name in layer.child_names:
        layer.children[layer.child_names.index(name)] = value
    else:
        layer.children.append(value)
        layer.child_names.append(name)


# -- calls ---------------------------------------------------------------------------------------
def call(interp, callee: Value, args: list, kwargs: dict, frame, node: cst.Call) -> Value:
    handler = _CALL_BY_TYPE.get(type(callee))  # value classes are never subclassed: exact types
    if handler is None:
        return _unknown_call(args, kwargs)
    return handler(interp, callee, args, kwargs, frame, node)


def _unknown_call(args: list, kwargs: dict) -> Value:
    """A call shapels does not model: its result is unknown, and it may write to the tensors it is given."""
    tensor_values.forget(list(args) + list(kwargs.values()))
    return UNKNOWN


def _call_function_ref(interp, callee: FunctionRef, args: list, kwargs: dict, frame, node) -> Value:
    return call_library(interp, canonical(callee.qualname), args, kwargs, frame, node)


def _call_bound_user_method(interp, callee: BoundUserMethod, args: list, kwargs: dict, frame, node) -> Value:
    node_name = getattr(callee.function.node, "name", None)  # a lambda has none
    if node_name is not None and node_name.value == "forward" and isinstance(callee.receiver, Instance):
        return call_instance(interp, callee.receiver, args, kwargs, frame, node, callee.function)
    return interp.invoke(callee.function, args, kwargs, frame, receiver=callee.receiver, call_node=node)


def _call_user_function(interp, callee: UserFunction, args: list, kwargs: dict, frame, node) -> Value:
    return interp.invoke(callee, args, kwargs, frame, call_node=node)


def _call_class(interp, callee: ClassRef, args: list, kwargs: dict, frame, node) -> Value:
    return instantiate(interp, callee.info, args, kwargs, frame, node)


def _call_partial(interp, callee: Partial, args: list, kwargs: dict, frame, node) -> Value:
    return call(interp, callee.func, list(callee.args) + list(args), {**callee.kwargs, **kwargs}, frame, node)


def _call_builtin(interp, callee: Builtin, args: list, kwargs: dict, frame, node) -> Value:
    return call_builtin(interp, callee.name, args, kwargs, frame, node)


# math functions of known numbers -> how many arguments they take (math.log(x, base))
MATH_FUNCTIONS = {"math.ceil": 1, "math.floor": 1, "math.sqrt": 1, "math.log2": 1, "math.prod": 1, "math.log": 2,
                  "math.log10": 1, "math.exp": 1}


def call_library(interp, qualname: str, args: list, kwargs: dict, frame, node) -> Value:
    if qualname in CONTAINERS:
        return build_container(qualname, args, frame, node)
    if qualname in ("collections.OrderedDict", "typing.OrderedDict"):
        return dict_from(args, kwargs)
    if qualname == "functools.partial" and args:
        return Partial(args[0], tuple(args[1:]), dict(kwargs))
    if qualname in ("torch.utils.checkpoint.checkpoint", "torch.utils.checkpoint.checkpoint_sequential") and args:
        kwargs = {k: v for k, v in kwargs.items() if k not in ("use_reentrant", "preserve_rng_state")}
        return call(interp, args[0], args[1:], kwargs, frame, node)
    if qualname in ("torch.nn.Parameter", "torch.nn.parameter.Parameter") and args:
        return args[0] if isinstance(args[0], Tensor) else UNKNOWN
    if qualname == "torch.Size" and args and isinstance(args[0], (Seq, ListValue)):
        return Seq(tuple(args[0].items))
    if qualname in MATH_FUNCTIONS and 1 <= len(args) <= MATH_FUNCTIONS[qualname] and not kwargs:
        values = [plain(a) for a in args]
        if MISSING_VALUE in values:
            return UNKNOWN
        import math

        try:
            return python_number(getattr(math, qualname.rsplit(".", 1)[-1])(*values))
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            return UNKNOWN
    if qualname in ("numpy.linspace", "numpy.arange"):
        return numpy_sequence(qualname, args, kwargs)
    if qualname == "itertools.repeat" and len(args) == 2 and not kwargs:
        return repeated(args[0], args[1])
    if qualname == "dataclasses.replace":
        return dataclass_replace(interp, args, kwargs, frame, node)
    if qualname in ("copy.copy", "copy.deepcopy") and len(args) >= 1:
        return copy_value(args[0])
    if qualname in ("typing.cast", "torch.jit.annotate") and len(args) == 2:
        return args[1]
    if qualname in ("torch.jit.is_scripting", "torch.jit.is_tracing", "torch._C._get_tracing_state",
                    "torch.compiler.is_compiling", "torch._dynamo.is_compiling"):
        return Const(False)  # an analysed model runs eagerly
    if qualname in ("torch._assert", "torch._log_api_usage_once", "torch.jit.unused", "warnings.warn"):
        return NONE
    if qualname in argparse_values.CONSTRUCTORS:
        return argparse_values.construct(qualname, args, kwargs)
    rule = rule_registry.lookup(qualname)
    if rule is None:
        return _unknown_call(args, kwargs)
    if rule.is_layer:
        return construct_layer(interp, rule, qualname, args, kwargs, frame, node)
    return apply_rule(interp, rule, qualname, None, args, kwargs, frame, node)


def construct_layer(interp, rule, qualname: str, args: list, kwargs: dict, frame, node) -> Value:
    try:
        bound = rule.init_signature.bind(args, kwargs)
    except BindError:
        return UNKNOWN  # torch would raise TypeError; a mistyped call is not our finding
    layer = Layer(qualname, bound, loc=frame.loc(node))
    written = argument_nodes(_positional(rule.init_signature), node)
    layer.arg_locs = argument_locs(written, frame)
    layer.named_args = {param: Loc(frame.unit, value, frame.env) for param, value in written.items()
                        if type(value) is cst.Name}  # `in_ch` where `out_ch` was meant: repair tries the others
    if interp.watch:
        interp.watched.extend((param, bound.get(param)) for param, loc in layer.arg_locs.items()
                              if loc.node in interp.watch or written.get(param) in interp.watch)
    return layer


def _positional(signature) -> list:
    return [p.name for p in signature.params if not (p.keyword_only or p.var_positional or p.var_keyword)]


def argument_nodes(positional: list, node) -> dict:
    """Parameter name -> the expression written for it in a call (only plainly passed ones)."""
    if not isinstance(node, cst.Call):
        return {}
    nodes = {}
    index = 0
    for arg in node.args:
        if arg.star:
            break
        if arg.keyword is not None:
            name = arg.keyword.value
        elif index < len(positional):
            name = positional[index]
            index += 1
        else:
            continue
        nodes[name] = arg.value
    return nodes


def argument_locs(written: dict, frame) -> dict:
    """Where each argument of a call (`argument_nodes`) was written. An argument that is a bare
    parameter of the calling function is traced back to what *its* caller passed: the place a fix
    belongs."""
    locs = {}
    for name, value in written.items():
        if isinstance(value, cst.Name) and value.value in frame.param_locs:
            locs[name] = frame.param_locs[value.value]
        else:
            locs[name] = Loc(frame.unit, value, frame.env)
    return locs


def build_container(qualname: str, args: list, frame, node) -> Value:
    layer = Layer(qualname, {}, loc=frame.loc(node))
    if qualname == "torch.nn.Sequential":
        if len(args) == 1 and isinstance(args[0], DictValue):
            for k, v in args[0].items.items():
                _container_put(layer, str(k), v)
            return layer
        members = args
    elif args:
        source = args[0]
        if qualname == "torch.nn.ModuleDict":
            if isinstance(source, DictValue):
                for k, v in source.items.items():
                    _container_put(layer, str(k), v)
                return layer
            return UNKNOWN
        from shapels.analysis.interpreter import iterate

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
    from shapels.analysis.interpreter import name_module

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
    if container is not None and container.kind in CONTAINERS:
        if isinstance(value, (Layer, Instance, Alternatives)):
            _container_put(container, name, value)
        elif isinstance(value, Unknown):
            container.opaque = True  # it may be a module, which would join the container: members unknown


def init_library_base(interp, instance: Instance, args: list, kwargs: dict, frame, node) -> None:
    """`super().__init__(*layers)` reaching a torch class (nn.Sequential, nn.Linear...): build it."""
    base = instance.info.library_base()
    if base is None:
        return
    if base in CONTAINERS:
        layer = build_container(base, args, frame, node)
    else:
        rule = rule_registry.lookup(base)
        layer = construct_layer(interp, rule, base, args, kwargs, frame, node) if rule is not None and rule.is_layer else UNKNOWN
    if isinstance(layer, Layer):
        instance.base_layer = layer


def call_instance(interp, instance: Instance, args: list, kwargs: dict, frame, node, forward=None) -> Value:
    """Call a user module: its forward, recorded as a run for hover and `shapes`."""
    if forward is None:
        found = instance.info.find_method("forward") if instance.info.is_module else instance.info.find_method("__call__")
        if found is None and instance.base_layer is not None:
            return apply_layer(interp, instance.base_layer, args, kwargs, frame, node)
        if found is None:
            return UNKNOWN
        forward = UserFunction(found[1], found[0])
    if not instance.info.is_module:
        return interp.invoke(forward, args, kwargs, frame, receiver=instance)
    run = Run(
        instance.info.name,
        instance,
        dict(zip(_param_names(forward.node)[1:], args)) | kwargs,
        interp.source,
        concrete=all(isinstance(a, Tensor) and a.shape.ranked and all(D.is_concrete(d) for d in a.shape.dims)
                     for a in args if isinstance(a, Tensor)) and any(isinstance(a, Tensor) for a in args),
        forward_loc=frame.loc(node) if node is not None else None,
        depth=frame.depth,
        reports_fully=frame.surely_reached and not interp.silenced and interp.first_error is None,
    )
    interp.recorder.begin_run(run)
    result = UNKNOWN
    try:
        result = interp.invoke(forward, args, kwargs, frame, receiver=instance, record=True)
    finally:
        interp.recorder.end_run(result)
    if node is not None and instance.name and isinstance(result, Tensor):
        _record_layer_call(interp, instance, args, result, frame, node)
    return _with_step(result, instance.label, frame.loc(node) if node is not None else None)


def _with_step(result: Value, label: str, loc) -> Value:
    """A user module's output continues the chain of its input with one step named after it."""
    if isinstance(result, Tensor) and result.trace:
        last = result.trace[-1]
        return Tensor(result.shape, result.trace[: -1] + (Step(f"{label}", result.shape, last.loc),))
    return result


def _param_names(node: cst.FunctionDef) -> list:
    params = node.params
    return [p.name.value for p in list(params.posonly_params) + list(params.params)]


def dataclass_init(interp, instance: Instance, cls, args: list, kwargs: dict, frame) -> None:
    """The `__init__` that @dataclass writes: fields in order, from arguments or defaults."""
    from shapels.analysis.interpreter import Frame

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


def dataclass_replace(interp, args: list, kwargs: dict, frame, node) -> Value:
    """`dataclasses.replace(cfg, depth=3)`: a new instance built by the generated __init__ from cfg's
    fields, the given ones changed (a name that is no field is Python's TypeError: unknown here)."""
    if len(args) != 1 or not isinstance(args[0], Instance):
        return UNKNOWN
    source = args[0]
    owner = _dataclass_owner(source.info)
    if owner is None:
        return UNKNOWN
    names = [name for name, _ in dataclass_fields(owner)]
    if set(kwargs) - set(names):
        return UNKNOWN
    values = {name: kwargs[name] if name in kwargs else source.attrs.get(name, UNKNOWN) for name in names}
    return instantiate(interp, source.info, [], values, frame, node)


def _dataclass_owner(info, after=None):
    """The dataclass whose generated __init__ runs: the first in the MRO (after `after`) without its own."""
    chain = info.mro_after(after) if after is not None else [info] + info.mro_after(info)
    for klass in chain:
        if "__init__" in klass.methods:
            return None
        if klass.is_dataclass:
            return klass
    return None


def instantiate(interp, info, args: list, kwargs: dict, frame, node) -> Value:
    if info.attributes and enums.enum_kind(info) is not None:
        return enums.lookup(interp, info, args[0]) if len(args) == 1 and not kwargs else UNKNOWN  # Format('NHWC')
    instance = Instance(info, loc=frame.loc(node) if node is not None else None)
    found = info.find_method("__init__")
    generated = _dataclass_owner(info)
    if generated is not None:
        dataclass_init(interp, instance, generated, args, kwargs, frame)
    elif found is not None:
        owner, init = found
        bound = _bind_init(init, args, kwargs)
        instance.init_args = bound
        interp.invoke(UserFunction(init, owner), args, kwargs, frame, receiver=instance, call_node=node)
    elif info.is_module:
        init_library_base(interp, instance, args, kwargs, frame, node)  # `class Wide(nn.Linear): pass`
    return instance


def _bind_init(init: cst.FunctionDef, args: list, kwargs: dict) -> dict:
    from shapels.analysis.interpreter import bind_user_params

    bound = bind_user_params(init, [UNKNOWN] + list(args), kwargs) or {}
    names = _param_names(init)
    return {k: v for k, v in bound.items() if not names or k != names[0]}


def _set_method(receiver: SetValue, name: str, args: list, kwargs: dict, frame) -> Value:
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


def call_method(interp, method: BoundMethod, args: list, kwargs: dict, frame, node) -> Value:
    receiver, name = method.receiver, method.name
    if isinstance(receiver, Tensor):
        return call_library_method(interp, receiver, name, args, kwargs, frame, node)
    if isinstance(receiver, ListValue):
        if name in LIST_MUTATORS and not frame.certain:
            receiver.uncertain = True  # it may or may not have happened
            return NONE
        if name == "append" and len(args) == 1:
            receiver.items.append(args[0])
            return NONE
        if name == "extend" and len(args) == 1:
            from shapels.analysis.interpreter import iterate

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
    if isinstance(receiver, SetValue):
        return _set_method(receiver, name, args, kwargs, frame)
    if isinstance(receiver, DictValue):
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
        if name == "update" and len(args) <= 1:
            if args and not isinstance(args[0], DictValue):
                receiver.items.clear()  # what it added is unknown: forget all
                return NONE
            receiver.items.update(args[0].items if args else {})
            receiver.items.update(kwargs)
            return NONE
        return UNKNOWN
    if isinstance(receiver, Layer):
        return call_layer_method(interp, receiver, name, args, kwargs, frame, node)
    if isinstance(receiver, SuperRef):
        if name == "__init__":
            generated = _dataclass_owner(receiver.instance.info, receiver.owner)
            if generated is not None:
                dataclass_init(interp, receiver.instance, generated, args, kwargs, frame)
            else:
                init_library_base(interp, receiver.instance, args, kwargs, frame, node)
            return NONE
        if name == "forward" and receiver.instance.base_layer is not None:
            return apply_layer(interp, receiver.instance.base_layer, args, kwargs, frame, node)
        return UNKNOWN
    if isinstance(receiver, Instance):
        if name in ("add_module", "register_module", "register_buffer", "register_parameter"):
            if len(args) >= 2 and isinstance(args[0], Const) and isinstance(args[0].value, str):
                register_submodule(receiver, args[0].value, args[1], frame.certain, frame.surely_reached)
            else:
                receiver.opaque = True
            return NONE
        if name in ("children", "named_children") and not args and not kwargs:
            members = module_children(receiver)
            if members is None:
                return UNKNOWN
            return ListValue([m for _, m in members] if name == "children" else
                             [Seq((Const(n), m)) for n, m in members])
        if name == "eval":
            set_training(receiver, False)
        elif name == "train":
            set_training(receiver, truth_of(args[0]) if args else True)  # None: a mode we cannot tell
        return receiver if name in CHAINED_MODULE_METHODS else UNKNOWN
    if isinstance(receiver, Const) and isinstance(receiver.value, str):
        return string_method(receiver, name, args, kwargs)
    if isinstance(receiver, Seq) and name == "numel":
        dims = [to_dim(i) for i in receiver.items]
        return Number(D.dim_product(dims)) if all(d is not None for d in dims) else UNKNOWN
    return UNKNOWN


def module_children(instance: Instance) -> Optional[list]:
    """(name, module) in registration order, as nn.Module.named_children gives them; None when which
    modules the instance holds is not known (an attribute that may be a module, or one set where the
    code may not run)."""
    if instance.opaque or instance.members_uncertain:
        return None
    container = instance.base_layer
    if container is not None and container.kind in CONTAINERS:
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


def call_layer_method(interp, layer: Layer, name: str, args: list, kwargs: dict, frame, node) -> Value:
    if name == "forward":
        return apply_layer(interp, layer, args, kwargs, frame, node)
    if name in LIST_MUTATORS | {"add_module", "register_module"} and not frame.certain:
        layer.opaque = True
        return NONE
    if layer.kind in ("torch.nn.ModuleList", "torch.nn.Sequential"):
        if name == "append" and len(args) == 1:
            _container_put(layer, str(len(layer.children)), args[0])
            return layer
        if name == "extend" and len(args) == 1:
            from shapels.analysis.interpreter import iterate

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
    if layer.kind in CONTAINERS and name in ("children", "named_children") and not args and not kwargs \
            and not layer.opaque:
        pairs = list(zip(layer.child_names, layer.children))
        return ListValue([m for _, m in pairs] if name == "children" else [Seq((Const(n), m)) for n, m in pairs])
    if layer.kind == "torch.nn.ModuleDict" and name in ("keys", "values", "items"):
        if name == "keys":
            return ListValue([Const(k) for k in layer.child_names])
        if name == "values":
            return ListValue(list(layer.children))
        return ListValue([Seq((Const(k), v)) for k, v in zip(layer.child_names, layer.children)])
    if name in ("to", "cuda", "cpu", "eval", "train", "float", "double", "half", "requires_grad_"):
        return layer
    return UNKNOWN


def call_library_method(interp, tensor: Tensor, name: str, args: list, kwargs: dict, frame, node) -> Value:
    if name in ("tolist", "item") and not args and not kwargs:
        return tensor_values.to_python_value(tensor, name)
    qualname = f"torch.Tensor.{name}"
    rule = rule_registry.lookup(qualname)
    if rule is None:
        return _unknown_call([tensor] + list(args), kwargs)
    return apply_rule(interp, rule, qualname, None, [tensor] + list(args), kwargs, frame, node)


def assign_layer_attribute(layer: Layer, name: str, value: Value, certain: bool) -> None:
    """`self.head.weight = self.emb.weight` (weight tying) replaces what the constructor built; on a
    path that may not run, either may be there. A module assigned to a container becomes its member
    (torch registers it: `self.layer0.pool = nn.Identity()` replaces the member of that name where it
    stands, a new name is appended); where that is not certain, the members are no longer known."""
    if layer.kind in CONTAINERS:
        if certain and _is_module(value) and not isinstance(value, Alternatives):
            from shapels.analysis.interpreter import name_module

            name_module(value, f"{layer.name}.{name}" if layer.name else name)
            _container_put(layer, name, value)
        elif name in layer.child_names or not isinstance(value, (Tensor, Number, Const, Seq, ListValue, DictValue)):
            layer.opaque = True
        return
    if not certain:
        from shapels.analysis.attributes import layer_attribute
        from shapels.analysis.env import join

        value = join(layer_attribute(layer, name), value)
    layer.assigned[name] = value


# Constructor arguments a torch layer's forward never reads for a shape (`bn.momentum = 0.01`).
_SHAPE_NEUTRAL_ARGS = {"eps", "momentum", "p", "inplace", "negative_slope", "approximate", "track_running_stats",
                       "device", "dtype", "in_features", "out_features", "num_features", "affine",
                       "elementwise_affine", "max_norm", "norm_type", "scale_grad_by_freq", "sparse", "padding_idx",
                       "_freeze", "threshold", "value", "alpha", "lambd", "min_val", "max_val", "beta"}
# Attributes a forward reads beyond its constructor arguments.
_FORWARD_ATTRIBUTES = {"forward", "running_mean", "running_var", "_reversed_padding_repeated_twice",
                       "_qkv_same_embed_dim", "head_dim", "normalized_shape", "training"}
_PARAMETER_PREFIXES = ("weight", "bias", "in_proj", "q_proj", "k_proj", "v_proj", "out_proj")


def _read_by_forward(layer: Layer, name: str) -> bool:
    """Whether torch's forward of this layer may read the attribute for a shape. Anything else
    assigned to a layer (`proj._is_hf_initialized = True`, a flag of the model's own) changes nothing."""
    if name in _FORWARD_ATTRIBUTES or name.startswith(_PARAMETER_PREFIXES):
        return True
    return name in layer.args and name not in _SHAPE_NEUTRAL_ARGS


def _unchanged(layer: Layer, name: str, value: Value) -> bool:
    """The assigned attribute is certainly what the constructor built: a tensor of the same shape
    (nanoGPT ties wte's (vocab, n_embd) to lm_head's (vocab, n_embd)), or None for None; or one the
    forward does not read."""
    from shapels.analysis.attributes import built_attribute

    if not _read_by_forward(layer, name):
        return True
    built = built_attribute(layer, name)
    if isinstance(built, Const) and built.value is None:
        return isinstance(value, Const) and value.value is None
    if not (isinstance(built, Tensor) and isinstance(value, Tensor)):
        return False
    a, b = built.shape, value.shape
    return a.ranked and b.ranked and len(a.dims) == len(b.dims) and all(D.eq(x, y) is True for x, y in zip(a.dims, b.dims))


# Layers whose forward is one functional call of their parameters: with a weight assigned in place of
# the one built, the call with the new parameters is what torch runs.
_FUNCTIONAL_FORWARD = {"torch.nn.Linear": ("torch.nn.functional.linear", ("weight", "bias")),
                       "torch.nn.Embedding": ("torch.nn.functional.embedding", ("weight",))}


def _apply_reassigned(interp, layer: Layer, args: list, kwargs: dict, frame, node) -> Optional[Value]:
    """A layer with an attribute assigned after construction: None where the assignment changed
    nothing its rule reads; else the functional call with the new parameters, or an unknown result."""
    from shapels.analysis.attributes import layer_attribute

    changed = {name for name, value in layer.assigned.items() if not _unchanged(layer, name, value)}
    if not changed:
        return None
    functional = _FUNCTIONAL_FORWARD.get(layer.kind)
    primary = next((v for v in args if isinstance(v, Tensor)), None)
    if functional is not None and changed <= set(functional[1]) and len(args) == 1 and not kwargs:
        qualname, params = functional
        result = apply_rule(interp, rule_registry.lookup(qualname), qualname, None,
                            [args[0]] + [layer_attribute(layer, p) for p in params], {}, frame, node)
        last = result.trace[-1] if isinstance(result, Tensor) and result.trace else None
        if last is not None and last.label == qualname.rsplit(".", 1)[-1] and getattr(last.loc, "node", None) is node:
            step = dataclasses.replace(last, label=layer.label, layer=layer)  # `head`, not `linear`
            result = dataclasses.replace(result, trace=result.trace[:-1] + (step,))
    else:
        result = Tensor(Shape.unknown(), primary.trace) if primary is not None else UNKNOWN
    _record_layer_call(interp, layer, args, result, frame, node)
    return result


def apply_layer(interp, layer: Layer, args: list, kwargs: dict, frame, node) -> Value:
    if layer.assigned:
        result = _apply_reassigned(interp, layer, args, kwargs, frame, node)
        if result is not None:
            return result
    if layer.kind == "torch.nn.Sequential":
        if len(args) != 1 or kwargs or layer.opaque:
            return UNKNOWN
        value = args[0]
        for child in layer.children:
            value = call(interp, child, [value], {}, frame, node)
        _record_layer_call(interp, layer, args, value, frame, node)
        return value
    rule = rule_registry.lookup(layer.kind)
    if rule is None:
        return UNKNOWN
    return apply_rule(interp, rule, layer.kind, layer, args, kwargs, frame, node)


def apply_rule(interp, rule, qualname: str, layer: Optional[Layer], args: list, kwargs: dict, frame, node) -> Value:
    """Run one rule; its ShapeError becomes a finding, its conditions become notes."""
    interp.budget.tick()  # a long Sequential applies thousands of rules from one call
    try:
        bound = rule.call_signature.bind(args, kwargs)
    except BindError:
        return UNKNOWN
    if any(type(v) is ListValue and v.uncertain for v in bound.values()):
        # appended to on a path that may not run (a loop of unknown length): its items are not the list's
        bound = {k: UNKNOWN if type(v) is ListValue and v.uncertain else v for k, v in bound.items()}
    primary = next((v for v in bound.values() if isinstance(v, Tensor)), None)
    if primary is None:  # torch.cat([x]): a list of one tensor keeps that tensor's provenance
        listed = list(_tensors(bound.values()))
        primary = listed[0] if len(listed) == 1 else None
    after_error = next((v.after_error for v in _tensors(bound.values()) if v.after_error is not None), None)
    rule_call = RuleCall(qualname, layer.args if layer is not None else None, bound, layer)
    if interp.reach and node in interp.reach:
        interp.reached.append(all(t.shape.ranked and not any(D.has_unknown(d) for d in t.shape.dims)
                                  for t in _tensors(bound.values())))
    loc = frame.loc(node) if node is not None else None
    try:
        output = rule.fn(rule_call)
    except Unknowable:
        output = None if primary is not None else UNKNOWN
    except ShapeError as error:
        source = bound.get(error.input_name) if error.input_name else primary
        blamed = report.shape_error(interp, error, rule_call, layer, source if isinstance(source, Tensor) else primary,
                                    frame, loc, after_error)
        output = error.recover
        after_error = after_error or blamed
    except (ZeroDivisionError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError):
        output = None if primary is not None else UNKNOWN  # a rule that cannot decide stays silent
    for condition in rule_call.conditions:
        report.condition(interp, condition, rule_call, layer, primary, frame, loc)
    label = layer.label if layer is not None else (rule.label or qualname.rsplit(".", 1)[-1])
    if label.startswith("__"):
        label = _OPERATOR_LABELS.get(label, label)
    result = to_value(output, primary.trace if primary is not None else (), label, loc, rule.preserves_shape,
                      after_error, layer)
    if rule_call.unbatched and isinstance(result, Tensor) and result.trace and result.trace[-1].loc is loc:
        result = dataclasses.replace(result, trace=result.trace[:-1] + (dataclasses.replace(result.trace[-1], unbatched=True),))
    if isinstance(result, Tensor) and layer is None and "memory_format" not in kwargs and (
            qualname in strides.CONTIGUOUS_RESULTS or primary is not None and primary.strides is not None):
        laid_out = strides.after(qualname, primary.shape if primary is not None else None,
                                 primary.strides if primary is not None else None,
                                 lambda name: _bound_ints(rule_call, name), result.shape)
        if laid_out is not None:
            result = dataclasses.replace(result, strides=laid_out)
    if layer is None:
        result = tensor_values.unique_result(qualname, bound, result) or result  # a length the values give
        dtype = dtypes.of_result(qualname, bound) if isinstance(result, Tensor) else None
        if dtype is not None:
            result = dataclasses.replace(result, dtype=dtype)
    cell = tensor_values.result_cell(qualname, bound, result.shape) if isinstance(result, Tensor) and layer is None \
        else None
    if cell is not None:
        result = dataclasses.replace(result, data=cell)
    if tensor_values.may_write(qualname, bound, layer is not None):
        tensor_values.forget(bound.values())
    if layer is not None:
        _record_layer_call(interp, layer, args, result, frame, node)
    return result


def _bound_ints(rule_call: RuleCall, name: str) -> Optional[tuple]:
    """`permute(0, 2, 1)`, `permute((0, 2, 1))` or `transpose(1, 2)`'s dims as ints, or None."""
    try:
        dims = rule_call.int_list(name)
    except (KeyError, Unknowable):
        return None
    out = tuple(D.as_int(d) for d in dims)
    return None if None in out else out


_OPERATOR_LABELS = {"__add__": "+", "__radd__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/"}


def _record_layer_call(interp, layer, args, result, frame, node) -> None:
    if node is not None:
        interp.recorder.layer(frame.loc(node), layer, list(args), result)


def _tensors(values):
    """Tensors among call arguments, including those inside a list or tuple (torch.cat)."""
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (Seq, ListValue)):
            yield from (i for i in v.items if isinstance(i, Tensor))


def to_value(output: Any, trace: tuple, label: str, loc, preserves: bool, after_error=None, layer=None) -> Value:
    if output is None:
        return Tensor(Shape.unknown(), trace, after_error)
    if isinstance(output, Value):
        return output
    if isinstance(output, Shape):
        if preserves:
            return Tensor(output, trace, after_error)
        return Tensor(output, extend_trace(trace, Step(label, output, loc, layer), MAX_TRACE), after_error)
    if isinstance(output, (tuple, list)):
        items = tuple(to_value(o, trace, label, loc, preserves, after_error, layer) for o in output)
        return Seq(items) if isinstance(output, tuple) else ListValue(list(items))
    if isinstance(output, (int, sympy.Expr)):
        return Number(D.const(output))
    if isinstance(output, (bool, str, float)) or output is None:
        return from_python(output)
    return UNKNOWN


# -- dispatch ----------------------------------------------------------------------------------
# What calling each kind of value does (see call()).
def _call_alternatives(interp, callee: Alternatives, args: list, kwargs: dict, frame, node) -> Value:
    """Each option may be the one that runs: call each as code that may not run (its findings become
    notes), and join what they return."""
    from shapels.analysis.env import join_all

    uncertain = frame.branch(frame.env, False)
    return join_all([call(interp, option, list(args), dict(kwargs), uncertain, node) for option in callee.options])


_CALL_BY_TYPE = {
    Alternatives: _call_alternatives,
    FunctionRef: _call_function_ref,
    Layer: apply_layer,
    Instance: call_instance,
    BoundMethod: call_method,
    BoundUserMethod: _call_bound_user_method,
    UserFunction: _call_user_function,
    ClassRef: _call_class,
    Partial: _call_partial,
    Builtin: _call_builtin,
    argparse_values.ParserMethod: argparse_values.call_method,
}
