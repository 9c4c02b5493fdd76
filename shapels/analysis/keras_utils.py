"""Keras's own helper functions that model code calls to choose its shapes, modelled on known values.

Keras's applications (keras/src/applications/*.py) and code written after them decide their input shape
and axes with a few helpers before any layer runs: `imagenet_utils.obtain_input_shape` (the input shape
from the arguments), `backend.image_data_format()` (channels_last unless the user's keras.json says
otherwise, which the Keras layer rules assume too), `imagenet_utils.correct_pad` (the ZeroPadding2D
amounts before a strided conv), `imagenet_utils.validate_activation` (a check with no value), and, for a
builder given `input_tensor=`, `backend.is_keras_tensor` and `operation_utils.get_source_inputs`. Each is
modelled as Keras 3.15 implements it, on plain Python values; anything unknown gives None (the caller's
unknown). Where Keras raises (a ValueError for a bad argument), the result is unknown: an argument check,
not a shape finding.

Registered by library.py (`keras_utility`) under the names in HANDLERS.
"""

from __future__ import annotations

from typing import Callable, Optional

from shapels.analysis.python_values import MISSING_VALUE, plain
from shapels.rules.base import from_python
from shapels.rules.keras_layers.spec import is_none_dim
from shapels.symbolic import dims as D
from shapels.values import NONE, UNKNOWN, Const, ListValue, Tensor, Value

# The data format Keras uses when no layer names one: its default, "channels_last" (keras.json may change it).
IMAGE_DATA_FORMAT = "channels_last"

_IMAGENET_UTILS = ("keras.src.applications.imagenet_utils.", "keras.applications.imagenet_utils.")
_BACKENDS = ("keras.src.backend.", "keras.backend.", "keras.config.", "keras.src.backend.config.")


class _Raise(Exception):
    """Keras raises here: the call's value is unknown."""


def _plain_args(args: list, kwargs: dict, names: list) -> Optional[dict]:
    """Bind args/kwargs to `names` (positional then keyword) as plain Python values; None when any bound
    value is not known (or an argument is not a parameter)."""
    if len(args) > len(names) or any(k not in names for k in kwargs):
        return None
    bound = dict(zip(names, args))
    bound.update(kwargs)
    out = {}
    for name, value in bound.items():
        v = plain(value)
        if v is MISSING_VALUE:
            return None
        out[name] = v
    return out


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """keras.src.applications.imagenet_utils.obtain_input_shape (Keras 3.15), without its warnings."""
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if data_format == "channels_first":
            default_shape = (input_shape[0], default_size, default_size)
        else:
            default_shape = (default_size, default_size, input_shape[-1])
    elif data_format == "channels_first":
        default_shape = (3, default_size, default_size)
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise _Raise()
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise _Raise()
        channels, sides = (input_shape[0], input_shape[1:]) if data_format == "channels_first" else \
            (input_shape[-1], input_shape[:2])
        if channels != 3 and weights == "imagenet":
            raise _Raise()
        if any(side is not None and side < min_size for side in sides):
            raise _Raise()
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if data_format == "channels_first" else (None, None, 3)
    if require_flatten and None in input_shape:
        raise _Raise()
    return input_shape


def _obtain_input_shape(args: list, kwargs: dict) -> Optional[Value]:
    bound = _plain_args(args, kwargs, ["input_shape", "default_size", "min_size", "data_format", "require_flatten",
                                       "weights"])
    if bound is None or len(bound) < 5:
        return None
    try:
        shape = obtain_input_shape(**bound)
    except _Raise:
        return UNKNOWN
    except (TypeError, IndexError):
        return None  # not the values Keras expects: not modelled
    return from_python(tuple(shape))


def _correct_pad(args: list, kwargs: dict) -> Optional[Value]:
    """((k//2 - adjust, k//2), ...) from the input's two spatial sizes (channels_last: axes 1 and 2);
    adjust is 1 - size % 2, or 1 where the height is Keras's None."""
    bound = dict(zip(["inputs", "kernel_size"], args))
    bound.update(kwargs)
    inputs, kernel = bound.get("inputs"), plain(bound.get("kernel_size", UNKNOWN))
    if not isinstance(inputs, Tensor) or not inputs.shape.ranked or len(inputs.shape.dims) < 3:
        return None
    if isinstance(kernel, int):
        kernel = (kernel, kernel)
    if not (isinstance(kernel, tuple) and len(kernel) == 2 and all(isinstance(k, int) for k in kernel)):
        return None
    height, width = inputs.shape.dims[1], inputs.shape.dims[2]
    if is_none_dim(height):
        adjust = (1, 1)
    else:
        sizes = (D.as_int(height), D.as_int(width))
        if None in sizes:
            return None
        adjust = (1 - sizes[0] % 2, 1 - sizes[1] % 2)
    correct = (kernel[0] // 2, kernel[1] // 2)
    return from_python(((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1])))


def _image_data_format(args: list, kwargs: dict) -> Optional[Value]:
    return Const(IMAGE_DATA_FORMAT) if not args and not kwargs else None


def _no_value(args: list, kwargs: dict) -> Optional[Value]:
    return NONE


def _only(args: list, kwargs: dict) -> Optional[Value]:
    return args[0] if len(args) == 1 and not kwargs else None


def _is_keras_tensor(args: list, kwargs: dict) -> Optional[Value]:
    """True for a tensor with Keras's None batch: only a keras.Input and what layers compute from it have one
    (an array has its sizes); anything else is not decided here."""
    x = _only(args, kwargs)
    if isinstance(x, Tensor) and x.shape.ranked and x.shape.rank >= 1 and is_none_dim(x.shape.dims[0]):
        return Const(True)
    return None


def _source_inputs(args: list, kwargs: dict) -> Optional[Value]:
    """`get_source_inputs(t)`: [t] where t is a keras.Input itself (its provenance is that one step); the
    Inputs behind a computed tensor are not followed."""
    x = _only(args, kwargs)
    if isinstance(x, Tensor) and len(x.trace) == 1 and x.trace[0].label == "Input":
        return ListValue([x])
    return None


HANDLERS: dict[str, Callable[[list, dict], Optional[Value]]] = {
    **{prefix + "obtain_input_shape": _obtain_input_shape for prefix in _IMAGENET_UTILS},
    **{prefix + "correct_pad": _correct_pad for prefix in _IMAGENET_UTILS},
    **{prefix + "validate_activation": _no_value for prefix in _IMAGENET_UTILS},
    **{prefix + "image_data_format": _image_data_format for prefix in _BACKENDS},
    **{name: _is_keras_tensor for name in ("keras.src.backend.is_keras_tensor", "keras.backend.is_keras_tensor",
                                           "keras.utils.is_keras_tensor")},
    **{name: _source_inputs for name in ("keras.src.ops.operation_utils.get_source_inputs",
                                         "keras.utils.get_source_inputs")},
}


def call(qualname: str, args: list, kwargs: dict) -> Optional[Value]:
    return HANDLERS[qualname](list(args), dict(kwargs))
