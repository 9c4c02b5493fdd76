"""Safe execution: user code runs only on an explicit `shapels.confirm`, never from opening or
editing a file; in a separate process with a timeout and CPU/memory limits, killed with its children;
and not at all in an untrusted workspace (the command refuses, the code lens does not offer it).
sys.exit, megabytes of output and fork are covered in tests/confirm/test_limits.py."""

from __future__ import annotations

import textwrap
import time

import pytest_lsp
from lsprotocol import types

from shapels.confirm.api import confirm_file
from shapels.confirm.pool import WorkerPool
from tests.robustness.conftest import SERVER, ClientDoc, RecordingClient, processed, start

DRIVER = textwrap.dedent("""\
    import pathlib
    import torch
    import torch.nn as nn

    pathlib.Path({marker!r}).write_text("ran")


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)


    out = Net()(torch.randn(1, 4))
    pathlib.Path({marker!r}).write_text("ran")
""")


@pytest_lsp.fixture(config=SERVER)
async def untrusted(lsp_client: RecordingClient):
    await start(lsp_client, "visual-studio-code", {"trusted": False})
    yield
    await lsp_client.shutdown_session()


async def status(client) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))


async def lenses(client, uri: str) -> list:
    return list(await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))) or [])


async def test_open_and_edit_never_run_the_file(fresh_client, tmp_path):
    client = fresh_client
    marker = tmp_path / "marker.txt"
    path = tmp_path / "model.py"
    path.write_text(DRIVER.format(marker=str(marker)))
    uri, _ = await client.open(path)
    doc = ClientDoc(path.read_text(), client.encoding)
    start_at, logs = len(client.publishes), len(client.log_messages)
    for version in range(2, 12):  # edit: rename the output each time (keystrokes), then hover, lenses, save
        at = doc.text.index("\nout") + 1 if version == 2 else doc.text.index(f"\no{version - 1} =") + 1
        end = doc.text.index(" =", at)
        client.change(uri, version, [doc.edit(at, end, f"o{version}")])
    await client.wait_until(processed(client, uri, 11, start_at, logs), "the last edit analysed")
    await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=17, character=2)))
    offered = await lenses(client, uri)
    assert any(lens.command and lens.command.command == "shapels.confirm" for lens in offered)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    state = await status(client)
    assert not marker.exists(), "opening or editing the file ran its code"
    assert state["torch_imported"] is False


async def test_untrusted_workspace_offers_no_run(untrusted, tmp_path):
    client = untrusted
    marker = tmp_path / "marker.txt"
    path = tmp_path / "model.py"
    path.write_text(DRIVER.format(marker=str(marker)))
    uri, _ = await client.open(path)
    offered = await lenses(client, uri)
    assert offered, "the shape summary lens stays"
    assert not any(lens.command and lens.command.command == "shapels.confirm" for lens in offered)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="shapels.confirm", arguments=[uri, "Net", {"device": "cpu"}]))
    assert result["refused"] is True and result["error"]["kind"] == "untrusted"
    assert not marker.exists()


def test_a_wrong_trusted_value_counts_as_untrusted():
    from shapels.lsp.settings import parse
    from shapels.lsp.state import ServerState

    assert ServerState(init_settings={"trusted": "no"}).trusted is False
    assert any("trusted" in p for p in parse({"trusted": "no"})[1])
    assert ServerState(init_settings={"shapels.trusted": False}).trusted is False
    assert ServerState(init_settings={"trusted": True}).trusted is True
    assert ServerState(init_settings={}).trusted is True


def test_cpu_limit_stops_a_run_the_wall_clock_would_not(tmp_path):
    """RLIMIT_CPU in the worker: a busy loop is stopped after its CPU seconds, and the worker comes back."""
    path = tmp_path / "spin.py"
    path.write_text("while True:\n    pass\n")
    pool = WorkerPool()
    try:
        pool.start()
        before = time.monotonic()
        raw = pool.run({"path": str(path), "text": path.read_text(), "device": "cpu", "cpu_seconds": 1},
                       timeout=60, memory_mb=1024)
        took = time.monotonic() - before
        assert raw["error"]["kind"] == "timeout" and "CPU limit" in raw["error"]["message"], raw
        assert took < 30
        good = tmp_path / "good.py"
        good.write_text("import torch\nout = torch.nn.Linear(3, 2)(torch.randn(1, 3))\n")
        report = confirm_file(str(good), device="cpu", pool=pool)
        assert report.ok and report.output_shape == [1, 2]
    finally:
        pool.close()


def test_timeout_kills_the_run_with_its_children(tmp_path):
    pids = tmp_path / "pids.txt"
    path = tmp_path / "spawn.py"
    path.write_text(textwrap.dedent(f"""\
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "1000"])
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(1000)
        open({str(pids)!r}, "w").write(f"{{child.pid}} {{grandchild}}")
        while True:
            time.sleep(0.1)
    """))
    pool = WorkerPool()
    try:
        report = confirm_file(str(path), device="cpu", timeout=3, pool=pool, analyse=False)
        assert report.error.kind == "timeout" and "stopped after 3 s" in report.error.message
        children = [int(p) for p in pids.read_text().split()]
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in children), "a child of the run outlived the timeout"
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
