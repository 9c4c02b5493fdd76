"""Findings -> LSP diagnostics, with the fix each carries for its code actions (fix_payload.py).

Shared by the file publisher (diagnostics.py) and the notebook one (notebook_sync.py), which places
each span in its cell through `locate`.
"""

from __future__ import annotations

from typing import Optional

from lsprotocol import types

from shapels import codes
from shapels.lsp import fix_payload
from shapels.lsp.positions import codec_of, split_lines, to_range

SOURCE = "shapels"
SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def to_diagnostics(server, uri: str, version: Optional[int], result, settings) -> list:
    codec = codec_of(server)
    lines = split_lines(result.text)
    return [to_diagnostic(f, uri, version, codec, lines, settings) for f in result.findings if f.span is not None]


def to_diagnostic(finding, uri, version, codec, lines, settings, locate=None) -> types.Diagnostic:
    """`locate(span)` -> (uri, version, lines, span there), for a notebook: where each span lies (the
    finding's own cell is `uri`); a related location or fix edit elsewhere names its cell's uri."""
    locate = locate or (lambda span: (uri, version, lines, span))
    level = settings.severity_for(finding.code, finding.severity)
    code = codes.CODES.get(finding.code)
    related = []
    for r in finding.related:
        if r.span is not None:
            r_uri, _, r_lines, r_span = locate(r.span)
            related.append(types.DiagnosticRelatedInformation(
                location=types.Location(uri=r_uri, range=to_range(codec, r_lines, r_span)), message=r.message))
    _, _, _, span = locate(finding.span)
    data = fix_payload.DiagnosticData(
        uri=uri,
        version=version,
        code=finding.code,
        fix=_fix(finding.fix, codec, uri, locate),
        alternatives=[a for a in (_fix(a, codec, uri, locate) for a in finding.alternatives) if a is not None],
    )
    return types.Diagnostic(
        range=to_range(codec, lines, span),
        message=finding.message,
        severity=SEVERITY.get(level, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=code.href) if code else None,
        source=SOURCE,
        related_information=related or None,
        data=fix_payload.to_json(data),
    )


def _fix(fix, codec, uri, locate) -> Optional[fix_payload.Fix]:
    if fix is None or fix.span is None:
        return None
    first = _edit(fix.span, fix.content, codec, uri, locate)
    more = [_edit(also.span, also.content, codec, uri, locate) for also in fix.also]
    return fix_payload.Fix(fix.message, first.range, first.new_text, first.uri, first.version, more)


def _edit(span, content: str, codec, uri, locate) -> fix_payload.Edit:
    """An edit for the quick fix; one in another document than the diagnostic's (another cell) names
    that document's `uri` and `version`."""
    edit_uri, edit_version, lines, span = locate(span)
    rng = to_range(codec, lines, span)
    if edit_uri != uri:
        return fix_payload.Edit(rng, content, edit_uri, edit_version)
    return fix_payload.Edit(rng, content)
