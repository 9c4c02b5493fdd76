"""Editing: incremental edits that break then fix a model, a syntax error (the last good results
stay, nothing flashes away), stale versions never overwrite newer ones, the server survives
half-typed code."""

from __future__ import annotations

import pytest
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

from tests.lsp.conftest import copy_example  # noqa: E402


def replace(text: str, old: str, new: str, codec) -> types.TextDocumentContentChangePartial:
    """An incremental change replacing the first `old` (on one line) with `new`."""
    for row, line in enumerate(text.split("\n")):
        col = line.find(old)
        if col >= 0:
            start = codec.client_num_units(line[:col])
            end = codec.client_num_units(line[: col + len(old)])
            rng = types.Range(start=types.Position(line=row, character=start), end=types.Position(line=row, character=end))
            return types.TextDocumentContentChangePartial(range=rng, text=new)
    raise AssertionError(f"{old!r} not found")


async def test_break_then_fix(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex1.py")
    text = path.read_text()
    uri, diagnostics = await client.open(path)
    assert list(diagnostics) == []
    codec = client.codec()
    start = len(client.publishes)
    client.change(uri, 2, [replace(text, "32 * 16 * 16", "32 * 16 * 15", codec)])
    broken = await client.wait_for_version(uri, 2, start)
    assert [d.code for d in broken] == ["linear-in-features"]
    assert broken[0].range.start.line == 11
    assert broken[0].data["fix"]["newText"] == "8192"
    text = text.replace("32 * 16 * 16", "32 * 16 * 15")
    start = len(client.publishes)
    client.change(uri, 3, [replace(text, "32 * 16 * 15", "32 * 16 * 16", codec)])
    assert list(await client.wait_for_version(uri, 3, start)) == []


async def test_syntax_error_keeps_the_last_good_results(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    text = path.read_text()
    uri, good = await client.open(path)
    assert len(good) == 1
    codec = client.codec()
    publishes, logs = len(client.publishes), len(client.log_messages)
    client.change(uri, 2, [replace(text, "x = self.fc2(x)", "x = self.fc2(x", codec)])  # half-typed
    logged = await client.wait_for_log(f"{uri} (version 2): not analysed, syntax error", logs)
    assert logged.type == types.MessageType.Log
    assert len(client.publishes) == publishes, "a syntax error must not re-publish (nothing flashes away)"
    assert client.diagnostics[uri] == good
    # Hover still answers from the last good analysis.
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=13, character=4)))
    assert "Tensor[1, 5120]" in result.contents.value
    # Typing on fixes it; the next publish is for the fixed version.
    broken = text.replace("x = self.fc2(x)", "x = self.fc2(x")
    client.change(uri, 3, [replace(broken, "x = self.fc2(x", "x = self.fc2(x)", codec)])
    fixed = await client.wait_for_version(uri, 3, publishes)
    assert [d.code for d in fixed] == ["linear-in-features"]


async def test_stale_versions_never_overwrite_newer(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    text = path.read_text()
    uri, _ = await client.open(path)
    codec = client.codec()
    start = len(client.publishes)
    # Type 1024 -> 5120 one keystroke at a time, then back to a wrong value; no waiting between.
    states = ["1024", "5024", "5124", "5120", "512", "51"]
    current = text
    version = 1
    for old, new in zip(states, states[1:]):
        version += 1
        client.change(uri, version, [replace(current, f"nn.Linear({old},", f"nn.Linear({new},", codec)])
        current = current.replace(f"nn.Linear({old},", f"nn.Linear({new},", 1)
    final = await client.wait_for_version(uri, version, start)
    assert [d.data["fix"]["newText"] for d in final] == ["5120"]
    assert "fc1 expects in_features=51," in final[0].message
    seen = [p.version for p in client.publishes[start:] if p.uri == uri]
    assert seen == sorted(seen), f"an older version was published after a newer one: {seen}"


async def test_half_typed_code_never_kills_the_server(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    text = path.read_text()
    uri, _ = await client.open(path)
    codec = client.codec()
    start = len(client.publishes)
    fragments = ["self.fc1(", "self.", "x.view(x.size(0), ", "torch.", "nn.Linear(", "]", "lambda", "x[", "@", "\t"]
    version = 1
    for fragment in fragments:
        version += 1
        client.change(uri, version, [types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=15, character=4), end=types.Position(line=15, character=4)),
            text=fragment)])
    # Then replace the whole text with something valid: the server is alive and analyses it.
    version += 1
    client.change(uri, version, [types.TextDocumentContentChangeWholeDocument(text=text)])
    final = await client.wait_for_version(uri, version, start)
    assert [d.code for d in final] == ["linear-in-features"]
    assert codec is not None
