"""Positions in the negotiated encoding (a line with non-ASCII text before the argument), inlay
hints, code lenses, and the server process never importing torch."""

from __future__ import annotations

import pytest
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

from tests.lsp.conftest import TORCH_EXAMPLES, copy_example  # noqa: E402

WIDE = '{"é🙂": nn.Linear(1024, 128)}["é🙂"]  # é 🙂'


async def test_non_ascii_before_the_argument(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    text = path.read_text().replace("nn.Linear(1024, 128) #Dense Layer expects 1024 dimensions.", WIDE)
    path.write_text(text)
    uri, diagnostics = await client.open(path)
    assert len(diagnostics) == 1
    line = text.splitlines()[8]
    col = line.index("1024")  # code points
    prefix = line[:col]
    expected = {
        types.PositionEncodingKind.Utf8: len(prefix.encode("utf-8")),
        types.PositionEncodingKind.Utf16: len(prefix.encode("utf-16-le")) // 2,
        types.PositionEncodingKind.Utf32: len(prefix),
    }[client.encoding]
    rng = diagnostics[0].range
    assert (rng.start.line, rng.start.character) == (8, expected)
    assert rng.end.character - rng.start.character == 4  # "1024" is ASCII in every encoding
    # And back: a hover at a position past the emoji (line 9 is ASCII, so check the fix range round-trips).
    fix = diagnostics[0].data["fix"]["range"]
    assert fix["start"]["character"] == expected
    if client.profile == "visual-studio-code":
        assert client.encoding == types.PositionEncodingKind.Utf16
        assert expected == col + 1  # é is one UTF-16 unit, 🙂 two: one more than code points
    else:
        assert client.encoding == types.PositionEncodingKind.Utf8


async def test_inlay_hints_after_each_assignment(client, tmp_path):
    path = copy_example(tmp_path, "seed004_ex1.py")
    uri, _ = await client.open(path)
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=40, character=0))))
    by_line = {h.position.line + 1: h.label for h in hints}
    assert by_line[15] == ": Tensor[1, 10, 32, 32]"
    assert by_line[17] == ": Tensor[1, 20, 16, 16]"
    assert by_line[18] == ": Tensor[1, 5120]"
    assert all(h.kind == types.InlayHintKind.Type for h in hints)
    assert hints[0].position.character == 9  # right after `x` in `        x = ...`
    # Only the requested range.
    some = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=16, character=0), end=types.Position(line=16, character=80))))
    assert [h.position.line for h in some] == [16]


async def test_code_lens_above_forward(client, tmp_path):
    path = copy_example(tmp_path, "seed004_ex1.py")
    uri, _ = await client.open(path)
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert lenses
    summary = lenses[0]
    assert summary.range.start.line == 13  # `def forward`
    assert summary.command.title.startswith("IncorrectFlatten: x (1, 3, 32, 32) → ")
    from shapels.lsp.code_lens import confirm_available

    confirm = [lens for lens in lenses if lens.command.command == "shapels.confirm"]
    assert bool(confirm) == confirm_available()
    if confirm:
        assert confirm[0].command.arguments[0] == uri


async def test_server_never_imports_torch(client, tmp_path):
    for example in TORCH_EXAMPLES:
        path = copy_example(tmp_path, example.name)
        uri, _ = await client.open(path)
        await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=15, character=6)))
        await client.text_document_code_lens_async(types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))
    assert status["torch_imported"] is False
    assert status["documents"] >= len(TORCH_EXAMPLES)
