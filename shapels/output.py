"""CLI output formats: text, ruff-style JSON, SARIF, and the `shapes` table/JSON (DESIGN.md part B).

A notebook's result carries its program as `result.notebook` (shapels/notebooks.py; file_check.with_notebook):
every position is then given within its cell, and the cell (1-based, every cell counted, as ruff
does) beside it: `nb.ipynb:cell 3:2:5:` in text, a `"cell"` field in JSON (the finding, each fix
edit, each related location, and `shapes`' modules, bindings and layers), and `properties.cell` on
SARIF regions. Nothing changes for a .py file.
"""

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


def placer(result):
    """span -> (cell or None, span): for a notebook's result, the 1-based cell and the span within it."""
    program = getattr(result, "notebook", None)
    if program is None:
        return _in_file

    def place(span):
        if span is None:
            return None, None
        cell, local = program.cell_span(span)
        return cell + 1, local

    return place


def _in_file(span):
    return None, span


def _with_cell(entry: dict, cell: Optional[int]) -> dict:
    if cell is not None:
        entry["cell"] = cell
    return entry


def fix_json(fix, place=_in_file) -> Optional[dict]:
    if fix is None or fix.span is None:
        return None
    edits = []
    for span, content in fix.edits():
        cell, span = place(span)
        edits.append(_with_cell({"content": content, "location": _loc(span.start_line, span.start_col),
                                 "end_location": _loc(span.end_line, span.end_col)}, cell))
    return {"message": fix.message, "edits": edits}


def finding_json(path: str, f, place=_in_file) -> dict:
    fix = fix_json(f.fix, place)
    cell, span = place(f.span)
    entry = {
        "filename": path,
        "code": f.code,
        "severity": f.severity,
        "message": f.message,
    }
    if cell is not None:
        entry["cell"] = cell  # a notebook's: location, end_location and the edits count within it
    related = []
    for r in f.related:
        r_cell, r_span = place(r.span)
        related.append(_with_cell({"filename": path, "location": _loc(r_span.start_line, r_span.start_col),
                                   "end_location": _loc(r_span.end_line, r_span.end_col), "message": r.message}, r_cell))
    entry.update({
        "location": _loc(span.start_line, span.start_col),
        "end_location": _loc(span.end_line, span.end_col),
        "fix": fix,
        "related": related,
        # An extension of the contract: the other fixes the editor offers (upstream layer, LazyLinear).
        "alternatives": [d for d in (fix_json(a, place) for a in f.alternatives) if d is not None],
    })
    return entry


def finding_text(result, f) -> str:
    """`path:row:col: code message`; `path:cell 3:row:col: code message` in a notebook."""
    cell, span = placer(result)(f.span)
    where = f"cell {cell}:" if cell is not None else ""
    return f"{display_path(result.path)}:{where}{span.start_line}:{span.start_col + 1}: {f.code} {f.message}"


def check_text(results: list) -> str:
    """`path:row:col: code message`, and the fix on a line of its own (`  help: Set in_features to 5120`)."""
    lines = []
    for r in results:
        for f in r.findings:
            lines.append(finding_text(r, f))
            if f.fix is not None and f.fix.span is not None:
                lines.append(f"  help: {f.fix.message}")
    return "\n".join(lines)


def check_json(results: list) -> str:
    return json.dumps([finding_json(display_path(r.path), f, placer(r)) for r in results for f in r.findings],
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
        place = placer(r)
        for f in r.findings:
            region = _sarif_region(*place(f.span))
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
                                          "region": _sarif_region(*place(rel.span), end=False)}}
                    for i, rel in enumerate(f.related)
                ]
            fixes = [_sarif_fix(uri, x, place) for x in [f.fix] + list(f.alternatives) if x is not None and x.span is not None]
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


def _sarif_region(cell: Optional[int], span, end: bool = True) -> dict:
    """A SARIF region; in a notebook, lines and columns count within the cell, named in the region's
    property bag (`properties.cell`, 1-based, every cell counted)."""
    region: dict[str, Any] = {"startLine": span.start_line, "startColumn": span.start_col + 1}
    if end:
        region.update({"endLine": span.end_line, "endColumn": span.end_col + 1})
    if cell is not None:
        region["properties"] = {"cell": cell}
    return region


def _sarif_fix(uri: str, fix, place=_in_file) -> dict:
    return {
        "description": {"text": fix.message},
        "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": [{
            "deletedRegion": _sarif_region(*place(s)),
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


def module_json(m: ModuleReport, place=_in_file) -> dict:
    """A module for `shapes --format json`; in a notebook each row has its cell beside it."""
    def at(span, entry: dict, column: bool = False) -> dict:
        cell, local = place(span)
        out = {"row": local.start_line if local else None}
        if column:
            out["column"] = local.start_col + 1
        if cell is not None:
            out["cell"] = cell
        out.update(entry)
        return out

    return {"name": m.name, **at(m.span, {
        "source": m.source,
        "inputs": {k: shape_json(v) for k, v in m.inputs.items()},
        "output": value_json(m.output),
        "bindings": [at(b.span, {"name": b.name, "shape": shape_json(b.shape)}, column=True) for b in m.bindings],
        "layers": [
            at(l.span, {"name": l.name, "type": l.kind, "input": shape_json(l.input),
                        "output": value_json(l.output_value) if l.calls else shape_json(l.output),
                        # every call of the layer (a layer called twice is compared twice), with the call's row
                        "calls": [at(c.span, {"input": shape_json(c.input), "output": value_json(c.output)})
                                  for c in l.calls],
                        **({"params": l.weights} if _keras(m) else {})})
            for l in m.layers
        ],
    })}


def _keras(m: ModuleReport) -> bool:
    return any(l.kind.startswith("keras.") for l in m.layers)


def shapes_json(result: AnalysisResult) -> str:
    place = placer(result)
    return json.dumps({"filename": display_path(result.path), "modules": [module_json(m, place) for m in result.modules]},
                      indent=2)


def _stopped_at(result: AnalysisResult, module: ModuleReport):
    """The first error found in this class's run, where torch would stop."""
    errors = [f for f in result.findings if f.severity == "error" and f.module == module.name and f.span is not None]
    return min(errors, key=lambda f: (f.span.start_line, f.span.start_col)) if errors else None


def shapes_text(result: AnalysisResult) -> str:
    """A table per module; in a notebook a line is `cell:line` (`3:8`: cell 3's line 8)."""
    place = placer(result)
    notebook = getattr(result, "notebook", None) is not None

    def line_of(span, named: bool = False) -> str:
        if span is None:
            return "?" if named else ""
        cell, local = place(span)
        if named:
            return f"cell {cell}, line {local.start_line}" if cell is not None else f"line {local.start_line}"
        return f"{cell}:{local.start_line}" if cell is not None else str(local.start_line)

    out = []
    for m in result.modules:
        if m.forward_span is None:
            continue  # a base class without forward has no shapes of its own
        inputs = ", ".join(f"{k}: {shape_text(v)}" for k, v in m.inputs.items())
        out.append(f"{m.name} ({line_of(m.span, True)}, inputs from {m.source}): ({inputs}) -> {output_text(m.output)}")
        keras = _keras(m)  # Keras's summary also counts each layer's weights ("Param #")
        rows = [("layer", "type", "cell:line" if notebook else "line", "input", "output") + (("params",) if keras else ())]
        calls = sorted(((call.order, number, l, call) for l in m.layers for number, call in enumerate(l.calls, 1)),
                       key=lambda item: item[0])
        for _, number, l, call in calls:  # in the order the run called them; a layer called again shows again
            name = l.name if number == 1 else f"{l.name} (call {number}, {line_of(call.span, True)})"
            line = line_of(l.span)
            params = (("?" if l.weights is None else f"{l.weights:,}") if number == 1 else "",) if keras else ()
            rows.append((name, l.kind.rsplit(".", 1)[-1], line, shape_text(call.input), output_text(call.output)) + params)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for i, row in enumerate(rows):
            out.append("  " + "  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
            if i == 0:
                out.append("  " + "  ".join("-" * w for w in widths))
        if keras and m.layers:
            known = [l.weights for l in m.layers if l.weights is not None]
            total = f"{sum(known):,}" if len(known) == len(m.layers) else f"at least {sum(known):,} (? where not known)"
            out.append(f"  Total params: {total}")
        stopped = _stopped_at(result, m)
        if stopped is not None:
            framework = "Keras" if any(l.kind.startswith("keras.") for l in m.layers) else "torch"
            out.append(f"  {framework} stops at the error reported on {line_of(stopped.span, True)} ({stopped.code}): "
                       "the calls after it are not reached, and their shapes are what the fixed model would see "
                       "(? where unknown)")
        out.append("")
    return "\n".join(out).rstrip() + ("\n" if out else "")
