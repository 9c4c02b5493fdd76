"""Settings: initializationOptions at start, workspace/configuration after `initialized`, and
workspace/didChangeConfiguration (pushed values, or a new pull) applied without a restart."""

from __future__ import annotations

import uuid
from typing import Any

from lsprotocol import types

from shapels.lsp import diagnostics, documents
from shapels.lsp import settings as settings_mod
from shapels.lsp.capabilities import client_supports
from shapels.lsp.publish import refresh_views
from shapels.lsp.settings import SECTION


def register(server) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls, params: types.InitializeParams):
        documents.install(ls.workspace)  # LSP line endings for incremental edits (see documents.py)
        raw = settings_mod.section_of(params.initialization_options)
        ls.state.init_settings = dict(raw) if isinstance(raw, dict) else {}
        apply(ls, {} if raw is None else raw, announce=False)

    @server.feature(types.INITIALIZED)
    async def initialized(ls, params: types.InitializedParams):
        for problem in ls.state.startup_problems:
            ls.warn_once(problem)
        if client_supports(ls, "workspace.did_change_configuration.dynamic_registration"):
            await _register_for_changes(ls)
        await pull(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls, params: types.DidChangeConfigurationParams):
        pushed = params.settings.get(SECTION) if isinstance(params.settings, dict) else None
        if isinstance(pushed, dict):
            ls.state.settings_generation += 1
            apply(ls, {**ls.state.init_settings, **pushed})
        elif pushed is not None:  # a `shapels` value that is not an object: say so, keep the defaults
            ls.state.settings_generation += 1
            apply(ls, pushed)
        else:
            await pull(ls)


async def pull(server) -> None:
    """Ask the client for the `shapels` section, if it can answer."""
    if not client_supports(server, "workspace.configuration"):
        return
    generation = server.state.settings_generation
    try:
        answer = await server.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        )
    except Exception as error:  # noqa: BLE001 - a client that fails this keeps the current settings
        server.log(f"workspace/configuration failed: {error}", types.MessageType.Warning)
        return
    if server.state.settings_generation != generation:
        return  # settings were pushed while we asked: the answer is older than they are
    value = answer[0] if answer else None
    if value is None:
        return  # nothing configured in the editor: the current settings stand
    section = settings_mod.section_of(value)
    if not isinstance(section, dict):
        apply(server, section)  # parse reports the wrong type; the defaults apply
        return
    apply(server, {**server.state.init_settings, **section})


def apply(server, raw: Any, announce: bool = True) -> None:
    new, problems = settings_mod.parse(raw)
    for problem in problems:
        message = f"shapels: invalid setting {problem}"
        if announce:
            server.warn_once(message)
        else:  # during initialize: shown after `initialized`
            server.state.startup_problems.append(message)
    old = server.state.settings
    server.state.settings = new
    if not announce or new == old:
        return
    diagnostics.reanalyse_all(server)
    refresh_views(server, inlay_hints=old.inlay_hints != new.inlay_hints)


async def _register_for_changes(server) -> None:
    """Clients such as VS Code send didChangeConfiguration only to servers that register for it."""
    try:
        await server.client_register_capability_async(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id=str(uuid.uuid4()),
                        method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                        register_options=types.DidChangeConfigurationRegistrationOptions(section=SECTION),
                    )
                ]
            )
        )
    except Exception as error:  # noqa: BLE001
        server.log(f"could not register for configuration changes: {error}", types.MessageType.Log)
