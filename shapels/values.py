"""The abstract values that the interpreter tracks and that rules consume.

Everything is immutable except lists, dicts and module instances, which `__init__` code mutates
(`layers.append(...)`, `self.blocks[name] = ...`) the same way Python does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape


def evolved(value, **changes):
    """`dataclasses.replace(value, **changes)` for the frozen value classes here (Tensor, Step), which
    have no __post_init__ and no init=False field: a copy of the instance's fields with `changes`. A
    rule call's result is re-made this way several times (its trace, dtype, strides, element values);
    replace's walk over the fields and frozen __init__ cost about five times as much."""
    fields = value.__dict__
    assert changes.keys() <= fields.keys(), f"{type(value).__name__} has no field {set(changes) - set(fields)}"
    new = object.__new__(type(value))
    state = new.__dict__
    state.update(fields)
    state.update(changes)
    return new


class Value:
    """Base of every abstract value."""


@dataclass(frozen=True, eq=False)
class Unknown(Value):
    why: str = ""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Step:
    """One link of a tensor's provenance chain: `conv1 (1, 10, 32, 32)`."""

    label: str
    shape: Shape
    loc: Any = None  # an analysis-side location; rules never read it
    layer: Any = None  # the library layer that produced it, when one did
    unbatched: bool = False  # a layer that takes batched or unbatched input ran it unbatched (conv on (C, H, W))
    # The other tensors a broadcast joined here (`dot + user_bias`'s user_bias): the trace goes on with the first
    # operand's, and a size the result has may have come from one of these instead (causes/widths.py follows it)
    joins: tuple = ()
    # Where the step only reordered its input's axes (a transpose, a permute): the input axis each output axis
    # came from, so a cause can follow one axis back past it to the layer that made its size
    axes_from: Optional[tuple] = None

    def show(self) -> str:
        return f"{self.label} {self.shape.show()}"


# Steps a tensor's trace keeps (its first, and the latest): enough for the layers between two maps that must
# agree (a U-Net's skip, a VGG's five stages), which the repair's geometry causes read back to the one whose
# kernel, stride or padding is off; messages show only the last few.
MAX_TRACE = 40


def extend_trace(trace: tuple, step: Step, limit: int = MAX_TRACE) -> tuple:
    """The trace with `step` appended, at most `limit` long. The first step stays: it is where the
    tensor came from (the driver's `torch.randn(...)`), which the repair may name as the cause."""
    longer = trace + (step,)
    if len(longer) <= limit:
        return longer
    return longer[:1] + longer[len(longer) - limit + 1:]


@dataclass(frozen=True, eq=False)
class Tensor(Value):
    shape: Shape
    trace: tuple = ()
    after_error: Any = None  # the location of an earlier error this shape assumes fixed
    strides: Optional[tuple] = None  # memory strides where certain (symbolic/strides.py), else None
    data: Any = None  # a tensor_values.Cell: element values of a small 0-d/1-d tensor where known, else None
    dtype: Optional[str] = None  # "int64", "bool", ... where certain (analysis/dtypes.py), else None

    @staticmethod
    def unknown() -> "Tensor":
        return Tensor(Shape.unknown())


@dataclass(frozen=True, eq=False)
class Number(Value):
    """An int (a Python int when known, a sympy integer expression when symbolic) or a float."""

    value: Any
    trace: tuple = ()

    @property
    def is_int(self) -> bool:
        return D.is_integer_valued(self.value)


@dataclass(frozen=True, eq=False)
class Const(Value):
    """str, bool, None, Ellipsis, float or a slice: values we compare by equality."""

    value: Any


NONE = Const(None)


@dataclass(frozen=True, eq=False)
class Seq(Value):
    """A tuple (or torch.Size)."""

    items: tuple


@dataclass(eq=False)
class ListValue(Value):
    items: list
    uncertain: bool = False  # mutated on a path that may not run: its contents are unknown


@dataclass(eq=False)
class SetValue(Value):
    """A set (analysis/membership.py): `in` and `len` are known; the iteration order only for ints."""

    items: tuple
    sized: bool = True  # every pair of members known to differ, so len(items) is the set's size
    uncertain: bool = False  # mutated in a way not followed: its members are unknown


@dataclass(eq=False)
class DictValue(Value):
    items: dict  # str -> Value, insertion-ordered like Python's


@dataclass(frozen=True, eq=False)
class SliceValue(Value):
    start: Any
    stop: Any
    step: Any


@dataclass(frozen=True, eq=False)
class Alternatives(Value):
    """One of these modules or callables, by a condition the analysis could not decide:
    `self.drop_path = DropPath(p) if p > 0 else nn.Identity()` with p unknown. Calling it calls each
    (as code that may not run) and joins the results (analysis/env.py)."""

    options: tuple


@dataclass(frozen=True, eq=False)
class FunctionRef(Value):
    """A library callable by qualified name: `torch.relu`, `torch.nn.functional.max_pool2d`."""

    qualname: str


@dataclass(frozen=True, eq=False)
class BoundMethod(Value):
    """`x.view` before it is called: a method looked up on a value."""

    receiver: Value
    name: str


@dataclass(eq=False)
class Layer(Value):
    """An instance of a library module (torch.nn.Linear, ...), as constructed in `__init__`."""

    kind: str
    args: dict  # parameter name -> Value, defaults filled in
    arg_locs: dict = field(default_factory=dict)  # parameter name -> location of its expression
    loc: Any = None  # location of the constructor call
    name: Optional[str] = None  # the attribute it is bound to (`fc1`), for messages
    children: list = field(default_factory=list)  # Sequential / ModuleList members
    child_names: list = field(default_factory=list)
    opaque: bool = False  # a member was added under a name we could not compute: order unknown
    named_args: dict = field(default_factory=dict)  # parameter -> where an argument written as a bare name is
    # attributes assigned after construction (weight tying: `self.head.weight = self.emb.weight`), by name
    assigned: dict = field(default_factory=dict)
    # {axis: size} of the input a layer that builds from its first input was built for (Rule.builds)
    built: Optional[dict] = None

    @property
    def short_kind(self) -> str:
        return self.kind.rsplit(".", 1)[-1]

    @property
    def label(self) -> str:
        return self.name or self.short_kind


def shape_text(shape: Optional[Shape]) -> str:
    """`(1, 5120)` as torch prints a size; `?` when unknown (hover, lenses, `shapes`)."""
    if shape is None or shape.is_unknown:
        return "?"
    return shape.show()


def output_text(value: Any) -> str:
    """A forward's output: a shape, or a tuple of shapes."""
    if isinstance(value, Tensor):
        return shape_text(value.shape)
    if isinstance(value, Seq):
        return "(" + ", ".join(output_text(v) for v in value.items) + ")"
    return "?"
