"""Diagnostics: analyse on open and change (debounced), publish, clear on close.

A syntax error, or an analysis that fails, keeps the last good results: nothing is re-published
(so nothing flashes away) and the reason goes to window/logMessage.

A notebook (notebook_sync.py) goes through the same scheduler under its own uri, with its Program as
the text to analyse; its result is published per cell by notebook_sync.on_result.

The Options come from the one configuration path (config.build_options): the editor's settings as
defaults, the project's [tool.shapels] over them, and the server's import loader.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Optional

from lsprotocol import types
from pygls.uris import to_fs_path

from shapels.analysis.engine import analyze
from shapels.config import build_options
from shapels.heap import release_free_memory
from shapels.imports import FileLoader
from shapels.lsp import notebook_sync
from shapels.lsp.conversion import SOURCE, to_diagnostics
from shapels.lsp.publish import clear, publish, refresh_views
from shapels.lsp.scheduler import Scheduler


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
        ls.state.edited(uri)  # what a run observed no longer describes the edited text
        request(ls, uri, params.text_document.version, document.source, delay=ls.state.settings.debounce_ms / 1000)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        ls.scheduler.cancel(uri)
        ls.state.forget(uri)
        clear(ls, uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls, params):
        ls.scheduler.shutdown()


def request(server, uri: str, version: Optional[int], text: str, delay: float) -> None:
    """Ask for an analysis of this text; it supersedes every earlier request for the uri."""
    if not server.state.settings.enable:
        server.scheduler.cancel(uri)
        server.state.set_diagnostics(uri, SOURCE, [])
        publish(server, uri, version)
        return
    server.state.document(uri)
    server.scheduler.schedule(uri, version, text, delay)


def reanalyse_all(server) -> None:
    """Settings changed: analyse every open document again, now (a notebook as a whole, not its cells)."""
    for uri, document in list(server.workspace.text_documents.items()):
        if not notebook_sync.is_cell(server, uri):
            request(server, uri, document.version, document.source, delay=0.0)
    notebook_sync.reanalyse_all(server)


# -- the work, off the event loop -----------------------------------------------------------------
def _analyse(server, uri: str, text):
    """(result, problems, settings, program): `text` is a file's text, or a notebook's Program."""
    program = text if not isinstance(text, str) else None
    text = program.text if program is not None else text
    settings = server.state.settings
    path = to_fs_path(uri) if uri.startswith("file:") else None
    options, problems = options_for(server, uri, settings)
    result = analyze(text, path or uri, options)
    # what the analysis allocated and dropped: back to the system, or the server's memory only grows
    release_free_memory()
    return result, problems, settings, program


def options_for(server, uri: str, settings=None) -> tuple:
    """(Options, problems) for the document `uri` (the confirm command's static side uses them too):
    the editor's `settings` (the current ones when None), the project's [tool.shapels] over them, and
    the server's import loader for a file on disk. Reads the disk: call it off the event loop."""
    settings = settings or server.state.settings
    path = to_fs_path(uri) if uri.startswith("file:") else None
    project, problems, pyproject = server.project_settings.section(Path(path) if path else None)
    options, option_problems = build_options(project, settings.defaults(), _loader(server) if path else None)
    problems = [f"{pyproject}: {p}" for p in problems + option_problems] if pyproject else problems
    return options, problems


def _loader(server) -> FileLoader:
    """One import loader per server (it caches files by mtime), rooted at the workspace folders."""
    if server.import_loader is None:
        folders = server.workspace.folders.values() if server.workspace else []
        server.import_loader = FileLoader(roots=[to_fs_path(f.uri) for f in folders])
    return server.import_loader


def _on_result(server, uri: str, version: Optional[int], outcome) -> None:
    result, problems, settings, program = outcome
    for problem in problems:
        server.warn_once(problem)
    if program is not None:
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
    server.state.set_diagnostics(uri, SOURCE, to_diagnostics(server, uri, version, result, settings))
    publish(server, uri, version)
    refresh_views(server, inlay_hints=server.state.settings.inlay_hints)


def _on_error(server, uri: str, version: Optional[int], error: BaseException) -> None:
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    server.log(f"{uri} (version {version}): the analysis failed; keeping the last results\n{detail}",
               types.MessageType.Error)
