"""What a shape rule sees and how it reports: the call, the error, the condition note.

A rule is a small pure function of a `RuleCall`. It returns the output (a Shape for a tensor,
a tuple of outputs, an int/Dim, or None for "a tensor we know nothing about") or raises
`ShapeError` when the mismatch is *certain*. When a check depends on symbols, it records a
`Condition` instead: "holds only if L*512 = 1024".
"""

from __future__ import annotations

import ast as _ast
from dataclasses import dataclass
from typing import Any, NoReturn, Optional, Sequence


from shapels.codes import INPUT_DTYPE, Code
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import (
    Const,
    Layer,
    ListValue,
    Number,
    Seq,
    Tensor,
    Value,
)

MISSING = object()


class ShapeError(Exception):
    """A certain mismatch. `param` names the constructor argument to blame (None: the call itself).
    Where `param` names a tensor argument (F.linear's weight), `param_dim` is the dim of it that
    does not fit, so that a layer's own parameter passed there blames the argument that sized it.

    `fix` is the value that makes the code run for the inputs in play (a Dim or a tuple of them);
    `input_name` names the forward argument whose provenance explains the error; `recover` is the
    output the layer would give had the blamed argument been right, so that analysis goes on.
    """

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        param: Optional[str] = None,
        fix: Any = None,
        input_name: Optional[str] = None,
        recover: Any = None,
        param_dim: Optional[int] = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.param_dim = param_dim
        self.fix = fix
        self.input_name = input_name
        self.recover = recover
        self.at_call = False  # True: the finding belongs on the call, not the layer's constructor (a loss)


@dataclass
class Condition:
    """A check that holds only under a condition on symbolic dims."""

    code: Code
    message: str
    param: Optional[str] = None


class BindError(Exception):
    pass


@dataclass(frozen=True)
class Param:
    name: str
    default: Any = MISSING  # a python literal
    var_positional: bool = False
    var_keyword: bool = False
    keyword_only: bool = False


class Signature:
    """A parsed `"in_features, out_features, bias=True, *, device=None"` parameter list."""

    _PARSED = ("params", "_positional", "_var_pos", "_var_kw", "_names", "positional_names")

    def __init__(self, spec: str):
        # Parsed on first use (see __getattr__): the registry builds some 600 signatures at import and
        # a file's analysis binds a few dozen, so parsing them all would be most of the rules' import.
        self.spec = spec

    def __getattr__(self, name: str):
        if name not in Signature._PARSED:
            raise AttributeError(name)
        self._parse()
        return self.__dict__[name]

    def _parse(self) -> None:
        spec = self.spec
        tree = _ast.parse(f"def f({spec}): pass").body[0].args
        params: list[Param] = []
        positional = list(tree.posonlyargs) + list(tree.args)
        defaults = [None] * (len(positional) - len(tree.defaults)) + list(tree.defaults)
        for arg, default in zip(positional, defaults):
            params.append(Param(arg.arg, MISSING if default is None else _ast.literal_eval(default)))
        if tree.vararg:
            params.append(Param(tree.vararg.arg, var_positional=True))
        for arg, default in zip(tree.kwonlyargs, tree.kw_defaults):
            params.append(
                Param(arg.arg, MISSING if default is None else _ast.literal_eval(default), keyword_only=True)
            )
        if tree.kwarg:
            params.append(Param(tree.kwarg.arg, var_keyword=True))
        self.params = params
        # What bind needs, worked out once: rules are bound thousands of times per analysis.
        self._positional = [p for p in params if not (p.keyword_only or p.var_positional or p.var_keyword)]
        self._var_pos = next((p for p in params if p.var_positional), None)
        self._var_kw = next((p for p in params if p.var_keyword), None)
        self._names = {p.name for p in params if not (p.var_positional or p.var_keyword)}
        # The names a call's positional arguments fill, in order: read at every layer built (calls.construct_layer)
        self.positional_names = tuple(p.name for p in self._positional)

    def bind(self, args: Sequence[Value], kwargs: dict) -> dict:
        """Bind like Python does; defaults become Values. Raises BindError where Python would."""
        bound: dict[str, Value] = {}
        positional, var_pos, var_kw = self._positional, self._var_pos, self._var_kw
        if len(args) > len(positional) and var_pos is None:
            raise BindError(f"takes {len(positional)} positional arguments but {len(args)} were given")
        for p, a in zip(positional, args):
            bound[p.name] = a
        if var_pos is not None:
            bound[var_pos.name] = Seq(tuple(args[len(positional):]))
        extra = {}
        names = self._names
        for k, v in kwargs.items():
            if k in names:
                if k in bound:
                    raise BindError(f"got multiple values for argument '{k}'")
                bound[k] = v
            elif var_kw is not None:
                extra[k] = v
            else:
                raise BindError(f"got an unexpected keyword argument '{k}'")
        if var_kw is not None:
            bound[var_kw.name] = extra
        for p in self.params:
            if p.name in bound or p.var_positional or p.var_keyword:
                continue
            if p.default is MISSING:
                raise BindError(f"missing required argument '{p.name}'")
            bound[p.name] = from_python(p.default)
        return bound


def from_python(value: Any) -> Value:
    """A python literal as a Value (ints become Numbers)."""
    if isinstance(value, Value):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, str) or value is Ellipsis:
        return Const(value)
    if isinstance(value, int):
        return Number(int(value))
    if D.is_expr(value):
        return Number(D.const(value))
    if isinstance(value, float):
        return Number(value)
    if isinstance(value, (tuple, list)):
        items = tuple(from_python(v) for v in value)
        return Seq(items) if isinstance(value, tuple) else ListValue(list(items))
    if isinstance(value, Shape):
        return Tensor(value)
    raise TypeError(f"no Value for {value!r}")


class Unknowable(Exception):
    """Raised inside a rule when an argument it needs is unknown: the output is then unknown."""


class RuleCall:
    """One application of a rule: constructor arguments (layers) and call arguments."""

    def __init__(self, qualname: str, init: Optional[dict], args: dict, layer: Optional[Layer] = None):
        self.qualname = qualname
        self.init = init or {}
        self.args = args
        self.layer = layer
        self.conditions: list[Condition] = []
        self.unbatched = False  # the input was taken as one unbatched sample ((C, H, W) into a Conv2d)
        # a view's leading -1 took the batch together with part of another dim ((2, 128, 4) viewed as
        # (-1, 256) gives (4, 256)): torch runs, and the batch is no longer the batch (the repair's trials
        # count it against a fix)
        self.merges_leading = False
        # an op that only reorders axes (a transpose, a permute): the input axis each output axis came from,
        # kept on the result's step (Step.axes_from) for the causes that follow an axis back
        self.moved_axes: Optional[tuple] = None
        # a contraction that failed (tensordot): the axis of each operand whose sizes had to agree, kept in
        # the finding's evidence for the causes that trace each size to its maker
        self.paired_axes: Optional[tuple] = None

    # -- reading arguments -------------------------------------------------------------------
    def _raw(self, name: str) -> Value:
        if name in self.args:
            return self.args[name]
        if name in self.init:
            return self.init[name]
        raise KeyError(name)

    def value(self, name: str) -> Value:
        return self._raw(name)

    def has(self, name: str) -> bool:
        return name in self.args or name in self.init

    def is_none(self, name: str) -> bool:
        v = self._raw(name)
        return isinstance(v, Const) and v.value is None

    def shape(self, name: str) -> Shape:
        """The shape of a tensor argument; Unknowable when it is not a tensor we can read."""
        v = self._raw(name)
        if isinstance(v, Tensor):
            return v.shape
        raise Unknowable(name)

    def shape_or_none(self, name: str) -> Optional[Shape]:
        v = self._raw(name)
        return v.shape if isinstance(v, Tensor) else None

    def dim(self, name: str) -> D.Dim:
        d = to_dim(self._raw(name))
        if d is None:
            raise Unknowable(name)
        return d

    def dim_or_none(self, name: str) -> Optional[D.Dim]:
        return to_dim(self._raw(name))

    def dims(self, name: str, n: Optional[int] = None) -> tuple:
        """An int-or-tuple argument (kernel_size=3 or (3, 3)) as a tuple of Dims of length n."""
        v = self._raw(name)
        single = to_dim(v)
        if single is not None:
            if n is None:
                return (single,)
            return (single,) * n
        items = to_dims(v)
        if items is None:
            raise Unknowable(name)
        if n is not None and len(items) == 1:
            return items * n
        if n is not None and len(items) != n:
            raise Unknowable(name)
        return items

    def int_list(self, name: str) -> tuple:
        """A `*shape`-style argument: view(2, 3) or view((2, 3)); elements may be None (unknown)."""
        v = self._raw(name)
        if isinstance(v, Seq) and len(v.items) == 1:
            if isinstance(v.items[0], (Seq, ListValue)):
                v = v.items[0]
            elif to_dim_signed(v.items[0]) is None:
                # view(shape) with `shape` unknown: a tuple of any length, not one size
                raise Unknowable(name)
        items = v.items if isinstance(v, (Seq, ListValue)) else None
        if items is None:
            single = to_dim_signed(v)
            if single is None:
                raise Unknowable(name)
            return (single,)
        return tuple(to_dim_signed(i) for i in items)

    def flag(self, name: str) -> Optional[bool]:
        v = self._raw(name)
        if isinstance(v, Const) and isinstance(v.value, bool):
            return v.value
        if isinstance(v, Number) and D.as_int(v.value) is not None:
            return bool(D.as_int(v.value))
        if isinstance(v, Const) and v.value is None:
            return False
        return None

    def known_flag(self, name: str) -> bool:
        f = self.flag(name)
        if f is None:
            raise Unknowable(name)
        return f

    def const(self, name: str) -> Any:
        """A str/bool/None/float argument's python value; Unknowable when it is not constant."""
        v = self._raw(name)
        if isinstance(v, Const):
            return v.value
        if isinstance(v, Number):
            if isinstance(v.value, float):
                return v.value
            if D.as_int(v.value) is not None:
                return D.as_int(v.value)
        raise Unknowable(name)

    # -- checking ------------------------------------------------------------------------------
    def expect(
        self,
        actual: Any,
        expected: Any,
        *,
        code: Code,
        message: Any,  # str, or a function that builds it
        param: Optional[str] = None,
        fix: Any = None,
        input_name: Optional[str] = None,
        recover: Any = None,
        param_dim: Optional[int] = None,
    ) -> None:
        """Raise when `actual` is known to differ from `expected`; note the condition when unknown."""
        verdict = D.eq(actual, expected)
        if verdict is False:
            text = message() if callable(message) else message  # built only when it fails: printing costs
            raise ShapeError(code, text, param=param, fix=fix, input_name=input_name, recover=recover,
                             param_dim=param_dim)
        if verdict is None:
            if D.prints_unknown(expected) or D.prints_unknown(actual):
                # Its text would show a `?`, and report.condition drops such notes: skip the printing.
                self.conditions.append(Condition(code, "holds only if ? = ?", param))
            else:
                self.conditions.append(Condition(code, f"holds only if {D.show(expected)} = {D.show(actual)}", param))

    def fail(self, code: Code, message: str, **kw) -> NoReturn:
        raise ShapeError(code, message, **kw)


def to_dim(v: Value) -> Optional[D.Dim]:
    """An integer value as a Dim, else None (bools count as ints, as in Python)."""
    if type(v) is Number and type(v.value) is int:  # the common case, without the two calls below
        return v.value
    if isinstance(v, Number) and D.is_integer_valued(v.value):
        return D.const(v.value)
    if isinstance(v, Const) and isinstance(v.value, bool):
        return int(v.value)
    return None


def to_dim_signed(v: Value) -> Optional[D.Dim]:
    return to_dim(v)


def to_dims(v: Value) -> Optional[tuple]:
    if isinstance(v, (Seq, ListValue)):
        items = tuple(to_dim(i) for i in v.items)
        if any(i is None for i in items):
            return None
        return items
    return None


def layer_name(call: RuleCall) -> str:
    return call.layer.label if call.layer is not None else call.qualname.rsplit(".", 1)[-1]


_NOT_FLOATING = ("int64", "int32", "int16", "int8", "uint8", "bool")
# A ShapeError's fix "cast:float": convert the tensor passed as its input_name where the call passes it.
CAST_FIX = "cast:"


def on_call(fn):
    """A rule whose mismatches that name no constructor argument belong on the call, where the inputs meet
    the layer (a loss's input and target, a Keras layer's input rank): the constructor has nothing to
    change. One that names an argument (ignore_index, units) stays on the constructor."""

    def rule(call: RuleCall):
        try:
            return fn(call)
        except ShapeError as error:
            error.at_call = error.param is None
            raise

    rule.__name__, rule.__qualname__, rule.__module__, rule.__doc__ = fn.__name__, fn.__qualname__, fn.__module__, fn.__doc__
    return rule


def checking_input_dtypes(fn, names: tuple):
    """`fn` after a check that the tensors passed as `names` are not of an integer or bool dtype: a
    Linear, convolution, norm, RNN or attention layer has floating-point weights (its constructor cannot
    make them integer), so torch refuses such a tensor ("mat1 and mat2 must have the same dtype"). A
    float of another precision is not reported: `model.double()` would make it right, and shapels
    does not follow a module's dtype. An unknown dtype decides nothing."""

    def checked(call: RuleCall):
        for name in names:
            value = call.args.get(name)
            dtype = getattr(value, "dtype", None)
            if dtype in _NOT_FLOATING:
                call.fail(
                    INPUT_DTYPE,
                    f"{layer_name(call)} has floating-point weights but gets a {dtype} tensor as {name}, which torch "
                    f"refuses (for a Linear: mat1 and mat2 must have the same dtype); convert it first, e.g. `.float()`",
                    input_name=name,
                    fix=CAST_FIX + "float",
                )
        return fn(call)

    checked.__name__, checked.__qualname__, checked.__module__ = fn.__name__, fn.__qualname__, fn.__module__
    return checked
