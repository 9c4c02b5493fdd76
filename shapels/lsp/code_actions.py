"""Code actions from the fix that travels in Diagnostic.data (never a re-analysis): the preferred
quick fix, its alternatives (e.g. nn.LazyLinear), and "Ignore on this line"."""

from __future__ import annotations

import re
from typing import Optional

from lsprotocol import types

from shapels.lsp.diagnostics import SOURCE
from shapels.lsp.positions import codec_of, document_lines, line_end

KIND = types.CodeActionKind.QuickFix
IGNORE = re.compile(r"#\s*shapels:\s*ignore(\[([\w\-, ]*)\])?")


def register(server) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[KIND]))
    def code_action(ls, params: types.CodeActionParams):
        return actions_for(ls, params)


def actions_for(server, params: types.CodeActionParams) -> Optional[list]:
    if not wanted(params.context.only):
        return None
    uri = params.text_document.uri
    actions = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE or not isinstance(diagnostic.data, dict):
            continue
        data = diagnostic.data
        fix = data.get("fix")
        if fix:
            actions.append(_edit_action(server, uri, data, fix, diagnostic, preferred=True))
        for alternative in data.get("alternatives") or []:
            actions.append(_edit_action(server, uri, data, alternative, diagnostic, preferred=False))
        ignore = _ignore_action(server, uri, diagnostic)
        if ignore is not None:
            actions.append(ignore)
    return actions or None


def wanted(only: Optional[list]) -> bool:
    """Our actions are quick fixes: offered unless `only` excludes that kind."""
    if not only:
        return True
    return any(KIND == kind or KIND.startswith(f"{kind}.") or kind == "" for kind in only)


def _edit_action(server, uri, data, fix, diagnostic, preferred: bool) -> types.CodeAction:
    # A fix of several edits applies them together; in a notebook an edit may lie in another cell
    # (its own `uri` and `version`).
    documents: dict = {}
    for part in [fix] + list(fix.get("more") or []):
        target = part.get("uri", uri)
        version = part["version"] if "uri" in part else data.get("version")
        documents.setdefault(target, (version, []))[1].append(
            types.TextEdit(range=_range(part["range"]), new_text=part["newText"]))
    return types.CodeAction(
        title=fix["title"],
        kind=KIND,
        diagnostics=[diagnostic],
        is_preferred=preferred,
        edit=workspace_edits(server, documents),
    )


def _ignore_action(server, uri, diagnostic) -> Optional[types.CodeAction]:
    code = diagnostic.code
    lines = document_lines(server, uri)
    row = diagnostic.range.start.line
    if not code or lines is None or row >= len(lines):
        return None
    text = lines[row]
    codec = codec_of(server)
    match = IGNORE.search(text)
    if match and match.group(2) is None:
        return None  # a bare `# shapels: ignore` already silences the line
    if match:
        codes = [c.strip() for c in match.group(2).split(",") if c.strip()]
        if code in codes:
            return None
        new = f"# shapels: ignore[{', '.join(codes + [str(code)])}]"
        start = codec.client_num_units(text[: match.start()])
        end = codec.client_num_units(text[: match.end()])
        rng = types.Range(start=types.Position(line=row, character=start), end=types.Position(line=row, character=end))
        edit = types.TextEdit(range=rng, new_text=new)
    else:
        end = line_end(codec, lines, row)
        edit = types.TextEdit(range=types.Range(start=end, end=end), new_text=f"  # shapels: ignore[{code}]")
    version = _current_version(server, uri)  # computed from the current text
    return types.CodeAction(
        title=f"Ignore {code} on this line",
        kind=KIND,
        diagnostics=[diagnostic],
        is_preferred=False,
        edit=workspace_edit(server, uri, version, [edit]),
    )


def workspace_edit(server, uri: str, version, edits: list) -> types.WorkspaceEdit:
    """`documentChanges` where the client supports it, versioned with the text the edit was computed
    from, so a client refuses a fix that no longer applies."""
    return workspace_edits(server, {uri: (version, edits)})


def workspace_edits(server, documents: dict) -> types.WorkspaceEdit:
    """workspace_edit for several documents: uri -> (version, edits)."""
    caps = server.client_capabilities
    supports = getattr(getattr(getattr(caps, "workspace", None), "workspace_edit", None), "document_changes", None)
    if supports:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                    edits=edits,
                )
                for uri, (version, edits) in documents.items()
            ]
        )
    return types.WorkspaceEdit(changes={uri: edits for uri, (_, edits) in documents.items()})


def _current_version(server, uri: str):
    try:
        return server.workspace.get_text_document(uri).version
    except Exception:  # noqa: BLE001
        return None


def _range(raw: dict) -> types.Range:
    return types.Range(
        start=types.Position(line=raw["start"]["line"], character=raw["start"]["character"]),
        end=types.Position(line=raw["end"]["line"], character=raw["end"]["character"]),
    )
