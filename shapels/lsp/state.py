"""What the server knows per open document: the last good analysis, its diagnostics, runtime notes.

This is the integration point for other features (e.g. `confirm_feature`):
- `server.state.documents[uri].result` is the last good `AnalysisResult` (None before the first).
- `server.state.documents[uri].runtime` maps a 1-based source line to a text (e.g. "(1, 5120)")
  that hover appends as "runtime: ...".
- `server.state.documents[uri].diagnostics` maps a diagnostic source ("shapels", "shapels (run)")
  to its list of LSP diagnostics; `diagnostics.publish(server, uri)` sends them all merged, so one
  source never erases another's.
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

    def result(self, uri: str):
        doc = self.documents.get(uri)
        return doc.result if doc is not None else None

    def forget(self, uri: str) -> None:
        self.documents.pop(uri, None)
