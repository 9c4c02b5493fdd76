"""What a shapels diagnostic carries in `Diagnostic.data` for its code actions: the fix, its
alternatives, and the document version they were computed from (code actions never re-analyse).

Typed attrs classes, turned into JSON and back by lsprotocol's converter (camelCase names, a field
left at its default omitted), as every other LSP structure is. On the wire:

    {"uri", "version", "code", "fix": Fix | null, "alternatives": [Fix]}
    Fix  = {"title", "newText", "range", "more"?: [Edit], "uri"?, "version"?}
    Edit = {"newText", "range", "uri"?, "version"?}

An edit names `uri` (and `version`) only when it lies in another document than the diagnostic's:
in a notebook, a fix may edit another cell.
"""

from __future__ import annotations

from typing import Any, List, Optional

import attrs
from lsprotocol import types
from lsprotocol.converters import get_converter

CONVERTER = get_converter()


@attrs.define
class Edit:
    range: types.Range
    new_text: str
    uri: Optional[str] = None
    version: Optional[int] = None


@attrs.define
class Fix:
    title: str
    range: types.Range
    new_text: str
    uri: Optional[str] = None
    version: Optional[int] = None
    more: List[Edit] = attrs.Factory(list)  # further edits applied together with this one

    def edits(self) -> list:
        return [Edit(self.range, self.new_text, self.uri, self.version)] + list(self.more)


@attrs.define
class DiagnosticData:
    uri: str
    version: Optional[int]
    code: str
    fix: Optional[Fix]
    alternatives: List[Fix]


def to_json(data: DiagnosticData) -> dict:
    return CONVERTER.unstructure(data)


def from_json(raw: Any) -> Optional[DiagnosticData]:
    """The payload a client sent back, or None when it is not one of ours (another server's, or a
    client that dropped or mangled it)."""
    if not isinstance(raw, dict):
        return None
    try:
        return CONVERTER.structure(raw, DiagnosticData)
    except Exception:  # noqa: BLE001 - cattrs raises its own exception groups; any failure means "not ours"
        return None
