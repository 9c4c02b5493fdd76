"""`shapels.confirm` through the real server: progress, diagnostics "shapels (run)", hover, trust, cancel."""

from __future__ import annotations

import asyncio

import pytest_lsp
from lsprotocol import types

from tests.confirm.conftest import EXAMPLES
from tests.lsp.conftest import SERVER, RecordingClient, copy_example, start

RUN = "shapels (run)"


@pytest_lsp.fixture(config=SERVER)
async def trusted_client(lsp_client: RecordingClient):
    await start(lsp_client, "visual-studio-code")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def untrusted_client(lsp_client: RecordingClient):
    await start(lsp_client, "visual-studio-code", {"trusted": False})
    yield
    await lsp_client.shutdown_session()


async def confirm(client, uri: str, *extra):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="shapels.confirm", arguments=[uri, *extra]))


async def test_confirm_publishes_run_diagnostics_next_to_static_ones(trusted_client, tmp_path):
    client = trusted_client
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, static = await client.open(path)
    assert any(d.source == "shapels" for d in static)
    start_at = len(client.publishes)
    result = await confirm(client, uri, "EmbeddingMismatchModel", {"device": "cpu"})
    assert result["device"] == "cpu"
    assert result["error"]["row"] == 15 and result["error"]["constructor_row"] == 9
    await client.wait_until(lambda: any(d.source == RUN for p in client.publishes[start_at:] if p.uri == uri
                                        for d in p.diagnostics), "run diagnostics")
    latest = client.latest(uri).diagnostics
    run = [d for d in latest if d.source == RUN]
    assert any(d.source == "shapels" for d in latest), "the static diagnostics stay"
    error = [d for d in run if d.severity == types.DiagnosticSeverity.Error]
    assert len(error) == 1 and error[0].range.start.line == 8  # the constructor line of fc1
    assert "mat1 and mat2 shapes cannot be multiplied (1x5120 and 1024x128)" in error[0].message
    assert any(r.location.range.start.line == 14 for r in error[0].related_information or [])
    # progress: begin ... end
    reports = [r for token, values in client.progress_reports.items() for r in values]
    assert any(isinstance(r, types.WorkDoneProgressBegin) and r.cancellable for r in reports)
    assert any(isinstance(r, types.WorkDoneProgressEnd) for r in reports)
    # hover on the constructor line shows what the run saw
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=8, character=10)))
    assert hover is not None and "runtime" in str(hover.contents) and "(1, 5120)" in str(hover.contents)
    await cancel_stops_the_run(client, tmp_path)  # same server and warm worker: one start less


async def test_untrusted_workspace_refuses(untrusted_client, tmp_path):
    client = untrusted_client
    path = copy_example(tmp_path, "seed004_ex3.py")
    uri, _ = await client.open(path)
    result = await confirm(client, uri)
    assert result["refused"] is True and result["error"]["kind"] == "untrusted"
    await client.wait_for_message("not trusted")
    assert not any(d.source == RUN for p in client.publishes for d in p.diagnostics)


async def cancel_stops_the_run(client, tmp_path):
    client.progress_reports.clear()
    path = tmp_path / "loop.py"
    path.write_text("import torch\nwhile True:\n    pass\n")
    uri, _ = await client.open(path)
    task = asyncio.ensure_future(confirm(client, uri, None, {"device": "cpu", "timeout": 120}))

    def begun():
        return any(isinstance(r, types.WorkDoneProgressBegin) for values in client.progress_reports.values()
                   for r in values)

    for _ in range(1200):  # progress notifications wake no waiter: poll, bounded to 60 s
        if begun():
            break
        await asyncio.sleep(0.05)
    assert begun(), "no progress begin"
    token = next(t for t, values in client.progress_reports.items()
                 if any(isinstance(r, types.WorkDoneProgressBegin) for r in values))
    await asyncio.sleep(0.5)  # let the run start in the worker
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(task, 60)
    assert result["error"]["kind"] == "cancelled"


async def test_confirm_on_a_keras_file(trusted_client, tmp_path):
    """A Keras seed (tf.keras imports, no TensorFlow installed) confirmed from the editor: the run raises at
    line 13 in the Dense built on line 9; the run's diagnostic sits beside the static one, and hover on the
    Dense's line shows what the run saw."""
    client = trusted_client
    path = tmp_path / "seed002_ex1.py"
    path.write_text((EXAMPLES / "keras" / "seed002_ex1.py").read_text())
    uri, static = await client.open(path)
    assert any(d.source == "shapels" and d.range.start.line == 12 for d in static)
    start_at = len(client.publishes)
    result = await confirm(client, uri, "dense_layer", {"device": "cpu"})
    assert result["device"] == "cpu"
    assert result["error"]["kind"] == "exception" and result["error"]["type"] == "ValueError"
    assert result["error"]["row"] == 13 and result["error"]["constructor_row"] == 9
    assert result["agreed"] is True
    await client.wait_until(lambda: any(d.source == RUN for p in client.publishes[start_at:] if p.uri == uri
                                        for d in p.diagnostics), "run diagnostics")
    run = [d for d in client.latest(uri).diagnostics if d.source == RUN]
    error = [d for d in run if d.severity == types.DiagnosticSeverity.Error]
    assert len(error) == 1 and error[0].range.start.line == 8
    assert "expected min_ndim=2, found ndim=1" in error[0].message
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=8, character=4)))
    assert hover is not None and "runtime" in str(hover.contents) and "(64,)" in str(hover.contents)
