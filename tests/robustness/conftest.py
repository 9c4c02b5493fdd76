"""Robustness fixtures: the real server over stdio (the pytest-lsp fixtures of tests/lsp), a client-side
model of the document that applies edits exactly as an LSP client does, and the diagnostics a fresh
engine run gives for a text, converted to LSP ranges independently of the server's own code."""

from __future__ import annotations

import re
from typing import Optional

from lsprotocol import types

from shapels.analysis.engine import Options, analyze
from tests.lsp.conftest import EXAMPLES, ROOT, SERVER, RecordingClient, client, fresh_client, start  # noqa: F401

MODEL_FILES = sorted((ROOT / "examples").glob("*.py")) + sorted((EXAMPLES / "torch").glob("*.py"))
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # LSP lines: only \n, \r\n, \r end a line


def units(text: str, encoding: str) -> int:
    """Length of `text` in the negotiated position encoding's code units."""
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class ClientDoc:
    """The editor's copy of a document: code-point offsets <-> LSP positions, edits as LSP changes."""

    def __init__(self, text: str, encoding: str):
        self.text = text
        self.encoding = encoding

    def lines(self) -> list:
        return _LINE.findall(self.text)

    def position(self, offset: int) -> types.Position:
        row, line_start = 0, 0
        for row, line in enumerate(self.lines()):
            if offset < line_start + len(line) or (offset == line_start + len(line) and not line.endswith(("\n", "\r"))):
                return types.Position(line=row, character=units(line[: offset - line_start], self.encoding))
            line_start += len(line)
        return types.Position(line=len(self.lines()), character=0)  # just past a final newline

    def safe_offset(self, offset: int) -> int:
        """Never between \\r and \\n (no editor puts a cursor there)."""
        offset = max(0, min(offset, len(self.text)))
        if 0 < offset < len(self.text) and self.text[offset - 1] == "\r" and self.text[offset] == "\n":
            offset -= 1
        return offset

    def edit(self, begin: int, end: int, new: str) -> types.TextDocumentContentChangePartial:
        """Replace text[begin:end] with `new`; returns the change to send (positions before the edit)."""
        begin, end = self.safe_offset(begin), self.safe_offset(end)
        begin, end = min(begin, end), max(begin, end)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=self.position(begin), end=self.position(end)), text=new)
        self.text = self.text[:begin] + new + self.text[end:]
        return change


def expected_diagnostics(text: str, encoding: str, options: Optional[Options] = None) -> Optional[list]:
    """(code, severity, message, range) for a fresh analysis of `text`; None if it does not parse
    (the server then keeps its last good results)."""
    result = analyze(text, "fuzz.py", options or Options())
    if result.syntax_error is not None:
        return None
    lines = [line.rstrip("\r\n") for line in _LINE.findall(text)] or [""]
    if text.endswith(("\n", "\r")):
        lines.append("")

    def pos(line: int, col: int) -> tuple:
        row = max(line - 1, 0)
        if row >= len(lines):
            return (row, 0)
        col = min(max(col, 0), len(lines[row]))
        return (row, units(lines[row][:col], encoding))

    out = []
    for f in result.findings:
        if f.span is None:
            continue
        out.append((f.code, f.message, pos(f.span.start_line, f.span.start_col), pos(f.span.end_line, f.span.end_col)))
    return sorted(out)


def published(diagnostics) -> list:
    """The server's diagnostics from the engine (source "shapels"), in `expected_diagnostics`' form."""
    return sorted(
        (d.code, d.message, (d.range.start.line, d.range.start.character), (d.range.end.line, d.range.end.character))
        for d in diagnostics if d.source == "shapels")


def errors_in_log(lsp_client: RecordingClient, after: int = 0, shown_after: int = 0) -> list:
    """Error-level window/logMessage and window/showMessage (pygls reports a failing handler there)."""
    logs = [m.message for m in lsp_client.log_messages[after:] if m.type == types.MessageType.Error]
    shown = [m.message for m in lsp_client.messages[shown_after:] if m.type == types.MessageType.Error]
    return logs + shown


def processed(lsp_client: RecordingClient, uri: str, version: int, after: int = 0, logs_after: int = 0):
    """A predicate: the server is done with `version` (published it, or logged why not)."""
    needle = f"{uri} (version {version})"

    def done() -> bool:
        return (any(p.uri == uri and p.version is not None and p.version >= version for p in lsp_client.publishes[after:])
                or any(needle in m.message for m in lsp_client.log_messages[logs_after:]))

    return done
