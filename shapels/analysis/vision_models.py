"""`torchvision.models.resnet18(weights=None)` and its kin, built out of torch layers as torchvision's
ResNet.__init__ builds them (the facts in shapels/rules/vision_models.py): the members conv1, bn1, relu,
maxpool, layer1-4, avgpool and fc, so `model.fc.in_features`, `model.conv1 = nn.Conv2d(1, 64, ...)` and
`nn.Sequential(*list(model.children())[:-1])` are followed as in torch, and so is `model(x)` (its registry entry's forward)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shapels.analysis.containers import build_container
from shapels.analysis.python_values import plain
from shapels.rules import vision_models as M
from shapels.values import UNKNOWN, Const, DictValue, FunctionRef, Number, Seq, Value

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp

BUILDERS = M.BUILDERS


def build_resnet(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Value:
    facts = M.RESNETS.get(qualname.rsplit(".", 1)[-1])
    if facts is None or len(args) > len(M.BUILDER_PARAMS) or set(kwargs) - set(M.FOLLOWED_KWARGS):
        return UNKNOWN
    classes = plain(kwargs["num_classes"]) if "num_classes" in kwargs else 1000
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        return UNKNOWN
    return _build(interp, M.resnet_recipe(facts, classes), frame, node)


def _build(interp: Interp, part: tuple, frame: Frame, node) -> Value:
    """A recipe's layer called as the program would call its constructor; a container built from its parts."""
    if len(part) == 3:
        qualname, args, kwargs = part
        return interp.call(FunctionRef(qualname), [_value(a) for a in args], {k: _value(v) for k, v in kwargs.items()},
                           frame, node)
    qualname, members = part
    if isinstance(members, dict):  # named members, in order (a block's conv1, bn1, ...)
        named = {name: _build(interp, member, frame, node) for name, member in members.items()}
        return build_container(qualname, [DictValue(named)], frame, node)
    return build_container(qualname, [_build(interp, member, frame, node) for member in members], frame, node)


def _value(v) -> Value:
    if isinstance(v, bool):
        return Const(v)
    if isinstance(v, tuple):
        return Seq(tuple(_value(i) for i in v))
    return Number(int(v))
