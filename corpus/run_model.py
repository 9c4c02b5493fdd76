"""Run a torchvision model file (or a mutant of it) with torch alone, and label what happens.

torchvision itself does not import beside the CPU torch here, so the model file is executed inside a
small fake `torchvision` package built in a temp dir: the pure-Python support files are copied from the
real wheel (models/_api.py, _meta.py, _utils.py, ops/misc.py, ops/stochastic_depth.py, _utils.py,
_internally_replaced_utils.py), and only what needs PIL, the C extension or the transforms is stubbed
(utils._log_api_usage_once, transforms._presets.ImageClassification, transforms.InterpolationMode).

Usage:
    .venv/bin/python corpus/run_model.py resnet18 [vgg11 ...]     # label unmutated builders
"""

from __future__ import annotations

import ast
import gc
import os
import shutil
import sys
import tempfile
import time
import traceback
import types
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zoo  # noqa: E402

_SHIM_DIR = None


UTILS_STUB = '''"""Stub of torchvision/utils.py: the two helpers model code uses, copied from the wheel."""
import collections
import collections.abc
from itertools import repeat
from types import FunctionType
from typing import Any

import torch


def _log_api_usage_once(obj: Any) -> None:
    return None


{make_ntuple}
'''

TRANSFORMS_INIT = '''"""Stub of torchvision.transforms: only the names model files import."""
from enum import Enum


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"
'''

PRESETS_STUB = '''"""Stub of torchvision.transforms._presets: weights metadata only, never run."""
from . import InterpolationMode


class _Preset:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class ObjectDetection(_Preset): pass
class ImageClassification(_Preset): pass
class VideoClassification(_Preset): pass
class SemanticSegmentation(_Preset): pass
class OpticalFlow(_Preset): pass
'''

OPS_INIT = '''"""Stub of torchvision.ops: the pure-torch layers (real sources from the wheel)."""
from .misc import Conv2dNormActivation, Conv3dNormActivation, FrozenBatchNorm2d, MLP, Permute, SqueezeExcitation
from .stochastic_depth import stochastic_depth, StochasticDepth
'''

NUMPY_STUB = '''"""Tiny numpy stand-in (numpy is not installed here): what maxvit.py uses."""
import torch


class _List(list):
    def tolist(self):
        return list(self)


def linspace(start, stop, num):
    return _List(torch.linspace(start, stop, num, dtype=torch.float64).tolist())
'''


def _function_source(path: Path, name: str) -> str:
    text = path.read_text()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(text, node)
    raise LookupError(f"{name} not found in {path}")


def build_shim(dest: Path) -> Path:
    """Write the fake torchvision package into dest; return dest (to put on sys.path)."""
    src = zoo.ZOO_SRC / "torchvision"
    pkg = dest / "torchvision"
    for sub in ("", "models", "ops", "transforms"):
        (pkg / sub).mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""Fake torchvision package for the shapels corpus runner."""\n')
    for rel in ("_utils.py", "_internally_replaced_utils.py", "models/_api.py", "models/_meta.py",
                "models/_utils.py", "ops/misc.py", "ops/stochastic_depth.py"):
        shutil.copyfile(src / rel, pkg / rel)
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "ops" / "__init__.py").write_text(OPS_INIT)
    (pkg / "transforms" / "__init__.py").write_text(TRANSFORMS_INIT)
    (pkg / "transforms" / "_presets.py").write_text(PRESETS_STUB)
    (pkg / "utils.py").write_text(UTILS_STUB.format(make_ntuple=_function_source(src / "utils.py", "_make_ntuple")))
    try:
        import numpy  # noqa: F401
    except ImportError:
        (dest / "numpy.py").write_text(NUMPY_STUB)
    return dest


def setup(threads: int = 1) -> None:
    """Once per process: torch, the shim on sys.path."""
    global _SHIM_DIR
    if _SHIM_DIR is not None:
        return
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(threads)
    _SHIM_DIR = Path(tempfile.mkdtemp(prefix="shapels-tv-shim-"))
    build_shim(_SHIM_DIR)
    sys.path.insert(0, str(_SHIM_DIR))


def _load_model_module(stem: str, text: str) -> types.ModuleType:
    import torchvision.models._api as api  # the shim's real _api

    api.BUILTIN_MODELS.clear()  # register_model refuses a name twice; each job re-executes the file
    path = zoo.model_path(stem)
    name = f"torchvision.models.{stem}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__package__ = "torchvision.models"
    sys.modules[name] = module
    exec(compile(text, str(path), "exec"), module.__dict__)
    return module


def _error_line(tb, path: str):
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def label(stem: str, builder: str, text: str | None = None, trace: bool = False, mode: str = "eval") -> dict:
    """Execute the model file (or `text`, a mutant of it), build `builder()` with no weights, put it
    in eval mode (or train mode) and run it on the standard input under no_grad. Returns the label."""
    setup()
    import torch

    path = str(zoo.model_path(stem))
    if text is None:
        text = Path(path).read_text()
    out = {"builder": builder, "runs": False, "phase": None, "error_type": None, "error": None,
           "error_line": None, "output_shape": None, "class": None}
    started = time.perf_counter()
    phase = "import"
    executed: set = set()
    try:
        module = _load_model_module(stem, text)
        phase = "build"
        fn = getattr(module, builder)
        torch.manual_seed(0)
        if trace:
            def local(frame, event, arg):
                if event == "line":
                    executed.add(frame.f_lineno)
                return local

            def global_(frame, event, arg):
                if frame.f_code.co_filename == path:
                    executed.add(frame.f_lineno)
                    return local
                return None

            sys.settrace(global_)
            try:
                model = fn()
            finally:
                sys.settrace(None)
        else:
            model = fn()
        out["class"] = type(model).__name__
        model.train(mode == "train")
        phase = "forward"
        with torch.no_grad():
            # train mode uses a batch of 2: BatchNorm refuses one value per channel when training
            result = model(torch.randn(*zoo.input_size(builder, batch=2 if mode == "train" else 1)))
        if isinstance(result, torch.Tensor):
            out["output_shape"] = list(result.shape)
        else:
                out["output_shape"] = type(result).__name__
        out["runs"] = True
    except Exception as error:  # noqa: BLE001 - a label, whatever the model raises
        out["phase"] = phase
        out["error_type"] = type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        out["error"] = message[:300]
        out["error_line"] = _error_line(error.__traceback__, path)
    finally:
        model = result = module = None  # noqa: F841
        sys.modules.pop(f"torchvision.models.{stem}", None)
        gc.collect()
    out["seconds"] = round(time.perf_counter() - started, 2)
    if trace:
        out["executed_lines"] = sorted(executed)
    return out


def _job(job: dict) -> dict:
    return {**job.get("meta", {}), "label": label(job["stem"], job["builder"], job.get("text"), job.get("trace", False),
                                                  job.get("mode", "eval"))}


def label_many(jobs: list, workers: int | None = None, progress=None) -> list:
    """Label jobs ({stem, builder, text?, trace?, meta?}) in worker processes; results in job order.
    (multiprocessing.Pool: ProcessPoolExecutor's max_tasks_per_child can hang on Python 3.11.)"""
    import multiprocessing as mp

    workers = workers or min(2, os.cpu_count() or 1)
    results = [None] * len(jobs)
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, maxtasksperchild=20) as pool:
        for n, (i, result) in enumerate(pool.imap_unordered(_indexed_job, list(enumerate(jobs))), 1):
            results[i] = result
            if progress:
                progress(n, len(jobs), result)
    return results


def _indexed_job(item):
    i, job = item
    return i, _job(job)


def main(argv: list) -> int:
    import json

    if not zoo.sources_present():
        print("zoo sources missing: run corpus/fetch_zoo.sh", file=sys.stderr)
        return 3
    stems = {b: s for s, bs in zoo.BUILDERS.items() for b in bs}
    for builder in argv or [bs[0] for bs in zoo.BUILDERS.values()]:
        print(json.dumps(label(stems[builder], builder)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
