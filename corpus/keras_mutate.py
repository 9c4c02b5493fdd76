"""Mutants of the Keras application files: change ONE shape-bearing layer constructor argument (libcst),
or one thing of the driver's data, keeping every line in place. Stored as corpus/mutate.py's text splice.

Operators (each one argument of a `layers.X(...)` or `keras.layers.X(...)` call the primary builder executes):
- Conv / SeparableConv2D filters, Dense / RNN units, Embedding output_dim, RepeatVector n: an int literal
  x2, an expression `e` -> `e * 2`;
- kernel_size: an int literal +2 (the first item of a literal tuple);
- strides: 1 <-> 2 (an int or a literal tuple), an expression `e` -> `e * 2`;
- padding of a conv or pool: "same" <-> "valid"; of ZeroPadding2D, and Cropping2D's cropping: the first
  int literal +1;
- pool_size, UpSampling size: the first int literal +1;
- Reshape target: the first item that is not 1 (an int x2, a name `n` -> `n * 2`);
- axis= of Concatenate / BatchNormalization: `e` -> `e - 1`.
Driver mutants: the data's image size, its channels (3 -> 1), its rank (the batch axis dropped).
"""

from __future__ import annotations

import random

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from mutate import Mutation, bound_arguments

# Keras layer classes (the attribute of `layers.`) -> their constructor's parameter order.
LAYER_PARAMS = {
    "Conv2D": ["filters", "kernel_size", "strides", "padding"],
    "SeparableConv2D": ["filters", "kernel_size", "strides", "padding"],
    "DepthwiseConv2D": ["kernel_size", "strides", "padding"],
    "Dense": ["units"],
    "MaxPooling2D": ["pool_size", "strides", "padding"],
    "AveragePooling2D": ["pool_size", "strides", "padding"],
    "ZeroPadding2D": ["padding"],
    "Cropping2D": ["cropping"],
    "Reshape": ["target_shape"],
    "Concatenate": ["axis"],
    "BatchNormalization": ["axis"],
    # the keras-io examples' layers (corpus/keras_io.py); none of them is in the application files
    "Conv1D": ["filters", "kernel_size", "strides", "padding"],
    "Conv3D": ["filters", "kernel_size", "strides", "padding"],
    "Conv1DTranspose": ["filters", "kernel_size", "strides", "padding"],
    "Conv2DTranspose": ["filters", "kernel_size", "strides", "padding"],
    "ConvLSTM2D": ["filters", "kernel_size", "strides", "padding"],
    "MaxPooling1D": ["pool_size", "strides", "padding"],
    "AveragePooling1D": ["pool_size", "strides", "padding"],
    "UpSampling2D": ["size"],
    "LSTM": ["units"],
    "GRU": ["units"],
    "SimpleRNN": ["units"],
    "Embedding": ["input_dim", "output_dim"],
    "RepeatVector": ["n"],
}
POOLS = {"MaxPooling2D", "AveragePooling2D"}


def _int(node) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.value, 0)
    return None


def _first_int(node) -> cst.Integer | None:
    """The first int literal of an int or a (nested) literal tuple."""
    if isinstance(node, cst.Integer):
        return node
    if isinstance(node, (cst.Tuple, cst.List)):
        for el in node.elements:
            found = _first_int(el.value)
            if found is not None:
                return found
    return None


def _simple(code: str, node) -> str:
    return code if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.Integer)) else f"({code})"


def _is_layers(node) -> bool:
    """`layers` or `keras.layers` (the keras-io examples write both)."""
    if isinstance(node, cst.Name):
        return node.value == "layers"
    return (isinstance(node, cst.Attribute) and node.attr.value == "layers" and isinstance(node.value, cst.Name)
            and node.value.value == "keras")


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, module: cst.Module):
        self.module = module
        self.lines = module.code.splitlines()
        self.found: list = []

    def _add(self, layer: str, param: str, node, new: str, call) -> None:
        pos = self.get_metadata(PositionProvider, node)
        call_pos = self.get_metadata(PositionProvider, call)
        if pos.start.line != pos.end.line:
            return
        # the written text at the position (a tuple's position leaves out its parentheses)
        original = self.lines[pos.start.line - 1][pos.start.column:pos.end.column]
        self.found.append(Mutation(layer, param, pos.start.line, pos.start.column, pos.end.line, pos.end.column,
                                   call_pos.start.line, call_pos.end.line, original, new))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and _is_layers(func.value)):
            return
        layer = func.attr.value
        if layer not in LAYER_PARAMS:
            return
        for param, arg in bound_arguments(node, LAYER_PARAMS[layer]):
            value = arg.value
            code = self.module.code_for_node(value)
            if "\n" in code:
                continue
            if param in ("filters", "units", "output_dim", "n"):
                n = _int(value)
                if n is not None:
                    self._add(layer, param, value, str(n * 2), node)
                elif not isinstance(value, (cst.SimpleString, cst.Tuple, cst.List)):
                    self._add(layer, param, value, f"{_simple(code, value)} * 2", node)
            elif param in ("kernel_size", "pool_size", "size") or (param in ("padding", "cropping") and layer in ("ZeroPadding2D", "Cropping2D")):
                first = _first_int(value)
                if first is not None:
                    step = 2 if param == "kernel_size" else 1
                    self._add(layer, param, first, str(int(first.value, 0) + step), node)
            elif param == "strides":
                if isinstance(value, (cst.Integer, cst.Tuple)):
                    first = _first_int(value)
                    if first is not None:
                        n = int(first.value, 0)
                        flipped = "1" if n == 2 else "2"
                        if isinstance(value, cst.Tuple):
                            items = [_int(e.value) for e in value.elements]
                            if all(i is not None for i in items):
                                self._add(layer, param, value, ", ".join([flipped] * len(items)), node)
                        else:
                            self._add(layer, param, value, flipped, node)
                elif isinstance(value, (cst.Name, cst.Attribute)):
                    self._add(layer, param, value, f"{code} * 2", node)
            elif param == "padding":
                if isinstance(value, cst.SimpleString):
                    text = value.evaluated_value.lower()
                    if text in ("same", "valid"):
                        self._add(layer, param, value, '"valid"' if text == "same" else '"same"', node)
            elif param == "target_shape":
                if isinstance(value, cst.Tuple):
                    for el in value.elements:
                        n = _int(el.value)
                        if n == 1:
                            continue
                        if n is not None:
                            self._add(layer, param, el.value, str(n * 2), node)
                        elif isinstance(el.value, cst.Name):
                            self._add(layer, param, el.value, f"{el.value.value} * 2", node)
                        break
            elif param == "axis":
                if isinstance(value, (cst.Name, cst.Integer, cst.UnaryOperation)):
                    self._add(layer, param, value, f"{code} - 1", node)


def candidates(text: str) -> list:
    module = cst.parse_module(text)
    collector = _Collector(module)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return collector.found


def select(cands: list, executed: set, seed: str, count: int) -> list:
    """Up to `count` mutations on constructor calls the primary builder executes, one per (line, param),
    sampled deterministically, spread over the operators (round-robin by parameter)."""
    live = [m for m in cands if any(line in executed for line in range(m.call_line, m.call_end_line + 1))]
    rng = random.Random(seed)
    by_param: dict = {}
    for m in live:
        by_param.setdefault(m.param, []).append(m)
    for group in by_param.values():
        rng.shuffle(group)
    picked: list = []
    params = sorted(by_param)
    while len(picked) < count and any(by_param[p] for p in params):
        for p in params:
            if by_param[p] and len(picked) < count:
                picked.append(by_param[p].pop())
    return sorted(picked, key=lambda m: (m.line, m.col))


def driver_mutations(text: str, size: int, driver_line: int) -> list:
    """Mutations of the driver's data line (1-based `driver_line` of `text`): `np.zeros((2, H, W, 3), ...)`."""
    line = text.splitlines()[driver_line - 1]
    shape = f"(2, {size}, {size}, 3)"
    col = line.index(shape)
    variants = [("data size", f"(2, {size * 2}, {size * 2}, 3)"),
                ("data channels", f"(2, {size}, {size}, 1)"),
                ("data rank", f"({size}, {size}, 3)")]
    return [Mutation("driver", what, driver_line, col, driver_line, col + len(shape), driver_line, driver_line,
                     shape, new) for what, new in variants]
