"""Time and size budgets at the server level.

- `budgetSeconds` reaches the engine (a tiny budget gives the "analysis-budget" information note).
- Pathological inputs never hang the server: while each is analysed, requests on another document
  stay answered quickly, and the document ends with results or an information note within the
  budget (plus a margin for the uninterruptible parse and the transport).
- Memory stays bounded: RSS after opening and closing 100 documents (shapels.serverStatus).

The engine's share (finishing within the budget) belongs to shapels/analysis; where it does not
yet, the case is xfail(strict=True) with the figures measured, so the test turns red (XPASS) once
the engine meets it and the mark must go.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types

from tests.robustness.conftest import MODEL_FILES, SERVER, RecordingClient, errors_in_log, processed, start

BUDGET = 2.0  # seconds, the budgetSeconds of these tests
MARGIN = 1.5  # the note may come a little after the budget: JSON-RPC, positions, a loaded CI machine
HOVER_LATENCY = 1.0  # seconds: the slowest answer allowed while an analysis runs
SMALL = next(p for p in MODEL_FILES if p.name == "seed000_ex3.py")


def sequential(n: int) -> str:
    layers = "".join("            nn.Linear(8, 8),\n" for _ in range(n))
    return ("import torch\nimport torch.nn as nn\n\n\nclass Deep(nn.Module):\n    def __init__(self):\n"
            f"        super().__init__()\n        self.layers = nn.Sequential(\n{layers}        )\n\n"
            "    def forward(self, x):\n        return self.layers(x)\n\n\nDeep()(torch.randn(2, 8))\n")


def nested(depth: int) -> str:
    return "import torch\nx = torch.randn(2, 8)\ny = " + "torch.relu(" * depth + "x" + ")" * depth + "\n"


def symbolic(n: int) -> str:
    """Each line makes the length dim a bigger symbolic sum."""
    return ("import torch\nimport torch.nn as nn\n\n\nclass Grow(nn.Module):\n    # shapels: input x=(B, 8, H)\n"
            "    def forward(self, x):\n" + "".join("        x = torch.cat([x, x[:, :, 1::2]], dim=2)\n" for _ in range(n))
            + "        return x\n")


def long_file(lines: int) -> str:
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(lines // 2))
    return "import torch\n" + body + "y = f1(torch.randn(2, 3))\n"


ENGINE_SLOW = "engine over budget (shapels/analysis): "
CASES = [
    pytest.param(sequential(10_000), id="sequential-10000-layers"),
    pytest.param(nested(150), id="nesting-150-deep"),
    pytest.param(nested(1000), id="nesting-1000-deep"),
    pytest.param(symbolic(300), id="symbolic-sum-300-lines"),
    pytest.param(long_file(50_000), id="file-50000-lines"),
]


@pytest_lsp.fixture(config=SERVER)
async def budget_client(lsp_client: RecordingClient):
    lsp_client.profile = "visual-studio-code"
    await start(lsp_client, "visual-studio-code", {"budgetSeconds": BUDGET, "debounceMs": 0})
    yield
    await lsp_client.shutdown_session()


async def hover(client, uri: str, line: int = 13, character: int = 8):
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))


async def test_budget_setting_reaches_the_engine(fresh_client, tmp_path):
    client = fresh_client
    path = tmp_path / "slow.py"
    path.write_text(sequential(3000))
    start_at = len(client.publishes)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"shapels": {"budgetSeconds": 0.05}}))
    uri, diagnostics = await client.open(path)
    notes = [d for d in diagnostics if d.code == "analysis-budget"]
    assert notes and notes[0].severity == types.DiagnosticSeverity.Information, diagnostics
    assert "time budget" in notes[0].message
    assert len(client.publishes) > start_at


@pytest.mark.parametrize("text", CASES)
async def test_pathological_input_never_hangs_the_server(budget_client, tmp_path, text):
    client = budget_client
    small, _ = await client.open(_copy(tmp_path, SMALL))
    assert await hover(client, small) is not None
    path = tmp_path / "pathological.py"
    path.write_text(text)
    uri = path.as_uri()
    publishes, logs, shown = len(client.publishes), len(client.log_messages), len(client.messages)
    opened = time.perf_counter()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    done = processed(client, uri, 1, publishes, logs)
    latencies = []
    while not done() and time.perf_counter() - opened < 120:
        asked = time.perf_counter()
        answer = await asyncio.wait_for(hover(client, small), 120)
        latencies.append(time.perf_counter() - asked)
        assert answer is not None
        await asyncio.sleep(0.05)
    await client.wait_until(done, "the pathological document's results", timeout=120)
    elapsed = time.perf_counter() - opened
    assert errors_in_log(client, logs, shown) == []
    [result] = [p for p in client.publishes[publishes:] if p.uri == uri][-1:] or [None]
    worst = max(latencies, default=0.0)
    print(f"\n{len(text.splitlines())} lines: results after {elapsed:.1f} s (budget {BUDGET} s), "
          f"{len(latencies)} hovers meanwhile, slowest {worst * 1000:.0f} ms; "
          f"{[d.code for d in result.diagnostics] if result else 'no publish (syntax error logged)'}")
    assert result is not None, "no results and no note for the document"
    assert elapsed <= BUDGET + MARGIN, f"results after {elapsed:.1f} s, budget {BUDGET} s"
    assert worst <= HOVER_LATENCY, f"a hover waited {worst:.1f} s while the analysis ran"
    # Afterwards, requests on the pathological document itself are answered too.
    for request in (hover(client, uri, 3, 4), client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))):
        await asyncio.wait_for(request, 30)


async def test_memory_stays_bounded_over_100_opens(budget_client, tmp_path):
    client = budget_client
    texts = [p.read_text() for p in MODEL_FILES]

    async def cycle(n: int, tag: str) -> None:
        for i in range(n):
            path = tmp_path / f"{tag}{i}_{MODEL_FILES[i % len(MODEL_FILES)].name}"
            path.write_text(texts[i % len(texts)])
            uri, _ = await client.open(path)
            await hover(client, uri, 10, 10)  # builds the module reports too
            client.text_document_did_close(types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=uri)))

    async def status() -> dict:
        return await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))

    await cycle(20, "warm")
    before = await status()
    await cycle(100, "run")
    after = await status()
    await cycle(100, "again")
    last = await status()
    print(f"\nRSS: {before['rss_kb'] / 1024:.1f} MB after 20 opens, {after['rss_kb'] / 1024:.1f} MB after 120, "
          f"{last['rss_kb'] / 1024:.1f} MB after 220; documents held: {last['documents']}")
    assert last["documents"] == before["documents"] == 0
    assert after["rss_kb"] - before["rss_kb"] < 40 * 1024
    assert last["rss_kb"] - after["rss_kb"] < 20 * 1024  # no steady growth
    assert not last["torch_imported"]


def _copy(tmp_path, source):
    target = tmp_path / source.name
    target.write_text(source.read_text())
    return target
