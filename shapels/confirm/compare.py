"""Static shapes against the real run, layer by layer. No torch here.

Verdicts:
- agreed: every dim the static engine claims matches the run (symbolic dims, and Keras's None batch,
  claim nothing);
  or the run raised where shapels flagged an error.
- static-missed: the run raised and shapels flagged nothing there.
- static-wrong: shapels claimed a shape the run contradicts, or flagged an error on a layer the
  run went through. That is a bug in shapels: the message shows both values.
- runtime-only: the run saw a layer that the static result has no shape for.
"""

from __future__ import annotations

from typing import Any, Optional

from shapels.confirm.report import AGREED, RUNTIME_ONLY, STATIC_MISSED, STATIC_WRONG, ConfirmReport, Verdict

SHAPELS_BUG = "a bug in shapels, please report it"


def show(tree: Any) -> str:
    """(1, 5120) for a shape, ((1, 4), (1, 4)) for a tuple of shapes, ? for unknown."""
    if tree is None:
        return "?"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in tree.items()) + "}"
    if _is_shape(tree):
        return "(" + ", ".join(str(d) for d in tree) + ("," if len(tree) == 1 else "") + ")"
    return "(" + ", ".join(show(t) for t in tree) + ")"


def _is_shape(tree: Any) -> bool:
    """A list of dims: ints, symbols ("B"), and None (JSON null: Keras's unknown batch)."""
    return isinstance(tree, list) and all(d is None or isinstance(d, (int, str)) for d in tree)


def static_shape_json(shape) -> Any:
    """A static Shape as JSON; a rank-unknown shape keeps its known trailing dims behind "...": these
    are claims too."""
    if shape is None or shape.is_unknown:
        return None
    if shape.ranked:
        return shape.to_json()
    from shapels.symbolic import dims as D

    return ["..."] + [D.to_json(d) for d in shape.dims]


def static_value_json(value) -> Any:
    from shapels.values import Seq, Tensor

    if isinstance(value, Tensor):
        return static_shape_json(value.shape)
    if isinstance(value, Seq):
        items = [static_value_json(v) for v in value.items]
        return items if any(i is not None for i in items) else None
    return None


def agrees(static: Any, runtime: Any) -> Optional[bool]:
    """True/False when the static value claims something about `runtime`; None when it claims nothing."""
    if static is None:
        return None
    if runtime is None:
        return None
    if _is_shape(static):
        if not _is_shape(runtime):
            return False
        dims = list(static)
        if dims and dims[0] == "...":
            dims = dims[1:]
            if len(dims) > len(runtime):
                return False
            runtime = runtime[len(runtime) - len(dims):]
        elif len(dims) != len(runtime):
            return False
        # a dim claims nothing where the static side has a symbol or None, nor where the run has None
        # (Keras's own shapes from a build on keras.Input: the batch is not fixed there)
        return all(not isinstance(s, int) or r is None or s == r for s, r in zip(dims, runtime))
    if isinstance(static, list) and isinstance(runtime, list) and not _is_shape(runtime):
        if len(static) != len(runtime):
            return False
        results = [agrees(s, r) for s, r in zip(static, runtime)]
        claimed = [r for r in results if r is not None]
        return all(claimed) if claimed else None
    return False


def compare(static, runtime: ConfirmReport) -> list:
    """Per-layer verdicts for an AnalysisResult `static` against the run's report."""
    verdicts: list = []
    if static is None:
        return verdicts
    by_line: dict = {}
    for module in static.modules:
        for layer in module.layers:
            if layer.span is not None:
                by_line.setdefault(layer.span.start_line, []).append(layer)
    for run in runtime.layers:
        candidates = by_line.get(run.line, [])
        verdicts.append(_layer_verdict(run, candidates))
        verdicts.extend(_later_calls(run, candidates))
    verdicts.extend(_output_verdict(static, runtime))
    verdicts.extend(_error_verdicts(static, runtime))
    verdicts.sort(key=lambda v: v.line)
    return verdicts


def _layer_verdict(run, candidates: list) -> Verdict:
    seen = {"input": run.input, "output": run.output}
    if run.status == "raised":
        seen["output"] = None
    if not candidates:
        return Verdict(run.line, run.name, RUNTIME_ONLY,
                       f"the run saw {run.name or run.type}: {show(run.input)} → {_out(run)}; "
                       "the static result has no layer for this line", None, seen)
    best = None
    for layer in candidates:
        claimed = _claims(layer.calls[0] if layer.calls else None, layer)
        checks = [agrees(claimed["input"], seen["input"]), agrees(claimed["output"], seen["output"])]
        made = [c for c in checks if c is not None]
        rank = 2 if made and all(made) else (0 if made else 1)
        if best is None or rank > best[0]:
            best = (rank, layer, claimed)
    rank, layer, claimed = best  # type: ignore[misc]
    name = run.name or layer.name
    if rank == 2:
        return Verdict(run.line, name, AGREED, f"{name}: {show(run.input)} → {_out(run)}, as shapels said", claimed, seen)
    if rank == 1:
        return Verdict(run.line, name, RUNTIME_ONLY,
                       f"{name}: shapels had no shape here; the run saw {show(run.input)} → {_out(run)}", claimed, seen)
    return Verdict(
        run.line, name, STATIC_WRONG,
        f"{name}: shapels said {show(claimed['input'])} → {show(claimed['output'])}, but the run saw "
        f"{show(run.input)} → {_out(run)} ({SHAPELS_BUG})", claimed, seen,
    )


def _claims(call, layer=None) -> dict:
    """What the static side said about one call: its input, and its whole output (a tuple's too)."""
    if call is None:
        return {"input": static_shape_json(layer.input), "output": static_shape_json(layer.output)}
    return {"input": static_shape_json(call.input), "output": static_value_json(call.output)}


def _later_calls(run, candidates: list) -> list:
    """A layer called again (shared weights, a loop): each later call against the static call of the same
    number, named with its line."""
    out = []
    for number, seen_call in enumerate(run.every[1:], 2):
        name = f"{run.name or run.type} (call {number}, line {seen_call.get('row') or '?'})"
        seen = {"input": seen_call.get("input"),
                "output": None if seen_call.get("status") == "raised" else seen_call.get("output")}
        calls = [layer.calls[number - 1] for layer in candidates if len(layer.calls) >= number]
        claimed = _claims(calls[0]) if calls else None
        made = [] if claimed is None else [c for c in (agrees(claimed["input"], seen["input"]),
                                                        agrees(claimed["output"], seen["output"])) if c is not None]
        shown = f"{show(seen['input'])} → {'raised' if seen_call.get('status') == 'raised' else show(seen['output'])}"
        if not made:
            out.append(Verdict(run.line, name, RUNTIME_ONLY, f"{name}: shapels had no shape here; the run saw {shown}",
                               claimed, seen))
        elif all(made):
            out.append(Verdict(run.line, name, AGREED, f"{name}: {shown}, as shapels said", claimed, seen))
        else:
            out.append(Verdict(run.line, name, STATIC_WRONG,
                               f"{name}: shapels said {show(claimed['input'])} → {show(claimed['output'])}, but the "
                               f"run saw {shown} ({SHAPELS_BUG})", claimed, seen))
    return out


def _out(run) -> str:
    return "raised" if run.status == "raised" else show(run.output)


def _run_module(static, runtime: ConfirmReport):
    """The static module the driver called: a class of that name, else (a Keras model, which the static
    side names after its variable: `model = keras.Sequential(...)`) the one built on the model's line."""
    if not runtime.model:
        return None
    module = next((m for m in static.modules if m.name == runtime.model), None)
    if module is None and runtime.model_line:
        module = next((m for m in static.modules if m.span is not None and m.span.start_line == runtime.model_line), None)
    return module


def _output_verdict(static, runtime: ConfirmReport) -> list:
    if runtime.output_shape is None or not runtime.model:
        return []
    module = _run_module(static, runtime)
    if module is None:
        return []
    claimed = static_value_json(module.output)
    result = agrees(claimed, runtime.output_shape)
    line = module.span.start_line
    name = f"{module.name} output"
    if result is None:
        return []
    if result:
        return [Verdict(line, name, AGREED, f"{module.name} returns {show(runtime.output_shape)}, as shapels said",
                        {"output": claimed}, {"output": runtime.output_shape})]
    return [Verdict(line, name, STATIC_WRONG,
                    f"{module.name}: shapels said it returns {show(claimed)}, but the run returned "
                    f"{show(runtime.output_shape)} ({SHAPELS_BUG})", {"output": claimed}, {"output": runtime.output_shape})]


def _finding_lines(finding) -> set:
    lines = {finding.span.start_line} if finding.span else set()
    lines.update(r.span.start_line for r in finding.related if r.span is not None)
    return lines


def _error_verdicts(static, runtime: ConfirmReport) -> list:
    errors = [f for f in static.findings if f.severity == "error" and f.span is not None]
    out: list = []
    matched: set = set()
    e = runtime.error
    if e is not None and e.kind == "exception" and e.type != "SyntaxError":
        where = {l for l in (e.constructor_line, e.line) if l}
        hits = [f for f in errors if f.span.start_line in where] or [f for f in errors if _finding_lines(f) & where]
        line = e.constructor_line or e.line or 0
        name = e.layer or "error"
        seen = {"error": e.show(), "row": e.line}
        if hits:
            matched.update(id(f) for f in hits)
            codes = ", ".join(sorted({f.code for f in hits}))
            out.append(Verdict(line, name, AGREED, f"the run raised at line {e.line} and shapels flagged it ({codes})",
                               {"findings": [f.message for f in hits]}, seen))
        else:
            out.append(Verdict(line, name, STATIC_MISSED,
                               f"the run raised at line {e.line}: {e.show()}; shapels did not flag it", None, seen))
    went_through = {l.line for l in runtime.layers if l.status == "ok"}
    ran_module = _run_module(static, runtime)
    ran_classes = {runtime.model, ran_module.name if ran_module is not None else None} | {l.type for l in runtime.layers}
    for f in errors:
        if id(f) in matched:
            continue
        line = f.span.start_line
        if line in went_through or (runtime.ok and f.module in ran_classes):
            out.append(Verdict(line, f.code, STATIC_WRONG,
                               f"shapels reported '{f.message}', but the run went through line {line} without error "
                               f"({SHAPELS_BUG})", {"findings": [f.message]}, {"error": None}))
    return out
