"""Code actions from the fix that travels in Diagnostic.data (never a re-analysis): the preferred
quick fix, its alternatives (e.g. nn.LazyLinear), and "Ignore on this line"."""

from __future__ import annotations

from typing import Optional

from lsprotocol import types

from shapels.analysis.suppression import comment_for, suppression_in
from shapels.lsp import fix_payload
from shapels.lsp.capabilities import client_supports
from shapels.lsp.conversion import SOURCE
from shapels.lsp.positions import codec_of, document_lines, line_end

KIND = types.CodeActionKind.QuickFix


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
        data = fix_payload.from_json(diagnostic.data) if diagnostic.source == SOURCE else None
        if data is None:
            continue
        if data.fix is not None:
            actions.append(_edit_action(server, uri, data, data.fix, diagnostic, preferred=True))
        for alternative in data.alternatives:
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


def _edit_action(server, uri, data: fix_payload.DiagnosticData, fix: fix_payload.Fix, diagnostic,
                 preferred: bool) -> types.CodeAction:
    # A fix of several edits applies them together; in a notebook an edit may lie in another cell
    # (its own `uri` and `version`).
    documents: dict = {}
    for part in fix.edits():
        target, version = (part.uri, part.version) if part.uri is not None else (uri, data.version)
        documents.setdefault(target, (version, []))[1].append(types.TextEdit(range=part.range, new_text=part.new_text))
    return types.CodeAction(
        title=fix.title,
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
    found = suppression_in(text)
    if found is not None and found.silences(str(code)):
        return None  # the line's comment already silences this code
    if found is not None:  # a list without this code (`ignore[]` included): add it
        new = comment_for(found.codes + (str(code),))
        start = codec.client_num_units(text[: found.start])
        end = codec.client_num_units(text[: found.end])
        rng = types.Range(start=types.Position(line=row, character=start), end=types.Position(line=row, character=end))
        edit = types.TextEdit(range=rng, new_text=new)
    else:
        end = line_end(codec, lines, row)
        edit = types.TextEdit(range=types.Range(start=end, end=end), new_text=f"  {comment_for((str(code),))}")
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
    if client_supports(server, "workspace.workspace_edit.document_changes"):
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
