"""Code actions come from Diagnostic.data: applying the preferred fix (or nn.LazyLinear) removes
the diagnostics on the next publish and the edited file runs under torch; "Ignore on this line"
adds `# shapels: ignore[code]`; `context.only` is respected."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

from tests.lsp.conftest import apply_edits, copy_example, edits_of  # noqa: E402
from producer_models import CONV_PRODUCER_BUG as PRODUCER_BUG  # noqa: E402
from producer_models import STATE_FOR_ONE_BATCH  # noqa: E402

FIXABLE = ["seed000_ex3.py", "seed004_ex1.py"]
FLAGGED = FIXABLE + ["seed004_ex2.py"]


async def actions(client, uri, diagnostics, only=None):
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range if diagnostics else types.Range(start=types.Position(line=0, character=0),
                                                                       end=types.Position(line=0, character=0)),
            context=types.CodeActionContext(diagnostics=list(diagnostics), only=only),
        )
    ) or []


async def apply(client, uri, text, action, version) -> str:
    """Apply the action's WorkspaceEdit as the editor would: locally, then as an incremental change."""
    edits = edits_of(action.edit, uri)
    assert edits
    new_text = apply_edits(text, edits, client.codec())
    start = len(client.publishes)
    client.change(uri, version, [types.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
                                 for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                                                 reverse=True)])
    await client.wait_for_version(uri, version, start)
    return new_text


def runs_under_torch(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", FIXABLE)
async def test_quick_fix_removes_the_diagnostic_and_the_file_runs(client, tmp_path, name):
    path = copy_example(tmp_path, name)
    text = path.read_text()
    uri, diagnostics = await client.open(path)
    offered = await actions(client, uri, diagnostics)
    preferred = [a for a in offered if a.is_preferred]
    assert len(preferred) == 1 and preferred[0].kind == types.CodeActionKind.QuickFix
    assert preferred[0].title == "Set in_features to 5120"
    new_text = await apply(client, uri, text, preferred[0], 2)
    assert [d for d in client.latest(uri).diagnostics if d.severity == types.DiagnosticSeverity.Error] == []
    path.write_text(new_text)
    run = runs_under_torch(path)
    assert run.returncode == 0, run.stderr[-2000:]


async def test_lazy_linear_alternative(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    text = path.read_text()
    uri, diagnostics = await client.open(path)
    lazy = [a for a in await actions(client, uri, diagnostics) if "LazyLinear" in a.title]
    assert len(lazy) == 1 and not lazy[0].is_preferred
    new_text = await apply(client, uri, text, lazy[0], 2)
    assert "nn.LazyLinear(128)" in new_text
    assert list(client.latest(uri).diagnostics) == []
    path.write_text(new_text)
    run = runs_under_torch(path)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize("name", FLAGGED)
async def test_ignore_on_this_line(client, tmp_path, name):
    path = copy_example(tmp_path, name)
    text = path.read_text()
    uri, diagnostics = await client.open(path)
    code = diagnostics[0].code
    ignore = [a for a in await actions(client, uri, diagnostics) if a.title.startswith("Ignore")]
    assert len(ignore) == 1
    new_text = await apply(client, uri, text, ignore[0], 2)
    line = new_text.splitlines()[diagnostics[0].range.start.line]
    assert line.endswith(f"# shapels: ignore[{code}]")
    assert [d for d in client.latest(uri).diagnostics if d.code == code] == []


async def test_ignore_extends_an_existing_comment(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    text = path.read_text().replace("nn.Linear(1024, 128) #Dense", "nn.Linear(1024, 128)  # shapels: ignore[matmul-mismatch] #Dense")
    path.write_text(text)
    uri, diagnostics = await client.open(path)
    ignore = [a for a in await actions(client, uri, diagnostics) if a.title.startswith("Ignore")][0]
    new_text = await apply(client, uri, text, ignore, 2)
    assert "# shapels: ignore[matmul-mismatch, linear-in-features] #Dense" in new_text
    assert list(client.latest(uri).diagnostics) == []


async def test_context_only(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, diagnostics = await client.open(path)
    assert await actions(client, uri, diagnostics, only=[types.CodeActionKind.Refactor]) == []
    assert await actions(client, uri, diagnostics, only=[types.CodeActionKind.SourceOrganizeImports]) == []
    quick = await actions(client, uri, diagnostics, only=[types.CodeActionKind.QuickFix])
    assert len(quick) == 3
    assert await actions(client, uri, []) == []  # nothing without a shapels diagnostic


async def test_a_producer_blame_reaches_the_editor_with_its_checked_fix(client, tmp_path):
    # conv1 makes twice the channels that bn1 and the block expect: the squiggle is on conv1's
    # out_channels, bn1 is related information, and the quick fix makes the file run.
    lines = PRODUCER_BUG.splitlines()
    conv1, bn1 = (next(i for i, line in enumerate(lines) if f"self.{name} =" in line) for name in ("conv1", "bn1"))
    path = tmp_path / "producer_bug.py"
    path.write_text(PRODUCER_BUG)
    uri, diagnostics = await client.open(path)
    [diagnostic] = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
    assert diagnostic.range.start.line == conv1  # 0-based: `self.conv1 = ...`
    assert lines[conv1][diagnostic.range.start.character:diagnostic.range.end.character] == "width * 2"
    assert [r.location.range.start.line for r in diagnostic.related_information][0] == bn1
    [preferred] = [a for a in await actions(client, uri, [diagnostic]) if a.is_preferred]
    assert preferred.title == "Set conv1's out_channels to width"
    new_text = await apply(client, uri, PRODUCER_BUG, preferred, 2)
    assert [d for d in client.latest(uri).diagnostics if d.severity == types.DiagnosticSeverity.Error] == []
    path.write_text(new_text)
    run = runs_under_torch(path)
    assert run.returncode == 0, run.stderr[-2000:]


VIEW_AFTER_TRANSPOSE = """import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = x.transpose(1, 2)
        x = x.view(x.size(0), -1)
        return self.fc(x)


out = Net()(torch.randn(3, 2, 4))
"""


async def test_a_view_that_needs_a_copy_is_fixed_with_reshape(client, tmp_path):
    path = tmp_path / "view_stride.py"
    path.write_text(VIEW_AFTER_TRANSPOSE)
    uri, diagnostics = await client.open(path)
    [diagnostic] = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
    assert diagnostic.code == "view-stride"
    [preferred] = [a for a in await actions(client, uri, [diagnostic]) if a.is_preferred]
    assert preferred.title.startswith("Use .reshape(...)")
    new_text = await apply(client, uri, VIEW_AFTER_TRANSPOSE, preferred, 2)
    assert "x = x.reshape(x.size(0), -1)" in new_text
    assert [d for d in client.latest(uri).diagnostics if d.severity == types.DiagnosticSeverity.Error] == []
    path.write_text(new_text)
    run = runs_under_torch(path)
    assert run.returncode == 0, run.stderr[-2000:]




async def test_a_fix_of_two_edits_is_one_quick_fix_that_makes_both(client, tmp_path):
    # h0 and c0 are built for a batch of 32: the one fix follows the batch in both, in one WorkspaceEdit.
    path = tmp_path / "state.py"
    path.write_text(STATE_FOR_ONE_BATCH)
    uri, diagnostics = await client.open(path)
    errors = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
    assert len(errors) == 1 and errors[0].range.start.line == 13
    preferred = [a for a in await actions(client, uri, errors) if a.is_preferred]
    assert len(preferred) == 1
    assert sorted(e.range.start.line for e in edits_of(preferred[0].edit, uri)) == [13, 14]
    new_text = await apply(client, uri, STATE_FOR_ONE_BATCH, preferred[0], 2)
    assert new_text.count("torch.zeros(self.num_layers, x.size(0), self.hidden_size)") == 2
    assert [d for d in client.latest(uri).diagnostics if d.severity == types.DiagnosticSeverity.Error] == []
    path.write_text(new_text)
    assert runs_under_torch(path).returncode == 0
