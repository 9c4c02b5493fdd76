"""Bursts: 200 didChange events sent as fast as possible end with diagnostics for the last version
only, within the normal latency, and superseded versions are mostly never analysed."""

from __future__ import annotations

import time

import pytest
from lsprotocol import types

from tests.robustness.conftest import ClientDoc, MODEL_FILES, errors_in_log, expected_diagnostics, processed, published

pytestmark = pytest.mark.asyncio(loop_scope="module")

BURST = 200
SEED = next(p for p in MODEL_FILES if p.name == "seed000_ex3.py")


async def status(client) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))


async def test_burst_of_200_changes_publishes_the_last_version_only(client, tmp_path):
    path = tmp_path / SEED.name
    path.write_text(SEED.read_text())
    uri, first = await client.open(path)
    doc = ClientDoc(path.read_text(), client.encoding)
    before = await status(client)
    start, logs, shown = len(client.publishes), len(client.log_messages), len(client.messages)
    anchor = doc.text.index("nn.Linear(1024,") + len("nn.Linear(")
    # Type over the in_features of fc1, one keystroke at a time: 1024 -> 1025 -> ... (each valid Python).
    for version in range(2, BURST + 2):
        value = str(1024 + version)
        end = doc.text.index(",", anchor)
        client.change(uri, version, [doc.edit(anchor, end, value)])
    sent = time.perf_counter()
    last = BURST + 1
    await client.wait_until(processed(client, uri, last, start, logs), f"version {last} published")
    latency = time.perf_counter() - sent
    ours = [p for p in client.publishes[start:] if p.uri == uri]
    assert ours[-1].version == last
    versions = [p.version for p in ours]
    assert versions == sorted(versions), f"an older version was published after a newer one: {versions}"
    assert published(ours[-1].diagnostics) == expected_diagnostics(doc.text, client.encoding)
    assert "fc1 expects in_features=1225" in ours[-1].diagnostics[0].message
    assert errors_in_log(client, logs, shown) == []
    after = await status(client)
    analyses = after["analyses"] - before["analyses"]
    print(f"\nburst of {BURST}: final publish {latency * 1000:.0f} ms after the last didChange; "
          f"{analyses} analyses run; {len(ours)} publishes")
    # The normal latency: debounce (20 ms in tests) + one analysis of a 22-line file (~15 ms) + one
    # analysis possibly already running; 2 s leaves room for a loaded CI machine.
    assert latency < 2.0
    assert analyses <= BURST // 4, f"{analyses} analyses for {BURST} changes: superseded versions were analysed"
    # Nothing more arrives for this document afterwards (no late stale publish).
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))
    assert [p.version for p in client.publishes[start:] if p.uri == uri][-1] == last
