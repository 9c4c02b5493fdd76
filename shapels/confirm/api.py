"""`confirm_file`: run a file for real in the warm worker and compare with the static shapes.

The module-level pool holds one worker; it starts on the first confirm (or `warm_up()`), imports
torch once and stays up, so a repeat confirm costs the run itself. No torch in this process.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path
from typing import Optional

from shapels.confirm.compare import compare
from shapels.confirm.pool import WorkerPool
from shapels.confirm.report import ConfirmReport, RunError, from_worker
from shapels.sources import read_source

DEVICES = ("auto", "cuda", "cpu", "meta")
_POOL: Optional[WorkerPool] = None
_POOL_LOCK = threading.Lock()


def default_pool() -> WorkerPool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WorkerPool()
            atexit.register(_POOL.close)
        return _POOL


def warm_up() -> None:
    """Start the worker now, so the first confirm finds torch already imported."""
    default_pool().start()


def static_options(path: str):
    """The analysis Options `shapels check` would use for this file: [tool.shapels] included, and
    its imports resolved (a model whose blocks live in another file is compared with their shapes,
    not with unknowns)."""
    from shapels.config import project_options
    from shapels.imports import FileLoader

    return project_options(Path(path), loader=FileLoader(roots=[Path.cwd()])).options


def confirm_file(path: str, device: str = "auto", timeout: float = 60.0, memory_mb: int = 4096,
                 text: Optional[str] = None, *, pool: Optional[WorkerPool] = None, static=None,
                 options=None, cancel: Optional[threading.Event] = None, analyse: bool = True) -> ConfirmReport:
    """Run `path` as `python path` would (or `text` under that name: an unsaved editor buffer) and
    compare with the static result (`static`, else analysed here while the run goes on)."""
    started = time.perf_counter()
    path = os.path.abspath(path)
    if device not in DEVICES:
        return _cannot(path, device, "usage", f"unknown device {device!r}: expected one of {', '.join(DEVICES)}", started)
    if text is None:
        try:
            text = read_source(path)
        except OSError as error:
            return _cannot(path, device, "usage", f"cannot read {path}: {error.strerror or error}", started)
    holder: dict = {"static": static}

    def analyse_now() -> None:
        if holder["static"] is None and analyse:
            try:
                from shapels.analysis.engine import analyze

                holder["static"] = analyze(text, path, options or static_options(path))
            except Exception as error:  # noqa: BLE001 - a static failure must not hide the run
                holder["problem"] = f"the static analysis failed: {type(error).__name__}: {error}"

    pool = pool or default_pool()
    request = {"path": path, "text": text, "device": device}
    raw = pool.run(request, timeout=timeout, memory_mb=memory_mb, cancel=cancel, while_waiting=analyse_now)
    calls = synthesized_calls(holder["static"]) if _drove_nothing(raw) else []
    if calls:  # the file has no driver: build and call the modules as the static engine did
        raw = pool.run(dict(request, calls=calls), timeout=timeout, memory_mb=memory_mb, cancel=cancel)
    report = from_worker(path, raw)
    if holder.get("problem"):
        report.notes.append(holder["problem"])
    if not report.cannot_run and report.error is None or (report.error and report.error.kind == "exception"):
        report.verdicts = compare(holder["static"], report)
    report.duration = time.perf_counter() - started
    return report


EXPLICIT_SOURCES = ("config", "comment", "annotation")
SYMBOLIC_DIM = 2  # a named dim (B, H) runs as 2: not 1, which would hide broadcasting mistakes


def _drove_nothing(raw: dict) -> bool:
    model = raw.get("model") or {}
    return bool(raw.get("ok")) and not raw.get("error") and not model.get("user_class")


def synthesized_calls(static) -> list:
    """For each module whose inputs the static engine took from settings, a comment or annotations:
    the class, and its forward inputs as concrete shapes (an Embedding input becomes integer ids)."""
    if static is None:
        return []
    calls = []
    for module in static.modules:
        if module.source not in EXPLICIT_SOURCES or not module.inputs:
            continue
        inputs = []
        for name, shape in module.inputs.items():
            if shape is None or not shape.ranked:
                break
            dims = [d if isinstance(d, int) else SYMBOLIC_DIM for d in (shape.to_json() or [])]
            spec = {"name": name, "shape": dims}
            for layer in module.layers:
                if layer.kind == "torch.nn.Embedding" and layer.input == shape:
                    spec["long"] = _int(layer.args.get("num_embeddings"))
            inputs.append(spec)
        else:
            calls.append({"class": module.name, "inputs": inputs, "source": module.source,
                          "line": module.span.start_line})
    return calls


def _int(value) -> int:
    for attr in ("value",):
        value = getattr(value, attr, value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 2


def _cannot(path: str, device: str, kind: str, message: str, started: float) -> ConfirmReport:
    return ConfirmReport(path=path, device=device, ok=False, error=RunError(kind=kind, message=message),
                         duration=time.perf_counter() - started)
