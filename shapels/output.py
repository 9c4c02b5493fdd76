"""CLI output formats: text, ruff-style JSON, SARIF, and the `shapes` table/JSON (DESIGN.md part B)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from shapels import __version__, codes
from shapels.analysis.engine import AnalysisResult, ModuleReport
from shapels.symbolic.shape import Shape
from shapels.values import Seq, Tensor, output_text, shape_text


def display_path(path: str) -> str:
    """A filename as every command prints it (as ruff does): relative to the current directory, or
    absolute when the file is outside it."""
    if not path or path.startswith("<"):
        return path
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive
        return absolute
    return absolute if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def _loc(line: int, col0: int) -> dict:
    return {"row": line, "column": col0 + 1}


def fix_json(fix) -> Optional[dict]:
    if fix is None or fix.span is None:
        return None
    return {
        "message": fix.message,
        "edits": [{"content": content, "location": _loc(span.start_line, span.start_col),
                   "end_location": _loc(span.end_line, span.end_col)} for span, content in fix.edits()],
    }


def finding_json(path: str, f) -> dict:
    fix = fix_json(f.fix)
    return {
        "filename": path,
        "code": f.code,
        "severity": f.severity,
        "message": f.message,
        "location": _loc(f.span.start_line, f.span.start_col),
        "end_location": _loc(f.span.end_line, f.span.end_col),
        "fix": fix,
        "related": [
            {"filename": path, "location": _loc(r.span.start_line, r.span.start_col),
             "end_location": _loc(r.span.end_line, r.span.end_col), "message": r.message}
            for r in f.related
        ],
        # An extension of the contract: the other fixes the editor offers (upstream layer, LazyLinear).
        "alternatives": [d for d in (fix_json(a) for a in f.alternatives) if d is not None],
    }


def check_text(results: list) -> str:
    """`path:row:col: code message`, and the fix on a line of its own (`  help: Set in_features to 5120`)."""
    lines = []
    for r in results:
        path = display_path(r.path)
        for f in r.findings:
            lines.append(f"{path}:{f.span.start_line}:{f.span.start_col + 1}: {f.code} {f.message}")
            if f.fix is not None and f.fix.span is not None:
                lines.append(f"  help: {f.fix.message}")
    return "\n".join(lines)


def check_json(results: list) -> str:
    return json.dumps([finding_json(display_path(r.path), f) for r in results for f in r.findings],
                      indent=2, ensure_ascii=False)


_SARIF_LEVEL = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}


def check_sarif(results: list) -> str:
    used = sorted({f.code for r in results for f in r.findings})
    rules = [
        {"id": c, "shortDescription": {"text": codes.CODES[c].summary}, "helpUri": codes.CODES[c].href}
        for c in used
        if c in codes.CODES
    ]
    sarif_results = []
    for r in results:
        uri = _sarif_uri(r.path)
        for f in r.findings:
            region = {"startLine": f.span.start_line, "startColumn": f.span.start_col + 1,
                      "endLine": f.span.end_line, "endColumn": f.span.end_col + 1}
            entry: dict[str, Any] = {
                "ruleId": f.code,
                "level": _SARIF_LEVEL.get(f.severity, "note"),
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
            }
            if f.related:
                entry["relatedLocations"] = [
                    {"id": i, "message": {"text": rel.message},
                     "physicalLocation": {"artifactLocation": {"uri": uri},
                                          "region": {"startLine": rel.span.start_line, "startColumn": rel.span.start_col + 1}}}
                    for i, rel in enumerate(f.related)
                ]
            fixes = [_sarif_fix(uri, x) for x in [f.fix] + list(f.alternatives) if x is not None and x.span is not None]
            if fixes:
                entry["fixes"] = fixes  # the preferred one first
            sarif_results.append(entry)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "shapels", "version": __version__, "rules": rules}},
                  "results": sarif_results}],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _sarif_uri(path: str) -> str:
    """The file as a URI: relative to the current directory (code scanning resolves it against the
    checkout), or a file: URI when it lies outside."""
    shown = display_path(path)
    if os.path.isabs(shown):
        return Path(shown).as_uri()
    return quote(shown.replace(os.sep, "/"))


def _sarif_fix(uri: str, fix) -> dict:
    return {
        "description": {"text": fix.message},
        "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": [{
            "deletedRegion": {"startLine": s.start_line, "startColumn": s.start_col + 1,
                              "endLine": s.end_line, "endColumn": s.end_col + 1},
            "insertedContent": {"text": content}} for s, content in fix.edits()]}],
    }


def shape_json(shape: Optional[Shape]):
    return shape.to_json() if shape is not None else None


def value_json(value):
    """A forward's output: a shape, a list of shapes for tuple outputs, or null."""
    if isinstance(value, Tensor):
        return shape_json(value.shape)
    if isinstance(value, Seq):
        return [value_json(v) for v in value.items]
    return None


def module_json(m: ModuleReport) -> dict:
    return {
        "name": m.name,
        "row": m.span.start_line,
        "source": m.source,
        "inputs": {k: shape_json(v) for k, v in m.inputs.items()},
        "output": value_json(m.output),
        "bindings": [
            {"row": b.span.start_line, "column": b.span.start_col + 1, "name": b.name, "shape": shape_json(b.shape)}
            for b in m.bindings
        ],
        "layers": [
            {"row": l.span.start_line if l.span else None, "name": l.name, "type": l.kind,
             "input": shape_json(l.input), "output": value_json(l.output_value) if l.calls else shape_json(l.output),
             # every call of the layer (a layer called twice is compared twice), with the call's row
             "calls": [{"row": c.span.start_line if c.span else None, "input": shape_json(c.input),
                        "output": value_json(c.output)} for c in l.calls]}
            for l in m.layers
        ],
    }


def shapes_json(result: AnalysisResult) -> str:
    return json.dumps({"filename": display_path(result.path), "modules": [module_json(m) for m in result.modules]}, indent=2)


def _stopped_at(result: AnalysisResult, module: ModuleReport):
    """The first error found in this class's run, where torch would stop."""
    errors = [f for f in result.findings if f.severity == "error" and f.module == module.name and f.span is not None]
    return min(errors, key=lambda f: (f.span.start_line, f.span.start_col)) if errors else None


def shapes_text(result: AnalysisResult) -> str:
    out = []
    for m in result.modules:
        if m.forward_span is None:
            continue  # a base class without forward has no shapes of its own
        inputs = ", ".join(f"{k}: {shape_text(v)}" for k, v in m.inputs.items())
        out.append(f"{m.name} (line {m.span.start_line}, inputs from {m.source}): ({inputs}) -> {output_text(m.output)}")
        rows = [("layer", "type", "line", "input", "output")]
        calls = sorted(((call.order, number, l, call) for l in m.layers for number, call in enumerate(l.calls, 1)),
                       key=lambda item: item[0])
        for _, number, l, call in calls:  # in the order the run called them; a layer called again shows again
            name = l.name if number == 1 else f"{l.name} (call {number}, line {call.span.start_line if call.span else '?'})"
            line = str(l.span.start_line if l.span else "")
            rows.append((name, l.kind.rsplit(".", 1)[-1], line, shape_text(call.input), output_text(call.output)))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for i, row in enumerate(rows):
            out.append("  " + "  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
            if i == 0:
                out.append("  " + "  ".join("-" * w for w in widths))
        stopped = _stopped_at(result, m)
        if stopped is not None:
            out.append(f"  torch stops at the error reported on line {stopped.span.start_line} ({stopped.code}): "
                       "the calls after it are not reached, and their shapes are what the fixed model would see "
                       "(? where unknown)")
        out.append("")
    return "\n".join(out).rstrip() + ("\n" if out else "")
