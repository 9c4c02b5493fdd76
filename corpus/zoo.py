"""The corpus: which torchvision model files and builders it covers, and where their sources lie.

The sources are fetched by corpus/fetch_zoo.sh into .tools/zoo/src (git-ignored) and read in place.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZOO_SRC = ROOT / ".tools" / "zoo" / "src"
MODELS_DIR = ZOO_SRC / "torchvision" / "models"
MANIFEST = Path(__file__).resolve().parent / "manifest.json"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

# file stem -> builders (every classification builder torchvision registers in that file).
# The first builder of each file is its primary one: mutants of that file are labelled with it.
BUILDERS = {
    "alexnet": ["alexnet"],
    "vgg": ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"],
    "resnet": ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
               "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"],
    "densenet": ["densenet121", "densenet161", "densenet169", "densenet201"],
    "squeezenet": ["squeezenet1_0", "squeezenet1_1"],
    "mobilenetv2": ["mobilenet_v2"],
    "mobilenetv3": ["mobilenet_v3_large", "mobilenet_v3_small"],
    "googlenet": ["googlenet"],
    "inception": ["inception_v3"],
    "shufflenetv2": ["shufflenet_v2_x1_0", "shufflenet_v2_x0_5", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"],
    "mnasnet": ["mnasnet1_0", "mnasnet0_5", "mnasnet0_75", "mnasnet1_3"],
    "efficientnet": ["efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                     "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
                     "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"],
    "regnet": ["regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf",
               "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf", "regnet_x_400mf", "regnet_x_800mf",
               "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"],
    "convnext": ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"],
    "vision_transformer": ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"],
    "swin_transformer": ["swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"],
    "maxvit": ["maxvit_t"],
}

NUM_CLASSES = 1000


def input_size(builder: str, batch: int = 1) -> tuple:
    """The standard input of a builder: (1, 3, 224, 224), or 299 for Inception v3."""
    side = 299 if builder == "inception_v3" else 224
    return (batch, 3, side, side)


def model_path(stem: str) -> Path:
    return MODELS_DIR / f"{stem}.py"


def sources_present() -> bool:
    return all(model_path(stem).is_file() for stem in BUILDERS)


def driver(builder: str) -> str:
    """The analysis driver appended (in memory) to a model file: build with defaults, run on the
    standard input, exactly what corpus/run_model.py does with torch."""
    dims = ", ".join(str(d) for d in input_size(builder))
    return (
        "\n\n# --- shapels corpus driver (appended in memory) ---\n"
        f"model = {builder}()\n"
        "model.eval()\n"
        f"output = model(torch.randn({dims}))\n"
    )


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text())
