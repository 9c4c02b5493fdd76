"""Library functions that shapels models itself rather than by a shape rule: functools.partial,
dataclasses.replace, copy, math of known numbers, torch's containers and no-op helpers, argparse.

Each handler is registered for its qualified names with `@library(...)`, as rules are with
`@layer`/`@function` (shapels/rules/registry.py). A handler returns None for a call it does not
model (`functools.partial()` without a function): the rule registry, then an unknown result, has it.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst

from shapels.analysis import (argparse_values, data_values, function_caches, keras_models, keras_utils, processes,
                              vision_models)
from shapels.analysis.containers import build_container
from shapels.analysis.dataclass_values import dataclass_replace
from shapels.analysis.objects import Instance, Partial
from shapels.analysis.python_builtins import copy_value, dict_from, numpy_sequence, repeated
from shapels.analysis.python_values import MISSING_VALUE, plain, python_number
from shapels.rules.registry import CONTAINERS
from shapels.symbolic.shape import Shape
from shapels.values import NONE, UNKNOWN, Const, ListValue, Seq, Tensor, Value

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp

# (interp, qualname, args, kwargs, frame, call node) -> the call's value, or None: not modelled here
Handler = Callable[["Interp", str, list, dict, "Frame", object], Optional[Value]]
HANDLERS: dict[str, Handler] = {}


def library(*qualnames: str) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler) -> Handler:
        for qualname in qualnames:
            if qualname in HANDLERS:
                raise ValueError(f"two library handlers for {qualname}")
            HANDLERS[qualname] = handler
        return handler
    return wrap


def handler_for(qualname: str) -> Optional[Handler]:
    return HANDLERS.get(qualname)


@library(*sorted(CONTAINERS))
def _container(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return build_container(qualname, args, frame, node)


@library("keras.Sequential")
def _keras_sequential(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return keras_models.sequential(interp, args, kwargs, frame, node)


@library("keras.Model", "keras.Functional")
def _keras_functional(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return keras_models.functional(interp, args, kwargs, frame, node)


@library("collections.OrderedDict", "typing.OrderedDict")
def _ordered_dict(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return dict_from(args, kwargs)


@library("functools.partial")
def _partial(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return Partial(args[0], tuple(args[1:]), dict(kwargs)) if args else None


@library(function_caches.LRU_CACHE)
def _lru_cache(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`functools.lru_cache(maxsize=None)`: the decorator it makes, which the interpreter honours on the
    functions it decorates (function_caches.py); `lru_cache(function)` is not followed (unknown)."""
    return function_caches.lru_cache_call(args, kwargs)


@library("torch.utils.checkpoint.checkpoint", "torch.utils.checkpoint.checkpoint_sequential")
def _checkpoint(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """Activation checkpointing runs the function on the arguments; its own options are not the function's."""
    if not args:
        return None
    kwargs = {k: v for k, v in kwargs.items() if k not in ("use_reentrant", "preserve_rng_state")}
    return interp.call(args[0], args[1:], kwargs, frame, node)


@library("torch.nn.Parameter", "torch.nn.parameter.Parameter")
def _parameter(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    if not args:
        return None
    return args[0] if isinstance(args[0], Tensor) else UNKNOWN


@library("torch.Size")
def _size(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return Seq(tuple(args[0].items)) if args and isinstance(args[0], (Seq, ListValue)) else None


# math functions of known numbers -> how many arguments they take (math.log(x, base))
MATH_FUNCTIONS = {"math.ceil": 1, "math.floor": 1, "math.sqrt": 1, "math.log2": 1, "math.prod": 1, "math.log": 2,
                  "math.log10": 1, "math.exp": 1}


@library(*MATH_FUNCTIONS)
def _math(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    if not 1 <= len(args) <= MATH_FUNCTIONS[qualname] or kwargs:
        return None
    values = [plain(a) for a in args]
    if MISSING_VALUE in values:
        return UNKNOWN
    try:
        return python_number(getattr(math, qualname.rsplit(".", 1)[-1])(*values))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return UNKNOWN


# re functions on a known pattern and string (timm's `re.split(r'(\d.*)', op)` decoding its block strings)
_REGEX_FUNCTIONS = {"re.split": re.split, "re.findall": re.findall, "re.sub": re.sub}
_REGEX_TEXT = 1000  # characters of pattern or string at most: short literals, never a file's contents


@library(*_REGEX_FUNCTIONS)
def _regex(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    expected = 3 if qualname == "re.sub" else 2
    if len(args) != expected or kwargs:
        return None
    texts = [a.value if isinstance(a, Const) and isinstance(a.value, str) else None for a in args]
    if None in texts or any(len(t) > _REGEX_TEXT for t in texts):
        return UNKNOWN
    try:
        found = _REGEX_FUNCTIONS[qualname](*texts)
    except re.error:
        return UNKNOWN  # Python raises: not a shape finding
    if isinstance(found, str):
        return Const(found)
    if any(isinstance(item, tuple) for item in found):
        return UNKNOWN  # findall with several groups: tuples of strings, not followed
    return ListValue([Const(item) for item in found])  # (an unmatched group of re.split is None)


@library("numpy.linspace", "numpy.arange")
def _numpy_sequence(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return numpy_sequence(qualname, args, kwargs)


@library("itertools.repeat")
def _repeat(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return repeated(args[0], args[1]) if len(args) == 2 and not kwargs else None


@library("dataclasses.replace")
def _dataclass_replace(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return dataclass_replace(interp, args, kwargs, frame, node)


@library("copy.copy", "copy.deepcopy")
def _copy(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return copy_value(args[0]) if args else None


@library("typing.cast", "torch.jit.annotate")
def _cast(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """A type annotation for the checker: the value is the second argument, unchanged."""
    return args[1] if len(args) == 2 else None


@library("torch.jit.is_scripting", "torch.jit.is_tracing", "torch._C._get_tracing_state",
         "torch.compiler.is_compiling", "torch._dynamo.is_compiling")
def _compiling(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return Const(False)  # an analysed model runs eagerly


@library("torch._assert")
def _torch_assert(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`torch._assert(h == self.image_size, msg)`: torch's AssertionError where the sizes certainly fail."""
    test = node.args[0].value if isinstance(node, cst.Call) and node.args and node.args[0].keyword is None else None
    if test is not None and interp.sizes_certainly_fail(test, frame):
        message = args[1] if len(args) > 1 else None
        said = message.value if isinstance(message, Const) and isinstance(message.value, str) else None
        interp.report_assertion(test, said, frame)
    return NONE


@library("torch._log_api_usage_once", "torch.jit.unused", "warnings.warn")
def _no_shape_effect(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return NONE


@library(*keras_utils.HANDLERS)
def _keras_utility(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return keras_utils.call(qualname, args, kwargs)


@library(*argparse_values.CONSTRUCTORS)
def _argparse(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return argparse_values.construct(qualname, args, kwargs)


@library(*data_values.DATASETS)
def _tensor_dataset(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return data_values.tensor_dataset(args, kwargs)


@library(*data_values.LOADERS)
def _data_loader(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    if args and isinstance(args[0], Instance):
        args = [data_values.user_dataset(interp, args[0], frame)] + list(args[1:])
    elif isinstance(kwargs.get("dataset"), Instance):
        kwargs = {**kwargs, "dataset": data_values.user_dataset(interp, kwargs["dataset"], frame)}
    return data_values.data_loader(args, kwargs, frame.loc(node) if node is not None else None,
                                   data_values.batch_symbols(interp))


@library(*data_values.PASS_THROUGH)
def _progress_bar(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`tqdm(loader, desc=...)` iterates as its first argument does."""
    return args[0] if args else None


@library(*[prefix + name for prefix in data_values.V.TRANSFORM_PREFIXES for name in data_values.V.TRANSFORMS])
def _transform(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return data_values.make_transform(qualname, args, kwargs, _argument_locs(frame, node))


@library(*data_values.V.DATASETS, data_values.V.FAKE_DATA)
def _vision_dataset(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return data_values.vision_dataset(qualname, args, kwargs, frame.loc(node) if node is not None else None)


@library("torch.cat", "torch.concat", "torch.concatenate", "torch.stack")
def _join_of_grown_list(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`torch.cat(ids)` of a list appended to in a loop of unknown length (the lines of a file): its items
    are not known, but what torch.cat gives is a tensor (or it raises): of a shape not known here. A
    known list is the rule's (None)."""
    tensors = args[0] if args else kwargs.get("tensors")
    if type(tensors) is ListValue and tensors.uncertain:
        return Tensor(Shape.unknown())
    return None


@library(*vision_models.BUILDERS)
def _resnet(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return vision_models.build_resnet(interp, qualname, args, kwargs, frame, node)


@library("random.randint", "random.randrange")
def _random_int(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    """`random.randint(a, b)`: some int from a known `a` on (a + k - 1 for an unknown k >= 1); the values
    are not followed, only that it is an int (an index: `data[random.randint(0, n - 1)]`)."""
    return data_values.random_int(args, kwargs)


@library("numpy.where", "numpy.nonzero")
def _nonzero(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return data_values.numpy_nonzero(args, kwargs)


@library(*processes.PROCESSES)
def _process(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return processes.process(args, kwargs)


@library("PIL.Image.open")
def _open_image(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Optional[Value]:
    return data_values.open_image(args, kwargs)


def _argument_locs(frame: Frame, node) -> dict:
    """Where each argument of a call is written: its position (an int) or keyword -> Loc."""
    if not isinstance(node, cst.Call):
        return {}
    locs: dict = {}
    for position, argument in enumerate(node.args):
        if argument.star:
            return {}
        key = argument.keyword.value if argument.keyword is not None else position
        locs[key] = frame.loc(argument.value)
    return locs
