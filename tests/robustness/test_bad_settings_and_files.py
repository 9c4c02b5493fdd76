"""Bad settings and bad files: a wrong type in any setting gives a clear window/showMessage and the
default; BOM, CRLF, tabs, non-ASCII, very long lines and undecodable bytes give correct positions or a
clear message, in the VS Code (UTF-16) and Neovim (UTF-8) profiles."""

from __future__ import annotations

import pytest_lsp
from lsprotocol import types

from tests.lsp.conftest import copy_example, range_text
from tests.robustness.conftest import SERVER, RecordingClient, start

BAD = {
    "enable": "yes",
    "inlayHints": 1,
    "debounceMs": "fast",
    "severity": 3,
    "inputs": "x",
    "budgetSeconds": "slow",
    "trusted": "no",
}


@pytest_lsp.fixture(config=SERVER)
async def bad_client(lsp_client: RecordingClient):
    await start(lsp_client, "visual-studio-code", BAD)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def section_not_object(lsp_client: RecordingClient):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options={"shapels": "on"}))
    yield
    await lsp_client.shutdown_session()


async def test_every_setting_of_the_wrong_type_warns_and_uses_its_default(bad_client, tmp_path):
    client = bad_client
    for key in BAD:
        message = await client.wait_for_message(f"{key}:")
        assert message.type == types.MessageType.Warning
        assert "invalid setting" in message.message
        assert "using" in message.message or "not trusted" in message.message  # what applies instead
    # The defaults apply: analysis on, the engine's severities.
    uri, diagnostics = await client.open(copy_example(tmp_path, "seed000_ex3.py"))
    assert [d.code for d in diagnostics] == ["linear-in-features"]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error


async def test_pushed_setting_of_the_wrong_type(fresh_client, tmp_path):
    client = fresh_client
    uri, _ = await client.open(copy_example(tmp_path, "seed000_ex3.py"))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"shapels": ["on"]}))
    message = await client.wait_for_message("must be an object")
    assert message.type == types.MessageType.Warning and "got list" in message.message


async def test_section_that_is_not_an_object(section_not_object):
    message = await section_not_object.wait_for_message("must be an object")
    assert "got str" in message.message


CRLF = ("\ufeffimport torch\r\nimport torch.nn as nn\r\n\r\nclass N(nn.Module):\r\n\tdef __init__(self):\r\n"
        "\t\tsuper().__init__()\r\n\t\tself.s = '😋é'; self.fc = nn.Linear(3, 4)  # ü\r\n"
        "\tdef forward(self, x):\r\n\t\treturn self.fc(x)\r\n\r\nN()(torch.randn(2, 5))\r\n")


async def test_bom_crlf_tabs_and_non_ascii_positions(fresh_client, tmp_path):
    client = fresh_client
    path = tmp_path / "crlf.py"
    path.write_bytes(CRLF.encode("utf-8"))
    uri, diagnostics = await client.open(path, CRLF)
    [d] = [d for d in diagnostics if d.code == "linear-in-features"]
    assert d.range.start.line == 6
    assert range_text(CRLF, d.range, client.codec()) == "3"
    line = CRLF.split("\r\n")[6]
    expected = line.index("3")
    units = (len(line[:expected].encode("utf-16-le")) // 2 if client.encoding == types.PositionEncodingKind.Utf16
             else len(line[:expected].encode("utf-8")))
    assert d.range.start.character == units
    fix = d.data["fix"]
    assert fix["range"]["start"] == {"line": 6, "character": units}


async def test_very_long_line_gets_a_note(fresh_client, tmp_path):
    client = fresh_client
    text = "import torch\nx = [" + ", ".join(["1"] * 12_000) + "]\n"
    path = tmp_path / "long.py"
    path.write_text(text)
    uri, diagnostics = await client.open(path)
    [note] = diagnostics
    assert note.code == "analysis-budget" and note.severity == types.DiagnosticSeverity.Information
    assert "a line of" in note.message


async def test_undecodable_pyproject_gives_a_clear_message(fresh_client, tmp_path):
    client = fresh_client
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.shapels]\nbudget_seconds = "\xff\xfe"\n')
    path = copy_example(tmp_path, "seed000_ex3.py")
    start_at = len(client.messages)
    uri, diagnostics = await client.open(path)
    message = await client.wait_for_message("pyproject.toml", start_at)
    assert "utf-8" in message.message and "ignored [tool.shapels]" in message.message
    assert [d.code for d in diagnostics] == ["linear-in-features"]


async def test_undecodable_imported_module(fresh_client, tmp_path):
    client = fresh_client
    (tmp_path / "helper.py").write_bytes(b"WIDTH = 3  # \xff\xfe\n")
    path = tmp_path / "main.py"
    path.write_text("import torch\nimport torch.nn as nn\nfrom helper import WIDTH\n"
                    "out = nn.Linear(4, WIDTH)(torch.randn(1, 5))\n")
    logs = len(client.log_messages)
    uri, diagnostics = await client.open(path)
    assert not [m for m in client.log_messages[logs:] if m.type == types.MessageType.Error]
    assert [d.code for d in diagnostics] == ["linear-in-features"]

