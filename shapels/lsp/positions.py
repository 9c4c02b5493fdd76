"""Engine spans (1-based lines, 0-based code-point columns) <-> LSP positions in the negotiated
encoding (UTF-16 unless the client chose UTF-8/UTF-32), through pygls's position codec.

Spans are converted against the lines of the text that was analysed, never a newer text.
"""

from __future__ import annotations

import re
from typing import Optional

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

_NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list:
    """Lines as LSP and libcst count them (only \\n, \\r\\n and \\r end a line)."""
    return _NEWLINE.split(text)


def to_position(codec: PositionCodec, lines: list, line: int, col: int) -> types.Position:
    """1-based line, 0-based code-point column -> LSP Position."""
    row = max(line - 1, 0)
    if row >= len(lines):
        return types.Position(line=row, character=0)
    col = min(max(col, 0), len(lines[row]))
    return codec.position_to_client_units(lines, ServerTextPosition(row, col))


def to_range(codec: PositionCodec, lines: list, span) -> types.Range:
    return types.Range(
        start=to_position(codec, lines, span.start_line, span.start_col),
        end=to_position(codec, lines, span.end_line, span.end_col),
    )


def from_position(codec: PositionCodec, lines: list, position: types.Position) -> tuple[int, int]:
    """LSP Position -> (1-based line, 0-based code-point column)."""
    if not lines:
        return 1, 0
    probe = types.Position(line=position.line, character=position.character)  # the codec mutates it
    server = codec.position_from_client_units(lines, probe)
    return server.line + 1, server.character


def contains(span, line: int, col: int) -> bool:
    """Whether (line, col) lies in the span, both ends included (a cursor just after a name counts)."""
    if span is None:
        return False
    if (line, col) < (span.start_line, span.start_col):
        return False
    return (line, col) <= (span.end_line, span.end_col)


def line_end(codec: PositionCodec, lines: list, row0: int) -> types.Position:
    """The end of a 0-based line, in client units."""
    if row0 >= len(lines):
        return types.Position(line=row0, character=0)
    return types.Position(line=row0, character=codec.client_num_units(lines[row0]))


def span_size(span) -> tuple:
    return (span.end_line - span.start_line, span.end_col - span.start_col if span.end_line == span.start_line else 10**6)


def codec_of(server) -> PositionCodec:
    try:
        return server.workspace.position_codec
    except RuntimeError:  # before initialize
        return PositionCodec()


def document_lines(server, uri: str) -> Optional[list]:
    try:
        return split_lines(server.workspace.get_text_document(uri).source)
    except Exception:  # noqa: BLE001 - a closed or unknown document
        return None
