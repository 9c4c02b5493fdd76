"""Calls: where the interpreter meets the rule registry.

A call is dispatched on what the callee evaluated to: a library function or layer class (a rule),
a layer instance (its forward rule), a user class/instance/function (interpreted), a container,
or a builtin. Rule errors become findings here, placed on the blamed constructor argument. Library
functions modelled without a rule are library.py's; what container methods do is containers.py's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

import libcst as cst
from shapels import rules as rule_registry
from shapels.analysis import (argparse_values, containers, data_values, dtypes, enums, keras_models, library,
                             processes, report, tensor_values)
from shapels.analysis.argument_asserts import parameter_alias
from shapels.analysis.attributes import built_attribute, layer_attribute
from shapels.analysis.containers import build_container, module_children, register_submodule, set_training
from shapels.analysis.dataclass_values import dataclass_init, generated_init_owner
from shapels.analysis.env import join_all
from shapels.analysis.library_names import canonical
from shapels.analysis.objects import (
    CHAINED_MODULE_METHODS,
    BoundUserMethod,
    Builtin,
    ClassRef,
    Instance,
    Partial,
    SuperRef,
    UserFunction,
)
from shapels.analysis.python_builtins import call_builtin, string_method
from shapels.analysis.recorder import Run
from shapels.analysis.semantics import bind_user_params, signature, truth
from shapels.analysis.positions import Loc
from shapels.rules.base import BindError, RuleCall, ShapeError, Unknowable, from_python, to_dim
from shapels.rules.registry import FLATTEN
from shapels.symbolic import dims as D
from shapels.symbolic import strides
from shapels.symbolic.shape import Shape
from shapels.values import (
    evolved,
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

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp



def unknown_result(callee: Value) -> Value:
    if type(callee) is argparse_values.ParserMethod:
        argparse_values.unknown_call(callee)  # parser.add_argument(*flags, **options) not read
    return UNKNOWN


# -- calls ---------------------------------------------------------------------------------------
def call(interp: Interp, callee: Value, args: list, kwargs: dict, frame, node: cst.Call) -> Value:
    handler = _CALL_BY_TYPE.get(type(callee))  # value classes are never subclassed: exact types
    if handler is None:
        return _unknown_call(args, kwargs)
    if node is not None and (frame.scope is None or frame.scope is interp.main):
        sites = interp.recorder.sites  # a call from the analysed file: a finding in imported code is shown here
        sites.append((frame.unit, node))
        try:
            return handler(interp, callee, args, kwargs, frame, node)
        finally:
            sites.pop()
    return handler(interp, callee, args, kwargs, frame, node)


def _unknown_call(args: list, kwargs: dict) -> Value:
    """A call shapels does not model: its result is unknown, and it may write to the tensors it is given."""
    tensor_values.forget(list(args) + list(kwargs.values()))
    return UNKNOWN


def _call_function_ref(interp: Interp, callee: FunctionRef, args: list, kwargs: dict, frame, node) -> Value:
    return call_library(interp, canonical(callee.qualname), args, kwargs, frame, node)


def _call_bound_user_method(interp: Interp, callee: BoundUserMethod, args: list, kwargs: dict, frame, node) -> Value:
    node_name = getattr(callee.function.node, "name", None)  # a lambda has none
    if node_name is not None and isinstance(callee.receiver, Instance) and \
            node_name.value == callee.receiver.info.forward_name:
        return call_instance(interp, callee.receiver, args, kwargs, frame, node, callee.function)
    return interp.invoke(callee.function, args, kwargs, frame, receiver=callee.receiver, call_node=node)


def _call_user_function(interp: Interp, callee: UserFunction, args: list, kwargs: dict, frame, node) -> Value:
    return interp.invoke(callee, args, kwargs, frame, call_node=node)


def _call_class(interp: Interp, callee: ClassRef, args: list, kwargs: dict, frame, node) -> Value:
    return instantiate(interp, callee.info, args, kwargs, frame, node)


def _call_partial(interp: Interp, callee: Partial, args: list, kwargs: dict, frame, node) -> Value:
    return call(interp, callee.func, list(callee.args) + list(args), {**callee.kwargs, **kwargs}, frame, node)


def _call_builtin(interp: Interp, callee: Builtin, args: list, kwargs: dict, frame, node) -> Value:
    return call_builtin(interp, callee.name, args, kwargs, frame, node)


def call_library(interp: Interp, qualname: str, args: list, kwargs: dict, frame, node) -> Value:
    """A library function or class: modelled by library.py, else by its shape rule, else unknown."""
    handler = library.handler_for(qualname)
    if handler is not None:
        result = handler(interp, qualname, args, kwargs, frame, node)
        if result is not None:
            return result
    rule = rule_registry.lookup(qualname)
    if rule is None:
        return _unknown_call(args, kwargs)
    if rule.is_layer:
        return construct_layer(interp, rule, qualname, args, kwargs, frame, node)
    return apply_rule(interp, rule, qualname, None, args, kwargs, frame, node)


def construct_layer(interp: Interp, rule, qualname: str, args: list, kwargs: dict, frame, node) -> Value:
    try:
        bound = rule.init_signature.bind(args, kwargs)
    except BindError:
        return UNKNOWN  # torch would raise TypeError; a mistyped call is not our finding
    layer = Layer(qualname, bound, loc=frame.loc(node))
    if qualname.startswith(KERAS):
        layer.name = keras_models.keras_name(layer)
    positional = rule.init_signature.positional_names
    written = argument_nodes(positional, node)
    layer.arg_locs = ArgumentLocs(positional, node, frame)
    layer.named_args = {param: Loc(frame.unit, value, frame.env) for param, value in written.items()
                        if type(value) is cst.Name}  # `in_ch` where `out_ch` was meant: repair tries the others
    watch = interp.trial.arguments
    if watch:
        interp.trial.watched.extend((param, bound.get(param)) for param, loc in layer.arg_locs.items()
                                    if loc.node in watch or written.get(param) in watch)
    return layer


def argument_nodes(positional: Sequence, node) -> dict:
    """Parameter name -> the expression written for it in a call (only plainly passed ones)."""
    if type(node) is not cst.Call:
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


class ArgumentLocs(Mapping):
    """`argument_locs` of a call's arguments, worked out when first read. Every call of a user function and
    every layer built would trace its arguments (`param_locs`, `Layer.arg_locs`), and each trace reads
    the caller's own, up the stack; only a finding reads them. Nothing they read changes meanwhile: the
    call's nodes, and the calling frame's unit, env (the same dict, as a Loc keeps it) and `param_locs`."""

    __slots__ = ("_names", "_call", "_frame", "_locs")

    def __init__(self, names: Sequence, call_node, frame):
        """The arguments `call_node` (in `frame`) writes for parameters `names` (`argument_nodes`)."""
        self._names, self._call, self._frame, self._locs = names, call_node, frame, None

    def _resolved(self) -> dict:
        if self._locs is None:
            self._locs = argument_locs(argument_nodes(self._names, self._call), self._frame)
            self._names = self._call = self._frame = None  # the calling frame is not kept alive for nothing
        return self._locs

    def __getitem__(self, name):
        return self._resolved()[name]

    def __contains__(self, name) -> bool:
        return name in self._resolved()

    def __iter__(self):
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())


def argument_locs(written: dict, frame) -> dict:
    """Where each argument of a call (`argument_nodes`) was written. An argument that is a bare
    parameter of the calling function, or only another name for one (`input_channels = channels`), is
    traced back to what *its* caller passed: the place a fix belongs."""
    locs = {}
    for name, value in written.items():
        parameter = value.value if type(value) is cst.Name else None
        if parameter not in frame.param_locs and frame.param_locs:
            parameter = parameter_alias(value, frame.unit)
        if parameter in frame.param_locs:
            locs[name] = frame.param_locs[parameter]
        else:
            locs[name] = Loc(frame.unit, value, frame.env)
    return locs


def init_library_base(interp: Interp, instance: Instance, args: list, kwargs: dict, frame, node) -> None:
    """`super().__init__(*layers)` reaching a torch class (nn.Sequential, nn.Linear...): build it."""
    base = instance.info.library_base()
    if base is None:
        return
    if rule_registry.container_for(base) is not None:
        layer = build_container(base, args, frame, node)
    else:
        rule = rule_registry.lookup(base)
        layer = construct_layer(interp, rule, base, args, kwargs, frame, node) if rule is not None and rule.is_layer else UNKNOWN
    if isinstance(layer, Layer):
        instance.base_layer = layer


def call_instance(interp: Interp, instance: Instance, args: list, kwargs: dict, frame, node, forward=None) -> Value:
    """Call a user module: its forward, recorded as a run for hover and `shapes`."""
    if forward is None:
        found = instance.info.find_forward() if instance.info.is_module else instance.info.find_method("__call__")
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
        if instance.info.is_keras:
            keras_models.build_subclass(interp, instance, args, frame)
        result = interp.invoke(forward, args, kwargs, frame, receiver=instance, record=True)
    finally:
        interp.recorder.end_run(result)
    if node is not None and instance.name and isinstance(result, Tensor):
        _record_layer_call(interp, instance, args, result, frame, node)
    return _with_step(result, instance.label, frame.loc(node) if node is not None else None)


def _with_step(result: Value, label: str, loc) -> Value:
    """A user module's output continues the chain of its input with one step named after it, which
    keeps the layer its last step ran (the producer of its width, for a later mismatch's blame) and the
    operands it joined."""
    if isinstance(result, Tensor) and result.trace:
        last = result.trace[-1]
        return Tensor(result.shape, result.trace[: -1] + (Step(f"{label}", result.shape, last.loc, last.layer,
                                                                last.unbatched, last.joins, last.axes_from),))
    return result


def _param_names(node: cst.FunctionDef) -> tuple:
    return signature(node).positional


def instantiate(interp: Interp, info, args: list, kwargs: dict, frame, node) -> Value:
    if info.attributes and enums.enum_kind(info) is not None:
        return enums.lookup(interp, info, args[0]) if len(args) == 1 and not kwargs else UNKNOWN  # Format('NHWC')
    instance = Instance(info, loc=frame.loc(node) if node is not None else None)
    found = info.find_method("__init__")
    generated = generated_init_owner(info)
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
    bound = bind_user_params(init, [UNKNOWN] + list(args), kwargs) or {}
    names = _param_names(init)
    return {k: v for k, v in bound.items() if not names or k != names[0]}


def call_method(interp: Interp, method: BoundMethod, args: list, kwargs: dict, frame, node) -> Value:
    receiver, name = method.receiver, method.name
    if isinstance(receiver, Tensor):
        return call_library_method(interp, receiver, name, args, kwargs, frame, node)
    if isinstance(receiver, ListValue):
        return containers.list_method(receiver, name, args, frame)
    if isinstance(receiver, SetValue):
        return containers.set_method(receiver, name, args, kwargs, frame)
    if isinstance(receiver, DictValue):
        return containers.dict_method(receiver, name, args, kwargs, frame)
    if isinstance(receiver, Layer):
        return call_layer_method(interp, receiver, name, args, kwargs, frame, node)
    if isinstance(receiver, keras_models.KerasModel):
        return keras_models.call_method(interp, receiver, name, args, kwargs, frame, node)
    if isinstance(receiver, data_values.PILImageValue):
        return data_values.image_method(receiver, name, args, kwargs)
    if isinstance(receiver, processes.ProcessValue):
        return processes.process_method(interp, receiver, name, args, kwargs, frame, node)
    if isinstance(receiver, SuperRef):
        if name == "__init__":
            generated = generated_init_owner(receiver.instance.info, receiver.owner)
            if generated is not None:
                dataclass_init(interp, receiver.instance, generated, args, kwargs, frame)
            else:
                init_library_base(interp, receiver.instance, args, kwargs, frame, node)
            return NONE
        if name == "forward" and receiver.instance.base_layer is not None:
            return apply_layer(interp, receiver.instance.base_layer, args, kwargs, frame, node)
        return UNKNOWN
    if isinstance(receiver, Instance):
        if receiver.info.is_keras and name in keras_models.MODEL_METHODS:
            return keras_models.call_method(interp, receiver, name, args, kwargs, frame, node)
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
            set_training(receiver, truth(args[0]) if args else True)  # None: a mode we cannot tell
        return receiver if name in CHAINED_MODULE_METHODS else UNKNOWN
    if isinstance(receiver, Const) and isinstance(receiver.value, str):
        return string_method(receiver, name, args, kwargs)
    if isinstance(receiver, Seq) and name == "numel":
        dims = [to_dim(i) for i in receiver.items]
        return Number(D.dim_product(dims)) if all(d is not None for d in dims) else UNKNOWN
    return UNKNOWN


def call_layer_method(interp: Interp, layer: Layer, name: str, args: list, kwargs: dict, frame: Frame,
                      node) -> Value:
    if name == "forward":
        return apply_layer(interp, layer, args, kwargs, frame, node)
    return containers.layer_method(layer, name, args, kwargs, frame)


def call_library_method(interp: Interp, tensor: Tensor, name: str, args: list, kwargs: dict, frame, node) -> Value:
    if name in ("tolist", "item") and not args and not kwargs:
        return tensor_values.to_python_value(tensor, name)
    qualname = f"torch.Tensor.{name}"
    rule = rule_registry.lookup(qualname)
    if rule is None:  # a numpy array's own method (`x.astype("float32")`): arrays are tensors here
        qualname = f"numpy.ndarray.{name}"
        rule = rule_registry.lookup(qualname)
    if rule is None:
        return _unknown_call([tensor] + list(args), kwargs)
    return apply_rule(interp, rule, qualname, None, [tensor] + list(args), kwargs, frame, node)


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
    if not _read_by_forward(layer, name):
        return True
    built = built_attribute(layer, name)
    if isinstance(built, Const) and built.value is None:
        return isinstance(value, Const) and value.value is None
    if not (isinstance(built, Tensor) and isinstance(value, Tensor)):
        return False
    a, b = built.shape, value.shape
    return a.ranked and b.ranked and len(a.dims) == len(b.dims) and all(D.eq(x, y) is True for x, y in zip(a.dims, b.dims))


def _apply_reassigned(interp: Interp, layer: Layer, args: list, kwargs: dict, frame, node) -> Optional[Value]:
    """A layer with an attribute assigned after construction: None where the assignment changed
    nothing its rule reads; else the functional call with the new parameters, or an unknown result."""
    changed = {name for name, value in layer.assigned.items() if not _unchanged(layer, name, value)}
    if not changed:
        return None
    # A layer whose forward is one functional call of its parameters (its registry entry's
    # `functional`): with a weight assigned in place of the one built, that call with the new one.
    rule = rule_registry.lookup(layer.kind)
    functional = rule.functional if rule is not None else None
    primary = next((v for v in args if isinstance(v, Tensor)), None)
    if functional is not None and functional.attributes and changed <= set(functional.attributes) \
            and len(args) == 1 and not kwargs:
        qualname, params = functional.qualname, functional.attributes
        result = apply_rule(interp, rule_registry.lookup(qualname), qualname, None,
                            [args[0]] + [layer_attribute(layer, p) for p in params], {}, frame, node)
        last = result.trace[-1] if isinstance(result, Tensor) and result.trace else None
        if last is not None and last.label == qualname.rsplit(".", 1)[-1] and getattr(last.loc, "node", None) is node:
            step = evolved(last, label=layer.label, layer=layer)  # `head`, not `linear`
            result = evolved(result, trace=result.trace[:-1] + (step,))
    else:
        result = Tensor(Shape.unknown(), primary.trace) if primary is not None else UNKNOWN
    _record_layer_call(interp, layer, args, result, frame, node)
    return result


def apply_layer(interp: Interp, layer: Layer, args: list, kwargs: dict, frame, node) -> Value:
    if layer.assigned:
        result = _apply_reassigned(interp, layer, args, kwargs, frame, node)
        if result is not None:
            return result
    container = rule_registry.container_for(layer.kind)
    if container is not None and container.forward:  # a model whose forward calls its members by name
        value = _forward_by_names(interp, layer, container.forward, args, kwargs, frame, node)
        _record_layer_call(interp, layer, args, value, frame, node)
        return value
    if container is not None and container.chained:  # a Sequential: each member on the last one's output
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
    if layer.kind == KERAS_LAYERS + "Lambda":  # its function, run by the analysis
        result = keras_models.call_lambda(interp, layer, args, kwargs, frame, node)
        if result is not None:
            return result
    if layer.kind.startswith(KERAS_LAYERS):  # a Keras layer called on data at the top level runs as a model of its own
        return keras_models.call_layer_on_data(interp, layer, args, kwargs, frame, node,
                                               lambda: apply_rule(interp, rule, layer.kind, layer, args, kwargs, frame, node))
    return apply_rule(interp, rule, layer.kind, layer, args, kwargs, frame, node)


def _forward_by_names(interp: Interp, layer: Layer, forward: tuple, args: list, kwargs: dict, frame, node) -> Value:
    """`model(x)` for a container whose registry entry gives its forward (torchvision's ResNet): its
    members by name, the ones the program assigned in their place too (`model.fc = nn.Linear(512, 10)`).
    Unknown where a member is not known (one the program may have replaced or deleted)."""
    if len(args) != 1 or kwargs or layer.opaque:
        return UNKNOWN
    members = dict(zip(layer.child_names, layer.children))
    if any(step not in members for step in forward if step != FLATTEN):
        return UNKNOWN
    value = args[0]
    for step in forward:
        if step == FLATTEN:
            value = call(interp, FunctionRef("torch.flatten"), [value, Number(1)], {}, frame, node)
        else:
            value = call(interp, members[step], [value], {}, frame, node)
    return value


def apply_rule(interp: Interp, rule, qualname: str, layer: Optional[Layer], args: list, kwargs: dict, frame, node) -> Value:
    """Run one rule; its ShapeError becomes a finding, its conditions become notes."""
    interp.budget.tick()  # a long Sequential applies thousands of rules from one call
    try:
        bound = rule.call_signature.bind(args, kwargs)
    except BindError:
        return UNKNOWN
    # One pass over the arguments (a loop, not generators: every rule call runs it): the first tensor,
    # the first earlier error a tensor assumes fixed, and whether a list is uncertain.
    primary = after_error = None
    uncertain = listed_any = False
    for v in bound.values():
        kind = type(v)
        if kind is Tensor:
            if primary is None:
                primary = v
            if after_error is None:
                after_error = v.after_error
        elif kind is Seq or kind is ListValue:
            listed_any = True
            if kind is ListValue and v.uncertain:
                uncertain = True
    if uncertain:
        # appended to on a path that may not run (a loop of unknown length): its items are not the list's
        bound = {k: UNKNOWN if type(v) is ListValue and v.uncertain else v for k, v in bound.items()}
    if listed_any:  # tensors inside a list (torch.cat) count too, in order
        after_error = next((v.after_error for v in _tensors(bound.values()) if v.after_error is not None), None)
    traced = primary  # whose provenance the result carries
    if primary is None:  # torch.cat([x]): a list of one tensor keeps that tensor's provenance
        listed = list(_tensors(bound.values()))
        primary = listed[0] if len(listed) == 1 else None
        # torch.cat([cls_token, x]): the result carries the provenance of the tensor that came the longest
        # way (the data, not a parameter), so a later error's causes can reach back past the join to the
        # input that fed it (a transposed sequence, an image of another size)
        traced = max(listed, key=lambda t: len(t.trace)) if listed else None
    rule_call = RuleCall(qualname, layer.args if layer is not None else None, bound, layer)
    if interp.trial.calls and node in interp.trial.calls:  # on known shapes: its tensors known, no argument unknown
        interp.trial.reached.append(not any(isinstance(v, Unknown) for v in bound.values()) and all(
            t.shape.ranked and all(D.known_or_open(d) for d in t.shape.dims) for t in _tensors(bound.values())))
    loc = frame.loc(node) if node is not None else None
    built_from = primary if rule.builds is not None and layer is not None and layer.built is None else None
    try:
        output = rule.fn(rule_call)
    except Unknowable:
        output = None if primary is not None else UNKNOWN
    except ShapeError as error:
        built_from = None
        source = bound.get(error.input_name) if error.input_name else primary
        blamed = report.shape_error(interp, error, rule_call, layer, source if isinstance(source, Tensor) else primary,
                                    frame, loc, after_error)
        output = error.recover
        after_error = after_error or blamed
    except (ZeroDivisionError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError):
        output = None if primary is not None else UNKNOWN  # a rule that cannot decide stays silent
    if built_from is not None and frame.certain and built_from.shape.ranked:
        _build(rule, rule_call, layer, built_from.shape)
    for condition in rule_call.conditions:
        report.condition(interp, condition, rule_call, layer, primary, frame, loc)
    label = layer.label if layer is not None else (rule.label or qualname.rsplit(".", 1)[-1])
    if label.startswith("__"):
        label = _OPERATOR_LABELS.get(label, label)
    result = to_value(output, traced.trace if traced is not None else (), label, loc, rule.preserves_shape,
                      after_error, layer)
    if rule_call.merges_leading and frame.certain:
        interp.trial.batch_merges.append(loc)
    if rule_call.unbatched and isinstance(result, Tensor) and result.trace and result.trace[-1].loc is loc:
        result = evolved(result, trace=result.trace[:-1] + (evolved(result.trace[-1], unbatched=True),))
    if rule.broadcasts and isinstance(result, Tensor) and result.trace and result.trace[-1].loc is loc:
        joined = tuple(t for t in _tensors(bound.values()) if t is not traced)
        if joined:  # `dot + user_bias`: the trace goes on with dot's; user_bias's stays reachable from the step
            result = evolved(result, trace=result.trace[:-1] + (evolved(result.trace[-1], joins=joined),))
    if rule_call.moved_axes is not None and isinstance(result, Tensor) and result.trace and result.trace[-1].loc is loc:
        moved = evolved(result.trace[-1], axes_from=rule_call.moved_axes)
        result = evolved(result, trace=result.trace[:-1] + (moved,))
    if isinstance(result, Tensor) and layer is None and "memory_format" not in kwargs and (
            qualname in strides.CONTIGUOUS_RESULTS or primary is not None and primary.strides is not None):
        laid_out = strides.after(qualname, primary.shape if primary is not None else None,
                                 primary.strides if primary is not None else None,
                                 lambda name: _bound_ints(rule_call, name), result.shape)
        if laid_out is not None:
            result = evolved(result, strides=laid_out)
    if layer is None:
        result = tensor_values.unique_result(qualname, bound, result) or result  # a length the values give
        dtype = dtypes.of_result(qualname, bound) if isinstance(result, Tensor) else None
        if dtype is not None:
            result = evolved(result, dtype=dtype)
    cell = tensor_values.result_cell(qualname, bound, result.shape) if isinstance(result, Tensor) and layer is None \
        else None
    if cell is not None:
        result = evolved(result, data=cell)
    if tensor_values.may_write(qualname, bound, layer is not None):
        tensor_values.forget(bound.values())
    if layer is not None:
        _record_layer_call(interp, layer, args, result, frame, node)
    return result


def _build(rule, rule_call: RuleCall, layer: Layer, shape: Shape) -> None:
    """A layer that builds from its first input (Rule.builds) keeps the sizes that input had, where known."""
    try:
        sizes = rule.builds(rule_call, shape)
    except (Unknowable, ValueError, IndexError):
        return
    layer.built = {axis: size for axis, size in sizes.items() if D.as_int(size) is not None} or None


def _bound_ints(rule_call: RuleCall, name: str) -> Optional[tuple]:
    """`permute(0, 2, 1)`, `permute((0, 2, 1))` or `transpose(1, 2)`'s dims as ints, or None."""
    try:
        dims = rule_call.int_list(name)
    except (KeyError, Unknowable):
        return None
    out = tuple(D.as_int(d) for d in dims)
    return None if None in out else out


KERAS, KERAS_LAYERS = "keras.", "keras.layers."
_OPERATOR_LABELS = {"__add__": "+", "__radd__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/"}


def _record_layer_call(interp: Interp, layer, args, result, frame, node) -> None:
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
        return Tensor(output, extend_trace(trace, Step(label, output, loc, layer)), after_error)
    if isinstance(output, (tuple, list)):
        items = tuple(to_value(o, trace, label, loc, preserves, after_error, layer) for o in output)
        return Seq(items) if isinstance(output, tuple) else ListValue(list(items))
    if isinstance(output, int) or D.is_expr(output):
        return Number(D.const(output))
    if isinstance(output, (bool, str, float)) or output is None:
        return from_python(output)
    return UNKNOWN


# -- dispatch ----------------------------------------------------------------------------------
# What calling each kind of value does (see call()).
def _call_alternatives(interp: Interp, callee: Alternatives, args: list, kwargs: dict, frame, node) -> Value:
    """Each option may be the one that runs: call each as code that may not run (its findings become
    notes), and join what they return."""
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
    keras_models.KerasModel: keras_models.call_model,
    data_values.TransformValue: data_values.call_transform,
}
