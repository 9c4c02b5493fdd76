"""ConfirmReport: what the real run saw, and how it compares with the static shapes. No torch here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

AGREED, STATIC_MISSED, STATIC_WRONG, RUNTIME_ONLY = "agreed", "static-missed", "static-wrong", "runtime-only"
DISAGREEMENTS = (STATIC_MISSED, STATIC_WRONG)
# error kinds: the script's own failures, and failures to run at all
SCRIPT_FAILURES = ("exception", "exit", "timeout", "memory", "crash")
CANNOT_RUN = ("no-torch", "no-keras", "no-tensorflow", "device", "usage", "internal", "cancelled")


@dataclass
class RunError:
    kind: str  # exception | exit | timeout | memory | crash | no-torch | no-keras | no-tensorflow | device | usage
    #            | internal | cancelled
    message: str  # normalised (one form across devices)
    type: Optional[str] = None  # the exception's class name
    line: Optional[int] = None  # the innermost line of the user's file in the traceback
    constructor_line: Optional[int] = None  # the failing layer's constructor, when a layer raised
    layer: Optional[str] = None
    layer_type: Optional[str] = None
    raw_message: Optional[str] = None  # torch's own words on this device

    def show(self) -> str:
        return f"{self.type}: {self.message}" if self.type and self.kind == "exception" else self.message


@dataclass
class LayerRun:
    line: int  # the constructor line in the user's file
    name: str  # attribute path under the model ("fc1", "features.0"); "" when called on its own
    type: str  # "torch.nn.Linear", or the user's class name
    inputs: list  # shape trees of the positional arguments
    output: Any  # shape tree; None when it raised or returned no tensor
    input: Optional[list] = None  # the first tensor argument's shape
    calls: int = 1
    status: str = "ok"  # ok | raised | running (never returned)
    every: list = field(default_factory=list)  # each call: {"row", "input", "output", "status"}


@dataclass
class Verdict:
    line: int
    name: str
    verdict: str  # agreed | static-missed | static-wrong | runtime-only
    message: str
    static: Optional[dict] = None  # {"input": ..., "output": ...} as JSON shapes ("B" for a symbol)
    runtime: Optional[dict] = None


@dataclass
class ConfirmReport:
    path: str
    device: Optional[str]
    ok: bool
    error: Optional[RunError] = None
    output_shape: Any = None
    model: Optional[str] = None  # the class of the top-level module the driver called
    model_line: Optional[int] = None  # where the driver built it
    model_input: Optional[list] = None  # the shape of its first tensor argument
    layers: list = field(default_factory=list)  # LayerRun
    verdicts: list = field(default_factory=list)  # Verdict
    duration: float = 0.0  # seconds, the whole confirm
    run_seconds: Optional[float] = None  # seconds the script itself ran in the worker
    torch_version: Optional[str] = None
    keras_version: Optional[str] = None  # a Keras file: the Keras that ran it (on the torch backend)
    stdout: str = ""
    stdout_bytes: int = 0
    stdout_truncated: bool = False
    exit_code: Optional[int] = None
    notes: list = field(default_factory=list)

    @property
    def disagreements(self) -> list:
        return [v for v in self.verdicts if v.verdict in DISAGREEMENTS]

    @property
    def agreed(self) -> bool:
        return not self.disagreements

    @property
    def cannot_run(self) -> bool:
        return self.error is not None and self.error.kind in CANNOT_RUN

    def to_dict(self) -> dict:
        e = self.error
        return {
            "filename": self.path,
            "device": self.device,
            "torch": self.torch_version,
            "keras": self.keras_version,
            "ok": self.ok,
            "agreed": self.agreed,
            "error": None if e is None else {
                "kind": e.kind, "type": e.type, "message": e.message, "row": e.line,
                "constructor_row": e.constructor_line, "layer": e.layer, "layer_type": e.layer_type,
                "raw_message": e.raw_message,
            },
            "model": None if self.model is None else {"name": self.model, "row": self.model_line, "input": self.model_input},
            "output_shape": self.output_shape,
            "layers": [
                {"row": l.line, "name": l.name, "type": l.type, "input": l.input, "inputs": l.inputs,
                 "output": l.output, "calls": l.calls, "status": l.status, "every": l.every}
                for l in self.layers
            ],
            "verdicts": [
                {"row": v.line, "name": v.name, "verdict": v.verdict, "message": v.message,
                 "static": v.static, "runtime": v.runtime}
                for v in self.verdicts
            ],
            "duration_ms": round(self.duration * 1000, 1),
            "run_ms": None if self.run_seconds is None else round(self.run_seconds * 1000, 1),
            "stdout": self.stdout,
            "stdout_bytes": self.stdout_bytes,
            "stdout_truncated": self.stdout_truncated,
            "exit_code": self.exit_code,
            "notes": list(self.notes),
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def from_worker(path: str, raw: dict) -> ConfirmReport:
    """A ConfirmReport from the worker's result dict (verdicts are added by the caller)."""
    error = None
    if raw.get("error"):
        e = raw["error"]
        error = RunError(
            kind=e.get("kind", "internal"), message=e.get("message", ""), type=e.get("type"),
            line=e.get("line"), constructor_line=e.get("constructor_line"), layer=e.get("layer"),
            layer_type=e.get("layer_type"), raw_message=e.get("raw_message"),
        )
    layers = [
        LayerRun(line=l["line"], name=l.get("name", ""), type=l.get("type", ""), inputs=l.get("inputs") or [],
                 output=l.get("output"), input=l.get("input"), calls=l.get("calls", 1), status=l.get("status", "ok"),
                 every=l.get("every") or [])
        for l in raw.get("layers") or []
    ]
    model = raw.get("model") or {}
    report = ConfirmReport(
        path=path, device=raw.get("device"), ok=bool(raw.get("ok")) and error is None, error=error,
        output_shape=raw.get("output_shape"), model=model.get("class"), layers=layers,
        model_line=model.get("line"), model_input=model.get("input"),
        run_seconds=raw.get("run_seconds"), torch_version=raw.get("torch"), keras_version=raw.get("keras"),
        stdout=raw.get("stdout") or "", stdout_bytes=raw.get("stdout_bytes") or 0,
        stdout_truncated=bool(raw.get("stdout_truncated")), exit_code=raw.get("exit_code"),
    )
    report.notes.extend(raw.get("notes") or [])
    if raw.get("exit_code") is not None and report.ok:
        report.notes.append(f"the script called sys.exit({raw['exit_code']!r})")
    if raw.get("killed_children"):
        report.notes.append(f"stopped {raw['killed_children']} child process(es) the script left running")
    if report.stdout_truncated:
        report.notes.append(f"the script wrote {report.stdout_bytes / 2**20:.1f} MB of output; kept the first "
                            f"{len(report.stdout.encode()) // 1024} KB")
    return report


__all__ = ["ConfirmReport", "LayerRun", "RunError", "Verdict", "from_worker"]
