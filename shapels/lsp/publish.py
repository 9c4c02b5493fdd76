"""Sending a document's diagnostics, and asking the client to refresh the views built on results.

Every source of diagnostics (the static analysis "shapels", confirm's "shapels (run)") stores its
own through `ServerState.set_diagnostics` and then calls `publish`, which sends them all merged, so
one source never erases another's.
"""

from __future__ import annotations

from typing import Optional

from lsprotocol import types

from shapels.lsp.capabilities import client_supports


def publish(server, uri: str, version: Optional[int] = None) -> None:
    """Send the diagnostics of every source for this uri, merged; never for an older version."""
    doc = server.state.documents.get(uri)
    if doc is None:
        return
    if version is not None and doc.published_version is not None and version < doc.published_version:
        return
    if version is not None:
        doc.published_version = version
    merged = [d for source in sorted(doc.diagnostics) for d in doc.diagnostics[source]]
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, version=doc.published_version, diagnostics=merged)
    )


def clear(server, uri: str) -> None:
    """Take every diagnostic of this uri away in the client (a closed document or cell)."""
    server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def refresh_views(server, inlay_hints: bool = True) -> None:
    """Code lenses and inlay hints show the newest shapes: ask clients that can to re-request them
    (inlay hints only when `inlay_hints`: shown, or just switched)."""
    if client_supports(server, "workspace.code_lens.refresh_support"):
        server.workspace_code_lens_refresh(None)
    if inlay_hints and client_supports(server, "workspace.inlay_hint.refresh_support"):
        server.workspace_inlay_hint_refresh(None)
