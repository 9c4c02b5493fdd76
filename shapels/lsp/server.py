"""The server factory: a pygls LanguageServer, its shared state, and the feature modules."""

from __future__ import annotations

import importlib
import logging
from typing import Optional

import sympy  # noqa: F401  (see below)
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from shapels import __version__
from shapels.imports import FileLoader
from shapels.lsp.scheduler import Scheduler
from shapels.lsp.settings import ProjectSettings
from shapels.lsp.state import ServerState

log = logging.getLogger(__name__)

# sympy is imported above, with the server: dims.py imports it on first use, which spares a one-file
# `shapels check` the import, but in a long-lived server it would land inside the first analysis that
# makes a symbol, against its time budget, while hovers wait on the import.

# Each module has `register(server)`. Order matters only for `diagnostics`, which sets up the
# scheduler that `configuration` uses.
FEATURES = [
    "shapels.lsp.diagnostics",
    "shapels.lsp.notebook_sync",
    "shapels.lsp.configuration",
    "shapels.lsp.hover",
    "shapels.lsp.code_actions",
    "shapels.lsp.inlay_hints",
    "shapels.lsp.code_lens",
    "shapels.lsp.status",
]
# Registered only where present (another part of the project provides it).
OPTIONAL_FEATURES = ["shapels.lsp.confirm_feature"]


class ShapelsServer(LanguageServer):
    def __init__(self) -> None:
        from shapels.lsp.notebook_sync import SYNC_OPTIONS

        super().__init__("shapels", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=SYNC_OPTIONS)
        # Every attribute a feature uses is declared here; features share nothing else.
        self.state = ServerState()
        self.project_settings = ProjectSettings()
        self.features: list = []  # the feature modules registered, by name
        self.scheduler: Optional[Scheduler] = None  # set up by `diagnostics.register`
        self.import_loader: Optional[FileLoader] = None  # made on the first analysis, once folders are known
        self._warned: set = set()

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        """window/logMessage (the editor's output panel)."""
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - before initialize, or the stream is gone
            log.info(message)

    def warn(self, message: str) -> None:
        """window/showMessage warning: for a setting the user has to fix."""
        try:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
        except Exception:  # noqa: BLE001
            log.warning(message)

    def warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warn(message)


def create_server() -> ShapelsServer:
    server = ShapelsServer()
    for name in FEATURES:
        importlib.import_module(name).register(server)
        server.features.append(name)
    for name in OPTIONAL_FEATURES:
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            log.info("optional feature %s not loaded: %s", name, error)
            continue
        module.register(server)
        server.features.append(name)
    return server


def run_stdio() -> None:
    # stderr is the editor's log: level names first (editors sort lines by them), and pygls's
    # routine "Cancel notification for unknown message id" kept out of it.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls.protocol.json_rpc").setLevel(logging.ERROR)
    create_server().start_io()


if __name__ == "__main__":
    run_stdio()
