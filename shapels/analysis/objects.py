"""Values that only the interpreter creates: user classes, instances, user functions, partials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import libcst as cst

from shapels.analysis.modtable import ClassInfo
from shapels.values import Value


# nn.Module methods that return the module itself
CHAINED_MODULE_METHODS = {"to", "cuda", "cpu", "xpu", "eval", "train", "float", "double", "half", "bfloat16",
                          "requires_grad_", "apply", "type", "share_memory", "to_empty"}


@dataclass(eq=False)
class ClassRef(Value):
    info: ClassInfo


@dataclass(eq=False)
class Instance(Value):
    """An instance of a user class (an nn.Module subclass or a plain helper class)."""

    info: ClassInfo
    attrs: dict = field(default_factory=dict)
    loc: Any = None  # the constructor call
    name: Optional[str] = None
    init_args: dict = field(default_factory=dict)
    opaque: bool = False  # an attribute was set under a name we could not compute: trust none
    base_layer: Any = None  # the torch module a subclass of e.g. nn.Sequential built in super().__init__
    training: Optional[bool] = True  # nn.Module's default; .eval() / .train(False) clear it
    members_uncertain: bool = False  # an attribute was set where the code may not run: children() unknown
    maybe_absent: set = field(default_factory=set)  # attributes set only where the code may not run (hasattr)
    keras_built: bool = False  # a Keras subclass's build(input_shape) has run (at its first call)
    compiled_loss: Optional[str] = None  # a Keras model's compile(loss=...), as the loss object's qualname

    @property
    def label(self) -> str:
        return self.name or self.info.name


@dataclass(eq=False)
class UserFunction(Value):
    node: cst.FunctionDef
    owner: Optional[ClassInfo] = None  # set for methods
    closure: Optional[dict] = None
    scope: Any = None  # the Scope of a module-level function (methods use owner.scope)


@dataclass(eq=False)
class ModuleRef(Value):
    """A module of the workspace (or a package) loaded as source: `import blocks` then `blocks.X`."""

    scope: Any


@dataclass(eq=False)
class PendingImport(Value):
    """A name bound by an import statement that ran (inside an `if`, a `try` or a function), not yet
    read: the module is loaded when the name is first looked up. A package's `__init__.py` imports
    every model under `if TYPE_CHECKING or SLOW_IMPORT:`, and uses none of them."""

    qualname: str
    scope: Any


@dataclass(eq=False)
class BoundUserMethod(Value):
    receiver: Value
    function: UserFunction


@dataclass(eq=False)
class Partial(Value):
    func: Value
    args: tuple
    kwargs: dict


@dataclass(eq=False)
class SuperRef(Value):
    instance: Instance
    owner: ClassInfo


@dataclass(frozen=True, eq=False)
class Builtin(Value):
    name: str


@dataclass(frozen=True, eq=False)
class EnumMember(Value):
    """A member of an enum class (enums.py); equal as membership.enum_equal says."""

    info: ClassInfo
    name: str
    value: Any  # the raw value (a Value)
    mixin: bool  # str/int mixin: equal to its raw value too

