"""Fuzzing through the language server: random incremental edits on real model files.

Hypothesis draws a model file and a sequence of edits (insertions of random characters, non-ASCII,
emoji, tabs, CRLF, form feeds and U+2028 included; deletions; truncations; duplicated lines; fragments
pasted from other model files), sent as incremental didChange events in the negotiated position
encoding (UTF-16 for the VS Code profile, UTF-8 for Neovim), with hover / codeAction / inlayHint /
codeLens requests at random positions in between. Properties:

- every request is answered (no error response, no timeout);
- no Error in window/logMessage or window/showMessage (a failing handler or analysis);
- once the server is done with the last version, the published diagnostics equal a fresh
  `analyze` of the final text; when the final text does not parse, they are those of the newest
  version that did (the server keeps the last good results), and the server said why.

A few hundred edits run in normal CI. The long run: `SHAPELS_FUZZ_EDITS=10000` (both profiles count
towards the figure; each example has at least 10 edits).
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from tests.robustness.conftest import (
    MODEL_FILES, ClientDoc, errors_in_log, expected_diagnostics, processed, published)

pytestmark = pytest.mark.asyncio(loop_scope="module")

LONG = int(os.environ.get("SHAPELS_FUZZ_EDITS", "0") or 0)
MIN_EDITS, MAX_EDITS = 10, 30
# Normal CI: 12 examples x ~20 edits x 2 profiles, about 500 edits. Long: enough examples for LONG
# edits over both profiles even if every example had only MIN_EDITS.
EXAMPLES_PER_PROFILE = -(-LONG // (2 * MIN_EDITS)) if LONG else 12
COUNT = {"edits": 0, "examples": 0, "requests": 0, "seconds": 0.0}
TEXTS = [p.read_text() for p in MODEL_FILES]

CHARS = st.sampled_from(list("abcxyz_019 ()[]{}:,.=+-*/@#'\"\\") + ["\t", "\n", "\r\n", "\r", "é", "ü", "中", "😋",
                                                                   "🔥", "\x0c", "\u2028", "\x00", "    ", "self.",
                                                                   "nn.Linear(", "x.view(", "torch.", "def ", "):"])
INSERT_TEXT = st.one_of(st.lists(CHARS, min_size=1, max_size=8).map("".join), st.text(min_size=1, max_size=6))
FRACTION = st.floats(min_value=0, max_value=1)

EDIT = st.one_of(
    st.tuples(st.just("insert"), FRACTION, INSERT_TEXT),
    st.tuples(st.just("delete"), FRACTION, st.integers(1, 60)),
    st.tuples(st.just("truncate"), FRACTION),
    st.tuples(st.just("dup_line"), FRACTION),
    st.tuples(st.just("paste"), st.integers(0, len(TEXTS) - 1), FRACTION, st.integers(1, 6), FRACTION),
)
STEP = st.one_of(
    EDIT, EDIT, EDIT,
    st.tuples(st.just("multi"), st.lists(EDIT, min_size=2, max_size=3)),  # one didChange, several changes
    st.tuples(st.just("request"), st.sampled_from(["hover", "codeAction", "inlayHint", "codeLens"]), FRACTION,
              st.integers(0, 200)),
    st.tuples(st.just("sync")),  # wait until the server is done with the current version
)


def _edit(doc: ClientDoc, step) -> types.TextDocumentContentChangePartial:
    kind, text = step[0], doc.text
    at = doc.safe_offset(int(step[1] * len(text))) if kind != "paste" else doc.safe_offset(int(step[4] * len(text)))
    if kind == "insert":
        return doc.edit(at, at, step[2])
    if kind == "delete":
        return doc.edit(at, at + step[2], "")
    if kind == "truncate":
        return doc.edit(at, len(text), "")
    if kind == "dup_line":
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        line = text[start:] + "\n" if end < 0 else text[start:end + 1]
        return doc.edit(start, start, line)
    source = TEXTS[step[1]].splitlines(keepends=True)
    first = int(step[2] * max(len(source) - 1, 0))
    return doc.edit(at, at, "".join(source[first:first + step[3]]))


async def _request(client, uri: str, doc: ClientDoc, step) -> None:
    lines = doc.lines()
    row = int(step[2] * len(lines))  # may be one past the last line
    position = types.Position(line=row, character=step[3])
    ident = types.TextDocumentIdentifier(uri=uri)
    whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=len(lines) + 1, character=0))
    kind = step[1]
    if kind == "hover":
        call = client.text_document_hover_async(types.HoverParams(text_document=ident, position=position))
    elif kind == "codeAction":
        current = [d for d in (client.diagnostics.get(uri) or [])]
        call = client.text_document_code_action_async(types.CodeActionParams(
            text_document=ident, range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=current)))
    elif kind == "inlayHint":
        call = client.text_document_inlay_hint_async(types.InlayHintParams(text_document=ident, range=whole))
    else:
        call = client.text_document_code_lens_async(types.CodeLensParams(text_document=ident))
    await asyncio_wait(call, f"{kind} at {position}")
    COUNT["requests"] += 1


async def asyncio_wait(call, what: str):
    import asyncio

    try:
        return await asyncio.wait_for(call, 30)
    except asyncio.TimeoutError:
        raise AssertionError(f"no answer to {what}") from None


@settings(max_examples=EXAMPLES_PER_PROFILE, deadline=None, database=None, derandomize=not LONG,
          suppress_health_check=list(HealthCheck))
@given(index=st.integers(0, len(TEXTS) - 1), steps=st.lists(STEP, min_size=MIN_EDITS, max_size=MAX_EDITS))
async def test_random_edit_sequences(client, tmp_path_factory, index, steps):
    started = time.perf_counter()
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / MODEL_FILES[index].name
    path.write_text(TEXTS[index])
    publishes, logs, shown = len(client.publishes), len(client.log_messages), len(client.messages)
    uri, _ = await client.open(path)
    doc = ClientDoc(TEXTS[index], client.encoding)
    texts = {1: doc.text}
    version = 1
    edits = 0
    if sum(1 for s in steps if s[0] not in ("request", "sync")) < MIN_EDITS:
        steps = steps + [("insert", 0.5, " ")] * MIN_EDITS
    for step in steps:
        if step[0] == "request":
            await _request(client, uri, doc, step)
            continue
        if step[0] == "sync":
            await client.wait_until(processed(client, uri, version, publishes, logs), f"version {version} processed")
            continue
        changes = [_edit(doc, s) for s in step[1]] if step[0] == "multi" else [_edit(doc, step)]
        edits += len(changes)
        version += 1
        texts[version] = doc.text
        client.change(uri, version, changes)
    await client.wait_until(processed(client, uri, version, publishes, logs), f"version {version} processed")
    try:
        assert errors_in_log(client, logs, shown) == []
        ours = [p for p in client.publishes[publishes:] if p.uri == uri]
        versions = [p.version for p in ours]
        assert versions == sorted(versions), f"an older version was published after a newer one: {versions}"
        expected = expected_diagnostics(doc.text, client.encoding)
        latest = client.latest(uri)
        if expected is not None:
            assert latest.version == version
            assert published(latest.diagnostics) == expected
        else:  # the last text does not parse: the last good results stay, and the log says why
            assert any(f"(version {version}): not analysed, syntax error" in m.message for m in client.log_messages[logs:])
            good = expected_diagnostics(texts[latest.version], client.encoding)
            assert good is not None and published(latest.diagnostics) == good
    finally:
        client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    COUNT["edits"] += edits
    COUNT["examples"] += 1
    COUNT["seconds"] += time.perf_counter() - started


async def test_fuzz_figure(client):
    """Runs after the fuzz (same module and profile): the number of edits the server survived."""
    print(f"\nshapels fuzz: {COUNT['edits']} edits in {COUNT['examples']} sequences, {COUNT['requests']} requests, "
          f"{COUNT['seconds']:.1f} s (cumulative over profiles so far)")
    if LONG and client.profile == "neovim":  # the second profile: both have run
        assert COUNT["edits"] >= LONG
