"""Inlay hints: the shape after each assignment in forward (`x: Tensor[1, 5120] = ...`), and at the
top level and in data loops (a Keras script's `x: shape=(None, 26, 26, 32) = layers.Conv2D(...)(inputs)`)."""

from __future__ import annotations

from typing import Optional

from lsprotocol import types

from shapels.lsp import formatting as fmt
from shapels.lsp.positions import codec_of, split_lines, to_position


def register(server) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    def inlay_hint(ls, params: types.InlayHintParams) -> Optional[list]:
        return hints_for(ls, params.text_document.uri, params.range)


def hints_for(server, uri: str, rng: types.Range) -> Optional[list]:
    settings = server.state.settings
    if not (settings.enable and settings.inlay_hints):
        return []
    result = server.state.result(uri)
    if result is None:
        return []
    codec = codec_of(server)
    lines = split_lines(result.text)
    hints = []
    bindings = [b for module in result.modules for b in module.bindings] + _script_bindings(result)
    for binding in bindings:
        shape = binding.shape
        if shape is None or shape.is_unknown:
            continue
        row = binding.span.end_line - 1
        if not rng.start.line <= row <= rng.end.line:
            continue
        hints.append(
            types.InlayHint(
                position=to_position(codec, lines, binding.span.end_line, binding.span.end_col),
                label=f": {fmt.value_type(binding.value, getattr(result, 'keras', False))}",
                kind=types.InlayHintKind.Type,
                padding_left=False,
                padding_right=False,
            )
        )
    return hints


def _script_bindings(result) -> list:
    """The last tensor each assignment target outside a forward holds (a loop's body runs once)."""
    last: dict = {}
    for binding in getattr(result, "loop_names", ()):
        if binding.write and binding.shape is not None:
            last[(binding.span.start_line, binding.span.start_col)] = binding
    return list(last.values())
