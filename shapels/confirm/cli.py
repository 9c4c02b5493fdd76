"""`shapels confirm PATH [--device] [--format] [--timeout] [--memory-mb] [--input]`.

Exit status: 0 when the run succeeded and agreed with the static shapes, 1 when it raised (or was
stopped) or disagreed, 2 for a usage error or when it could not run at all (no torch, no CUDA), and
when the file ran but called no model that a module class of it defines: there was nothing to
confirm (the note says how to give a model an input). The JSON's filename is relative to the current
directory, as `check` prints it (absolute only outside it).

A notebook runs as its program (shapels/notebooks.py: the code cells in order, IPython lines blanked)
in the same worker, never a kernel; every row is then given within its cell, with `"cell"` beside it
(`"constructor_cell"` beside `constructor_row`), and the text names `cell 3, line 2`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def run_confirm(args) -> int:
    from shapels.confirm import render
    from shapels.confirm.api import confirm_file

    from shapels.cli_settings import check_inputs, load_settings
    from shapels.notebooks import NotebookError, is_notebook, program_of, read_notebook
    from shapels.output import display_path
    from shapels.sources import read_source

    settings = load_settings([args.path], getattr(args, "input", []))
    path = Path(args.path)
    program = None
    if path.is_file() and is_notebook(path):
        try:
            program = program_of(read_notebook(path))
        except NotebookError as error:
            print(f"shapels: {display_path(str(path))}: {error}", file=sys.stderr)
            return EXIT_USAGE
        text = program.text
    else:
        text = read_source(path) if path.is_file() else None
    if text is not None and settings.entries:
        check_inputs(settings, {path: text})
    static = _analyse(text, str(path.absolute()), settings.options) if text is not None else None
    report = confirm_file(
        args.path,
        device=getattr(args, "device", "auto") or "auto",
        timeout=getattr(args, "timeout", 60.0) or 60.0,
        memory_mb=getattr(args, "memory_mb", 4096),
        options=settings.options,
        static=static,
        text=text if program is not None else None,
    )
    nothing_called = _nothing_called(report)
    unconfirmed = _without_input(static) if static is not None else []
    if nothing_called and static is not None:
        unconfirmed = unconfirmed or [(m.name, next(iter(m.inputs), "x")) for m in static.modules
                                      if m.forward_span is not None]
    if unconfirmed:
        report.notes.append(_hint(unconfirmed, nothing_called))
    where = None
    if program is not None:
        for b in program.broken:
            report.notes.append(f"cell {b.cell + 1} was not run: {b.message} at its line {b.line}")

        def where(line: int) -> tuple:
            cell, row = program.locate(line)
            return cell + 1, row

    if getattr(args, "format", "text") == "json":
        data = report.to_dict()
        data["filename"] = display_path(report.path)
        if where is not None:
            data = _in_cells(data, where)
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(render.text(report, where))
    return EXIT_USAGE if nothing_called and unconfirmed else exit_code(report)


def _in_cells(data, where):
    """A report's JSON with each `row` counted within its cell and `cell` beside it (`constructor_row`
    gets `constructor_cell`)."""
    if isinstance(data, list):
        return [_in_cells(item, where) for item in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key in ("row", "constructor_row") and isinstance(value, int) and not isinstance(value, bool):
            cell, row = where(value)
            out[key] = row
            out["cell" if key == "row" else "constructor_cell"] = cell
        elif key in ("static", "runtime", "output_shape", "input", "inputs", "output"):
            out[key] = value  # shapes and the like: no rows in them
        else:
            out[key] = _in_cells(value, where)
    return out


def exit_code(report) -> int:
    if report.cannot_run:
        return EXIT_USAGE
    if not report.ok or report.disagreements:
        return EXIT_FOUND
    return EXIT_OK


def _analyse(text: str, path: str, options):
    from shapels.analysis.engine import analyze

    try:
        return analyze(text, path, options)
    except Exception:  # noqa: BLE001 - confirm_file analyses again and reports the failure in its notes
        return None


def _nothing_called(report) -> bool:
    """The file ran to its end and called no model: nothing to compare."""
    return (report.ok and report.error is None and not report.model and not report.layers
            and report.output_shape is None)


def _without_input(static) -> list:
    """(class, first forward parameter) of each class that `check` notes as missing-input: no driver
    calls it and no input shape is given, so the run could not call it either."""
    from shapels.cli_findings import missing_input_notes

    try:
        notes = missing_input_notes(static)
    except Exception:  # noqa: BLE001 - only a hint: without it the report still stands
        return []
    by_name = {m.name: m for m in static.modules}
    return [(n.module, next(iter(by_name[n.module].inputs), "x")) for n in notes if n.module in by_name]


def _hint(classes: list, nothing_called: bool) -> str:
    name, param = classes[0]
    listed = ", ".join(c for c, _ in classes[:10]) + (", ..." if len(classes) > 10 else "")
    head = ("nothing was confirmed: no model was called, and shapels has no input shape to call " if nothing_called
            else "not confirmed for lack of an input shape: ")
    return (f"{head}{listed}{' with' if nothing_called else ''}. Give one (with your model's sizes): --input '{name}:{param}=(1, 3, 64, 64)', "
            f"\"{name}.{param}\" = [1, 3, 64, 64] in [tool.shapels.inputs], "
            f"'# shapels: input {param}=(1, 3, 64, 64)' above def forward, or a jaxtyping annotation; "
            "or a driver that builds the model and calls it")
