"""Text documents whose lines are LSP lines.

pygls's `TextDocument.lines` uses `str.splitlines`, which also breaks lines at \\x0b, \\x0c (form
feed, common in Python sources), \\x1c-\\x1e, \\x85, U+2028 and U+2029. LSP clients count only
\\n, \\r\\n and \\r, so an incremental edit below such a character landed on the wrong line and the
server's copy of the document silently diverged from the editor's. Here lines end only where LSP
says they do (the same rule as `positions.split_lines`).
"""

from __future__ import annotations

import re
import types as pytypes
from typing import Optional, Sequence

from pygls.workspace import TextDocument

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lsp_lines(source: str) -> tuple:
    """Lines with their endings, split at \\n, \\r\\n and \\r only."""
    return tuple(_LINE.findall(source))


class LspTextDocument(TextDocument):
    @property
    def lines(self) -> Sequence[str]:
        return lsp_lines(self.source)


def _create_text_document(self, doc_uri: str, source: Optional[str] = None, version: Optional[int] = None,
                          language_id: Optional[str] = None) -> TextDocument:
    return LspTextDocument(doc_uri, source=source, version=version, language_id=language_id,
                           sync_kind=self._sync_kind, position_codec=self._position_codec)


def install(workspace) -> None:
    """Make `workspace` create LspTextDocuments (called right after pygls creates it, in initialize)."""
    workspace._create_text_document = pytypes.MethodType(_create_text_document, workspace)
