"""Hover: a tensor name in forward shows its shape there; a layer attribute or its constructor
line shows the layer's input → output and resolved arguments. Markdown or plain text, as the
client asks. Served from the last good analysis; never analyses."""

from __future__ import annotations

from typing import Optional

from lsprotocol import types

from shapels.analysis.python_values import plain
from shapels.lsp import formatting as fmt
from shapels.values import Const, Number
from shapels.lsp.capabilities import client_capability
from shapels.lsp.positions import codec_of, contains, document_lines, from_position, span_size, split_lines, to_range


def register(server) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls, params: types.HoverParams) -> Optional[types.Hover]:
        return hover_at(ls, params.text_document.uri, params.position)


def hover_at(server, uri: str, position: types.Position) -> Optional[types.Hover]:
    if not server.state.settings.enable:
        return None
    doc = server.state.documents.get(uri)
    if doc is None or doc.result is None:
        return None
    result = doc.result
    codec = codec_of(server)
    lines = document_lines(server, uri) or split_lines(result.text)
    line, col = from_position(codec, lines, position)
    result_lines = split_lines(result.text)
    found = find_name(result, line, col)
    if found is not None:
        text = name_text(found, getattr(result, "keras", False))
        span = found.span
    else:
        layer = find_layer(result, result_lines, line, col)
        if layer is None:
            return None
        text = layer_text(layer)
        span = layer.span if layer.span and layer.span.start_line <= line <= layer.span.end_line else layer.call_span
    runtime = doc.runtime.get(line)
    markdown = prefers_markdown(server)
    return types.Hover(contents=render(text, runtime, markdown), range=to_range(codec, result_lines, span))


def find_name(result, line: int, col: int):
    """The tensor-valued name occurrence in a forward or a data loop's body at this position (the innermost)."""
    names = [b for m in result.modules for b in m.names] + list(getattr(result, "loop_names", ()))
    hits = [b for b in names if contains(b.span, line, col)]
    if not hits:
        return None
    # A cursor exactly between two names (`x.view`) belongs to the one it is inside.
    inside = [b for b in hits if (b.span.start_line, b.span.start_col) <= (line, col) < (b.span.end_line, b.span.end_col)]
    return min(inside or hits, key=lambda b: span_size(b.span))


def find_layer(result, lines: list, line: int, col: int):
    """A layer called in forward with the cursor on its callee (`self.fc1`), or its constructor line."""
    callee_hits = []
    for module in result.modules:
        for layer in module.layers:
            s = layer.call_span
            if s is None or not contains(s, line, col):
                continue
            if line == s.start_line and col <= _callee_end(lines, s):
                callee_hits.append(layer)
    if callee_hits:
        return min(callee_hits, key=lambda layer: span_size(layer.call_span))
    ctor_hits = [
        layer
        for module in result.modules
        for layer in module.layers
        if layer.span is not None and layer.span.start_line <= line <= layer.span.end_line
    ]
    if ctor_hits:
        return min(ctor_hits, key=lambda layer: span_size(layer.span))
    return None


def _callee_end(lines: list, span) -> int:
    row = span.start_line - 1
    if row >= len(lines):
        return span.start_col
    text = lines[row]
    paren = text.find("(", span.start_col)
    return paren if paren >= 0 else len(text)


def name_text(binding, keras_file: bool = False) -> tuple:
    value = binding.value
    if isinstance(value, (Number, Const)):  # `opt.imageSize: int = 64`, `lr: float = 0.01`
        python = plain(value) if isinstance(value, Number) else value.value
        if isinstance(python, (bool, int, float, str)):
            return f"{binding.name}: {type(python).__name__} = {python!r}", ""
        if isinstance(value, Number):
            return f"{binding.name}: int", ""  # a symbolic int (a loop's index)
    head = f"{binding.name}: {fmt.value_type(value, keras_file)}"
    return head, fmt.trace_text(value)


def layer_text(layer) -> tuple:
    kind = layer.kind.replace("torch.nn.", "nn.", 1)
    head = f"{layer.name}: {kind}({fmt.args_text(layer.args)})"
    return head, f"input {fmt.shape_text(layer.input)} → output {fmt.shape_text(layer.output)}"


def render(text: tuple, runtime: Optional[str], markdown: bool) -> types.MarkupContent:
    head, detail = text
    parts = [f"```python\n{head}\n```" if markdown else head]
    if detail:
        parts.append(detail)
    if runtime:
        parts.append(f"runtime: {runtime}")
    kind = types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText
    return types.MarkupContent(kind=kind, value="\n\n".join(parts) if markdown else "\n".join(parts))


def prefers_markdown(server) -> bool:
    for f in client_capability(server, "text_document.hover.content_format", None) or []:
        if f == types.MarkupKind.Markdown:
            return True
        if f == types.MarkupKind.PlainText:
            return False
    return False
