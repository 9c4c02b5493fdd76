"""Text for shapes and abstract values, as hover, inlay hints and code lenses show them."""

from __future__ import annotations

from typing import Any, Optional

from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import shape_text
from shapels.values import Const, DictValue, Layer, ListValue, Number, Seq, Tensor


def tensor_type(shape: Optional[Shape]) -> str:
    """`Tensor[1, 32, 16, 16]`, `Tensor[B, 3, H//4]`, `Tensor[..., 10]`, or `Tensor[?]` when unknown."""
    if shape is None or shape.is_unknown:
        return "Tensor[?]"
    return "Tensor" + shape.bracketed()


def value_type(value: Any, keras_file: bool = False) -> str:
    """A tensor's type as its framework writes it: Keras's `shape=(None, 26, 26, 32)` for a Keras tensor
    (one with a size Keras leaves open, or made by a Keras layer) or any array of a file that uses Keras
    (`tf.random.normal(...)`'s), else `Tensor[...]`."""
    shape = value.shape if isinstance(value, Tensor) else None
    if isinstance(value, Tensor) and (keras_file or is_keras(value)) and shape is not None and not shape.is_unknown:
        return f"shape={shape.show()}"
    return tensor_type(shape)


def is_keras(tensor: Tensor) -> bool:
    open_size = tensor.shape.ranked and any(D.depends_on_open(d) for d in tensor.shape.dims)
    return open_size or any(isinstance(step.layer, Layer) and step.layer.kind.startswith("keras.") for step in tensor.trace)


def value_text(value: Any, depth: int = 0) -> str:
    """A short rendering of an abstract value: a shape, a number, a constant, a tuple."""
    if depth > 3:
        return "…"
    if isinstance(value, Tensor):
        return shape_text(value.shape)
    if isinstance(value, Shape):
        return shape_text(value)
    if isinstance(value, Number):
        v = value.value
        return D.show(v) if D.is_integer_valued(v) else str(v)
    if isinstance(value, Const):
        return repr(value.value)
    if isinstance(value, Seq):
        items = [value_text(v, depth + 1) for v in value.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, ListValue):
        return "[" + ", ".join(value_text(v, depth + 1) for v in value.items) + "]"
    if isinstance(value, DictValue):
        return "{" + ", ".join(f"{k!r}: {value_text(v, depth + 1)}" for k, v in value.items.items()) + "}"
    if isinstance(value, Layer):
        return f"{value.short_kind}(…)"
    if isinstance(value, (int, float, str, bool)) or value is None:
        return repr(value)
    return "?"


def args_text(args: dict) -> str:
    """`in_features=1024, out_features=128, bias=True` (private and None-valued device/dtype left out)."""
    parts = []
    for name, value in args.items():
        if name.startswith("_"):
            continue
        if name in ("device", "dtype") and isinstance(value, Const) and value.value is None:
            continue
        parts.append(f"{name}={value_text(value)}")
    return ", ".join(parts)


def trace_text(value: Any) -> str:
    """The provenance chain of a tensor: `input (1, 10) → embedding (1, 10, 512) → view (1, 5120)`."""
    if not isinstance(value, Tensor) or not value.trace:
        return ""
    return " → ".join(step.show() for step in value.trace)
