"""pytest-lsp fixtures: the real server over stdio, driven by a client that records what it gets.

No sleeps: every wait is on a notification (a future resolved by the client's handlers), bounded
by a timeout so that a broken server fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Callable, Optional

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path("/work/shared/examples") if Path("/work/shared/examples").is_dir() else ROOT / "examples"
TORCH_EXAMPLES = sorted((EXAMPLES / "torch").glob("*.py"))
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text()) if (EXAMPLES / "expected.json").is_file() else {}
PROFILES = ["visual-studio-code", "neovim"]
WAIT = 60.0  # seconds: a bound on each wait, never a sleep
TEST_SETTINGS = {"debounceMs": 20}


class RecordingClient(LanguageClient):
    """Records every publishDiagnostics / logMessage / showMessage, and lets a test await them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.publishes: list = []
        self.registrations: list = []
        self.refreshes: list = []
        self._waiters: list = []
        self.encoding = types.PositionEncodingKind.Utf16

    def notify_waiters(self) -> None:
        for item in list(self._waiters):
            predicate, future = item
            if not future.done() and predicate():
                future.set_result(True)
                self._waiters.remove(item)

    async def wait_until(self, predicate: Callable[[], bool], what: str = "condition", timeout: float = WAIT):
        if predicate():
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    # -- diagnostics ---------------------------------------------------------------------------
    def latest(self, uri: str) -> Optional[types.PublishDiagnosticsParams]:
        for p in reversed(self.publishes):
            if p.uri == uri:
                return p
        return None

    async def wait_for_version(self, uri: str, version: int, after: int = 0) -> list:
        """Diagnostics published for `version` of `uri` (publish index >= after)."""

        def found():
            return any(p.uri == uri and p.version == version for p in self.publishes[after:])

        await self.wait_until(found, f"diagnostics for {uri} version {version}")
        return [p for p in self.publishes[after:] if p.uri == uri and p.version == version][-1].diagnostics

    async def wait_for_publish(self, uri: str, after: int) -> types.PublishDiagnosticsParams:
        await self.wait_until(lambda: any(p.uri == uri for p in self.publishes[after:]), f"a publish for {uri}")
        return [p for p in self.publishes[after:] if p.uri == uri][0]

    async def wait_for_log(self, needle: str, after: int = 0) -> types.LogMessageParams:
        await self.wait_until(lambda: any(needle in m.message for m in self.log_messages[after:]), f"log {needle!r}")
        return [m for m in self.log_messages[after:] if needle in m.message][0]

    async def wait_for_message(self, needle: str, after: int = 0) -> types.ShowMessageParams:
        await self.wait_until(lambda: any(needle in m.message for m in self.messages[after:]), f"message {needle!r}")
        return [m for m in self.messages[after:] if needle in m.message][0]

    # -- documents -----------------------------------------------------------------------------
    def codec(self) -> PositionCodec:
        return PositionCodec(encoding=self.encoding)

    async def open(self, path: Path, text: Optional[str] = None) -> tuple[str, list]:
        uri = path.as_uri()
        text = path.read_text() if text is None else text
        start = len(self.publishes)
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri, await self.wait_for_version(uri, 1, start)

    def change(self, uri: str, version: int, changes: list) -> None:
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=changes,
            )
        )


def _on_publish(client: RecordingClient, params: types.PublishDiagnosticsParams):
    client.diagnostics[params.uri] = params.diagnostics
    client.publishes.append(params)
    client.notify_waiters()


def _on_log(client: RecordingClient, params: types.LogMessageParams):
    client.log_messages.append(params)
    client.notify_waiters()


def _on_show(client: RecordingClient, params: types.ShowMessageParams):
    client.messages.append(params)
    client.notify_waiters()


def _on_register(client: RecordingClient, params: types.RegistrationParams):
    client.registrations.extend(params.registrations)


def _on_refresh(method: str):
    def handler(client: RecordingClient, params):
        client.refreshes.append(method)
        client.notify_waiters()

    return handler


def make_client() -> RecordingClient:
    client = RecordingClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _on_publish
    features[types.WINDOW_LOG_MESSAGE] = _on_log
    features[types.WINDOW_SHOW_MESSAGE] = _on_show
    features[types.CLIENT_REGISTER_CAPABILITY] = _on_register
    features[types.WORKSPACE_INLAY_HINT_REFRESH] = _on_refresh(types.WORKSPACE_INLAY_HINT_REFRESH)
    features[types.WORKSPACE_CODE_LENS_REFRESH] = _on_refresh(types.WORKSPACE_CODE_LENS_REFRESH)
    register_lsp_features(client, features)
    return client


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "shapels", "serve", "--stdio"],
    client_factory=make_client,
)


async def start(client: RecordingClient, profile: str, options: Optional[dict] = None, root: Optional[Path] = None,
                capabilities: Optional[types.ClientCapabilities] = None):
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities(profile),
            initialization_options={"shapels": {**TEST_SETTINGS, **(options or {})}},
            root_uri=root.as_uri() if root else None,
        )
    )
    client.encoding = result.capabilities.position_encoding or types.PositionEncodingKind.Utf16
    client.server_capabilities = result.capabilities
    return result


@pytest_lsp.fixture(config=SERVER, params=PROFILES, scope="module")
async def client(request, lsp_client: RecordingClient):
    """A server per test module and editor capability profile (both profiles run every test).

    Shared by the tests of a module (each opens its own files), so those modules run in the
    module's event loop: `pytestmark = pytest.mark.asyncio(loop_scope="module")`. Tests that change
    settings use `fresh_client`.
    """
    lsp_client.profile = request.param
    await start(lsp_client, request.param)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER, params=PROFILES)
async def fresh_client(request, lsp_client: RecordingClient):
    """A server of its own, for a test that changes its settings."""
    lsp_client.profile = request.param
    await start(lsp_client, request.param)
    yield
    await lsp_client.shutdown_session()


# -- helpers ---------------------------------------------------------------------------------------
def copy_example(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_text((EXAMPLES / "torch" / name).read_text())
    return target


def range_text(text: str, rng: types.Range, codec: PositionCodec) -> str:
    doc = TextDocument("file:///x.py", text, position_codec=codec)
    return doc.text_in_client_range(rng) if hasattr(doc, "text_in_client_range") else ""


def apply_edits(text: str, edits: list, codec: PositionCodec) -> str:
    """Apply TextEdits (client units) to a text, last first, as an editor does."""
    doc = TextDocument("file:///x.py", text, position_codec=codec)
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        doc.apply_change(types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    return doc.source


def edits_of(edit: types.WorkspaceEdit, uri: str) -> list:
    if edit.document_changes:
        return [e for change in edit.document_changes if change.text_document.uri == uri for e in change.edits]
    return list((edit.changes or {}).get(uri, []))


def expected_for(name: str) -> dict:
    return EXPECTED.get(f"torch/{name}", {})


@pytest.fixture(scope="session")
def real_shapes() -> dict:
    """What torch itself gives: for each example, forward line -> shape of `x` after that line runs."""
    tracer = Path(__file__).with_name("trace_shapes.py")
    import subprocess

    out = subprocess.run([sys.executable, str(tracer), *map(str, TORCH_EXAMPLES)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return {name: {int(k): v for k, v in lines.items()} for name, lines in json.loads(out.stdout).items()}
