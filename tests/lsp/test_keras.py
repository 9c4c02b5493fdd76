"""The language server on Keras files (issue 22): the squiggle where Keras raises, hover and inlay hints
in Keras's own notation (`shape=(None, 64)`), each shape checked against what Keras 3 gives."""

from __future__ import annotations

import os
import warnings

import pytest
from lsprotocol import types

from tests.lsp.conftest import EXAMPLES

pytestmark = pytest.mark.asyncio(loop_scope="module")


def keras_source(name: str) -> str:
    return (EXAMPLES / "keras" / name).read_text()


def keras_shapes(source: str, names: list) -> dict:
    """The shapes Keras 3 gives the names, the file run with `keras` for `tensorflow.keras`."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    runnable = source.replace("from tensorflow.keras.models", "from keras.models").replace(
        "from tensorflow.keras.layers", "from keras.layers").replace("import tensorflow as tf\n", "")
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(runnable, "<seed>", "exec"), namespace)
    return {n: tuple(namespace[n].shape) for n in names}


async def hover_text(client, uri, line0: int, character: int) -> str:
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line0, character=character)))
    assert result is not None, (line0, character)
    return result.contents.value


def keras_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


async def test_hover_and_inlay_hints_in_kerass_notation(client, tmp_path):
    source = keras_source("seed003_ex3.py")
    path = tmp_path / "seed003_ex3.py"
    path.write_text(source)
    uri, diagnostics = await client.open(path)
    assert [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error] == []
    names = ["input_layer", "gru_layer", "global_avg_pool", "dense_layer", "output_data"]
    real = keras_shapes(source, names)
    lines = source.splitlines()
    for name in names:
        row = next(i for i, line in enumerate(lines) if line.startswith(f"{name} ="))
        text = await hover_text(client, uri, row, 0)
        assert f"{name}: shape={keras_text(real[name])}" in text, (name, real[name], text)
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=len(lines), character=0))))
    labels = {h.position.line: h.label for h in hints}
    gru_row = next(i for i, line in enumerate(lines) if line.startswith("gru_layer ="))
    assert labels[gru_row] == f": shape={keras_text(real['gru_layer'])}"


async def test_the_squiggle_is_where_keras_raises_with_the_datas_fix(client, tmp_path):
    path = tmp_path / "seed002_ex1.py"
    path.write_text(keras_source("seed002_ex1.py"))
    uri, diagnostics = await client.open(path)
    [error] = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
    assert error.range.start.line == 12 and error.code == "layer-input-rank"
    assert "found ndim=1" in error.message
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=error.range,
        context=types.CodeActionContext(diagnostics=[error])))
    preferred = [a for a in actions if getattr(a, "is_preferred", False)]
    assert preferred, actions
    workspace_edit = preferred[0].edit
    edits = [e for change in workspace_edit.document_changes or [] for e in change.edits] if \
        workspace_edit.document_changes else next(iter(workspace_edit.changes.values()))
    [edit] = edits
    assert edit.new_text == "tf.random.normal(shape=(1, 64))" and edit.range.start.line == 5


async def test_an_array_of_a_keras_file_is_shown_in_kerass_notation(client, tmp_path):
    path = tmp_path / "seed002_ex1.py"
    path.write_text(keras_source("seed002_ex1.py"))
    uri, _ = await client.open(path)
    text = await hover_text(client, uri, 5, 0)  # input_data = tf.random.normal(shape=(64,))
    assert "input_data: shape=(64,)" in text, text
