"""What the server knows per open document: the last good analysis, its diagnostics, runtime notes.

This is where features meet (none reaches into another):
- `server.state.documents[uri].result` is the last good `AnalysisResult` (None before the first).
- `server.state.documents[uri].runtime` maps a 1-based source line to a text (e.g. "(1, 5120)")
  that hover appends as "runtime: ...".
- `server.state.set_diagnostics(uri, source, items)` stores one source's LSP diagnostics ("shapels",
  "shapels (run)"); `publish.publish(server, uri)` sends every source's merged, so one source never
  erases another's. A source set `until_edit` (a run's: it observed the text as it was) is dropped,
  with the runtime notes, by `edited(uri)`, which the document's and notebook's edits call.
- `server.state.trusted`: whether the client allows running the workspace's code (confirm).
- A notebook's cells are documents here too (their `result` a notebook_sync.CellView), and
  `server.state.notebooks[notebook_uri]` holds the notebook's own last result and program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from shapels.lsp.settings import Settings


@dataclass
class DocumentState:
    uri: str
    result: Any = None  # last good AnalysisResult (no syntax error)
    result_version: Optional[int] = None  # the document version `result` was computed from
    published_version: Optional[int] = None  # newest version whose diagnostics were published
    diagnostics: dict = field(default_factory=dict)  # source -> list[types.Diagnostic]
    runtime: dict = field(default_factory=dict)  # 1-based line -> text, shown on hover
    until_edit: set = field(default_factory=set)  # sources of `diagnostics` that an edit makes stale


@dataclass
class ServerState:
    settings: Settings = field(default_factory=Settings)
    init_settings: dict = field(default_factory=dict)  # raw `shapels` section from initializationOptions
    documents: dict = field(default_factory=dict)  # uri -> DocumentState
    notebooks: dict = field(default_factory=dict)  # notebook uri -> notebook_sync.NotebookState
    settings_generation: int = 0  # bumped by each pushed change; a pull answered later is dropped
    startup_problems: list = field(default_factory=list)  # invalid initializationOptions, shown after `initialized`

    def document(self, uri: str) -> DocumentState:
        doc = self.documents.get(uri)
        if doc is None:
            doc = self.documents[uri] = DocumentState(uri)
        return doc

    def set_diagnostics(self, uri: str, source: str, items: list, until_edit: bool = False) -> None:
        doc = self.document(uri)
        doc.diagnostics[source] = list(items)
        if until_edit:
            doc.until_edit.add(source)
        else:
            doc.until_edit.discard(source)

    def edited(self, uri: str) -> None:
        """The document's text changed: what a run observed (its diagnostics, its runtime notes) no
        longer describes it."""
        doc = self.documents.get(uri)
        if doc is None:
            return
        for source in doc.until_edit:
            doc.diagnostics.pop(source, None)
        doc.until_edit.clear()
        doc.runtime.clear()

    @property
    def trusted(self) -> bool:
        """False when the client said so: initializationOptions {"shapels": {"trusted": false}} (or the
        flat key "shapels.trusted"); a value other than true/false there counts as not trusted (and the
        settings warning says so). Trusted when the key is absent."""
        for key in ("trusted", "shapels.trusted"):
            value = self.init_settings.get(key)
            if value is not True and value is not None:
                return False
        return True

    def result(self, uri: str):
        doc = self.documents.get(uri)
        return doc.result if doc is not None else None

    def forget(self, uri: str) -> None:
        self.documents.pop(uri, None)
