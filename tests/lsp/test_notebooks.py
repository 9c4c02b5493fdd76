"""Notebook documents over LSP 3.17 (`notebookDocument/didOpen|didChange|didClose`), driven through
the real server as VS Code and Neovim profiles would drive it: diagnostics land in the cell that holds
the offending argument with related information in other cells, hover, inlay hints, code lenses and
quick fixes work per cell, edits one cell at a time re-analyse the notebook (once per burst,
debounced), the cells' order is the program's order, and closing clears every cell."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import client_capabilities

from tests.lsp.conftest import PROFILES, SERVER, RecordingClient, apply_edits, edits_of, start
from tests.lsp.test_editing import replace

pytestmark = pytest.mark.asyncio(loop_scope="module")

from notebook_helpers import DRIVER_CELL, FC1_CELL, FC1_ROW, FIVE_CELLS  # noqa: E402

FC1_LINE = FC1_ROW - 1  # 0-based, LSP
COL_2000 = 29  # `2000` in `        self.fc1 = nn.Linear(2000, num_classes)`


def with_notebooks(profile: str) -> types.ClientCapabilities:
    """A profile's capabilities with notebook document sync, as VS Code (1.74 on) announces it. The
    stored profiles (VS Code 1.65, Neovim) predate it; Neovim has no notebooks, but the features on
    cells are tested under its capabilities too (its hover format, no refresh support)."""
    return attrs.evolve(client_capabilities(profile), notebook_document=types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(dynamic_registration=True,
                                                                     execution_summary_support=True)))


@pytest_lsp.fixture(config=SERVER, params=PROFILES, scope="module")
async def client(request, lsp_client: RecordingClient):
    lsp_client.profile = request.param
    await start(lsp_client, request.param, capabilities=with_notebooks(request.param))
    yield
    await lsp_client.shutdown_session()


class Notebook:
    """A notebook as a client holds it: cells (kind, uri, text, version), sent as LSP notebook
    notifications."""

    def __init__(self, client, path: Path, cells: list):
        self.client, self.path = client, path
        self.uri = path.as_uri()
        self.version = 0
        self._next = 0
        self.cells = [self._cell(kind, text) for kind, text in cells]

    def _cell(self, kind: str, text: str) -> dict:
        self._next += 1
        # as VS Code writes them: a %-escaped fragment (the server must not look them up unescaped)
        return {"kind": kind, "uri": f"vscode-notebook-cell:{self.path.as_posix()}#W{self._next}sZmlsZQ%3D%3D", "text": text,
                "version": 1}

    def uri_of(self, number: int) -> str:  # 1-based, every cell counted
        return self.cells[number - 1]["uri"]

    def _lsp_cell(self, cell: dict) -> types.NotebookCell:
        kind = types.NotebookCellKind.Code if cell["kind"] == "code" else types.NotebookCellKind.Markup
        return types.NotebookCell(kind=kind, document=cell["uri"])

    def _item(self, cell: dict) -> types.TextDocumentItem:
        return types.TextDocumentItem(uri=cell["uri"], language_id="python" if cell["kind"] == "code" else "markdown",
                                      version=cell["version"], text=cell["text"])

    def open(self) -> None:
        self.version = 1
        self.client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(uri=self.uri, notebook_type="jupyter-notebook", version=1,
                                                     cells=[self._lsp_cell(c) for c in self.cells]),
            cell_text_documents=[self._item(c) for c in self.cells]))

    def _change(self, cells: types.NotebookDocumentCellChanges) -> None:
        self.version += 1
        self.client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=self.version, uri=self.uri),
            change=types.NotebookDocumentChangeEvent(cells=cells)))

    def edit(self, number: int, old: str, new: str) -> None:
        """Replace `old` with `new` in cell `number`, as one incremental change."""
        cell = self.cells[number - 1]
        change = replace(cell["text"], old, new, self.client.codec())
        cell["text"] = cell["text"].replace(old, new, 1)
        cell["version"] += 1
        self._change(types.NotebookDocumentCellChanges(text_content=[types.NotebookDocumentCellContentChanges(
            document=types.VersionedTextDocumentIdentifier(uri=cell["uri"], version=cell["version"]),
            changes=[change])]))

    def apply(self, edit: types.WorkspaceEdit) -> None:
        """Apply a quick fix's workspace edit to the cells it names (as the editor does)."""
        for cell in self.cells:
            edits = edits_of(edit, cell["uri"])
            if edits:
                cell["version"] += 1
                cell["text"] = apply_edits(cell["text"], edits, self.client.codec())
                self._change(types.NotebookDocumentCellChanges(text_content=[types.NotebookDocumentCellContentChanges(
                    document=types.VersionedTextDocumentIdentifier(uri=cell["uri"], version=cell["version"]),
                    changes=[types.TextDocumentContentChangeWholeDocument(text=cell["text"])])]))

    def insert(self, at: int, kind: str, text: str) -> dict:
        """A new cell at 0-based position `at`."""
        cell = self._cell(kind, text)
        self.cells.insert(at, cell)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=at, delete_count=0, cells=[self._lsp_cell(cell)]),
            did_open=[self._item(cell)])))
        return cell

    def move(self, start: int, to: int) -> None:
        """Move the cell at 0-based `start` to 0-based `to`, as VS Code reports it: delete, then insert."""
        cell = self.cells.pop(start)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=start, delete_count=1, cells=[]))))
        self.cells.insert(to, cell)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=to, delete_count=0, cells=[self._lsp_cell(cell)]))))

    def delete(self, at: int) -> dict:
        cell = self.cells.pop(at)
        self._change(types.NotebookDocumentCellChanges(structure=types.NotebookDocumentCellChangeStructure(
            array=types.NotebookCellArrayChange(start=at, delete_count=1, cells=[]),
            did_close=[types.TextDocumentIdentifier(uri=cell["uri"])])))
        return cell

    def close(self) -> None:
        self.client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=self.uri),
            cell_text_documents=[types.TextDocumentIdentifier(uri=c["uri"]) for c in self.cells]))


async def published(client, uri: str, after: int, predicate=lambda ds: True) -> list:
    """The first diagnostics published for `uri` after publish index `after` that satisfy `predicate`."""
    def found():
        return any(p.uri == uri and predicate(p.diagnostics) for p in client.publishes[after:])

    await client.wait_until(found, f"diagnostics for {uri}")
    return list([p for p in client.publishes[after:] if p.uri == uri and predicate(p.diagnostics)][0].diagnostics)


async def open_five(client, tmp_path) -> Notebook:
    notebook = Notebook(client, tmp_path / "five.ipynb", FIVE_CELLS)
    start = len(client.publishes)
    notebook.open()
    await published(client, notebook.uri_of(FC1_CELL), start, lambda ds: len(ds) == 1)
    await client.wait_until(lambda: all(any(p.uri == c["uri"] for p in client.publishes[start:])
                                        for c in notebook.cells if c["kind"] == "code"), "a publish per code cell")
    return notebook


async def test_the_server_announces_notebook_sync(client):
    sync = client.server_capabilities.notebook_document_sync
    [selector] = sync.notebook_selector
    assert selector.notebook.notebook_type == "jupyter-notebook"
    assert [c.language for c in selector.cells] == ["python"]


async def test_diagnostic_lands_in_the_cell_of_the_argument(client, tmp_path):
    notebook = Notebook(client, tmp_path / "five.ipynb", FIVE_CELLS)
    start = len(client.publishes)
    notebook.open()
    [diag] = await published(client, notebook.uri_of(FC1_CELL), start, lambda ds: len(ds) == 1)
    assert diag.code == "linear-in-features" and diag.source == "shapels"
    assert diag.range == types.Range(start=types.Position(line=FC1_LINE, character=COL_2000),
                                     end=types.Position(line=FC1_LINE, character=COL_2000 + 4))
    assert diag.data["uri"] == notebook.uri_of(FC1_CELL)
    assert diag.data["fix"]["newText"] == "4096"
    related = {(r.location.uri, r.location.range.start.line, r.location.range.start.character): r.message
               for r in diag.related_information}
    assert related[(notebook.uri_of(DRIVER_CELL), 0, 4)] == "input gives (4, 3, 32, 32)"  # another cell
    assert related[(notebook.uri_of(FC1_CELL), 10, 15)] == "fc1 is called here"
    # every other Python cell is published too, empty; markdown cells never
    await client.wait_until(lambda: all(any(p.uri == c["uri"] for p in client.publishes[start:])
                                        for c in notebook.cells if c["kind"] == "code"), "a publish per code cell")
    for number in (2, 3, 6, DRIVER_CELL):
        assert list(client.latest(notebook.uri_of(number)).diagnostics) == []
    assert not any(p.uri == notebook.uri_of(1) for p in client.publishes[start:])
    assert not any(p.uri == notebook.uri for p in client.publishes[start:])


async def test_hover_inlay_hints_and_code_lens_per_cell(client, tmp_path):
    notebook = await open_five(client, tmp_path)
    driver, model_cell = notebook.uri_of(DRIVER_CELL), notebook.uri_of(FC1_CELL)

    async def hover(uri, line, character):
        return await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))

    # `x` in forward (cell 5, line 10: `x = torch.flatten(x, 1)`)
    result = await hover(model_cell, 9, 8)
    assert "x: Tensor[4, 4096]" in result.contents.value
    assert result.range.start == types.Position(line=9, character=8)
    # the layer under the cursor on its constructor line
    result = await hover(model_cell, FC1_LINE, 14)
    assert "fc1: nn.Linear(" in result.contents.value and "input (4, 4096)" in result.contents.value
    # the driver's cell knows nothing of forward's names
    assert await hover(driver, 0, 0) is None

    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=model_cell),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=20, character=0))))
    assert [(h.position.line, h.label) for h in hints] == [(8, ": Tensor[4, 16, 16, 16]"), (9, ": Tensor[4, 4096]")]
    assert not await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=driver),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=5, character=0))))

    lenses = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=model_cell)))
    titles = [lens.command.title for lens in lenses]
    assert titles[0].startswith("SmallCNN: x (4, 3, 32, 32) → ")
    assert all(lens.range.start.line == 7 for lens in lenses)  # `def forward` is the cell's line 8
    confirm = [lens for lens in lenses if lens.command.command == "shapels.confirm"]
    assert [lens.command.arguments[0] for lens in confirm] in ([model_cell], [])
    assert not await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=driver)))


async def test_quick_fix_edits_the_right_cell_and_clears_the_squiggle(client, tmp_path):
    notebook = await open_five(client, tmp_path)
    model_cell = notebook.uri_of(FC1_CELL)
    [diag] = client.latest(model_cell).diagnostics
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=model_cell), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag])))
    [preferred] = [a for a in actions if a.is_preferred]
    assert preferred.title == "Set in_features to 4096"
    [edit] = edits_of(preferred.edit, model_cell)
    assert (edit.range.start.line, edit.range.start.character, edit.new_text) == (FC1_LINE, COL_2000, "4096")
    if preferred.edit.document_changes:
        assert [c.text_document.uri for c in preferred.edit.document_changes] == [model_cell]
        assert preferred.edit.document_changes[0].text_document.version == 1
    ignore = [a for a in actions if a.title == "Ignore linear-in-features on this line"]
    assert ignore and edits_of(ignore[0].edit, model_cell)[0].range.start.line == FC1_LINE
    start = len(client.publishes)
    notebook.apply(preferred.edit)
    assert "nn.Linear(4096, num_classes)" in notebook.cells[FC1_CELL - 1]["text"]
    assert await published(client, model_cell, start, lambda ds: len(ds) == 0) == []


async def test_cells_edited_one_at_a_time(client, tmp_path):
    notebook = await open_five(client, tmp_path)
    model_cell = notebook.uri_of(FC1_CELL)
    # 1. the driver's cell: a smaller image; the squiggle stays in the model's cell with the new size
    start = len(client.publishes)
    notebook.edit(DRIVER_CELL, "torch.randn(4, 3, 32, 32)", "torch.randn(4, 3, 16, 16)")
    [diag] = await published(client, model_cell, start, lambda ds: len(ds) == 1 and "(4, 1024)" in ds[0].message)
    assert diag.range.start == types.Position(line=FC1_LINE, character=COL_2000)
    assert diag.data["fix"]["newText"] == "1024"
    # 2. the model's cell: the width that fits; every cell is clean
    start = len(client.publishes)
    notebook.edit(FC1_CELL, "nn.Linear(2000,", "nn.Linear(1024,")
    assert await published(client, model_cell, start, lambda ds: len(ds) == 0) == []
    # 3. a new cell after the driver calls the model on another size: the error is back, the blame
    #    in the model's cell, the input named in the new cell
    start = len(client.publishes)
    new = notebook.insert(len(notebook.cells), "code", "y = model(torch.randn(2, 3, 32, 32))")
    [diag] = await published(client, model_cell, start, lambda ds: len(ds) == 1)
    assert "(2, 4096)" in diag.message
    assert any(r.location.uri == new["uri"] for r in diag.related_information)
    # 4. that cell deleted: clean again, and the deleted cell's diagnostics cleared
    start = len(client.publishes)
    notebook.delete(len(notebook.cells) - 1)
    assert await published(client, model_cell, start, lambda ds: len(ds) == 0) == []
    assert await published(client, new["uri"], start) == []


async def test_the_cells_order_is_the_programs_order(client, tmp_path):
    cells = [("code", "import torch\nimport torch.nn as nn"),
             ("code", "fc = nn.Linear(4096, 10)"),
             ("code", "x = torch.randn(2, 4096)"),
             ("code", "x = torch.randn(2, 1024)"),
             ("code", "y = fc(x)")]
    notebook = Notebook(client, tmp_path / "order.ipynb", cells)
    start = len(client.publishes)
    notebook.open()
    [diag] = await published(client, notebook.uri_of(2), start, lambda ds: len(ds) == 1)
    assert "(2, 1024)" in diag.message  # the later cell's x reaches the call
    start = len(client.publishes)
    notebook.move(3, 2)  # the 1024 cell before the 4096 one: what reaches fc is now (2, 4096)
    assert await published(client, notebook.uri_of(2), start, lambda ds: len(ds) == 0) == []


async def test_a_cell_that_does_not_parse_keeps_the_last_results(client, tmp_path):
    notebook = await open_five(client, tmp_path)
    model_cell = notebook.uri_of(FC1_CELL)
    good = client.latest(model_cell).diagnostics
    publishes, logs = len(client.publishes), len(client.log_messages)
    notebook.edit(DRIVER_CELL, "out = model(x)", "out = model(x")  # half-typed
    logged = await client.wait_for_log(f"{notebook.uri} (version {notebook.version}): not analysed, syntax error "
                                       f"at cell {DRIVER_CELL}", logs)
    assert logged.type == types.MessageType.Log
    assert len(client.publishes) == publishes and client.latest(model_cell).diagnostics == good
    notebook.edit(DRIVER_CELL, "out = model(x", "out = model(x)")
    await published(client, model_cell, publishes, lambda ds: len(ds) == 1)


async def test_close_clears_every_cell(client, tmp_path):
    notebook = await open_five(client, tmp_path)
    start = len(client.publishes)
    notebook.close()
    model_cell = notebook.uri_of(FC1_CELL)
    assert await published(client, model_cell, start) == []
    for cell in notebook.cells:
        if cell["kind"] == "code":
            assert await published(client, cell["uri"], start) == []


async def test_a_burst_of_edits_is_analysed_once(client, tmp_path):
    notebook = await open_five(client, tmp_path)

    async def analyses() -> int:
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))
        return status["analyses"]

    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"shapels": {"debounceMs": 400}}))  # a burst well inside the debounce, even on a busy machine
    await published(client, notebook.uri_of(FC1_CELL), len(client.publishes))  # the settings' re-analysis
    try:
        before = await analyses()
        start = len(client.publishes)
        for old, new in [("2000", "200"), ("200", "20"), ("20", "2"), ("2", "4"), ("4", "40"), ("40", "409"),
                         ("409", "4096")]:
            notebook.edit(FC1_CELL, f"nn.Linear({old},", f"nn.Linear({new},")
        assert await published(client, notebook.uri_of(FC1_CELL), start, lambda ds: len(ds) == 0) == []
        assert await analyses() - before == 1  # debounced as for a file: one analysis for the burst
    finally:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"shapels": {"debounceMs": 20}}))


async def test_confirm_runs_the_notebook_and_reports_in_its_cells(client, tmp_path):
    pytest.importorskip("torch")
    if client.profile != "visual-studio-code":
        pytest.skip("one real run is enough")
    notebook = await open_five(client, tmp_path)
    model_cell = notebook.uri_of(FC1_CELL)
    start = len(client.publishes)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="shapels.confirm", arguments=[model_cell, "SmallCNN", {"device": "cpu"}]))
    assert result["error"]["message"] == "mat1 and mat2 shapes cannot be multiplied (4x4096 and 2000x10)"
    await client.wait_until(lambda: any(d.source == "shapels (run)" for p in client.publishes[start:]
                                        if p.uri == model_cell for d in p.diagnostics), "run diagnostics in the cell")
    latest = client.latest(model_cell).diagnostics
    [error] = [d for d in latest if d.source == "shapels (run)" and d.severity == types.DiagnosticSeverity.Error]
    assert error.range.start.line == FC1_LINE  # fc1's constructor, in its own cell's lines
    assert any(r.location.uri == model_cell and r.location.range.start.line == 10 for r in error.related_information)
    assert any(d.source == "shapels" for d in latest), "the static diagnostic stays"
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=model_cell), position=types.Position(line=3, character=14)))
    assert "runtime: (4, 3, 32, 32) → (4, 16, 32, 32) on cpu" in hover.contents.value  # conv1, as the run saw it
