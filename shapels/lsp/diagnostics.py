"""Diagnostics: analyse on open and change (debounced), publish, clear on close.

A syntax error, or an analysis that fails, keeps the last good results: nothing is re-published
(so nothing flashes away) and the reason goes to window/logMessage.

A notebook (notebook_sync.py) goes through the same scheduler under its own uri, with its Program as
the text to analyse; its result is published per cell by notebook_sync.on_result.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Optional

from lsprotocol import types
from pygls.uris import to_fs_path

from shapels import codes
from shapels.analysis.engine import analyze
from shapels.imports import FileLoader
from shapels.lsp import settings as settings_mod
from shapels.lsp.positions import codec_of, split_lines, to_range
from shapels.lsp.scheduler import Scheduler

SOURCE = "shapels"
SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def register(server) -> None:
    server.scheduler = Scheduler(
        work=lambda uri, version, text: _analyse(server, uri, text),
        on_result=lambda uri, version, outcome: _on_result(server, uri, version, outcome),
        on_error=lambda uri, version, error: _on_error(server, uri, version, error),
    )

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenTextDocumentParams):
        doc = params.text_document
        request(ls, doc.uri, doc.version, doc.text, delay=0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeTextDocumentParams):
        uri = params.text_document.uri
        document = ls.workspace.get_text_document(uri)
        stale = ls.state.document(uri)  # what a run observed no longer describes the edited text
        stale.diagnostics.pop("shapels (run)", None)
        stale.runtime.clear()
        request(ls, uri, params.text_document.version, document.source, delay=ls.state.settings.debounce_ms / 1000)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        ls.scheduler.cancel(uri)
        ls.state.forget(uri)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls, params):
        ls.scheduler.shutdown()


def request(server, uri: str, version: Optional[int], text: str, delay: float) -> None:
    """Ask for an analysis of this text; it supersedes every earlier request for the uri."""
    if not server.state.settings.enable:
        server.scheduler.cancel(uri)
        doc = server.state.document(uri)
        doc.diagnostics[SOURCE] = []
        publish(server, uri, version)
        return
    server.state.document(uri)
    server.scheduler.schedule(uri, version, text, delay)


def reanalyse_all(server) -> None:
    """Settings changed: analyse every open document again, now (a notebook as a whole, not its cells)."""
    from shapels.lsp import notebook_sync

    for uri, document in list(server.workspace.text_documents.items()):
        if not notebook_sync.is_cell(server, uri):
            request(server, uri, document.version, document.source, delay=0.0)
    notebook_sync.reanalyse_all(server)


def publish(server, uri: str, version: Optional[int] = None) -> None:
    """Send the diagnostics of every source for this uri, merged; never for an older version."""
    doc = server.state.documents.get(uri)
    if doc is None:
        return
    if version is not None and doc.published_version is not None and version < doc.published_version:
        return
    if version is not None:
        doc.published_version = version
    merged = [d for source in sorted(doc.diagnostics) for d in doc.diagnostics[source]]
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, version=doc.published_version, diagnostics=merged)
    )


# -- the work, off the event loop -----------------------------------------------------------------
def _analyse(server, uri: str, text):
    """(result, problems, settings, program): `text` is a file's text, or a notebook's Program."""
    program = text if not isinstance(text, str) else None
    text = program.text if program is not None else text
    settings = server.state.settings
    path = to_fs_path(uri) if uri.startswith("file:") else None
    project, problems, pyproject = server.project_settings.section(Path(path) if path else None)
    options, option_problems = settings_mod.options_for(settings, project)
    problems = [f"{pyproject}: {p}" for p in problems + option_problems] if pyproject else problems
    if path is not None:
        options.loader = _loader(server)
    result = analyze(text, path or uri, options)
    return result, problems, settings, program


def _loader(server) -> FileLoader:
    """One import loader per server (it caches files by mtime), rooted at the workspace folders."""
    if getattr(server, "import_loader", None) is None:
        folders = server.workspace.folders.values() if server.workspace else []
        server.import_loader = FileLoader(roots=[to_fs_path(f.uri) for f in folders])
    return server.import_loader


def _on_result(server, uri: str, version: Optional[int], outcome) -> None:
    result, problems, settings, program = outcome
    for problem in problems:
        server.warn_once(problem)
    if program is not None:
        from shapels.lsp import notebook_sync

        notebook_sync.on_result(server, uri, version, result, program, settings)
        return
    doc = server.state.documents.get(uri)
    if doc is None:  # closed meanwhile
        return
    if result.syntax_error is not None:
        e = result.syntax_error
        server.log(
            f"{uri} (version {version}): not analysed, syntax error at {e.line}:{e.column + 1}: {e.message}; "
            "keeping the last results",
            types.MessageType.Log,
        )
        return
    doc.result, doc.result_version = result, version
    doc.diagnostics[SOURCE] = to_diagnostics(server, uri, version, result, settings)
    publish(server, uri, version)
    refresh_views(server)


def refresh_views(server) -> None:
    """Code lenses and inlay hints show the newest shapes: ask clients that can to re-request them."""
    from shapels.lsp.configuration import _client_has

    if _client_has(server, "workspace", "code_lens", "refresh_support"):
        server.workspace_code_lens_refresh(None)
    if server.state.settings.inlay_hints and _client_has(server, "workspace", "inlay_hint", "refresh_support"):
        server.workspace_inlay_hint_refresh(None)


def _on_error(server, uri: str, version: Optional[int], error: BaseException) -> None:
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    server.log(f"{uri} (version {version}): the analysis failed; keeping the last results\n{detail}",
               types.MessageType.Error)


# -- findings -> LSP -------------------------------------------------------------------------------
def to_diagnostics(server, uri: str, version: Optional[int], result, settings) -> list:
    codec = codec_of(server)
    lines = split_lines(result.text)
    return [to_diagnostic(f, uri, version, codec, lines, settings) for f in result.findings if f.span is not None]


def to_diagnostic(finding, uri, version, codec, lines, settings, locate=None) -> types.Diagnostic:
    """`locate(span)` -> (uri, version, lines, span there), for a notebook: where each span lies (the
    finding's own cell is `uri`); a related location or fix edit elsewhere names its cell's uri."""
    locate = locate or (lambda span: (uri, version, lines, span))
    level = settings.severity_for(finding.code, finding.severity)
    code = codes.CODES.get(finding.code)
    related = []
    for r in finding.related:
        if r.span is not None:
            r_uri, _, r_lines, r_span = locate(r.span)
            related.append(types.DiagnosticRelatedInformation(
                location=types.Location(uri=r_uri, range=to_range(codec, r_lines, r_span)), message=r.message))
    _, _, _, span = locate(finding.span)
    data = {
        "uri": uri,
        "version": version,
        "code": finding.code,
        "fix": _fix_data(finding.fix, codec, uri, locate),
        "alternatives": [d for d in (_fix_data(a, codec, uri, locate) for a in finding.alternatives) if d],
    }
    return types.Diagnostic(
        range=to_range(codec, lines, span),
        message=finding.message,
        severity=SEVERITY.get(level, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=code.href) if code else None,
        source=SOURCE,
        related_information=related or None,
        data=data,
    )


def _fix_data(fix, codec, uri, locate) -> Optional[dict]:
    if fix is None or fix.span is None:
        return None
    data = _edit_data(fix.span, fix.content, codec, uri, locate)
    data["title"] = fix.message
    if fix.also:
        data["more"] = [_edit_data(more.span, more.content, codec, uri, locate) for more in fix.also]
    return data


def _edit_data(span, content: str, codec, uri, locate) -> dict:
    """An edit for the quick fix; one in another document than the diagnostic's (another cell) names
    that document's `uri` and `version`."""
    edit_uri, edit_version, lines, span = locate(span)
    rng = to_range(codec, lines, span)
    data = {
        "newText": content,
        "range": {
            "start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character},
        },
    }
    if edit_uri != uri:
        data.update(uri=edit_uri, version=edit_version)
    return data
