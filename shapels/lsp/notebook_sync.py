"""LSP 3.17 notebook documents: `notebookDocument/didOpen|didChange|didClose`.

A notebook is analysed as one program (shapels/notebooks.py, the same module the CLI uses): its
Python code cells in the notebook's order, IPython lines blanked. The program is scheduled under the
notebook's uri and version, like a file (debounced after an edit in any cell, stale results dropped),
and its findings are published per cell: each diagnostic in the cell that holds its span, related
information and fix edits in whichever cell theirs are (a fix edit outside the diagnostic's cell
carries that cell's `uri` and `version` in `data`). A cell with nothing to say gets an empty publish,
so an old squiggle never stays behind.

Hover, inlay hints and code lenses are asked for a cell's uri: each cell's `DocumentState.result` is a
`CellView`, the notebook's result seen from that cell (its text, and only the spans inside it, in its
own lines), so those features work on cells unchanged.

As for a file, a syntax error (a cell that does not compile) keeps the last results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import unquote

import attrs
from lsprotocol import types

from shapels.lsp.conversion import SOURCE, to_diagnostic
from shapels.lsp.positions import codec_of, split_lines
from shapels.lsp.publish import clear, publish, refresh_views
from shapels.notebooks import Cell, build_program

NOTEBOOK_TYPE = "jupyter-notebook"
SYNC_OPTIONS = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithCells(
        notebook=types.NotebookDocumentFilterNotebookType(notebook_type=NOTEBOOK_TYPE),
        cells=[types.NotebookCellLanguage(language="python")])],
    save=False,
)


@dataclass
class NotebookState:
    uri: str
    result: Any = None  # the last good AnalysisResult of the program
    program: Any = None  # the Program `result` was computed from
    version: Optional[int] = None
    cells: list = field(default_factory=list)  # uris of the cells last published


def register(server) -> None:
    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenNotebookDocumentParams):
        request(ls, params.notebook_document.uri, delay=0.0)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeNotebookDocumentParams):
        uri = params.notebook_document.uri
        structure = params.change.cells.structure if params.change.cells else None
        for closed in (structure.did_close or []) if structure else []:
            _clear(ls, closed.uri)
        _clear_runtime(ls, uri)
        request(ls, uri, delay=ls.state.settings.debounce_ms / 1000)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseNotebookDocumentParams):
        uri = params.notebook_document.uri
        ls.scheduler.cancel(uri)
        state = ls.state.notebooks.pop(uri, None)
        cells = {c.uri for c in params.cell_text_documents} | set(state.cells if state else [])
        for cell_uri in sorted(cells):
            _clear(ls, cell_uri)
        ls.state.forget(uri)


# -- requests -------------------------------------------------------------------------------------
def notebook_of(server, uri: str):
    """The notebook document that is `uri` or holds the cell `uri`, or None."""
    try:
        workspace = server.workspace
    except RuntimeError:  # before initialize
        return None
    return workspace.get_notebook_document(notebook_uri=uri) or workspace.get_notebook_document(cell_uri=uri)


def program_for(server, notebook) -> Any:
    """The notebook's program as it stands now (cell texts from the workspace)."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        # pygls keys its documents by the unquoted uri; VS Code's cell uris carry %-escapes
        document = server.workspace.text_documents.get(unquote(cell.document))
        code = cell.kind == types.NotebookCellKind.Code
        language = (document.language_id or "python") if document is not None else "python"
        cells.append(Cell(index, "code" if code else "markdown", document.source if document is not None else "",
                          uri=cell.document, version=document.version if document is not None else None,
                          language=language.lower()))
    return build_program(cells)


def request(server, uri: str, delay: float) -> None:
    """Analyse the notebook as it stands (supersedes every earlier request for it)."""
    notebook = server.workspace.get_notebook_document(notebook_uri=uri)
    if notebook is None:
        return
    state = server.state.notebooks.setdefault(uri, NotebookState(uri))
    program = program_for(server, notebook)
    if not server.state.settings.enable:
        server.scheduler.cancel(uri)
        for cell in program.code_cells():
            server.state.set_diagnostics(cell.uri, SOURCE, [])
            publish(server, cell.uri, cell.version)
        return
    state.version = notebook.version
    server.scheduler.schedule(uri, notebook.version, program, delay)


def reanalyse_all(server) -> None:
    for uri in list(server.workspace.notebook_documents):
        request(server, uri, delay=0.0)


def is_cell(server, uri: str) -> bool:
    try:
        return server.workspace.get_notebook_document(cell_uri=uri) is not None
    except RuntimeError:
        return False


# -- results --------------------------------------------------------------------------------------
def on_result(server, uri: str, version: Optional[int], result, program, settings) -> None:
    state = server.state.notebooks.get(uri)
    if state is None:  # closed meanwhile
        return
    if result.syntax_error is not None or program.broken:
        if program.broken:
            b = program.broken[0]
            where = f"cell {b.cell + 1}, line {b.line}:{b.column + 1}: {b.message}"
        else:
            cell, row = program.locate(result.syntax_error.line)
            where = f"cell {cell + 1}, line {row}:{result.syntax_error.column + 1}: {result.syntax_error.message}"
        server.log(f"{uri} (version {version}): not analysed, syntax error at {where}; keeping the last results",
                   types.MessageType.Log)
        return
    state.result, state.program, state.version = result, program, version
    codec = codec_of(server)
    per_cell = to_cell_diagnostics(result, program, codec, settings)
    published = []
    for cell in program.code_cells():
        if cell.uri is None:
            continue
        doc = server.state.document(cell.uri)
        doc.result = CellView(result, program, cell.index)
        doc.result_version = cell.version
        server.state.set_diagnostics(cell.uri, SOURCE, per_cell.get(cell.index, []))
        publish(server, cell.uri, cell.version)
        published.append(cell.uri)
    for gone in set(state.cells) - set(published):  # a cell no longer Python (made markdown)
        _clear(server, gone)
    state.cells = published
    refresh_views(server, inlay_hints=server.state.settings.inlay_hints)


def to_cell_diagnostics(result, program, codec, settings) -> dict:
    """cell index -> its LSP diagnostics, every position in its cell's own lines."""
    lines = {c.index: split_lines(c.source) for c in program.code_cells()}
    cells = {c.index: c for c in program.code_cells()}

    def locate(span):
        index, local = program.cell_span(span)
        cell = cells[index]
        return cell.uri, cell.version, lines[index], local

    out: dict = {}
    for finding in result.findings:
        if finding.span is None:
            continue
        index, _ = program.cell_span(finding.span)
        if index not in cells:
            continue
        cell = cells[index]
        out.setdefault(index, []).append(
            to_diagnostic(finding, cell.uri, cell.version, codec, lines[index], settings, locate=locate))
    return out


def split_by_cell(program, diagnostics: list) -> dict:
    """Diagnostics made against the program's lines (the confirm run's) -> cell uri -> diagnostics in
    that cell's lines (a program line and its cell's line hold the same text, so characters stay)."""
    out: dict = {c.uri: [] for c in program.code_cells() if c.uri}

    def move(rng: types.Range) -> tuple:
        index, row = program.locate(rng.start.line + 1)
        end_index, end_row = program.locate(rng.end.line + 1)
        end = types.Position(line=end_row - 1, character=rng.end.character) if end_index == index \
            else types.Position(line=row - 1, character=rng.start.character)
        return index, types.Range(start=types.Position(line=row - 1, character=rng.start.character), end=end)

    for d in diagnostics:
        index, rng = move(d.range)
        cell = program.cell(index)
        if cell is None or not cell.uri:
            continue
        related = None
        if d.related_information:
            related = []
            for r in d.related_information:
                r_index, r_range = move(r.location.range)
                r_cell = program.cell(r_index)
                related.append(types.DiagnosticRelatedInformation(
                    location=types.Location(uri=r_cell.uri if r_cell and r_cell.uri else cell.uri, range=r_range),
                    message=r.message))
        out.setdefault(cell.uri, []).append(attrs.evolve(d, range=rng, related_information=related))
    return out


def runtime_by_cell(program, notes: dict) -> dict:
    """program line -> text  =>  cell uri -> {line in cell -> text} (what hover shows as runtime)."""
    out: dict = {c.uri: {} for c in program.code_cells() if c.uri}
    for line, text in notes.items():
        index, row = program.locate(line)
        cell = program.cell(index)
        if cell is not None and cell.uri:
            out.setdefault(cell.uri, {})[row] = text
    return out


def _clear(server, cell_uri: str) -> None:
    """Forget a cell and take its diagnostics away."""
    server.state.forget(cell_uri)
    clear(server, cell_uri)


def _clear_runtime(server, uri: str) -> None:
    """An edit: what a run observed no longer describes the notebook."""
    state = server.state.notebooks.get(uri)
    for cell_uri in state.cells if state else []:
        server.state.edited(cell_uri)


# -- a cell's view of the notebook's result --------------------------------------------------------
class CellView:
    """The notebook's AnalysisResult as one cell sees it: `text` is the cell's, and `modules` and
    `findings` hold only what lies in the cell, in its own lines (a span elsewhere becomes None).
    Built lazily: diagnostics never pay for the modules."""

    def __init__(self, result, program, cell_index: int):
        self.notebook_result = result
        self.program = program
        self.cell_index = cell_index
        cell = program.cell(cell_index)
        self.text = "\n".join(_cell_lines(cell.source)) if cell is not None else ""
        self.path = result.path
        self.syntax_error = None
        self.partial = result.partial
        self._modules = None
        self._findings = None

    def local(self, span):
        if span is None:
            return None
        index, local = self.program.cell_span(span)
        return local if index == self.cell_index else None

    @property
    def findings(self) -> list:
        if self._findings is None:
            self._findings = [dataclasses.replace(f, span=self.local(f.span)) for f in self.notebook_result.findings
                              if self.local(f.span) is not None]
        return self._findings

    @property
    def modules(self) -> list:
        if self._modules is None:
            self._modules = [self._module(m) for m in self.notebook_result.modules]
        return self._modules

    def _module(self, m):
        local = self.local
        layers = [dataclasses.replace(layer, span=local(layer.span), call_span=local(layer.call_span),
                                      calls=[_with_span(c, local) for c in getattr(layer, "calls", [])])
                  for layer in m.layers]
        return dataclasses.replace(
            m, span=local(m.span), forward_span=local(m.forward_span),
            bindings=[dataclasses.replace(b, span=local(b.span)) for b in m.bindings if local(b.span) is not None],
            names=[dataclasses.replace(b, span=local(b.span)) for b in m.names if local(b.span) is not None],
            layers=layers)


def _with_span(call, local):
    if dataclasses.is_dataclass(call) and hasattr(call, "span"):
        return dataclasses.replace(call, span=local(call.span))
    return call


def _cell_lines(source: str) -> list:
    return split_lines(source)
