"""`torchvision.models.resnet18(weights=None)` and its kin, built out of torch layers as torchvision's
ResNet.__init__ builds them (the facts in shapels/rules/vision_models.py): the members conv1, bn1, relu,
maxpool, layer1-4, avgpool and fc, so `model.fc.in_features`, `model.conv1 = nn.Conv2d(1, 64, ...)` and
`nn.Sequential(*list(model.children())[:-1])` are followed as in torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy

from shapels.analysis.containers import build_container
from shapels.analysis.python_values import plain
from shapels.rules import vision_models as M
from shapels.values import UNKNOWN, Const, DictValue, FunctionRef, Number, Seq, Value

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp

BUILDERS = tuple(f"torchvision.models.{name}" for name in M.RESNETS) + \
    tuple(f"torchvision.models.resnet.{name}" for name in M.RESNETS)


def build_resnet(interp: Interp, qualname: str, args: list, kwargs: dict, frame: Frame, node) -> Value:
    facts = M.RESNETS.get(qualname.rsplit(".", 1)[-1])
    if facts is None or len(args) > len(M.BUILDER_PARAMS) or set(kwargs) - set(M.FOLLOWED_KWARGS):
        return UNKNOWN
    classes = plain(kwargs["num_classes"]) if "num_classes" in kwargs else 1000
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        return UNKNOWN

    def make(kind: str, *sizes, **options) -> Value:
        values = {k: _value(v) for k, v in options.items()}
        return interp.call(FunctionRef(f"torch.nn.{kind}"), [_value(s) for s in sizes], values, frame, node)

    def members(kind: str, named: list) -> Value:
        return build_container(kind, [DictValue(dict(named))], frame, node)

    def block(inplanes: int, planes: int, stride: int) -> Value:
        if facts.block == M.BASIC_BLOCK:
            return members(M.BASIC_BLOCK, [
                ("conv1", make("Conv2d", inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)),
                ("bn1", make("BatchNorm2d", planes)), ("relu", make("ReLU", inplace=True)),
                ("conv2", make("Conv2d", planes, planes, kernel_size=3, stride=1, padding=1, bias=False)),
                ("bn2", make("BatchNorm2d", planes))])
        out = planes * M.EXPANSION[M.BOTTLENECK]
        return members(M.BOTTLENECK, [
            ("conv1", make("Conv2d", inplanes, planes, kernel_size=1, stride=1, bias=False)),
            ("bn1", make("BatchNorm2d", planes)),
            ("conv2", make("Conv2d", planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)),
            ("bn2", make("BatchNorm2d", planes)),
            ("conv3", make("Conv2d", planes, out, kernel_size=1, stride=1, bias=False)),
            ("bn3", make("BatchNorm2d", out)), ("relu", make("ReLU", inplace=True))])

    expansion = M.EXPANSION[facts.block]
    inplanes = 64
    stages = []
    for count, planes, stride in zip(facts.layers, M.STAGE_PLANES, M.STAGE_STRIDES):
        blocks = []
        for i in range(count):
            blocks.append(block(inplanes, planes, stride if i == 0 else 1))
            inplanes = planes * expansion
        stages.append(build_container("torch.nn.Sequential", blocks, frame, node))
    return members(M.RESNET, [
        ("conv1", make("Conv2d", 3, 64, kernel_size=7, stride=2, padding=3, bias=False)),
        ("bn1", make("BatchNorm2d", 64)), ("relu", make("ReLU", inplace=True)),
        ("maxpool", make("MaxPool2d", kernel_size=3, stride=2, padding=1)),
        *[(f"layer{i + 1}", stage) for i, stage in enumerate(stages)],
        ("avgpool", make("AdaptiveAvgPool2d", (1, 1))),
        ("fc", make("Linear", 512 * expansion, classes))])


def _value(v) -> Value:
    if isinstance(v, bool):
        return Const(v)
    if isinstance(v, tuple):
        return Seq(tuple(_value(i) for i in v))
    return Number(sympy.Integer(v))
