"""Research-style models driven and mutated, labelled by running them (issue 19's "Done means" corpus).

The four packages of corpus/research_sweep.py (vit-pytorch, x-transformers, denoising-diffusion-pytorch,
segmentation-models-pytorch, wheels at pinned versions in .tools/, read as files) give the models in MODELS:
each is built with a small configuration and called on a small input by a driver appended to the file that
defines its class, as a user of the package writes it (`model = ViT(...)`, `img = torch.randn(...)`,
`out = model(img)`). shapels reads that text, the real source, with the packages' other files through its
loader; corpus/research_run.py runs the same text with torch in .tools/research-venv (made on first use: the
project's torch and einops through a .pth line, and the packages' small pure-Python dependencies pinned in
DEPENDENCIES), which gives every label.

Per model: the run's output shape and shapels' inferred `out` (exact when equal); error-level findings on the
unmutated text (false alarms, target 0). Mutants change one line, in the code the driven model executes
(lines that ran in the traced unmutated run) or in its driver:
- in the package file, a layer constructor's argument: `scale` (corpus/mutate.py: a channel-like argument
  times two, an int geometry argument plus one), `literal` and `swap_name` (corpus/intent_mutants.py: an
  int literal off by one / doubled, an int variable swapped for another int local of the same function);
- in the driver: `drop_batch`, `channels_last`, `image_size`, `transpose_2d` (corpus/intent_mutants.py's on
  the input factory), `input_channels` (the input's dim 1 doubled) and `config` (an int argument of the
  model's constructor changed: channel counts doubled, sizes to another size, other ints plus one).
Each mutant is run: *fails* or *runs*. For a failing one, *detected* is any error-level finding, *on line* one
starting on the mutated line. Errors on a mutant that runs are false alarms. The first error's preferred fix
is applied and the text run again: it *runs*, *restores the output* (the unmutated output shape) and
*restores every call* (every module call's input and output shapes as in the unmutated run); the
alternatives are tried too, and every offered fix (preferred and alternatives) must leave text that parses.

Usage: .venv/bin/python corpus/research_mutants.py   (writes corpus/RESEARCH_MUTANTS.md and
       .tools/research-mutants.json; labels cached in .tools/research_labels.json)
       ... --model NAME (one model, table only), --commit REV (shapels as it was at a commit), --cap N
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import random
import select
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:  # this checkout's shapels, not the one an editable install may point at
    sys.path.insert(1, str(ROOT))

import intent_mutants as im
import libcst as cst
from mutate import candidates as scale_candidates
from research_sweep import PACKAGES, READ_ONLY, ZOO, archived_shapels, fetch
from wheels import venv_beside_project

VENV = ROOT / ".tools" / "research-venv"
RUNNER = HERE / "research_run.py"
RESULTS = HERE / "RESEARCH_MUTANTS.md"
CACHE = ROOT / ".tools" / "research_labels.json"
DUMP = ROOT / ".tools" / "research-mutants.json"
LABEL_VERSION = 1
# The packages' own dependencies that model code uses, pinned (the rest are stand-ins, see research_run.py).
DEPENDENCIES = ["einx==0.4.3", "loguru==0.7.3", "torch-einops-utils==0.2.0", "huggingface-hub==2.4.0",
                "safetensors==0.8.0", "tqdm==4.70.1", "numpy==2.4.6"]
RUN_TIMEOUT = 120
BUDGET = 20.0  # shapels' time budget per analysis (the CLI's default is 5 s; these files are large)
STATIC_TIMEOUT = 90
CAP = 3  # mutants per model and operator, sampled (seeded by model and operator)
MARK = "# --- shapels corpus driver (appended in memory) ---"

# name -> (distribution, defining module, imports the driver needs from other modules, constructor,
#          input statements, call)
IMG = "img = torch.randn(1, 3, 32, 32)"
VIT = "image_size=32, patch_size=8, num_classes=10, dim=64, depth=2, heads=4, mlp_dim=128"
MODELS = {
    "ViT": ("vit-pytorch", "vit_pytorch.vit", "", f"ViT({VIT})", [IMG], "model(img)"),
    "SimpleViT": ("vit-pytorch", "vit_pytorch.simple_vit", "", f"SimpleViT({VIT})", [IMG], "model(img)"),
    "DeepViT": ("vit-pytorch", "vit_pytorch.deepvit", "", f"DeepViT({VIT})", [IMG], "model(img)"),
    "CaiT": ("vit-pytorch", "vit_pytorch.cait", "", f"CaiT({VIT}, cls_depth=1)", [IMG], "model(img)"),
    "ViT for small datasets": ("vit-pytorch", "vit_pytorch.vit_for_small_dataset", "", f"ViT({VIT})", [IMG],
                               "model(img)"),
    "LocalViT": ("vit-pytorch", "vit_pytorch.local_vit", "", f"LocalViT({VIT})", [IMG], "model(img)"),
    "XCiT": ("vit-pytorch", "vit_pytorch.xcit", "", f"XCiT({VIT}, cls_depth=1)", [IMG], "model(img)"),
    "ParallelViT": ("vit-pytorch", "vit_pytorch.parallel_vit", "", f"ViT({VIT}, num_parallel_branches=2)", [IMG],
                    "model(img)"),
    "RvT": ("vit-pytorch", "vit_pytorch.rvt", "", f"RvT({VIT})", [IMG], "model(img)"),
    "ViT with patch merger": ("vit-pytorch", "vit_pytorch.vit_with_patch_merger", "",
                              f"ViT({VIT}, patch_merge_layer=1, patch_merge_num_tokens=4)", [IMG], "model(img)"),
    "SimpleViT with registers": ("vit-pytorch", "vit_pytorch.simple_vit_with_register_tokens", "",
                                 f"SimpleViT({VIT}, num_register_tokens=4)", [IMG], "model(img)"),
    "T2T-ViT": ("vit-pytorch", "vit_pytorch.t2t", "",
                "T2TViT(image_size=32, num_classes=10, dim=64, depth=2, heads=4, mlp_dim=128, "
                "t2t_layers=((7, 4), (3, 2), (3, 2)))", [IMG], "model(img)"),
    "CrossViT": ("vit-pytorch", "vit_pytorch.cross_vit", "",
                 "CrossViT(image_size=32, num_classes=10, sm_dim=32, lg_dim=64, sm_patch_size=4, sm_enc_depth=1, "
                 "sm_enc_heads=4, sm_enc_mlp_dim=64, lg_patch_size=8, lg_enc_depth=1, lg_enc_heads=4, "
                 "lg_enc_mlp_dim=128, cross_attn_depth=1, cross_attn_heads=4, depth=1)", [IMG], "model(img)"),
    "PiT": ("vit-pytorch", "vit_pytorch.pit", "",
            "PiT(image_size=32, patch_size=8, num_classes=10, dim=64, depth=(1, 1, 1), heads=4, mlp_dim=128)",
            [IMG], "model(img)"),
    "CCT": ("vit-pytorch", "vit_pytorch.cct", "",
            "CCT(img_size=32, embedding_dim=64, n_conv_layers=1, kernel_size=3, stride=1, padding=1, "
            "pooling_kernel_size=3, pooling_stride=2, pooling_padding=1, num_layers=2, num_heads=4, mlp_ratio=2., "
            "num_classes=10, positional_embedding='learnable')", [IMG], "model(img)"),
    "NesT": ("vit-pytorch", "vit_pytorch.nest", "",
             "NesT(image_size=32, patch_size=4, dim=32, heads=4, num_hierarchies=3, block_repeats=(1, 1, 1), "
             "num_classes=10)", [IMG], "model(img)"),
    "MaxViT": ("vit-pytorch", "vit_pytorch.max_vit", "",
               "MaxViT(num_classes=10, dim_conv_stem=16, dim=32, dim_head=16, depth=(1, 1), window_size=4)",
               [IMG], "model(img)"),
    "MobileViT": ("vit-pytorch", "vit_pytorch.mobile_vit", "",
                  "MobileViT(image_size=(64, 64), dims=[32, 48, 64], channels=[16, 16, 24, 24, 32, 32, 48, 48, 64, "
                  "64, 128], num_classes=10, depths=(1, 1, 1))", ["img = torch.randn(1, 3, 64, 64)"], "model(img)"),
    "CvT": ("vit-pytorch", "vit_pytorch.cvt", "",
            "CvT(num_classes=10, s1_emb_dim=32, s2_emb_dim=48, s2_heads=2, s2_depth=1, s3_emb_dim=64, s3_heads=4, "
            "s3_depth=1)", [IMG], "model(img)"),
    "LeViT": ("vit-pytorch", "vit_pytorch.levit", "",
              "LeViT(image_size=64, num_classes=10, stages=3, dim=(32, 48, 64), depth=1, heads=(2, 3, 4), "
              "mlp_mult=2)", ["img = torch.randn(1, 3, 64, 64)"], "model(img)"),
    "SepViT": ("vit-pytorch", "vit_pytorch.sep_vit", "",
               "SepViT(num_classes=10, dim=16, dim_head=8, heads=(1, 2, 4, 8), depth=(1, 1, 1, 1))",
               ["img = torch.randn(1, 3, 224, 224)"], "model(img)"),
    "ViT-1D": ("vit-pytorch", "vit_pytorch.vit_1d", "",
               "ViT(seq_len=64, patch_size=8, num_classes=10, dim=64, depth=2, heads=4, mlp_dim=128)",
               ["series = torch.randn(1, 3, 64)"], "model(series)"),
    "SimpleViT-1D": ("vit-pytorch", "vit_pytorch.simple_vit_1d", "",
                     "SimpleViT(seq_len=64, patch_size=8, num_classes=10, dim=64, depth=2, heads=4, mlp_dim=128)",
                     ["series = torch.randn(1, 3, 64)"], "model(series)"),
    "ViT-3D": ("vit-pytorch", "vit_pytorch.vit_3d", "",
               "ViT(image_size=32, frames=8, image_patch_size=8, frame_patch_size=2, num_classes=10, dim=64, depth=2, "
               "heads=4, mlp_dim=128)", ["video = torch.randn(1, 3, 8, 32, 32)"], "model(video)"),
    "ViViT": ("vit-pytorch", "vit_pytorch.vivit", "",
              "ViViT(image_size=32, frames=8, image_patch_size=8, frame_patch_size=2, num_classes=10, dim=64, "
              "spatial_depth=1, temporal_depth=1, heads=4, mlp_dim=128)", ["video = torch.randn(1, 3, 8, 32, 32)"],
              "model(video)"),
    "DDPM Unet": ("denoising-diffusion-pytorch", "denoising_diffusion_pytorch.denoising_diffusion_pytorch", "",
                  "Unet(dim=16, dim_mults=(1, 2))", [IMG, "t = torch.randint(0, 1000, (1,))"], "model(img, t)"),
    "DDPM Unet1D": ("denoising-diffusion-pytorch", "denoising_diffusion_pytorch.denoising_diffusion_pytorch_1d", "",
                    "Unet1D(dim=16, dim_mults=(1, 2), channels=3)",
                    ["seq = torch.randn(1, 3, 32)", "t = torch.randint(0, 1000, (1,))"], "model(seq, t)"),
    "KarrasUnet": ("denoising-diffusion-pytorch", "denoising_diffusion_pytorch.karras_unet", "",
                   "KarrasUnet(image_size=32, dim=16, dim_max=64, channels=3, num_downsamples=2, "
                   "num_blocks_per_stage=1, attn_res=(8,), attn_dim_head=16)", [IMG, "t = torch.rand(1)"],
                   "model(img, t)"),
    "KarrasUnet1D": ("denoising-diffusion-pytorch", "denoising_diffusion_pytorch.karras_unet_1d", "",
                     "KarrasUnet1D(seq_len=32, dim=16, dim_max=64, channels=3, num_downsamples=2, "
                     "num_blocks_per_stage=1, attn_res=(8,), attn_dim_head=16)",
                     ["seq = torch.randn(1, 3, 32)", "t = torch.rand(1)"], "model(seq, t)"),
    "UViT (simple diffusion)": ("denoising-diffusion-pytorch", "denoising_diffusion_pytorch.simple_diffusion", "",
                                "UViT(dim=16, dim_mults=(1, 2), vit_depth=1, attn_dim_head=16, attn_heads=2)",
                                [IMG, "t = torch.rand(1)"], "model(img, t)"),
    "TransformerWrapper (decoder)": ("x-transformers", "x_transformers.x_transformers", "",
                                     "TransformerWrapper(num_tokens=100, max_seq_len=32, "
                                     "attn_layers=Decoder(dim=64, depth=1, heads=4))",
                                     ["tokens = torch.randint(0, 100, (1, 16))"], "model(tokens)"),
    "TransformerWrapper (encoder)": ("x-transformers", "x_transformers.x_transformers", "",
                                     "TransformerWrapper(num_tokens=100, max_seq_len=32, "
                                     "attn_layers=Encoder(dim=64, depth=1, heads=4))",
                                     ["tokens = torch.randint(0, 100, (1, 16))"], "model(tokens)"),
    "ViTransformerWrapper": ("x-transformers", "x_transformers.x_transformers", "",
                             "ViTransformerWrapper(image_size=32, patch_size=8, num_classes=10, "
                             "attn_layers=Encoder(dim=64, depth=1, heads=4))", [IMG], "model(img)"),
    "ContinuousTransformerWrapper": ("x-transformers", "x_transformers.continuous",
                                     "from x_transformers.x_transformers import Encoder",
                                     "ContinuousTransformerWrapper(dim_in=8, dim_out=8, max_seq_len=32, "
                                     "attn_layers=Encoder(dim=64, depth=1, heads=4))",
                                     ["x = torch.randn(1, 16, 8)"], "model(x)"),
    "smp Unet (MobileOne-S0)": ("segmentation-models-pytorch", "segmentation_models_pytorch.decoders.unet.model", "",
                                "Unet(encoder_name='mobileone_s0', encoder_weights=None, in_channels=3, classes=2)",
                                ["img = torch.randn(1, 3, 64, 64)"], "model(img)"),
    "smp FPN (EfficientNet-B0)": ("segmentation-models-pytorch", "segmentation_models_pytorch.decoders.fpn.model", "",
                                  "FPN(encoder_name='efficientnet-b0', encoder_weights=None, in_channels=3, classes=2)",
                                  ["img = torch.randn(1, 3, 64, 64)"], "model(img)"),
    "smp Linknet (MobileOne-S0)": ("segmentation-models-pytorch", "segmentation_models_pytorch.decoders.linknet.model",
                                   "", "Linknet(encoder_name='mobileone_s0', encoder_weights=None, in_channels=3, "
                                   "classes=2)", ["img = torch.randn(1, 3, 64, 64)"], "model(img)"),
    "smp Segformer (MiT-B0)": ("segmentation-models-pytorch", "segmentation_models_pytorch.decoders.segformer.model",
                               "", "Segformer(encoder_name='mit_b0', encoder_weights=None, in_channels=3, classes=2)",
                               ["img = torch.randn(1, 3, 64, 64)"], "model(img)"),
}

LAYER_OPERATORS = ["scale", "literal", "swap_name"]
DRIVER_OPERATORS = ["drop_batch", "channels_last", "image_size", "transpose_2d", "input_channels", "config"]
OPERATORS = LAYER_OPERATORS + DRIVER_OPERATORS


# --------------------------------------------------------------------------------------------------------
# Sources, drivers and the labelling environment.
# --------------------------------------------------------------------------------------------------------

def sources() -> dict:
    """distribution -> its unzipped source root (timm's too: segmentation-models-pytorch reads its layers)."""
    found = {dist: fetch(dist, version, module) for dist, (version, module) in READ_ONLY.items()}
    found.update({dist: fetch(dist, version, module) for dist, (version, module) in PACKAGES.items()})
    return found


def module_path(srcs: dict, dist: str, module: str) -> Path:
    base = srcs[dist] / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def driver(spec: tuple) -> str:
    _, _, imports, constructor, inputs, call = spec
    lines = ["", "", MARK, "import torch"] + [line for line in imports.splitlines() if line]
    lines += [f"model = {constructor}", "model.eval()", *inputs, f"out = {call}"]
    return "\n".join(lines) + "\n"


def venv_python() -> Path:
    """The labelling interpreter: a venv seeing the project's site-packages (torch, einops) through a .pth
    line, with DEPENDENCIES installed into it on first use."""
    return venv_beside_project(VENV, DEPENDENCIES)


class Labeller:
    """A client of corpus/research_run.py's worker, with a cache keyed by the module and the text's sha256."""

    def __init__(self, roots: list, cache: Path | None = CACHE):
        self.roots = [str(r) for r in roots]
        self.cache_path = cache
        self.proc = None
        self.labels: dict = {}
        self.unsettled: dict = {}  # this run's timed-out and died labels, never saved (im.UNSETTLED)
        self.fresh = 0
        self.seconds = 0.0
        if cache is not None and cache.is_file():
            stored = json.loads(cache.read_text())
            if stored.get("version") == LABEL_VERSION:
                self.labels = stored["labels"]

    def label(self, module: str, path: Path, text: str, trace: bool = False) -> dict:
        key = hashlib.sha256(f"{module}\0{text}".encode()).hexdigest() + (":trace" if trace else "")
        found = self.labels.get(key) or self.unsettled.get(key)
        if found is None:
            started = time.monotonic()
            found = self._run({"module": module, "path": str(path), "text": text, "trace": trace,
                               "driver_line": driver_line(text), "timeout": RUN_TIMEOUT})
            im.keep(self.labels, self.unsettled, key, found)
            self.seconds += time.monotonic() - started
            self.fresh += 1
            if self.fresh % 25 == 0:
                self.save()
        return found

    def _start(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([str(venv_python()), str(RUNNER), "--worker", *self.roots], cwd=str(ROOT),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True, bufsize=1)
            if self._ask({"ping": True}, 600) is None:
                self.close()
                raise RuntimeError("the labelling worker did not start")

    def _ask(self, job: dict, timeout: float) -> dict | None:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        answer = self.proc.stdout.readline() if ready else ""
        return json.loads(answer) if answer else None

    def _run(self, job: dict) -> dict:
        self._start()
        answer = self._ask(job, RUN_TIMEOUT + 60)
        if answer is None:
            self.close()
            return {"runs": False, "error_type": "WorkerDied", "error": "", "error_line": None, "output_shape": None,
                    "calls": []}
        return answer

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.stdin.close()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None

    def save(self):
        if self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": LABEL_VERSION, "labels": self.labels}))
        tmp.replace(self.cache_path)


def driver_line(text: str) -> int:
    """The 1-based line of the driver's marker: the file part ends just above it."""
    return text[:text.index(MARK)].count("\n") + 1


# --------------------------------------------------------------------------------------------------------
# The static side: shapels in process, as the CLI runs it, with the packages on its loader.
# --------------------------------------------------------------------------------------------------------

def static(text: str, path: Path, roots: list) -> dict:
    """Error-level findings (with their fixes), whether the analysis stopped at its budget, and the
    inferred shape of the driver's `out`."""
    from shapels.analysis import engine
    from shapels.imports import FileLoader

    captured: dict = {}
    run_driver = engine._run_driver

    def capture(interp, module, *rest):  # the driver's globals: where `out` lands
        run_driver(interp, module, *rest)
        captured["globals"] = interp.globals

    engine._run_driver = capture
    started = time.monotonic()
    try:
        with im.time_limit(STATIC_TIMEOUT):
            result = engine.analyze(text, str(path), engine.Options(
                loader=FileLoader(roots=[*roots, ZOO], include_site_packages=False), budget_seconds=BUDGET))
    except Exception as error:  # noqa: BLE001 - an engine crash is a result to report
        return {"errors": [], "partial": True, "crash": f"{type(error).__name__}: {error}"[:300], "output": "unknown",
                "seconds": time.monotonic() - started, "internal": []}
    finally:
        engine._run_driver = run_driver
    out = captured.get("globals", {}).get("out")
    shape = getattr(out, "shape", None)
    errors = [{"code": f.code, "line": f.span.start_line, "end_line": f.span.end_line, "col": f.span.start_col,
               "message": f.message, "fix": im._fix_dict(f.fix, text),
               "alternatives": [d for d in (im._fix_dict(a, text) for a in f.alternatives) if d]}
              for f in result.findings if f.severity == "error" and f.span is not None]
    internal = [f.message[:200] for f in result.findings if f.code == "analysis-internal-error"]
    return {"errors": errors, "partial": result.partial and not internal, "crash": None, "internal": internal,
            "output": shape.show() if shape is not None else "unknown", "seconds": time.monotonic() - started}


def shown(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")" if isinstance(shape, list) \
        else json.dumps(shape)


# --------------------------------------------------------------------------------------------------------
# Mutants.
# --------------------------------------------------------------------------------------------------------

class _Finder(im._Finder):
    """intent_mutants' finder, remembering each layer argument's whole constructor call (its lines)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.call_lines: dict = {}  # (line, col) of an argument's value -> (first, last line of its call)
        self.constructors: list = []  # top-level `model = X(...)` calls (the driver's constructor)

    def _layer_args(self, layer, node):
        before = len(self.layer_args)
        super()._layer_args(layer, node)
        where = self.pos(node)
        for _, _, value, _ in self.layer_args[before:]:
            start = self.pos(value).start
            self.call_lines[(start.line, start.column)] = (where.start.line, where.end.line)

    def visit_Assign(self, node):
        super().visit_Assign(node)
        if (not self.scopes and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name)
                and node.targets[0].target.value == "model" and isinstance(node.value, cst.Call)):
            self.constructors.append(node.value)


def _finder(text: str) -> _Finder:
    from libcst.metadata import MetadataWrapper, PositionProvider

    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    finder = _Finder(text, wrapper.resolve(PositionProvider), module.code_for_node)
    module.visit(finder)
    return finder


SIZE_NAMES = {"image_size": {32: 28, 64: 48}, "img_size": {32: 28}, "seq_len": {64: 60, 32: 30},
              "patch_size": {8: 6, 4: 3}, "image_patch_size": {8: 6}, "frames": {8: 6}, "frame_patch_size": {2: 3},
              "max_seq_len": {32: 8}}


def _config_value(name: str, value: int) -> int | None:
    """The `config` operator's new value for an int argument of the driver's constructor."""
    if name in SIZE_NAMES:
        return SIZE_NAMES[name].get(value, value * 3 // 4)
    if "channels" in name or name in ("dim_in",):
        return value * 2
    if name in ("num_classes", "classes", "num_tokens", "dim_out"):
        return value + 1
    if "dim" in name:
        return value - 1 if value % 2 == 0 else value + 1
    return value + 1


def op_config(name: str, finder: _Finder) -> list:
    out = []

    def visit(call: cst.Call):
        for arg in call.args:
            if isinstance(arg.value, cst.Call):
                visit(arg.value)  # attn_layers=Decoder(dim=64, ...)
            if arg.keyword is None or not isinstance(arg.value, cst.Integer):
                continue
            new = _config_value(arg.keyword.value, int(arg.value.value))
            if new is not None:
                out.append(im._edit(name, "config", finder, arg.value, str(new), arg.keyword.value))

    for call in finder.constructors:
        visit(call)
    return out


def op_input_channels(name: str, finder: _Finder) -> list:
    out = []
    for _, sizes, box in finder.factories:
        if len(sizes) >= 3 and im._size_value(sizes[1], finder):
            value = im._size_value(sizes[1], finder)
            out.append(im._resize(name, "input_channels", finder, sizes, box, list(range(len(sizes))),
                                  {1: str(value * 2)}))
    return out


def op_scale(name: str, text: str) -> list:
    """corpus/mutate.py's mutations (channel-like argument times two, int geometry plus one) as mutants."""
    out = []
    for m in scale_candidates(text):
        if m.line == m.end_line:
            out.append(im.Mutant(name, "scale", m.line, m.col, m.end_line, m.end_col, m.original, m.new,
                                 f"{m.layer}.{m.param}"))
    return out


def mutants(name: str, text: str, base: dict, cap: int = CAP) -> list:
    """One model's mutants: layer-argument operators on lines its unmutated run executed, driver operators
    on the driver; at most `cap` per operator, sampled with a seed of the model and operator."""
    finder = _finder(text)
    first_driver = driver_line(text)
    executed = set(base.get("executed_lines", []))
    finder.factories = [f for f in finder.factories if finder.pos(f[0]).start.line > first_driver]

    def live(m: im.Mutant) -> bool:
        if m.line >= first_driver:
            return False
        start, end = finder.call_lines.get((m.line, m.col), (m.line, m.end_line))
        return any(line in executed for line in range(start, end + 1))

    found: dict = {}
    found["scale"] = [m for m in op_scale(name, text) if live(m)]
    found["literal"] = [m for m in im.op_literal(name, finder) if m is not None and live(m)]
    found["swap_name"] = [m for m in im.op_swap_name(name, finder, base.get("locals", {})) if m is not None and live(m)]
    for op in ("drop_batch", "channels_last", "image_size", "transpose_2d"):
        found[op] = getattr(im, f"op_{op}")(name, finder)
    found["input_channels"] = op_input_channels(name, finder)
    found["config"] = op_config(name, finder)
    seen: set = set()
    out = []
    for op in OPERATORS:
        unique = {}
        for m in found[op]:
            if m is None or m.new == m.original:
                continue
            key = (m.line, m.col, m.end_line, m.end_col, m.new)
            if key not in seen:
                unique[key] = m
        chosen = sorted(unique.values(), key=lambda m: (m.line, m.col, m.new))
        if len(chosen) > cap:
            chosen = sorted(random.Random(f"{name}:{op}").sample(chosen, cap), key=lambda m: (m.line, m.col, m.new))
        seen.update((m.line, m.col, m.end_line, m.end_col, m.new) for m in chosen)
        out.extend(chosen)
    return out


# --------------------------------------------------------------------------------------------------------
# Evaluation.
# --------------------------------------------------------------------------------------------------------

def _calls(label: dict) -> list:
    return [tuple(json.dumps(c[i]) for i in range(4)) for c in label.get("calls", [])]


def judge(base: dict, fixed: dict) -> str:
    """fails | restores every call | restores the output | runs (another output) — the fixed text's run."""
    if not fixed["runs"]:
        return "fails"
    if _calls(base) == _calls(fixed):
        return "restores every call"
    if base["output_shape"] == fixed["output_shape"]:
        return "restores the output"
    return "runs, another output"


def _parses(text: str, fix: dict) -> bool:
    try:
        ast.parse(im.apply_fix(text, fix))
        return True
    except (SyntaxError, ValueError, IndexError):
        return False


def evaluate_model(name: str, spec: tuple, srcs: dict, roots: list, labeller: Labeller, cap: int) -> dict:
    dist, module = spec[0], spec[1]
    path = module_path(srcs, dist, module)
    text = path.read_text() + driver(spec)
    base = labeller.label(module, path, text, trace=True)
    static_base = static(text, path, roots)
    row = {"model": name, "package": dist, "module": module, "file": str(path.relative_to(srcs[dist])),
           "runs": base["runs"], "output": base["output_shape"], "error": base["error"],
           "inferred": static_base["output"], "base_errors": static_base["errors"],
           "base_partial": static_base["partial"], "base_crash": static_base["crash"],
           "base_internal": static_base["internal"], "base_seconds": static_base["seconds"], "mutants": []}
    row["exact"] = base["runs"] and isinstance(base["output_shape"], list) and \
        static_base["output"] == shown(base["output_shape"])
    if not base["runs"]:
        return row
    for m in mutants(name, text, base, cap):
        row["mutants"].append(evaluate_mutant(m, text, module, path, base, roots, labeller))
    return row


def evaluate_mutant(m: im.Mutant, text: str, module: str, path: Path, base: dict, roots: list,
                    labeller: Labeller) -> dict:
    mutated = m.apply(text)
    label = labeller.label(module, path, mutated)
    found = static(mutated, path, roots)
    errors = found["errors"]
    entry = {**asdict(m), "mutated_line": mutated.splitlines()[m.line - 1].strip(), "in_driver":
             m.line >= driver_line(text), "fails": not label["runs"], "error_type": label["error_type"],
             "error": label["error"], "error_line": label["error_line"], "output": label["output_shape"],
             "errors": errors, "partial": found["partial"], "crash": found["crash"], "seconds": found["seconds"],
             "detected": bool(errors), "on_line": any(e["line"] <= m.line <= e["end_line"] for e in errors),
             "verdict": None, "alt_verdicts": [], "fixed_errors": [], "fixes_offered": 0, "fixes_parse": 0}
    for e in errors:
        for fix in [e["fix"], *e["alternatives"]]:
            if fix is not None:
                entry["fixes_offered"] += 1
                entry["fixes_parse"] += _parses(mutated, fix)
    if label["runs"] or not errors:
        return entry
    fix = errors[0]["fix"]
    entry["verdict"] = "no fix" if fix is None else _try(fix, mutated, module, path, base, labeller)
    entry["alt_verdicts"] = [_try(alt, mutated, module, path, base, labeller) for alt in errors[0]["alternatives"]]
    # shapels on each fixed text: an offered fix should leave no error behind
    entry["fixed_errors"] = [_errors_after(f, mutated, path, roots) for f in [fix, *errors[0]["alternatives"]]
                             if f is not None]
    return entry


def _errors_after(fix: dict, text: str, path: Path, roots: list) -> list | None:
    """The error-level findings shapels reports on the text with `fix` applied (None: not appliable)."""
    try:
        fixed = im.apply_fix(text, fix)
    except (IndexError, ValueError):
        return None
    return [f"line {e['line']}: {e['code']}: {e['message'][:120]}" for e in static(fixed, path, roots)["errors"]]


def _try(fix: dict, text: str, module: str, path: Path, base: dict, labeller: Labeller) -> str:
    try:
        fixed = im.apply_fix(text, fix)
    except (IndexError, ValueError):
        return "unappliable"
    if MARK not in fixed:
        return "unappliable"
    return judge(base, labeller.label(module, path, fixed))


# --------------------------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------------------------

def _pct(n: int, d: int) -> str:
    return f"{n} / {d} ({100 * n / d:.0f}%)" if d else f"{n} / 0"


def _cell(text) -> str:
    text = str(text if text is not None else "").replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 160 else text[:157] + "..."


def summarise(entries: list) -> dict:
    failing = [e for e in entries if e["fails"]]
    detected = [e for e in failing if e["detected"]]
    fixed = [e for e in detected if e["verdict"] not in (None, "no fix")]
    return {
        "mutants": len(entries), "failing": len(failing), "detected": len(detected),
        "on_line": sum(e["on_line"] for e in failing), "running": len(entries) - len(failing),
        "alarms": sum(e["detected"] for e in entries if not e["fails"]),
        "fixes": len(fixed), "fix_runs": sum(e["verdict"] not in ("fails", "unappliable") for e in fixed),
        "fix_output": sum(e["verdict"] in ("restores every call", "restores the output") for e in fixed),
        "fix_calls": sum(e["verdict"] == "restores every call" for e in fixed),
        "alt_output": sum(e["verdict"] in ("restores every call", "restores the output")
                          or any(v in ("restores every call", "restores the output") for v in e["alt_verdicts"])
                          for e in fixed),
        "fixed_clean": sum(bool(e["fixed_errors"]) and e["fixed_errors"][0] == [] for e in fixed),
        "all_fixes": sum(len(e["fixed_errors"]) for e in detected),
        "all_fixes_run": sum(v not in ("fails", "unappliable") for e in detected
                             for v in ([e["verdict"]] if e["verdict"] not in (None, "no fix") else []) + e["alt_verdicts"]),
        "all_fixes_clean": sum(f == [] for e in detected for f in e["fixed_errors"]),
        "offered": sum(e["fixes_offered"] for e in entries), "parse": sum(e["fixes_parse"] for e in entries),
        "partial": sum(e["partial"] for e in entries), "crashes": sum(bool(e["crash"]) for e in entries),
    }


TABLE = ("| {name} | {mutants} | {failing} | {det} | {line} | {alarms} | {fixes} | {fix_runs} | {fix_output} "
         "| {fix_calls} | {alt_output} | {fixed_clean} | {parse} |")


def _table_row(name: str, s: dict) -> str:
    f = s["failing"]
    return TABLE.format(name=name, mutants=s["mutants"], failing=f, det=_pct(s["detected"], f),
                        line=_pct(s["on_line"], f), alarms=f"{s['alarms']} of {s['running']}", fixes=s["fixes"],
                        fix_runs=_pct(s["fix_runs"], s["fixes"]), fix_output=_pct(s["fix_output"], s["fixes"]),
                        fix_calls=_pct(s["fix_calls"], s["fixes"]), alt_output=_pct(s["alt_output"], s["fixes"]),
                        fixed_clean=_pct(s["fixed_clean"], s["fixes"]), parse=f"{s['parse']} of {s['offered']}")


HEADER = ["| | mutants | fail when run | detected | on the mutated line | errors on running mutants (false alarms) "
          "| preferred fixes tried | fix runs | fix restores the output | fix restores every call "
          "| fix or an alternative restores the output | fixed text: no error left | offered fixes that parse |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]


def render(rows: list, measured: str, seconds: float, labeller: Labeller) -> str:
    entries = [e for r in rows for e in r["mutants"]]
    driven = [r for r in rows if r["runs"]]
    alarms = [(r, e) for r in driven for e in r["base_errors"]]
    broken = [r for r in rows if not r["runs"]]
    s = summarise(entries)
    versions = ", ".join(f"{d} {v}" for d, (v, _) in {**PACKAGES, **READ_ONLY}.items())
    out = [
        "# shapels on research-style models: driven, mutated, labelled by running them",
        "",
        "Written by `.venv/bin/python corpus/research_mutants.py` (see its docstring; not part of CI). Packages: "
        f"{versions} (wheels from `pip download --no-deps`, read as files; timm is read for "
        "segmentation-models-pytorch's encoder layers, and torchvision's sources from `corpus/fetch_zoo.sh`). "
        f"Runs: torch 2.13 CPU in `.tools/research-venv` with {', '.join(DEPENDENCIES)}; torchvision, PIL, accelerate, "
        "ema-pytorch, pytorch-fid and scipy are stand-ins there (training and data code only). "
        f"shapels: {measured}, time budget {BUDGET:g} s per analysis. Took {seconds:.0f} s "
        f"({labeller.fresh} runs not in the label cache, {labeller.seconds:.0f} s of them).",
        "",
        "- Each model is built and called by a driver appended to the file that defines its class (shapels reads "
        "that text; the run imports the package with that file replaced, then runs the driver). *exact*: shapels' "
        "shape of the driver's `out` equals the run's.",
        "- Mutants change one line: a layer argument on a line the unmutated run executed (`scale`, `literal`, "
        "`swap_name`), or the driver's input or constructor arguments (the other operators); at most "
        f"{CAP} per model and operator. *fail when run*: the mutant raises. *detected*: shapels reports an "
        "error-level finding. *on the mutated line*: one whose span covers the mutated line. Errors on mutants "
        "that run are false alarms.",
        "- A fix is tried on the first error of a failing mutant: applied and run (*runs*; *restores the output*: "
        "the unmutated output shape; *restores every call*: every module call's input and output shapes as "
        "unmutated), and re-analysed by shapels (*no error left*).",
        "",
        "## Figures",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| driven models that run | {len(driven)} of {len(rows)} | ≥ 20 |",
        f"| error-level findings on the unmutated drivers that run (false alarms) | {len(alarms)} | 0 |",
        f"| unmutated drivers that fail when run (a bug in the package) / with an error from shapels | "
        f"{len(broken)} / {sum(bool(r['base_errors']) for r in broken)} | |",
        f"| output shape exact | {_pct(sum(r['exact'] for r in driven), len(driven))} | ≥ 80% |",
        f"| mutant recall (failing mutants with an error) | {_pct(s['detected'], s['failing'])} | ≥ 85% |",
        f"| an error on the mutated line (of failing mutants) | {_pct(s['on_line'], s['failing'])} | ≥ 85% |",
        f"| errors on mutants that run (false alarms) | {s['alarms']} of {s['running']} | 0 |",
        f"| preferred fix runs (of detected failing mutants with a fix) | {_pct(s['fix_runs'], s['fixes'])} | |",
        f"| preferred fix restores the unmutated output shape | {_pct(s['fix_output'], s['fixes'])} | |",
        f"| preferred fix: shapels finds no error on the fixed text | {_pct(s['fixed_clean'], s['fixes'])} | all |",
        f"| every fix offered on a failing mutant's first error (preferred and alternatives): runs | "
        f"{_pct(s['all_fixes_run'], s['all_fixes'])} | all |",
        f"| ... shapels finds no error on the fixed text | {_pct(s['all_fixes_clean'], s['all_fixes'])} | all |",
        f"| offered fixes (preferred and alternatives, every error of every mutant) whose text parses | "
        f"{s['parse']} of {s['offered']} | all |",
        f"| analyses stopped at the budget / crashed | {s['partial']} / {s['crashes']} | |",
        "",
        "## Driven models",
        "",
        "| model | package | file | run's output | shapels' `out` | exact | errors (unmutated) | analysis (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ran = shown(r["output"]) if r["runs"] else f"fails: {_cell(r['error'])}"
        extra = " (at the budget)" if r["base_partial"] else ""
        out.append(f"| {r['model']} | {r['package']} | `{r['file']}` | {ran} | {r['inferred']}{extra} | "
                   f"{'yes' if r['exact'] else 'no'} | {len(r['base_errors'])} | {r['base_seconds']:.1f} |")
    out += ["", "## By package", "",
            "| package | driven models that run | output exact | mutants | fail when run | detected | on the mutated line "
            "| errors on running mutants |", "|---|---|---|---|---|---|---|---|"]
    for dist in PACKAGES:
        mine = [r for r in driven if r["package"] == dist]
        p = summarise([e for r in mine for e in r["mutants"]])
        out.append(f"| {dist} | {len(mine)} | {_pct(sum(r['exact'] for r in mine), len(mine))} | {p['mutants']} | "
                   f"{p['failing']} | {_pct(p['detected'], p['failing'])} | {_pct(p['on_line'], p['failing'])} | "
                   f"{p['alarms']} of {p['running']} |")
    out += ["", "## Mutants by operator", "", *HEADER]
    for op in OPERATORS:
        group = [e for e in entries if e["operator"] == op]
        if group:
            out.append(_table_row(op, summarise(group)))
    out.append(_table_row("**all**", s))
    out += ["", "## Mutants by model", "", *HEADER]
    for r in rows:
        if r["mutants"]:
            out.append(_table_row(r["model"], summarise(r["mutants"])))
    if alarms:
        out += ["", "## Errors on the unmutated drivers that run (false alarms)", ""]
        out += [f"- {r['model']} (`{r['file']}`) line {e['line']}: {e['code']}: {_cell(e['message'])}" for r, e in alarms]
    if broken:
        out += ["", "## Unmutated drivers that fail when run", ""]
        for r in broken:
            said = "; ".join(f"line {e['line']}: {e['code']}: {_cell(e['message'])}" for e in r["base_errors"])
            out.append(f"- {r['model']} (`{r['file']}`): torch: {_cell(r['error'])}; shapels: {said or '(nothing)'}")
    run_alarms = [(r, e) for r in rows for e in r["mutants"] if not e["fails"] and e["detected"]]
    if run_alarms:
        out += ["", "## Errors on mutants that run", "", "| model | operator | line | mutated line (was) | shapels |",
                "|---|---|---|---|---|"]
        for r, e in run_alarms:
            first = e["errors"][0]
            out.append(f"| {r['model']} | {e['operator']} | {e['line']} | `{_cell(e['mutated_line'])}` "
                       f"(`{_cell(e['original'])}`) | line {first['line']}: {first['code']}: {_cell(first['message'])} |")
    out += ["", "## Failing mutants without an error on their line", "",
            "| model | operator | line | mutated line (was) | torch says | shapels' first error |", "|---|---|---|---|---|---|"]
    for r in rows:
        for e in r["mutants"]:
            if e["fails"] and not e["on_line"]:
                first = e["errors"][0] if e["errors"] else None
                said = f"line {first['line']}: {first['code']}: {first['message']}" if first else "(nothing)"
                if e["partial"]:
                    said += " (at the budget)"
                torch_says = f"line {e['error_line']}: {e['error_type']}: {e['error']}"
                out.append(f"| {r['model']} | {e['operator']} | {e['line']} | `{_cell(e['mutated_line'])}` "
                           f"(`{_cell(e['original'])}`) | {_cell(torch_says)} | {_cell(said)} |")
    out += ["", "## Preferred fixes that do not restore the output", "",
            "| model | operator | line | mutated line (was) | fix | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        for e in r["mutants"]:
            if e["verdict"] not in (None, "no fix", "restores every call", "restores the output"):
                fix = e["errors"][0]["fix"]
                out.append(f"| {r['model']} | {e['operator']} | {e['line']} | `{_cell(e['mutated_line'])}` "
                           f"(`{_cell(e['original'])}`) | line {fix['span'][0]}: `{_cell(fix['old'])}` → "
                           f"`{_cell(fix['content'])}` | {e['verdict']} |")
    return "\n".join(out) + "\n"


def measured_shapels(commit: str | None) -> str:
    if commit:
        return f"commit {commit} (`--commit`: its `shapels/` from `git archive`)"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "shapels"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return f"commit {head}" + (" with uncommitted changes under shapels/" if dirty else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="only this model (repeatable); prints the table only")
    parser.add_argument("--commit", help="measure shapels as it was at this commit")
    parser.add_argument("--cap", type=int, default=CAP, help=f"mutants per model and operator (default {CAP})")
    parser.add_argument("--no-mutants", action="store_true", help="the unmutated drivers only")
    args = parser.parse_args(argv)
    if args.commit:
        sys.path.insert(0, str(archived_shapels(args.commit)))
    else:
        sys.path.insert(0, str(ROOT))
    srcs = sources()
    roots = list(srcs.values())
    labeller = Labeller(roots)
    started = time.monotonic()
    rows = []
    cap = 0 if args.no_mutants else args.cap
    try:
        for name, spec in MODELS.items():
            if args.model and name not in args.model:
                continue
            t = time.monotonic()
            rows.append(evaluate_model(name, spec, srcs, roots, labeller, cap))
            r = rows[-1]
            print(f"  {name}: runs {r['runs']} {r['output']} inferred {r['inferred']}, {len(r['base_errors'])} "
                  f"errors; {len(r['mutants'])} mutants, {sum(e['fails'] for e in r['mutants'])} failing "
                  f"({time.monotonic() - t:.0f} s)", file=sys.stderr, flush=True)
    finally:
        labeller.save()
        labeller.close()
    seconds = time.monotonic() - started
    text = render(rows, measured_shapels(args.commit), seconds, labeller)
    if args.model or args.no_mutants:
        print(text)
        return 0
    RESULTS.write_text(text)
    DUMP.write_text(json.dumps(rows, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
