"""Mutants: change ONE layer constructor argument of a model file (libcst), keeping every line in place.

A mutation is stored as a text splice (start/end position of the argument's value, original text, new
text), so evaluate.py re-creates the mutant from the fetched file without rerunning anything.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

# Layer constructors (the last name of the callee) -> their parameter order.
LAYER_PARAMS = {
    "Linear": ["in_features", "out_features", "bias"],
    "Conv1d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"],
    "Conv2d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"],
    "Conv3d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"],
    "BatchNorm1d": ["num_features"],
    "BatchNorm2d": ["num_features"],
    "BatchNorm3d": ["num_features"],
    "LayerNorm": ["normalized_shape"],
    "GroupNorm": ["num_groups", "num_channels"],
    "MaxPool2d": ["kernel_size", "stride", "padding"],
    "AvgPool2d": ["kernel_size", "stride", "padding"],
    "AdaptiveAvgPool2d": ["output_size"],
    "MultiheadAttention": ["embed_dim", "num_heads"],
    # torchvision.ops layers (pure torch): their in-side argument is as much a layer argument
    "Conv2dNormActivation": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "groups"],
    "SqueezeExcitation": ["input_channels", "squeeze_channels"],
}
TORCHVISION_OPS = {"Conv2dNormActivation", "SqueezeExcitation", "MLP"}

# The argument that must agree with what flows in: a wrong value is a shape bug *on that line*.
IN_SIDE = {"in_features", "in_channels", "num_features", "normalized_shape", "num_channels",
           "input_channels", "embed_dim"}
# Channel-like arguments may be mutated even when they are expressions (x -> (x) * 2).
SCALE = IN_SIDE | {"out_features", "out_channels", "squeeze_channels"}
# Geometry arguments are mutated only when they are int literals.
GEOMETRY = {"kernel_size": 2, "stride": 1, "padding": 1, "output_size": 1}


@dataclass
class Mutation:
    layer: str
    param: str
    line: int  # 1-based line of the argument's value (the mutated line)
    col: int  # 0-based column
    end_line: int
    end_col: int
    call_line: int  # the line where the constructor call starts
    call_end_line: int
    original: str
    new: str

    def apply(self, text: str) -> str:
        lines = text.splitlines(keepends=True)
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line))
        start = offsets[self.line - 1] + self.col
        end = offsets[self.end_line - 1] + self.end_col
        if text[start:end] != self.original:
            raise ValueError(f"mutation does not match the file at {self.line}:{self.col}: "
                             f"{text[start:end]!r} != {self.original!r}")
        return text[:start] + self.new + text[end:]


def _callee_name(func: cst.BaseExpression, aliases: dict) -> str | None:
    if isinstance(func, cst.Attribute):
        # nn.Conv2d / torch.nn.Conv2d
        base = func.value
        chain = []
        while isinstance(base, cst.Attribute):
            chain.append(base.attr.value)
            base = base.value
        if isinstance(base, cst.Name):
            chain.append(base.value)
        if chain and chain[0] == "nn" and func.attr.value in LAYER_PARAMS:
            return func.attr.value
        return None
    if isinstance(func, cst.Name):
        name = aliases.get(func.value, func.value)
        if name in TORCHVISION_OPS and name in LAYER_PARAMS:
            return name
    return None


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, module: cst.Module):
        self.module = module
        self.aliases: dict = {}
        self.found: list = []

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if isinstance(alias.name, cst.Name) and alias.asname is not None:
                self.aliases[alias.asname.name.value] = alias.name.value

    def visit_Call(self, node: cst.Call) -> None:
        layer = _callee_name(node.func, self.aliases)
        if layer is None:
            return
        call_pos = self.get_metadata(PositionProvider, node)
        for param, arg in bound_arguments(node, LAYER_PARAMS[layer]):
            new = _mutated(param, arg.value, self.module)
            if new is None:
                continue
            pos = self.get_metadata(PositionProvider, arg.value)
            self.found.append(Mutation(
                layer, param, pos.start.line, pos.start.column, pos.end.line, pos.end.column,
                call_pos.start.line, call_pos.end.line, self.module.code_for_node(arg.value), new))


def bound_arguments(call: cst.Call, params: list) -> list:
    """(parameter, argument) for each argument of a constructor call, by position or keyword; none at all
    when the call spreads *args/**kwargs (its binding is unknown)."""
    out = []
    positional = 0
    for arg in call.args:
        if arg.star:
            return []
        if arg.keyword is None:
            if positional >= len(params):
                continue
            out.append((params[positional], arg))
            positional += 1
        else:
            out.append((arg.keyword.value, arg))
    return out


def _mutated(param: str, value: cst.BaseExpression, module: cst.Module) -> str | None:
    if isinstance(value, cst.Integer):
        v = int(value.value, 0)
        if param in GEOMETRY:
            return str(v + GEOMETRY[param])
        if param in SCALE:
            return str(v * 2 if v >= 2 else v + 1)
        return None
    if param not in SCALE:
        return None
    if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Float,
                          cst.Lambda, cst.Tuple, cst.List, cst.Dict)):
        return None
    if isinstance(value, cst.Name) and value.value in ("None", "True", "False"):
        return None
    code = module.code_for_node(value)
    if "\n" in code:
        return None
    simple = isinstance(value, (cst.Name, cst.Attribute, cst.Subscript, cst.Call))
    return f"{code} * 2" if simple else f"({code}) * 2"


def candidates(text: str) -> list:
    module = cst.parse_module(text)
    collector = _Collector(module)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return collector.found


def select(cands: list, executed: set, seed: str, in_side: int = 6, other: int = 3) -> list:
    """Mutations on constructor calls that the primary builder really executes, sampled
    deterministically: up to `in_side` of the in-side arguments and `other` of the rest."""
    live = [m for m in cands if any(line in executed for line in range(m.call_line, m.call_end_line + 1))]
    rng = random.Random(seed)
    ins = [m for m in live if m.param in IN_SIDE]
    rest = [m for m in live if m.param not in IN_SIDE]
    picked = rng.sample(ins, min(in_side, len(ins))) + rng.sample(rest, min(other, len(rest)))
    return sorted(picked, key=lambda m: (m.line, m.col))
