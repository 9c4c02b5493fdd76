"""torchvision's ResNets as facts (issue 23: training scripts build them, `torchvision.models.resnet18()`):
their stages and blocks, read by shapels/analysis/vision_models.py, which builds the model out of torch
layers. tests/rules/test_vision_models.py compares the built model with torchvision's where it imports (the
opt-in `scripts/vision-venv.sh`).

A block is registered as a chained container of its main path's layers, in torchvision's member order
(BasicBlock: conv1, bn1, relu, conv2, bn2; Bottleneck: conv1, bn1, conv2, bn2, conv3, bn3, relu): their
chain gives the block's output shape, which its residual sum keeps (the shortcut, a `downsample`
conv1x1 of the same stride where the shape changes, gives the same shape). The downsample member itself is
not held. A ResNet is a container of its members (conv1 ... fc) with no chain: its forward flattens
before `fc`, which its registry entry's `forward` says (calling the whole model follows it);
`list(model.children())[:-1]` in a Sequential is a chain of the members.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapels.rules.registry import FLATTEN, container

RESNET = "torchvision.models.resnet.ResNet"
BASIC_BLOCK = "torchvision.models.resnet.BasicBlock"
BOTTLENECK = "torchvision.models.resnet.Bottleneck"

# ResNet.forward: its members by name, in this order, with torch.flatten(x, 1) before fc.
FORWARD = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", FLATTEN, "fc")
container(RESNET, built_from="members", forward=FORWARD)
container(BASIC_BLOCK, chained=True, built_from="members")
container(BOTTLENECK, chained=True, built_from="members")


@dataclass(frozen=True)
class ResNetFacts:
    block: str  # BASIC_BLOCK or BOTTLENECK
    layers: tuple  # blocks per stage


RESNETS = {
    "resnet18": ResNetFacts(BASIC_BLOCK, (2, 2, 2, 2)),
    "resnet34": ResNetFacts(BASIC_BLOCK, (3, 4, 6, 3)),
    "resnet50": ResNetFacts(BOTTLENECK, (3, 4, 6, 3)),
    "resnet101": ResNetFacts(BOTTLENECK, (3, 4, 23, 3)),
    "resnet152": ResNetFacts(BOTTLENECK, (3, 8, 36, 3)),
}
# The builders modelled, under both names torchvision gives them.
BUILDERS = tuple(f"torchvision.models.{name}" for name in RESNETS) + \
    tuple(f"torchvision.models.resnet.{name}" for name in RESNETS)
# What analysis/scopes.py never reads from an installed torchvision (MODELLED_INSIDE): the builders, and their
# weights enums (`weights=ResNet18_Weights.DEFAULT`), which the builders take as they are. Read, resnet.py's
# ResNet.__init__ initializes weights in place (`nn.init.kaiming_normal_(m.weight)`), which withdrew the
# LazyLinear fix of the program's own head (report.stand_ins) that an analysis without torchvision offers.
WEIGHTS = tuple(f"torchvision.models{module}.{name.replace('resnet', 'ResNet')}_Weights"
                for module in ("", ".resnet") for name in RESNETS)
MODELLED = BUILDERS + WEIGHTS
EXPANSION = {BASIC_BLOCK: 1, BOTTLENECK: 4}
STAGE_PLANES = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)
# The builders' parameters: the weights enum (or the old `pretrained`), progress, num_classes; the
# architecture's other options (groups, width_per_group, replace_stride_with_dilation, norm_layer,
# zero_init_residual) change layers: a call that passes one is not followed.
BUILDER_PARAMS = ("weights", "progress")
FOLLOWED_KWARGS = ("weights", "progress", "num_classes", "pretrained")


# A layer in a recipe: (qualname, positional args, keyword args); a container: (qualname, {member: part})
# for one built from named members (in order), or (qualname, [part, ...]) for a Sequential of positional ones.
SEQUENTIAL = "torch.nn.Sequential"


def _layer(kind: str, *args, **kwargs) -> tuple:
    return (f"torch.nn.{kind}", args, kwargs)


def _block(facts: ResNetFacts, inplanes: int, planes: int, stride: int) -> tuple:
    """One block's main path, in torchvision's member order."""
    if facts.block == BASIC_BLOCK:
        return (BASIC_BLOCK, dict([
            ("conv1", _layer("Conv2d", inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)),
            ("bn1", _layer("BatchNorm2d", planes)), ("relu", _layer("ReLU", inplace=True)),
            ("conv2", _layer("Conv2d", planes, planes, kernel_size=3, stride=1, padding=1, bias=False)),
            ("bn2", _layer("BatchNorm2d", planes))]))
    out = planes * EXPANSION[BOTTLENECK]
    return (BOTTLENECK, dict([
        ("conv1", _layer("Conv2d", inplanes, planes, kernel_size=1, stride=1, bias=False)),
        ("bn1", _layer("BatchNorm2d", planes)),
        ("conv2", _layer("Conv2d", planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)),
        ("bn2", _layer("BatchNorm2d", planes)),
        ("conv3", _layer("Conv2d", planes, out, kernel_size=1, stride=1, bias=False)),
        ("bn3", _layer("BatchNorm2d", out)), ("relu", _layer("ReLU", inplace=True))]))


def resnet_recipe(facts: ResNetFacts, classes: int) -> tuple:
    """What torchvision's ResNet.__init__ builds, as a recipe the analysis follows (vision_models.py there)."""
    expansion = EXPANSION[facts.block]
    inplanes = 64
    stages = []
    for count, planes, stride in zip(facts.layers, STAGE_PLANES, STAGE_STRIDES):
        blocks = []
        for i in range(count):
            blocks.append(_block(facts, inplanes, planes, stride if i == 0 else 1))
            inplanes = planes * expansion
        stages.append((SEQUENTIAL, blocks))
    return (RESNET, dict([
        ("conv1", _layer("Conv2d", 3, 64, kernel_size=7, stride=2, padding=3, bias=False)),
        ("bn1", _layer("BatchNorm2d", 64)), ("relu", _layer("ReLU", inplace=True)),
        ("maxpool", _layer("MaxPool2d", kernel_size=3, stride=2, padding=1)),
        *[(f"layer{i + 1}", stage) for i, stage in enumerate(stages)],
        ("avgpool", _layer("AdaptiveAvgPool2d", (1, 1))),
        ("fc", _layer("Linear", 512 * expansion, classes))]))
