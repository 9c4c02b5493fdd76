"""A sweep of timm, the library most model code borrows from: static side only, a manual check.

timm does not import here (its layers import torchvision, which does not import beside the CPU torch),
so its models cannot be run to label mutants; what can be checked without running is:
- `shapels check` on every source file of the package: any error or warning is a false alarm to look
  at (every file is code that runs), and a file that hits the time budget is a gap;
- drivers that build 15 classification models with their defaults and call them on (1, 3, 224, 224)
  (299 for Inception-v3): every one of them returns (1, 1000) logits when run (timm's default
  num_classes), so the inferred output is compared with that.

The wheel is fetched with pip (no dependencies) into .tools/timm and read as files. Writes
corpus/TIMM_RESULTS.md. Usage: .venv/bin/python corpus/timm_sweep.py [--version 1.0.31]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from package_sweep import fetch, loader, summary, sweep_files  # noqa: E402  (also puts the project on sys.path)
from shapels.analysis import engine  # noqa: E402
from shapels.analysis.engine import Options, analyze  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "TIMM_RESULTS.md"

# name -> (imports, constructor, input side)
MODELS = {
    "ResNet-18": ("from timm.models.resnet import ResNet, BasicBlock", "ResNet(BasicBlock, [2, 2, 2, 2])", 224),
    "SE-ResNet-50 (deep stem)": ("from timm.models.resnet import ResNet, Bottleneck",
                                 "ResNet(Bottleneck, [3, 4, 6, 3], stem_type='deep', block_args=dict(attn_layer='se'))",
                                 224),
    "VGG-11": ("from timm.models.vgg import VGG, cfgs", "VGG(cfgs['vgg11'])", 224),
    "DenseNet-121": ("from timm.models.densenet import DenseNet", "DenseNet()", 224),
    "Inception-v3": ("from timm.models.inception_v3 import InceptionV3", "InceptionV3()", 299),
    "Xception": ("from timm.models.xception import Xception", "Xception()", 224),
    "DLA": ("from timm.models.dla import DLA, DlaBottleneck",
            "DLA(levels=[1, 1, 1, 2, 2, 1], channels=[16, 32, 128, 256, 512, 1024], block=DlaBottleneck)", 224),
    "EfficientNet (2 stages)": ("from timm.models.efficientnet import EfficientNet\n"
                                "from timm.models._efficientnet_builder import decode_arch_def",
                                "EfficientNet(decode_arch_def([['ds_r1_k3_s1_e1_c16_se0.25'], "
                                "['ir_r2_k3_s2_e6_c24_se0.25']]))", 224),
    "MobileNetV3 (2 stages)": ("from timm.models.mobilenetv3 import MobileNetV3\n"
                               "from timm.models._efficientnet_builder import decode_arch_def",
                               "MobileNetV3(decode_arch_def([['ds_r1_k3_s1_e1_c16_nre'], ['ir_r1_k3_s2_e4_c24_nre']]))",
                               224),
    "RegNetX-200MF": ("from timm.models.regnet import RegNet, model_cfgs", "RegNet(model_cfgs['regnetx_002'])", 224),
    "ConvNeXt": ("from timm.models.convnext import ConvNeXt", "ConvNeXt()", 224),
    "ConvMixer-256/4": ("from timm.models.convmixer import ConvMixer", "ConvMixer(256, 4)", 224),
    "MLP-Mixer": ("from timm.models.mlp_mixer import MlpMixer", "MlpMixer()", 224),
    "ViT-B/16": ("from timm.models.vision_transformer import VisionTransformer", "VisionTransformer()", 224),
    "Swin-T": ("from timm.models.swin_transformer import SwinTransformer", "SwinTransformer()", 224),
}


def drive(src: Path) -> list:
    rows = []
    captured: dict = {}
    run_driver = engine._run_driver

    def capture(interp, module, *rest):  # the driver's globals: where `out` lands
        run_driver(interp, module, *rest)
        captured["globals"] = interp.globals

    engine._run_driver = capture
    try:
        for name, (imports, constructor, side) in MODELS.items():
            text = f"import torch\n{imports}\n\nmodel = {constructor}\nmodel.eval()\nout = model(torch.randn(1, 3, {side}, {side}))\n"
            t = time.perf_counter()
            result = analyze(text, str(src / "timm" / "models" / "_shapels_driver.py"),
                             Options(loader=loader(src), budget_seconds=20))
            seconds = time.perf_counter() - t
            out = captured.get("globals", {}).get("out")
            shape = out.shape.show() if hasattr(out, "shape") else "unknown"
            bad = [f.code for f in result.findings if f.severity in ("error", "warning")]
            rows.append({"model": name, "output": shape, "exact": shape == "(1, 1000)", "findings": bad,
                         "partial": result.partial, "seconds": seconds})
    finally:
        engine._run_driver = run_driver
    return rows


def render(version: str, files: dict, rows: list) -> str:
    exact = sum(r["exact"] for r in rows)
    lines = [
        f"# shapels on timm {version} (static side, a manual check)",
        "",
        "Reproduce: `corpus/fetch_zoo.sh && .venv/bin/python corpus/timm_sweep.py` (not part of CI: timm is not "
        "a dependency). timm does not import beside the CPU torch here, so nothing is run: every file is code "
        "that runs, so any error or warning on it is a false alarm, and every driven model returns (1, 1000) "
        "logits.",
        "",
        summary(files).split("\n")[0],
        f"- Driven models: output exactly (1, 1000) for **{exact} of {len(rows)}**; errors or warnings on "
        f"{sum(bool(r['findings']) for r in rows)}.",
        "",
        "| model | inferred output | errors/warnings | partial | analysis (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['output']} | {', '.join(r['findings']) or 'none'} | "
                     f"{'yes' if r['partial'] else 'no'} | {r['seconds']:.2f} |")
    lines.extend(summary(files).split("\n")[1:])
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.0.31")
    args = parser.parse_args(argv)
    src = fetch("timm", args.version)
    files = sweep_files(src, "timm/**/*.py")
    rows = drive(src)
    RESULTS.write_text(render(args.version, files, rows))
    print(RESULTS.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
