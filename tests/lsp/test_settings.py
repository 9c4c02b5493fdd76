"""Settings: initializationOptions, workspace/configuration pulled on didChangeConfiguration,
pushed settings, invalid values (a warning and the defaults), [tool.shapels] from pyproject."""

from __future__ import annotations

import textwrap

from lsprotocol import types

from tests.lsp.conftest import copy_example

NO_DRIVER = textwrap.dedent(
    """\
    import torch.nn as nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(256, 10)

        def forward(self, x):
            return self.fc(x)
    """
)


async def test_configuration_change_applies_without_restart(fresh_client, tmp_path):
    client = fresh_client
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, diagnostics = await client.open(path)
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error
    # Pull model (VS Code): the client holds the settings, the notification carries none.
    client.set_configuration({"severity": {"linear-in-features": "hint"}}, section="shapels")
    start = len(client.publishes)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    published = await client.wait_for_publish(uri, start)
    assert published.diagnostics[0].severity == types.DiagnosticSeverity.Hint
    # Push model (Neovim's `settings`): the values travel in the notification.
    start = len(client.publishes)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"shapels": {"enable": False}}))
    published = await client.wait_for_publish(uri, start)
    assert list(published.diagnostics) == []
    start = len(client.publishes)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"shapels": {"enable": True, "severity": "warning"}}))
    published = await client.wait_for_publish(uri, start)
    assert published.diagnostics[0].severity == types.DiagnosticSeverity.Warning


async def test_invalid_setting_warns_and_uses_the_default(fresh_client, tmp_path):
    client = fresh_client
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, _ = await client.open(path)
    start, messages = len(client.publishes), len(client.messages)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"shapels": {"debounceMs": "fast", "severity": "loud", "inputs": {"Head.x": "(1, ?)"}}}))
    warning = await client.wait_for_message("debounceMs", messages)
    assert warning.type == types.MessageType.Warning
    assert "using 300" in warning.message
    await client.wait_for_message("severity", messages)
    await client.wait_for_message("inputs.Head.x", messages)
    # The valid rest still applies (the defaults here): the diagnostics are as before.
    diagnostics = (await client.wait_for_publish(uri, start)).diagnostics if len(client.publishes) > start else \
        client.diagnostics[uri]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error


async def test_default_inputs_setting(fresh_client, tmp_path):
    client = fresh_client
    path = tmp_path / "head.py"
    path.write_text(NO_DRIVER)
    uri, diagnostics = await client.open(path)
    assert [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error] == []
    start = len(client.publishes)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"shapels": {"inputs": {"Head": {"x": "(4, 512)"}}}}))
    published = await client.wait_for_publish(uri, start)
    assert [d.code for d in published.diagnostics] == ["linear-in-features"]
    assert published.diagnostics[0].data["fix"]["newText"] == "512"


async def test_pyproject_tool_shapels(fresh_client, tmp_path):
    client = fresh_client
    (tmp_path / "pyproject.toml").write_text('[tool.shapels]\ninputs = { "Head.x" = [8, 128] }\n')
    path = tmp_path / "head.py"
    path.write_text(NO_DRIVER)
    uri, diagnostics = await client.open(path)
    assert [d.code for d in diagnostics] == ["linear-in-features"]
    assert diagnostics[0].data["fix"]["newText"] == "128"


async def test_inlay_hints_toggle_refreshes(fresh_client, tmp_path):
    client = fresh_client
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, _ = await client.open(path)
    params = types.InlayHintParams(text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=30, character=0)))
    assert await client.text_document_inlay_hint_async(params)
    start = len(client.publishes)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"shapels": {"inlayHints": False}}))
    await client.wait_for_publish(uri, start)
    assert list(await client.text_document_inlay_hint_async(params)) == []
    if client.profile == "neovim":  # its profile declares inlayHint refresh support
        assert types.WORKSPACE_INLAY_HINT_REFRESH in client.refreshes
