"""What Python's own protocols make of a value: truth, comparison, iteration, argument binding.

`if`, `while`, `and`/`or`, comparisons, `for`, unpacking and calls of user functions all ask these
questions; None (or an unknown) is the answer where the value does not decide it.
"""

from __future__ import annotations

import operator
from typing import Optional

import libcst as cst
from shapels.analysis import membership
from shapels.analysis.data_values import TransformValue
from shapels.analysis.env import unanimous
from shapels.analysis.objects import (BoundUserMethod, Builtin, ClassRef, EnumMember, Instance, Partial,
                                     UserFunction)
from shapels.analysis.python_values import MISSING_VALUE, IteratorValue, RangeValue, dict_key, key_value
from shapels.rules.registry import container_for
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import (
    Alternatives,
    Const,
    DictValue,
    FunctionRef,
    Layer,
    ListValue,
    Number,
    Seq,
    SetValue,
    Tensor,
    Unknown,
    Value,
)


UNBOUND = Unknown("parameter without an argument")  # replaced by the default where there is one
MAX_LOOP = 256  # items a loop is unrolled over at most (and rows a tensor is iterated into)


def truth(value: Value) -> Optional[bool]:
    if isinstance(value, EnumMember):
        return truth(value.value) if value.mixin else True
    if isinstance(value, Alternatives):
        return unanimous(truth(option) for option in value.options)
    if isinstance(value, Const):
        try:
            return bool(value.value)
        except Exception:  # noqa: BLE001
            return None
    if isinstance(value, Number):
        if isinstance(value.value, float):
            return value.value != 0.0
        v = D.as_int(value.value)
        return None if v is None else v != 0
    if isinstance(value, Instance):
        if value.info.find_method("__bool__") or value.info.find_method("__len__"):
            return None
        value = value.base_layer if value.base_layer is not None else value
    if isinstance(value, Layer) and container_for(value.kind) is not None:
        return None if value.opaque else len(value.children) > 0  # an empty nn.Sequential() is falsy
    if isinstance(value, (Layer, Instance, ClassRef, UserFunction, FunctionRef, Partial, BoundUserMethod, Builtin,
                          TransformValue)):
        return True  # `conv_block = conv_block or ConvNormAct` with a partial
    if isinstance(value, (Seq, ListValue)):
        return len(value.items) > 0
    if isinstance(value, DictValue):
        return len(value.items) > 0
    if isinstance(value, SetValue) and not value.uncertain:
        return len(value.items) > 0
    return None


def _is_singleton(value: Value) -> bool:
    return isinstance(value, Const) and (type(value.value) is bool or value.value is Ellipsis)


def _singleton_identity(left: Value, right: Value) -> Optional[bool]:
    """`use_norm is True`: True, False and Ellipsis are singletons, so identity with one is equality of
    the same type; a string, float, tuple, list, dict, tensor or module is never one. Numbers are left
    unknown (a bool may have been computed as one)."""
    if not _is_singleton(left):
        left, right = right, left
    if not _is_singleton(left):
        return None
    if isinstance(right, Const):
        return type(right.value) is type(left.value) and right.value == left.value
    if isinstance(right, (Seq, ListValue, DictValue, Tensor, Layer)):
        return False
    return None


def compare(op: str, left: Value, right: Value) -> Optional[bool]:
    if isinstance(left, EnumMember) or isinstance(right, EnumMember):
        if op in ("Equal", "NotEqual", "Is", "IsNot"):
            verdict = (membership.enum_equal if op in ("Equal", "NotEqual") else membership.enum_identical)(left, right)
            return None if verdict is None else verdict == (op in ("Equal", "Is"))
    if isinstance(left, ClassRef) and isinstance(right, ClassRef) and op in ("Is", "IsNot", "Equal", "NotEqual"):
        same = membership.same(left, right)  # one class statement, one class object
        return same if op in ("Is", "Equal") else not same
    if op in ("Is", "IsNot"):
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return None
        left_none = isinstance(left, Const) and left.value is None
        right_none = isinstance(right, Const) and right.value is None
        if left_none or right_none:
            same = left_none and right_none
            return same if op == "Is" else not same
        same = _singleton_identity(left, right)
        return None if same is None else same == (op == "Is")
    if op in ("In", "NotIn"):
        if isinstance(left, Const) and isinstance(right, Const) and isinstance(left.value, str) \
                and isinstance(right.value, str):
            found = left.value in right.value  # a substring test: 'deep' in stem_type
            return found if op == "In" else not found
        key = dict_key(left) if isinstance(right, DictValue) else MISSING_VALUE
        if key is not MISSING_VALUE:
            # a known key: the dict's own lookup, not a walk of its keys (a comprehension filtering on
            # a table of hundreds of keys walked it once per item)
            found = key in right.items
            return found if op == "In" else not found
        items = members(right)  # a dict's keys, as iterating it gives them
        found = membership.contains(items, left) if items is not None else None
        if found is None:
            return None
        return found if op == "In" else not found
    if isinstance(left, Const) and isinstance(right, Const):
        try:
            return {
                "Equal": lambda a, b: a == b, "NotEqual": lambda a, b: a != b,
            }[op](left.value, right.value)
        except KeyError:
            return None
    if isinstance(left, Number) and isinstance(right, Number):
        a, b = left.value, right.value
        if isinstance(a, float) or isinstance(b, float):
            try:
                a, b = float(a), float(b)
            except TypeError:
                return None
        if op == "Equal":
            return D.eq(a, b) if not isinstance(a, float) else a == b
        if op == "NotEqual":
            v = D.eq(a, b) if not isinstance(a, float) else a == b
            return None if v is None else not v
        if D.is_concrete(a) and D.is_concrete(b):
            a, b = D.as_int(a), D.as_int(b)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            order = _ORDER.get(op)
            if order is None or a != a or b != b:  # NaN: sympy refuses to order it, and so do we
                return None
            return order(a, b)
        sympy = D.sympy_module()  # a symbolic operand (an Unknowns may not have needed it yet)

        try:
            rel = {"LessThan": sympy.Lt, "LessThanEqual": sympy.Le, "GreaterThan": sympy.Gt,
                   "GreaterThanEqual": sympy.Ge}[op](a, b)
        except (KeyError, TypeError):
            return None
        if rel is sympy.true or rel is True:
            return True
        if rel is sympy.false or rel is False:
            return False
        return None
    if op in ("Equal", "NotEqual") and isinstance(left, Const) != isinstance(right, Const):
        if isinstance(left, (Number, Const)) and isinstance(right, (Number, Const)):
            return op == "NotEqual"
    if op in ("Equal", "NotEqual") and (isinstance(left, (Seq, ListValue)) or isinstance(right, (Seq, ListValue))):
        same = _sequences_equal(left, right)
        return None if same is None else same == (op == "Equal")
    return None


def _sequences_equal(left: Value, right: Value) -> Optional[bool]:
    """`conv.kernel_size == 3` is False ((3, 3) is a tuple); tuples equal item by item; a list never
    equals a tuple."""
    scalars = (Number, Const)
    if isinstance(left, scalars) or isinstance(right, scalars):
        return False
    if not (isinstance(left, (Seq, ListValue)) and isinstance(right, (Seq, ListValue))):
        return None
    if getattr(left, "uncertain", False) or getattr(right, "uncertain", False):
        return None  # changed on a path that may not run
    if type(left) is not type(right) or len(left.items) != len(right.items):
        return False
    verdicts = [compare("Equal", a, b) for a, b in zip(left.items, right.items)]
    return False if False in verdicts else (None if None in verdicts else True)


_ORDER = {"LessThan": operator.lt, "LessThanEqual": operator.le, "GreaterThan": operator.gt,
          "GreaterThanEqual": operator.ge}


def iterate(value: Value) -> Optional[list]:
    if isinstance(value, ListValue) and value.uncertain:
        return None
    if isinstance(value, Instance) and value.base_layer is not None:
        value = value.base_layer
    if isinstance(value, (Seq, ListValue)):
        return list(value.items)
    if isinstance(value, DictValue):
        return [key_value(k) for k in value.items]
    if isinstance(value, Layer) and container_for(value.kind) is not None:
        if value.opaque:
            return None
        if container_for(value.kind).keyed:  # a ModuleDict iterates over its keys
            return [Const(k) for k in value.child_names]
        return list(value.children)
    if isinstance(value, RangeValue):
        return value.items()
    if isinstance(value, IteratorValue):
        if value.uncertain:
            return None
        value.uncertain = True  # consumed by whoever iterates: a later next() is not followed
        return value.items[value.position:]
    if isinstance(value, SetValue):
        return membership.iteration(value)
    if isinstance(value, Tensor) and value.shape.ranked and value.shape.rank >= 1:
        # `[x.item() for x in torch.linspace(0, p, depth)]`: torch iterates along dim 0, each item a
        # view of the rest (its values not followed)
        count = D.as_int(value.shape.dims[0])
        if count is None or count > MAX_LOOP:
            return None
        item = Tensor(Shape.of(value.shape.dims[1:]), value.trace, dtype=value.dtype)
        return [item] * count
    return None


class Signature:
    """What binding a call to a def or lambda needs from its parameters, read once per function: a
    concrete forward pass calls the same few functions hundreds of times."""

    __slots__ = ("positional", "names", "star_arg", "star_kwarg", "defaults")

    def __init__(self, params: cst.Parameters):
        positional = list(params.posonly_params) + list(params.params)
        every = positional + list(params.kwonly_params)
        self.positional = tuple(p.name.value for p in positional)  # in order, positional-only first
        self.names = tuple(p.name.value for p in every)  # with the keyword-only ones, in order
        self.star_arg = params.star_arg.name.value if type(params.star_arg) is cst.Param else None
        self.star_kwarg = params.star_kwarg.name.value if params.star_kwarg is not None else None
        self.defaults = tuple((p.name.value, p.default) for p in every if p.default is not None)


# id of a Parameters node -> (the node, its Signature). By id: libcst's __hash__ is a Python call, three
# per function call here; the entry keeps its node alive, so the id is not reused while it is there.
_SIGNATURES: dict = {}
MAX_SIGNATURES = 4096  # a server analyses edit after edit: old trees' functions are dropped past this


def signature(node) -> Signature:
    """The Signature of a def or lambda node."""
    params = node.params
    entry = _SIGNATURES.get(id(params))
    if entry is not None and entry[0] is params:
        return entry[1]
    if len(_SIGNATURES) >= MAX_SIGNATURES:
        _SIGNATURES.clear()
    found = Signature(params)
    _SIGNATURES[id(params)] = (params, found)
    return found


def bind_user_params(node: cst.FunctionDef, args: list, kwargs: dict) -> Optional[dict]:
    """Bind like Python; a parameter without a value becomes UNKNOWN (never an error of ours)."""
    sig = signature(node)
    positional = sig.positional
    env: dict = dict(zip(positional, args))
    if sig.star_arg is not None:
        env[sig.star_arg] = Seq(tuple(args[len(positional):]))
    elif len(args) > len(positional):
        return None
    names = sig.names
    rest = {}
    for k, v in kwargs.items():
        if k in names:
            env[k] = v
        else:
            rest[k] = v
    if sig.star_kwarg is not None:
        env[sig.star_kwarg] = DictValue(rest)
    for name in names:
        if name not in env:
            env[name] = UNBOUND
    return env


def members(container: Value) -> Optional[list]:
    """The members an `in` test looks through, where known (a set's too, whatever its order; a
    range's, a ModuleList's: what iterating it gives)."""
    if isinstance(container, SetValue):
        return None if container.uncertain else list(container.items)
    return iterate(container)
