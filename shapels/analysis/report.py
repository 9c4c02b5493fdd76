"""Turning a rule's ShapeError or Condition into a Finding: where, why, and the fix."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Optional

import libcst as cst
from shapels.analysis.findings import EARLIER_ERROR, Evidence, Finding, Fix, Related
from shapels.analysis.positions import Loc
from shapels.codes import ASSERT_FAILS, SHAPE_CONDITION, TENSOR_INDEX, UNPACK_MISMATCH, VIEW_STRIDE
from shapels.rules import parameters
from shapels.rules.base import CAST_FIX, MISSING, Condition, RuleCall, ShapeError, Unknowable, to_dim
from shapels.rules.registry import lookup as rule_for
from shapels.values import UNKNOWN
from shapels.symbolic import dims as D
from shapels.values import Layer, ListValue, Number, Seq, Tensor

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp

CHAIN_STEPS = 8


def chain(tensor: Optional[Tensor]) -> str:
    """`input (1, 3, 32, 32) → conv1 (1, 10, 32, 32) → ... → view (1, 5120)`."""
    if tensor is None or not tensor.trace:
        return ""
    steps = tensor.trace
    shown = " → ".join(step.show() for step in steps[-CHAIN_STEPS:])
    return ("… → " if len(steps) > CHAIN_STEPS else "") + shown


def _blame(error_param: Optional[str], layer: Optional[Layer], call_loc):
    """The argument expression that is wrong, else the constructor call, else the call site."""
    if layer is not None:
        if error_param and error_param in layer.arg_locs:
            return layer.arg_locs[error_param], True
        if layer.loc is not None:
            return layer.loc, False
    return call_loc, False


def shape_error(interp: Interp, error: ShapeError, call: RuleCall, layer: Optional[Layer], source: Optional[Tensor], frame,
                call_loc, after_error=None):
    """Record the finding; returns its location, which later shapes that assume it fixed carry."""
    via_weight = False
    if layer is None and error.param is not None:
        owner, param = argument_owner(call, error)
        if owner is not None:  # F.linear(x, self.qkv.weight): the fix belongs to qkv's in_features
            layer, via_weight = owner, True
            function = call.qualname.rsplit(".", 1)[-1]
            message = error.message.replace(f"{function} expects weight=", f"{owner.label} expects {param}=", 1)
            message = message.replace(f"{function} expects", f"{owner.label} expects", 1)
            message += f" (F.{function} with {owner.label}.{error.param})"
            fix = error.fix
            if isinstance(fix, tuple) and len(fix) == 1 and _written_as_int(owner, param):
                fix = fix[0]  # LayerNorm2d(96) holds normalized_shape (96,): the fix is written as an int too
            error = ShapeError(error.code, message, param=param, fix=fix,
                               input_name=error.input_name, recover=error.recover)
    loc, on_argument = _blame(error.param, None if error.at_call and call_loc is not None else layer, call_loc)
    why = chain(source)
    message = error.message + (f": {why}" if why else "")
    related = []
    if layer is not None and call_loc is not None and call_loc != loc:
        related.append(Related(call_loc, f"{layer.label} is called here"))
    if source is not None:
        for step in source.trace[-CHAIN_STEPS:]:
            if step.loc is not None and step.loc != loc:
                related.append(Related(step.loc, f"{step.label} gives {step.shape.show()}"))
    fix = None
    alternatives = []
    if on_argument and error.fix is not None:
        content = render_fix(error.fix, loc)
        if content is not None:
            size = None if isinstance(error.fix, (tuple, list)) else D.const(error.fix)
            fix = Fix(f"Set {error.param} to {content}", loc, content, target=f"{layer.label}'s {error.param}",
                      param=error.param, size=size)
    if fix is None and error.code == VIEW_STRIDE:
        fix = reshape_fix(call_loc)
    if fix is None and isinstance(error.fix, str) and error.fix.startswith(CAST_FIX):
        fix = cast_fix(call, call_loc, error.input_name, error.fix[len(CAST_FIX):])
    producer = producer_fix(layer, error, source, loc)
    if producer is not None:
        alternatives.append(producer)
        related.insert(0, Related(producer.loc, producer.message.replace("Set", "or set", 1)))
    if layer is not None and not via_weight:
        alternatives.extend(stand_ins(interp, layer, error.param))
    severity, message = _standing(interp, frame, loc, message, related, after_error)
    interp.recorder.add(
        Finding(error.code, severity, message, loc, related, fix, module=_module_name(interp), param=error.param,
                alternatives=alternatives, producer=producer,
                evidence=Evidence(tuple(_operands(call.args.values())), source, layer, call_loc,
                                  find_producer(layer, error, source), _asked_sizes(call), call.paired_axes))
    )
    if severity == "error" and interp.first_error is None:
        interp.first_error = loc  # torch stops here: later findings in this execution assume it fixed
    return loc


def _standing(interp: Interp, frame, loc, message: str, related: list, after_error) -> tuple:
    """(severity, message) of a failure at `loc`: an error where the line surely runs and nothing failed
    before it; a note where it may not run; a warning that names the earlier error torch stops at."""
    severity = "error" if frame.surely_reached else "information"
    earlier = after_error if after_error is not None else interp.first_error
    if not frame.certain:
        message = "may fail if this branch runs: " + message
    elif frame.conditional:
        message = "may fail on the paths that reach this line (an earlier branch may return or leave the loop): " + message
    elif earlier is not None and earlier != loc:
        # Torch stops at the first error; this one shows once that is fixed as the code intends.
        severity = "warning"
        message += " (once the earlier error is fixed)"
        related.insert(0, Related(earlier, EARLIER_ERROR))
    return severity, message


def unpack_error(interp: Interp, frame, target_loc, count: int, names: int, source: Optional[Tensor],
                 lacking: Optional[Tensor] = None, sizes: bool = False) -> None:
    """`q, k, v = x.split(n_embd, dim=2)` on a split into 4: Python's ValueError, before any shape. `sizes`:
    what is unpacked is a tensor's sizes (`b, c, h, w = x.shape`), where no rule runs for the trials to count."""
    many = "too many" if count > names else "not enough"
    what = "tensors" if source is not None and not sizes else "values"
    _python_error(interp, frame, target_loc, UNPACK_MISMATCH,
                  f"{many} values to unpack: {count} {what} into {names} names (Python raises ValueError)", source,
                  lacking, at_call=not sizes)


def index_error(interp: Interp, frame, loc, message: str, source: Optional[Tensor], on_sizes: bool = False,
                axis: Optional[int] = None) -> None:
    """`x[:, 5]` on x of (2, 3): torch's IndexError, at the index (`axis`: the dim it is out of range for);
    `x.shape[1]` on a 1-D x (`on_sizes`): Python's, on the sizes tuple, where no rule runs for the trials to
    count."""
    evidence = Evidence((source,), source, None, None if on_sizes else loc, axis=axis) if source is not None else None
    _python_error(interp, frame, loc, TENSOR_INDEX, message, source, source, at_call=not on_sizes, evidence=evidence)


def assertion_error(interp: Interp, frame, loc, test: str, message: Optional[str], inputs: tuple = (),
                    sizes: Optional[tuple] = None) -> None:
    """`assert h == self.image_size` false for the inputs in play: Python's AssertionError. `inputs`: the
    tensors the function was given, and `sizes` (the size compared, the size asserted) for the repair."""
    said = f" ({message})" if message else ""
    _python_error(interp, frame, loc, ASSERT_FAILS,
                  f"`{test}` is false for the inputs in play: AssertionError{said}", None,
                  evidence=Evidence(tuple(inputs), inputs[0], None, None, sizes=sizes) if inputs else None)


def size_check_raises(interp: Interp, frame, loc, test: str, exception: str, message: Optional[str],
                      inputs: tuple = ()) -> None:
    """`if h % 32 != 0: raise RuntimeError(...)` true for the inputs in play: the code's own size check fails."""
    said = f" ({message})" if message else ""
    _python_error(interp, frame, loc, ASSERT_FAILS, f"`{test}` is true for the inputs in play: {exception}{said}",
                  None, evidence=Evidence(tuple(inputs), inputs[0], None, None) if inputs else None)


def arguments_fail_assertion(interp: Interp, frame, where: Loc, assert_loc: Loc, test: str, message: Optional[str],
                             written: dict, owner: str) -> None:
    """`ViT(image_size=32, patch_size=6)` against `assert image_height % patch_height == 0` in its
    `__init__`: the arguments the caller wrote break the class's stated contract, shown at the call
    (argument_asserts.py says when that holds). No fix: which argument was meant is not said."""
    said = f" ({message})" if message else ""
    arguments = ", ".join(f"{name}={interp.node_text(loc.node)}" for name, loc in written.items())
    _python_error(interp, frame, where, ASSERT_FAILS,
                  f"{owner}'s assert `{test}` fails for {arguments}: AssertionError{said}", None,
                  related=[Related(assert_loc, f"{owner}.__init__ asserts `{test}` here")])


def _python_error(interp: Interp, frame, loc, code, message: str, source: Optional[Tensor],
                  evidence_of: Optional[Tensor] = None, related: Optional[list] = None, *, at_call: bool = True,
                  evidence: Optional[Evidence] = None) -> None:
    """A failure no shape rule raises (Python's or torch's own, at a statement): the chain that made
    `source`, its standing (error, note or warning), and the tensor the repair's causes start from
    (`evidence_of`, or a whole `evidence`). `at_call=False` where no rule runs at `loc` (an assert, sizes
    unpacked or indexed): the trials' check that the failing call still runs on known shapes counts rule
    calls, so it gets no call location."""
    why = chain(source)
    message += f": {why}" if why else ""
    related = list(related or ())
    severity, message = _standing(interp, frame, loc, message, related, None)
    if evidence is None and evidence_of is not None:
        evidence = Evidence((evidence_of,), evidence_of, None, loc if at_call else None)
    interp.recorder.add(Finding(code, severity, message, loc, related, module=_module_name(interp), evidence=evidence))
    if severity == "error" and interp.first_error is None:
        interp.first_error = loc


def _asked_sizes(call: RuleCall) -> Optional[tuple]:
    """`view(-1, 400)`'s sizes, for the repair's reading of what the flatten was written for."""
    if "shape" not in call.args:
        return None
    try:
        return tuple(call.int_list("shape"))
    except (KeyError, Unknowable):
        return None


def _operands(values):
    """The tensors a call got, including those inside a list or tuple (torch.cat)."""
    for value in values:
        if isinstance(value, Tensor):
            yield value
        elif isinstance(value, (Seq, ListValue)):
            yield from (item for item in value.items if isinstance(item, Tensor))


def reshape_fix(call_loc) -> Optional[Fix]:
    """`x.transpose(1, 2).view(1, 4)` -> `.reshape(1, 4)`: reshape copies where a view cannot, and
    the sizes already agree (a size mismatch is view-invalid-shape, checked first), so the rewrite
    always runs."""
    node = call_loc.node if call_loc is not None else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "view":
        return Fix("Use .reshape(...), which copies where a view cannot", Loc(call_loc.unit, node.func.attr),
                   "reshape", target="the view")
    return None


def cast_fix(call: RuleCall, call_loc, input_name: Optional[str], method: str) -> Optional[Fix]:
    """`self.fc(x)` -> `self.fc(x.float())`: the tensor of the wrong dtype converted where this call
    passes it (a layer's input, or the first layer's of a Sequential, which keeps the dtype to it)."""
    node = call_loc.node if call_loc is not None else None
    if not isinstance(node, cst.Call) or input_name is None:
        return None
    rule = rule_for(call.qualname)
    names = [p.name for p in rule.call_signature.params] if rule is not None else []
    index = names.index(input_name) if input_name in names else None
    argument = next((a for a in node.args if a.keyword is not None and a.keyword.value == input_name), None)
    if argument is None and index is not None:
        positional = [a for a in node.args if a.keyword is None]
        if any(a.star for a in positional[:index + 1]):
            return None
        argument = positional[index] if index < len(positional) else None
    if argument is None or argument.star:
        return None
    expression = argument.value
    text = cst.Module(body=[]).code_for_node(expression)
    if not (isinstance(expression, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) or expression.lpar):
        text = f"({text})"
    why = " (its values must be row indices of the embedding)" if method == "long" and "mbedding" in call.qualname else ""
    return Fix(f"Convert {text} with .{method}(){why}", Loc(call_loc.unit, expression), f"{text}.{method}()",
               target=f"the {input_name} passed here")


def _attribute_of(value) -> tuple:
    """(the layer, the attribute name) that a value is, unchanged, as the layer's constructor built
    it: `self.weight` of a Linear (a tensor of one step that names it), `self.normalized_shape` of a
    LayerNorm (items that each name it); (None, None) otherwise."""
    if isinstance(value, Tensor) and len(value.trace) == 1:
        step = value.trace[0]
    elif isinstance(value, Seq) and value.items and all(isinstance(v, Number) and len(v.trace) == 1 for v in value.items):
        steps = {id(v.trace[0]): v.trace[0] for v in value.items}
        step = next(iter(steps.values())) if len(steps) == 1 else None
    else:
        step = None
    if step is None or not isinstance(step.layer, Layer) or "." not in step.label:
        return None, None
    return step.layer, step.label.rsplit(".", 1)[1]


def argument_owner(call: RuleCall, error: ShapeError) -> tuple:
    """(the layer, its constructor argument) to blame for a functional call's error about one of its
    arguments, where that argument is the layer's own parameter, unchanged, and the call is the layer's
    own computation (its registry entry's `functional`): `F.linear(x, self.weight)` in a Linear
    subclass blames in_features, the argument that sized the weight's mismatched dim;
    `F.layer_norm(x, self.normalized_shape)` blames normalized_shape. (None, None) otherwise."""
    layer, attribute = _attribute_of(call.args.get(error.param))
    rule = rule_for(layer.kind) if layer is not None else None
    if rule is None or rule.functional is None or rule_for(rule.functional.qualname) is not rule_for(call.qualname):
        return None, None
    parameter, stored = rule.parameter(attribute), rule.stored_tuple(attribute)
    if parameter is not None and error.param_dim is not None:
        names = parameters.sources(parameter, layer.args) or []
        index = error.param_dim + len(names) if error.param_dim < 0 else error.param_dim
        source = names[index] if 0 <= index < len(names) else None
    else:
        source = stored.arg if stored is not None and stored.traced else None
    return (layer, source) if source is not None and source in layer.arg_locs else (None, None)


def _written_as_int(layer: Layer, param: str) -> bool:
    value = layer.args.get(param)
    return isinstance(value, Number)


def condition(interp: Interp, cond: Condition, call: RuleCall, layer: Optional[Layer], source: Optional[Tensor], frame, call_loc) -> None:
    """An information note, only for conditions stated over named dims a user can act on."""
    if "?" in cond.message or len(cond.message) > 120:
        return  # a condition on unknowns, or too long to read, helps nobody
    loc, _ = _blame(cond.param, layer, call_loc)
    who = f"{layer.label}: " if layer is not None else ""
    interp.recorder.add(
        Finding(SHAPE_CONDITION, "information", f"{who}{cond.message}", loc, module=_module_name(interp), param=cond.param)
    )


def _module_name(interp: Interp) -> Optional[str]:
    run = interp.recorder.current
    return run.class_name if run is not None else None


def render_fix(value, loc) -> Optional[str]:
    """The replacement text: an int, or an expression over the enclosing function's parameters."""
    if isinstance(value, (tuple, list)):
        parts = [render_fix(v, loc) for v in value]
        return None if any(p is None for p in parts) else "(" + ", ".join(parts) + ")"
    value = D.const(value)
    if D.is_concrete(value):
        return str(D.as_int(value))
    unit = loc.unit if loc is not None else None
    params = set()
    if isinstance(unit, cst.FunctionDef):
        p = unit.params
        params = {x.name.value for x in list(p.posonly_params) + list(p.params) + list(p.kwonly_params)}
    names = {s.name for s in D.free_symbols(value)}
    if D.has_unknown(value) or not names <= params:
        return None
    text = D.show(value)
    return text if _python_over(text, params) else None


def _python_over(text: str, names: set) -> bool:
    """Whether `text` is a Python expression that reads only `names` (never sympy's `floor(...)`)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return all(node.id in names for node in ast.walk(tree) if isinstance(node, ast.Name))


def producer_fix(consumer: Optional[Layer], error: ShapeError, source: Optional[Tensor], blamed) -> Optional[Fix]:
    """The other way to fix a channel/feature mismatch: change the layer upstream that produced the
    arriving size (`conv1`'s out_channels) to what this layer expects."""
    found = find_producer(consumer, error, source)
    if found is None:
        return None
    producer, param = found
    expected = to_dim(consumer.args.get(error.param, UNKNOWN))
    where = producer.arg_locs[param]
    content = render_fix(expected, where)
    if content is None or where == blamed:
        return None
    return Fix(f"Set {producer.label}'s {param} to {content}", where, content,
               target=f"{producer.label}'s {param}", param=param, size=expected)


def find_producer(consumer: Optional[Layer], error: ShapeError, source: Optional[Tensor]) -> Optional[tuple]:
    """(the layer upstream that produced the arriving size, its argument that sets it). The search walks
    back over the steps that pass that size through unchanged (norms, activations, pools, flatten)."""
    if consumer is None or source is None or error.fix is None or not error.param:
        return None
    expected = to_dim(consumer.args.get(error.param, UNKNOWN))
    arriving = D.const(error.fix) if not isinstance(error.fix, (tuple, list)) else None
    if expected is None or arriving is None:
        return None
    steps = source.trace
    for index in range(len(steps) - 1, -1, -1):
        producer = steps[index].layer
        if isinstance(producer, Layer) and producer is not consumer:
            entry = rule_for(producer.kind)
            param = entry.makes_width if entry is not None else None  # the argument that sizes its output
            value = to_dim(producer.args.get(param, UNKNOWN)) if param is not None else None
            if value is not None and D.eq(value, arriving) is True and param in producer.arg_locs:
                return producer, param
        if index == 0 or not _carries(steps[index - 1].shape, arriving):
            return None  # this step made the size: if not by a producer argument, do not guess further
    return None


def _carries(shape, size) -> bool:
    """Whether a step's output has `size` as its channel (dim 1) or feature (last) dim."""
    dims = shape.dims if shape is not None and shape.ranked else ()
    return len(dims) >= 2 and any(D.eq(d, size) is True for d in (dims[1], dims[-1]))


def stand_ins(interp: Interp, layer: Layer, param: Optional[str]) -> list:
    """The layers that can replace this one whole, inferring the blamed argument from the input (its
    registry entry's `alternatives`), each as a Fix of the whole constructor call. None where the program
    initializes its layers' weights as it builds them: a stand-in that infers a size has no weight until
    its first call, and torch raises on initializing one (`nn.init.trunc_normal_(m.weight)` in an init hook)."""
    rule = rule_for(layer.kind)
    if rule is None or param is None or not rule.alternatives or _initializes_weights(interp):
        return []
    found = (stand_in_fix(interp, layer, alternative) for alternative in rule.alternatives if param in alternative.infers)
    return [fix for fix in found if fix is not None]


# `nn.init.trunc_normal_(m.weight, std=.02)`, `init.kaiming_normal_(self.fc.weight)`, `m.weight.data.normal_(0, 0.01)`
_WEIGHT_INIT = re.compile(r"(?:\b(?:trunc_normal_|(?:xavier|kaiming)_(?:normal|uniform)_|normal_|uniform_|zeros_|ones_|"
                          r"constant_|orthogonal_)\(\s*[\w.\[\]]+\.weight\b)|\.weight(?:\.data)?\.(?:normal_|uniform_|"
                          r"zero_|fill_)\(")


def _initializes_weights(interp: Interp) -> bool:
    # the program's files only: a library read for its shapes initializes its own layers as it builds them
    # (torchvision's ResNet.__init__), never the program's stand-in, and whether it is installed must not
    # decide which fixes are offered
    return any(_WEIGHT_INIT.search(text or "") for text in interp.linker.program_sources())


def stand_in_fix(interp: Interp, layer: Layer, alternative) -> Optional[Fix]:
    """`nn.LazyLinear(out_features)` in place of the whole constructor, keeping the spelling of `nn.`:
    the arguments the alternative takes, as written (required ones positionally, the others by name)."""
    call = layer.loc.node if layer.loc is not None else None
    rule = rule_for(alternative.qualname)
    if not isinstance(call, cst.Call) or rule is None or rule.init_signature is None:
        return None
    func_text = interp.module.code_for_node(call.func)
    name, new_name = layer.short_kind, alternative.qualname.rsplit(".", 1)[-1]
    if not func_text.endswith(name):
        return None
    replacement = func_text[: -len(name)] + new_name
    required, optional = [], []
    for p in rule.init_signature.params:
        if p.var_positional or p.var_keyword:
            continue
        loc = layer.arg_locs.get(p.name)
        if loc is None and p.default is MISSING:
            return None  # a required argument not written plainly: no text to keep
        if loc is not None:
            text = interp.module.code_for_node(loc.node)
            if p.default is MISSING and not p.keyword_only:
                required.append(text)
            else:
                optional.append(f"{p.name}={text}")
    shown = ", ".join(required)
    return Fix(f"Use {replacement}({shown}), which infers {', '.join(alternative.infers)}", layer.loc,
               f"{replacement}({', '.join(required + optional)})")
