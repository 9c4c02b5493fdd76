"""torchvision's ResNets as facts (issue 23: training scripts build them, `torchvision.models.resnet18()`):
their stages and blocks, read by shapels/analysis/vision_models.py, which builds the model out of torch
layers. tests/rules/test_vision_models.py compares the built model with torchvision's where it imports (the
opt-in `scripts/vision-venv.sh`).

A block is registered as a chained container of its main path's layers, in torchvision's member order
(BasicBlock: conv1, bn1, relu, conv2, bn2; Bottleneck: conv1, bn1, conv2, bn2, conv3, bn3, relu): their
chain gives the block's output shape, which its residual sum keeps (the shortcut, a `downsample`
conv1x1 of the same stride where the shape changes, gives the same shape). The downsample member itself is
not held. A ResNet is a container of its members (conv1 ... fc) with no chain: its forward flattens
before `fc`, so calling the whole model is not followed; `list(model.children())[:-1]` in a Sequential is.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapels.rules.registry import container

RESNET = "torchvision.models.resnet.ResNet"
BASIC_BLOCK = "torchvision.models.resnet.BasicBlock"
BOTTLENECK = "torchvision.models.resnet.Bottleneck"

container(RESNET, built_from="members")
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
EXPANSION = {BASIC_BLOCK: 1, BOTTLENECK: 4}
STAGE_PLANES = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)
# The builders' parameters: the weights enum (or the old `pretrained`), progress, num_classes; the
# architecture's other options (groups, width_per_group, replace_stride_with_dilation, norm_layer,
# zero_init_residual) change layers: a call that passes one is not followed.
BUILDER_PARAMS = ("weights", "progress")
FOLLOWED_KWARGS = ("weights", "progress", "num_classes", "pretrained")
