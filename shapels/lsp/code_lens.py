"""Code lenses above each forward: the model's input → output, and "Confirm by running" where the
confirm feature (shapels.confirm.api) is installed."""

from __future__ import annotations

import importlib.util
from typing import Optional

from lsprotocol import types

from shapels.values import output_text
from shapels.lsp import formatting as fmt
from shapels.lsp.positions import codec_of, split_lines, to_position

CONFIRM_COMMAND = "shapels.confirm"
CONFIRM_FEATURE = "shapels.lsp.confirm_feature"  # the module that serves CONFIRM_COMMAND, when registered


def register(server) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def code_lens(ls, params: types.CodeLensParams) -> Optional[list]:
        return lenses_for(ls, params.text_document.uri)


def confirm_available() -> bool:
    try:
        return importlib.util.find_spec("shapels.confirm.api") is not None
    except (ImportError, ValueError):
        return False


def lenses_for(server, uri: str) -> list:
    if not server.state.settings.enable:
        return []
    result = server.state.result(uri)
    if result is None:
        return []
    codec = codec_of(server)
    lines = split_lines(result.text)
    # "Confirm by running" only where the command is served, can run, and may (a trusted workspace).
    confirm = CONFIRM_FEATURE in server.features and confirm_available() and server.state.trusted
    lenses = []
    for module in result.modules:
        if module.forward_span is None or module.source == "none":
            continue
        line = module.forward_span.start_line
        start = to_position(codec, lines, line, 0)
        rng = types.Range(start=start, end=start)
        lenses.append(types.CodeLens(range=rng, command=types.Command(title=summary(module), command="")))
        if confirm:
            lenses.append(
                types.CodeLens(
                    range=rng,
                    command=types.Command(title="▶ Confirm by running", command=CONFIRM_COMMAND,
                                          arguments=[uri, module.name]),
                )
            )
    return lenses


def summary(module) -> str:
    """`Net: x (1, 3, 64, 64) → (1, 10) · from the driver`."""
    inputs = ", ".join(f"{name} {fmt.shape_text(shape)}" for name, shape in module.inputs.items())
    origin = {"driver": "from the driver call", "config": "from settings", "comment": "from the input comment",
              "annotation": "from the annotations", "symbolic": "symbolic inputs"}.get(module.source, module.source)
    return f"{module.name}: {inputs or '()'} → {output_text(module.output)} · {origin}"
