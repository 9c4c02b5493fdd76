"""The one question every feature asks of the client: what it said it supports at initialize.

Built on pygls's `get_capability` (a dotted path of ClientCapabilities fields, with a default where
the client said nothing), so no feature walks the capability tree by hand.
"""

from __future__ import annotations

from typing import Any

from pygls.capabilities import get_capability


def client_capability(server, field: str, default: Any = None) -> Any:
    """The client's value at `field` (e.g. "text_document.hover.content_format"), else `default`."""
    return get_capability(server.client_capabilities, field, default)


def client_supports(server, field: str) -> bool:
    """Whether the client declared `field` (e.g. "workspace.code_lens.refresh_support") true or present."""
    return bool(client_capability(server, field, False))
