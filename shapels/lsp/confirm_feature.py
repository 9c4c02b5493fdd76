"""`workspace/executeCommand` `shapels.confirm`: the real run, on the user's request only.

- Arguments: the document uri (then optionally the module name the code lens passes, ignored:
  the driver decides what runs). The editor's text is run, saved or not, under the file's name.
- Work-done progress (when the client supports it), cancellable: cancelling kills the run.
- The run happens in the confirm worker process (shapels.confirm.api), awaited off the event loop.
- Results are diagnostics with source "shapels (run)" on the constructor lines, kept in their own
  slot of the document state (`ServerState.set_diagnostics`, until the next edit) so the static
  publisher ("shapels") never erases them (nor they it); `doc.runtime` (line -> text) makes hover
  show the runtime shape next to the static one.
- The static side is analysed with the Options the diagnostics use (config.build_options: the
  editor's settings, [tool.shapels], the workspace's imports).
- Workspace trust: with the initializationOption `shapels.trusted = false` the command refuses.
  Nothing here runs on open or edit.
- A notebook (the uri of a cell, as its code lens passes, or of the notebook) runs as its program
  (the code cells in order, shapels/notebooks.py) in the same worker, never in the user's kernel;
  the results are published on the cells they concern.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Optional

from lsprotocol import types
from pygls.uris import to_fs_path

from shapels.lsp import diagnostics, notebook_sync
from shapels.lsp.capabilities import client_supports
from shapels.lsp.positions import codec_of, split_lines
from shapels.lsp.publish import publish as publish_all

COMMAND = "shapels.confirm"
SOURCE = "shapels (run)"
UNTRUSTED = ("shapels confirm runs this file's code, and this workspace is not trusted; "
             "trust the workspace to run it")

_LEVEL = {
    "agreed": types.DiagnosticSeverity.Hint,
    "runtime-only": types.DiagnosticSeverity.Information,
    "static-wrong": types.DiagnosticSeverity.Warning,
    "static-missed": types.DiagnosticSeverity.Error,
}


def register(server) -> None:
    @server.command(COMMAND)
    async def confirm(ls, *args):
        return await run_command(ls, list(args))


# -- the command ------------------------------------------------------------------------------------
async def run_command(server, args: list) -> dict:
    uri = args[0] if args and isinstance(args[0], str) else None
    if uri is None:
        return {"ok": False, "error": {"kind": "usage", "message": f"{COMMAND} expects the document uri"}}
    if not server.state.trusted:
        _show(server, types.MessageType.Warning, UNTRUSTED)
        return {"ok": False, "refused": True, "error": {"kind": "untrusted", "message": UNTRUSTED}}
    options = args[2] if len(args) > 2 and isinstance(args[2], dict) else {}
    notebook = notebook_sync.notebook_of(server, uri)
    program = None
    if notebook is not None:
        program = notebook_sync.program_for(server, notebook)
        uri, text = notebook.uri, program.text
    else:
        document = server.workspace.get_text_document(uri)
        text = document.source if document is not None else None
    path = to_fs_path(uri) if uri.startswith("file:") else uri

    cancel = threading.Event()
    token = await _begin_progress(server, path, cancel)
    try:
        report = await asyncio.get_running_loop().run_in_executor(
            None, lambda: _confirm(server, uri, path, text, options, cancel)
        )
    except asyncio.CancelledError:  # the client cancelled the request itself: kill the run too
        cancel.set()
        _end_progress(server, token, "cancelled")
        raise
    except Exception as error:  # noqa: BLE001 - report, keep the server up
        _end_progress(server, token, f"failed: {error}")
        return {"ok": False, "error": {"kind": "internal", "message": f"{type(error).__name__}: {error}"}}
    _end_progress(server, token, summary(report))
    if program is not None:
        publish_notebook(server, uri, program, report)
    else:
        publish(server, uri, report)
    return report.to_dict()


def _confirm(server, uri: str, path: str, text: Optional[str], options: dict, cancel: threading.Event):
    from shapels.confirm.api import confirm_file

    return confirm_file(
        path,
        device=options.get("device", "auto"),
        timeout=float(options.get("timeout", 60.0)),
        memory_mb=int(options.get("memoryMb", 4096)),
        text=text,
        options=diagnostics.options_for(server, uri)[0],
        cancel=cancel,
    )


# -- progress ---------------------------------------------------------------------------------------
async def _begin_progress(server, path: str, cancel: threading.Event):
    if not client_supports(server, "window.work_done_progress"):
        return None
    token = f"shapels-confirm-{uuid.uuid4()}"
    try:
        await server.work_done_progress.create_async(token)
    except Exception:  # noqa: BLE001 - a client refusing progress still gets the run
        return None
    server.work_done_progress.begin(
        token,
        types.WorkDoneProgressBegin(title="shapels: confirm by running", message=path.rsplit("/", 1)[-1],
                                    cancellable=True),
    )
    future = server.work_done_progress.tokens.get(token)
    if future is not None:
        future.add_done_callback(lambda f: cancel.set() if f.cancelled() else None)
    return token


def _end_progress(server, token, message: str) -> None:
    if token is None:
        return
    try:
        server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
    finally:
        server.work_done_progress.tokens.pop(token, None)


def summary(report) -> str:
    if report.error is None:
        return f"ran on {report.device}: output {_shape(report.output_shape)}"
    return f"{report.error.kind} on {report.device}: {report.error.message}"


# -- results -> diagnostics and hover ---------------------------------------------------------------
def publish(server, uri: str, report) -> None:
    doc = server.state.document(uri)
    static = doc.result
    lines = split_lines(_text(server, uri, static))
    server.state.set_diagnostics(uri, SOURCE, to_diagnostics(report, static, lines, codec_of(server), uri),
                                 until_edit=True)
    doc.runtime = runtime_notes(report, static)
    publish_all(server, uri)
    if report.error is not None and report.error.kind not in ("exception",):
        _show(server, types.MessageType.Warning, f"shapels confirm: {report.error.message}")


def publish_notebook(server, uri: str, program, report) -> None:
    """A notebook's run: diagnostics and hover notes made against its program, moved into its cells."""
    state = server.state.notebooks.get(uri)
    static = getattr(state, "result", None)
    lines = split_lines(program.text)
    made = to_diagnostics(report, static, lines, codec_of(server), uri)
    per_cell = notebook_sync.split_by_cell(program, made)
    notes = notebook_sync.runtime_by_cell(program, runtime_notes(report, static))
    for cell_uri, found in per_cell.items():
        server.state.set_diagnostics(cell_uri, SOURCE, found, until_edit=True)
        server.state.document(cell_uri).runtime = notes.get(cell_uri, {})
        publish_all(server, cell_uri)
    if report.error is not None and report.error.kind not in ("exception",):
        _show(server, types.MessageType.Warning, f"shapels confirm: {report.error.message}")


def to_diagnostics(report, static, lines: list, codec, uri: str) -> list:
    out = []
    device = report.device or "?"
    e = report.error
    if e is not None:
        line = e.constructor_line or e.line or report.model_line or 1
        missed = any(v.verdict == "static-missed" for v in report.verdicts)
        message = f"the run on {device} raised: {e.show()}" if e.kind == "exception" else f"confirm on {device}: {e.message}"
        if e.constructor_line and e.line:
            message += f" (at line {e.line})"
        if missed:
            message += "; shapels did not flag this"
        related = None
        if e.line and e.line != line:
            related = [types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=_line_range(codec, lines, e.line)), message="raised here")]
        severity = types.DiagnosticSeverity.Error if e.kind in ("exception", "exit", "memory", "timeout", "crash") \
            else types.DiagnosticSeverity.Warning
        out.append(types.Diagnostic(range=_range_for(codec, lines, static, line), message=message, severity=severity,
                                    source=SOURCE, code=f"run-{e.kind}", related_information=related))
    elif report.output_shape is not None and report.model_line:
        given = f"{_shape(report.model_input)} → " if report.model_input else ""
        out.append(types.Diagnostic(
            range=_range_for(codec, lines, static, report.model_line),
            message=f"ran on {device}: {report.model or 'the model'} {given}{_shape(report.output_shape)}",
            severity=types.DiagnosticSeverity.Information, source=SOURCE, code="run-ok"))
    for v in report.verdicts:
        if v.verdict == "static-missed":
            continue  # said on the error diagnostic
        out.append(types.Diagnostic(
            range=_range_for(codec, lines, static, v.line), message=f"{v.verdict}: {v.message}",
            severity=_LEVEL.get(v.verdict, types.DiagnosticSeverity.Information), source=SOURCE, code=v.verdict))
    return out


def runtime_notes(report, static) -> dict:
    """1-based line -> "(1, 5120) → (1, 128) on cpu", on constructor lines and the calls in forward."""
    notes: dict = {}
    calls = {}
    for module in getattr(static, "modules", []) or []:
        for layer in module.layers:
            if layer.span is not None and layer.call_span is not None:
                calls.setdefault(layer.span.start_line, layer.call_span.start_line)
    for layer in report.layers:
        out = "raised" if layer.status == "raised" else _shape(layer.output)
        text = f"{_shape(layer.input)} → {out} on {report.device}"
        notes[layer.line] = text
        if layer.line in calls:
            notes.setdefault(calls[layer.line], text)
    if report.error is not None and report.error.line:
        notes[report.error.line] = f"raised on {report.device}: {report.error.message}"
    return notes


# -- helpers ----------------------------------------------------------------------------------------
def _shape(tree: Any) -> str:
    from shapels.confirm.compare import show

    return show(tree)


def _text(server, uri: str, static) -> str:
    try:
        return server.workspace.get_text_document(uri).source
    except Exception:  # noqa: BLE001
        return getattr(static, "text", "") or ""


def _to_position(codec, lines: list, line: int, col: int) -> types.Position:
    from pygls.workspace.position_codec import ServerTextPosition

    row = max(line - 1, 0)
    if row >= len(lines):
        return types.Position(line=row, character=0)
    col = min(max(col, 0), len(lines[row]))
    return codec.position_to_client_units(lines, ServerTextPosition(row, col))


def _line_range(codec, lines: list, line: int) -> types.Range:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    start = len(text) - len(text.lstrip())
    end = len(text.split("#", 1)[0].rstrip()) or len(text)
    return types.Range(start=_to_position(codec, lines, line, start), end=_to_position(codec, lines, line, max(end, start)))


def _range_for(codec, lines: list, static, line: int) -> types.Range:
    """The constructor call the static engine knows on this line, else the line's code."""
    for module in getattr(static, "modules", []) or []:
        for layer in module.layers:
            span = layer.span
            if span is not None and span.start_line == line:
                end_line = span.end_line if span.end_line == line else line
                end_col = span.end_col if span.end_line == line else len(lines[line - 1]) if line <= len(lines) else 0
                return types.Range(start=_to_position(codec, lines, line, span.start_col),
                                   end=_to_position(codec, lines, end_line, end_col))
    return _line_range(codec, lines, line)


def _show(server, kind, message: str) -> None:
    try:
        server.window_show_message(types.ShowMessageParams(type=kind, message=message))
    except Exception:  # noqa: BLE001
        pass
