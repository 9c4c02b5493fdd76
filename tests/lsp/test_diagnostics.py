"""Diagnostics on the six torch examples, against both client profiles: ranges on the constructor
argument, source/code/codeDescription, related information, the fix in `data`."""

from __future__ import annotations

import pytest
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

from tests.lsp.conftest import TORCH_EXAMPLES, copy_example, expected_for, range_text

NAMES = [p.name for p in TORCH_EXAMPLES]


@pytest.mark.parametrize("name", NAMES)
async def test_example_diagnostics(client, tmp_path, name):
    path = copy_example(tmp_path, name)
    text = path.read_text()
    uri, diagnostics = await client.open(path)
    expected = expected_for(name)
    serious = [d for d in diagnostics if d.severity in (types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning)]
    if not expected.get("flags"):
        assert serious == [], [d.message for d in serious]
        return
    lines = text.splitlines()
    for flag in expected["flags"]:
        on_line = [d for d in serious if d.range.start.line == flag["line"] - 1]
        assert on_line, f"no diagnostic on line {flag['line']}: {[(d.range.start.line + 1, d.message) for d in diagnostics]}"
        d = on_line[0]
        assert d.source == "shapels"
        assert d.severity == types.DiagnosticSeverity.Error
        assert d.code and d.code_description is not None and d.code in d.code_description.href
        covered = range_text(text, d.range, client.codec())
        if flag["param"] == "in_features":
            assert d.code == "linear-in-features"
            # The argument itself (`1024`, `10 * 10 * 20`), not the call in forward.
            assert eval(covered, {"__builtins__": {}}) == flag["actual"], covered
            assert d.data["fix"]["newText"] == str(flag["fix"])
            assert any("LazyLinear" in a["newText"] for a in d.data["alternatives"])
        else:
            assert d.code == "view-invalid-shape"
            assert ",".join(str(v) for v in flag["actual"][1:]) in covered.replace(" ", "")
        related = d.related_information or []
        if flag["line"] != expected["call_line"]:
            assert any(r.location.range.start.line == expected["call_line"] - 1 for r in related), \
                "related information points at the forward line that calls the layer"
        assert all(r.location.uri == uri for r in related)
        # The provenance chain: every related line holds code, and the driver input is among them.
        assert all(lines[r.location.range.start.line].strip() for r in related)
        assert any("input" in r.message for r in related)


async def test_close_clears(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, diagnostics = await client.open(path)
    assert diagnostics
    start = len(client.publishes)
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    published = await client.wait_for_publish(uri, start)
    assert list(published.diagnostics) == []
