"""A loss of another family than its data: class indices wanted, one probability per sample given."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import Cause, Source, kind_of
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import LOSS_TARGET
from shapels.symbolic import dims as D
from shapels.values import Tensor

# Losses that take class indices: scores (N, C) against an integer target (N,)
_INDEX_LOSSES = ("NLLLoss", "CrossEntropyLoss")
_FLOATING = ("float16", "bfloat16", "float32", "float64")
_SIGMOIDS = ("Sigmoid", "sigmoid")


def probabilities_for_an_index_loss(finding: Finding, source: Source) -> Iterator[Cause]:
    """`criterion = nn.NLLLoss()` given one score per sample, (N,), against labels (N,) (floats where their
    dtype is known): dcgan's and siamese_network's real/fake labels. That is a binary task's data, and the
    model that made the scores ends in a Sigmoid (its last module, or the last member of its last
    Sequential, in its `__init__`, called in its forward): probabilities, which BCELoss takes. The loss's
    constructor is the place to edit."""
    evidence = finding.evidence
    layer = evidence.layer if evidence is not None else None
    if finding.code != LOSS_TARGET or kind_of(layer) not in _INDEX_LOSSES or len(evidence.operands) != 2:
        return
    scores, target = evidence.operands
    if not (isinstance(scores, Tensor) and isinstance(target, Tensor) and scores.shape.ranked and target.shape.ranked):
        return
    if scores.shape.rank != 1 or target.shape.rank != 1 or D.eq(scores.shape.dims[0], target.shape.dims[0]) is not True \
            or target.dtype is not None and target.dtype not in _FLOATING:
        return
    model = _model_class(scores, source)
    if model is None or not _ends_in_a_sigmoid(model):
        return
    call = getattr(layer.loc, "node", None)
    if not isinstance(call, cst.Call) or call.args or not isinstance(call.func, (cst.Name, cst.Attribute)):
        return
    name = call.func.value if isinstance(call.func, cst.Name) else call.func.attr.value
    written = source.code(call.func)
    fix = Fix(f"Use BCELoss for {layer.label}", Loc(layer.loc.unit, call.func, layer.loc.env),
              written[: len(written) - len(name)] + "BCELoss", target=f"{layer.label}'s class")
    yield Cause(finding.code, fix, f"{name} takes class indices with a score per class; {model.name.value} gives "
                                   f"one probability per sample (it ends in a Sigmoid), as BCELoss takes: "
                                   f"{finding.message}")


def _model_class(scores: Tensor, source: Source) -> Optional[cst.ClassDef]:
    """The class of this file whose module made the scores (the last step named after a class)."""
    classes = {node.name.value: node for node in source.module.body if isinstance(node, cst.ClassDef)}
    for step in reversed(scores.trace):
        if step.label in classes:
            return classes[step.label]
    return None


def _ends_in_a_sigmoid(model: cst.ClassDef) -> bool:
    init = next((s for s in model.body.body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
    forward = next((s for s in model.body.body if isinstance(s, cst.FunctionDef) and s.name.value == "forward"), None)
    if init is None or forward is None:
        return False
    modules = []  # (attribute, the call assigned to it) of `self.x = nn.Something(...)`, in order
    for statement in init.body.body:
        for small in getattr(statement, "body", ()):
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call):
                target = small.targets[0].target
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and \
                        target.value.value == "self" and _callee(small.value)[:1].isupper():
                    modules.append((target.attr.value, small.value))
    if not modules:
        return False
    attribute, call = modules[-1]
    last = call
    if _callee(call) == "Sequential" and call.args and isinstance(call.args[-1].value, cst.Call):
        last = call.args[-1].value
    used = any(isinstance(node, cst.Attribute) and node.attr.value == attribute for node in _walk(forward))
    return _callee(last) in _SIGMOIDS and used


def _callee(call: cst.Call) -> str:
    func = call.func
    return func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)
