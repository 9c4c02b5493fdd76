"""The registry of shape rules, keyed by qualified name (`torch.nn.Linear`, `torch.Tensor.view`).

Each rule carries examples (`Example`) that the tests run against real torch, Fixit-style.

A layer's entry holds everything shapels knows about the layer: besides its shape rule, the
parameters its constructor builds and the argument each of their dims comes from
(shapels/rules/parameters.py), the arguments torch keeps as tuples, the functional call its forward
is, the layers that can stand in for it (LazyLinear for Linear), and for a layer that slides a window
over a map, the arguments that set the map it leaves (`Window`). Container modules (Sequential,
ModuleList, ModuleDict), which have no shape rule, are registered with `container(...)`. The analysis
asks these entries and names no layer itself, so a new framework's layers register the same way.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from shapels.codes import Code
from shapels.rules.base import RuleCall, Signature, Unknowable, checking_input_dtypes
from shapels.rules.parameters import Parameter, StoredTuple


@dataclass(frozen=True)
class T:
    """A tensor in an example, by shape: T(1, 3, 32, 32), T(1, 10, dtype="long"); dtype="probability" holds
    floats in [0, 1)."""

    dims: tuple
    dtype: str = "float"

    def __init__(self, *dims: int, dtype: str = "float"):
        object.__setattr__(self, "dims", tuple(dims))
        object.__setattr__(self, "dtype", dtype)

    @property
    def torch_dtype(self) -> str:
        """The dtype's torch name (float32 for "float" and "probability", int64 for "long")."""
        return {"float": "float32", "probability": "float32", "long": "int64", "int": "int32"}.get(self.dtype, self.dtype)


@dataclass(frozen=True)
class Example:
    """A call the rule must get right. `out` is the output shape (nested tuples for tuple
    outputs); `error` is the diagnostic code when torch raises instead."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    init: tuple = ()
    init_kwargs: dict = field(default_factory=dict)
    out: Any = None
    error: Optional[Code] = None


def ex(*args, init=(), init_kwargs=None, out=None, error=None, **kwargs) -> Example:
    return Example(tuple(args), dict(kwargs), tuple(init), dict(init_kwargs or {}), out, error)


@dataclass(frozen=True)
class Functional:
    """The functional call a layer's forward makes: `F.linear(input, self.weight, self.bias)` for a
    Linear. A call of it given the layer's own parameters (a subclass's forward, timm's StdConv2d) is
    the layer's computation, so a mismatch there is blamed on the layer's constructor argument that
    sized the mismatched dim. `attributes`: the layer attributes the forward passes after the input,
    in order, where that call is all the forward does (so that with a parameter reassigned, as in
    weight tying, the forward is this call with the new one); () where it does more (a convolution's
    padding_mode)."""

    qualname: str
    attributes: tuple = ()


@dataclass(frozen=True)
class Alternative:
    """A layer that can replace this one whole, inferring `infers` from its first input
    (`nn.LazyLinear(out_features)` for `nn.Linear(in_features, out_features)`): offered beside the fix
    of a mismatch blamed on one of those arguments. Its constructor takes the others, as written."""

    qualname: str
    infers: tuple


@dataclass(frozen=True)
class Window:
    """A layer that slides a window over a map: the constructor arguments that set the size of the map it
    leaves, so that the causes can propose another kernel, stride or padding and follow the map's size
    through it (analysis/causes/geometry.py, keras_geometry.py), or the input size a window fits
    (causes/inputs.py).

    `slides`: what the window makes of the map: "conv" (a convolution), "pool" (a pool, whose stride
    defaults to its kernel), "transposed" (a transposed convolution, which grows the map), "blocks"
    (Unfold and Fold: a block per position) or "steps" (a convolution at each step of a sequence, Keras's
    ConvLSTM2D). `padding_mode`: the padding names a mode ("valid", "same": Keras's, whose maps are
    channels-last by default) rather than an amount of zeros on each side (torch's: the size arithmetic
    applies). `spatial`: the map's dims (1: a sequence)."""

    slides: str
    kernel: str = "kernel_size"
    stride: str = "stride"
    padding: str = "padding"
    dilation: Optional[str] = None  # where the layer has one
    ceil_mode: Optional[str] = None  # the flag that rounds the map's size up, where the layer has one
    spatial: int = 2
    padding_mode: bool = False

    def __post_init__(self):
        if self.slides not in ("conv", "pool", "transposed", "blocks", "steps"):
            raise ValueError(f"Window.slides: conv, pool, transposed, blocks or steps, not {self.slides!r}")

    @property
    def pool(self) -> bool:
        return self.slides == "pool"


@dataclass(frozen=True)
class Container:
    """A module that holds other modules (torch's Sequential, ModuleList, ModuleDict).

    `keyed`: members by name (ModuleDict) rather than by position. `chained`: calling it calls each
    member on the previous one's output (Sequential). `built_from`: what its constructor takes:
    "members" (the modules as arguments, or one dict of named ones), "iterable" (one iterable of
    modules) or "mapping" (one dict of named modules). `forward`: a model whose forward calls its
    members by name, in this order, each on the last one's output, with `torch.flatten(x, 1)` at each
    FLATTEN (torchvision's ResNet); empty where calling it is not followed this way."""

    qualname: str
    keyed: bool = False
    chained: bool = False
    built_from: str = "iterable"
    forward: tuple = ()


FLATTEN = "torch.flatten(x, 1)"  # a step of Container.forward that is no member


@dataclass
class Rule:
    qualnames: tuple
    fn: Callable[[RuleCall], Any]
    call_signature: Signature
    init_signature: Optional[Signature] = None
    preserves_shape: bool = False
    label: Optional[str] = None
    examples: tuple = ()
    # what a layer's constructor builds (shapels/rules/parameters.py), by attribute name
    parameters: tuple = ()  # Parameter
    stored_tuples: tuple = ()  # StoredTuple
    functional: Optional[Functional] = None
    alternatives: tuple = ()  # Alternative
    # the constructor argument that sets the size of its output's feature or channel dim (a Conv2d's
    # out_channels): a mismatch a later layer reports may be fixed here instead (report.find_producer)
    makes_width: Optional[str] = None
    # A layer that builds its weights from its first input (a Keras Dense, Conv2D): (call, input shape)
    # -> {axis: size} of that input, which every later call must match (Keras's InputSpec after build)
    builds: Optional[Callable[[RuleCall, Any], dict]] = None
    # (call, input shape) -> how many weights the layer builds (Keras's summary; rules/keras_layers/weights.py)
    weights: Optional[Callable[[RuleCall, Any], int]] = None
    # An elementwise op whose result's sizes may come from any of its tensor operands (broadcasting): its
    # step keeps the operands after the first (Step.joins), whose trace the result does not carry
    broadcasts: bool = False
    # a layer that slides a window over a map: the arguments that set the map's size (see Window)
    window: Optional[Window] = None

    def parameter(self, name: str) -> Optional[Parameter]:
        return next((p for p in self.parameters if p.name == name), None)

    def stored_tuple(self, name: str) -> Optional[StoredTuple]:
        return next((t for t in self.stored_tuples if t.arg == name), None)

    def weight_count(self, call: RuleCall, shape: Any) -> Optional[int]:
        """How many weights the layer builds for this input (`weights`), or None where it is not known."""
        if self.weights is None or shape is None:
            return None
        try:
            return int(self.weights(call, shape))
        except (Unknowable, ValueError, TypeError, IndexError, ZeroDivisionError):
            return None

    @property
    def is_layer(self) -> bool:
        return self.init_signature is not None

    @property
    def name(self) -> str:
        return self.qualnames[0]


REGISTRY: dict[str, Rule] = {}
# Names registered twice: the first rule wins and a test fails, rather than the import crashing.
DUPLICATES: list = []


def _register(rule: Rule) -> Rule:
    for q in rule.qualnames:
        if q in REGISTRY:
            DUPLICATES.append((q, REGISTRY[q].fn.__module__, rule.fn.__module__))
            continue
        REGISTRY[q] = rule
    return rule


def layer(*qualnames: str, init: str, forward: str = "input", preserves_shape: bool = False, examples=(),
          float_inputs: tuple = (), parameters: tuple = (), stored_tuples: tuple = (),
          functional: Optional[Functional] = None, alternatives: tuple = (), makes_width: Optional[str] = None,
          builds: Optional[Callable] = None, window: Optional[Window] = None):
    """Register a rule for a torch.nn module class: `init` is its constructor's parameter list,
    `forward` that of its forward(). `float_inputs`: the forward parameters that meet its floating-point
    weights, so an integer or bool tensor there is torch's dtype error (`input-dtype`).
    `parameters`, `stored_tuples`, `functional`, `alternatives`, `makes_width`, `builds`, `window`: what
    the constructor builds, what stands in for the layer, which argument sizes its output, what its first
    input fixes, which arguments set the map it leaves (see Rule)."""

    def wrap(fn):
        _register(
            Rule(
                qualnames,
                checking_input_dtypes(fn, float_inputs) if float_inputs else fn,
                Signature(forward),
                Signature(init),
                preserves_shape=preserves_shape,
                examples=tuple(examples),
                parameters=tuple(parameters),
                stored_tuples=tuple(stored_tuples),
                functional=functional,
                alternatives=tuple(alternatives),
                makes_width=makes_width,
                builds=builds,
                window=window,
            )
        )
        return fn

    return wrap


def function(*qualnames: str, signature: str, preserves_shape: bool = False, label: Optional[str] = None, examples=(),
             broadcasts: bool = False):
    """Register a rule for functions and tensor methods (`torch.Tensor.view` takes `self` first).

    A step in a tensor's provenance chain is named after the function the code called (`mean`,
    `reshape`); `label` fixes it instead, for factories that start a chain (`input`). `broadcasts`: an
    elementwise op whose sizes may come from any operand (see Rule)."""

    def wrap(fn):
        _register(
            Rule(qualnames, fn, Signature(signature), preserves_shape=preserves_shape, label=label, examples=tuple(examples),
                 broadcasts=broadcasts)
        )
        return fn

    return wrap


# Families registered on first use: a name prefix, and the module whose `register_all()` imports the
# family's modules. A torch file never looks up a Keras name, so it never pays for Keras's 200 layer rules.
DEFERRED: dict[str, str] = {}
# A family leaves DEFERRED only once registered, and under this lock: a lookup in another thread (the server
# analyses in a worker thread) waits for the registration instead of missing the rule meanwhile.
_REGISTERING = threading.RLock()


def defer(prefix: str, module: str) -> None:
    """Register the family of `module` (every name under `prefix`) when a name under `prefix` is first
    looked up, or when `load_deferred()` asks for every family."""
    DEFERRED[prefix] = module


def load_deferred(prefix: Optional[str] = None) -> None:
    """Register the deferred families (the one of `prefix`, or all): what iterates REGISTRY calls this."""
    with _REGISTERING:
        for p in [p for p in DEFERRED if prefix is None or p == prefix]:
            importlib.import_module(DEFERRED[p]).register_all()
            del DEFERRED[p]


def lookup(qualname: str) -> Optional[Rule]:
    rule = REGISTRY.get(qualname)
    if rule is None and DEFERRED:
        prefix = next((p for p in tuple(DEFERRED) if qualname.startswith(p)), None)
        if prefix is not None:
            load_deferred(prefix)
            return REGISTRY.get(qualname)
    return rule


def window_of(qualname: str) -> Optional[Window]:
    """The window a layer class slides over its map, or None for a layer that slides none (or no layer)."""
    rule = lookup(qualname)
    return rule.window if rule is not None else None


def window_layers() -> list:
    """(qualname, Window) of every registered name of a layer that slides a window, aliases included
    (the deferred families' too: this registers them)."""
    load_deferred()
    return [(qualname, rule.window) for qualname, rule in REGISTRY.items() if rule.window is not None]


CONTAINERS: dict[str, Container] = {}


def container(qualname: str, *, keyed: bool = False, chained: bool = False, built_from: str = "iterable",
              forward: tuple = ()) -> Container:
    """Register a container module class (see Container)."""
    if built_from not in ("members", "iterable", "mapping"):
        raise ValueError(f"{qualname}: built_from must be members, iterable or mapping, not {built_from!r}")
    if chained and forward:
        raise ValueError(f"{qualname}: a container is chained or has a forward by name, not both")
    if qualname in CONTAINERS or qualname in REGISTRY:
        DUPLICATES.append((qualname, "container", "container"))
        return CONTAINERS.get(qualname)
    CONTAINERS[qualname] = entry = Container(qualname, keyed, chained, built_from, tuple(forward))
    return entry


def container_for(qualname: str) -> Optional[Container]:
    return CONTAINERS.get(qualname)
