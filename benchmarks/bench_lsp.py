"""Language-server latency and memory: didChange -> publishDiagnostics over stdio.

For each file: the median and 95th percentile of the time from sending a didChange to receiving
the publishDiagnostics for that version (debounce set to 0, so this is the server's own cost),
next to libcst's parse time of the same text. Then the server's RSS with 20 files open, and
whether it imported torch (it must not). Last, a notebook whose code cells are, together, the
generated 1,000-line file (cut at its classes into ~45 cells, markdown cells between, a
`%matplotlib inline` line, written as an nbformat 4 .ipynb), opened with notebookDocument/didOpen
and edited in one cell with notebookDocument/didChange: the time until the server has published
every code cell's diagnostics for that change (it analyses the cells as one program and publishes
per cell, in order); its row goes under the file's. Writes benchmarks/results/lsp.md.

    .venv/bin/python benchmarks/bench_lsp.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import libcst as cst
from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path("/work/shared/examples/torch")
if not EXAMPLES.is_dir():
    EXAMPLES = ROOT / "examples" / "torch"
RESULTS = ROOT / "benchmarks" / "results" / "lsp.md"


def torch_transformer_source() -> Path | None:
    """torch/nn/modules/transformer.py, read as text only (never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "nn" / "modules" / "transformer.py"
    return path if path.is_file() else None


def generated_model_file(lines: int = 1000) -> str:
    """Real-looking model classes (the examples' classes, renamed), each with its driver, to ~`lines`."""
    sources = [p.read_text() for p in sorted(EXAMPLES.glob("*.py"))]
    out = ["import torch", "import torch.nn as nn", ""]
    i = 0
    while len("\n".join(out).splitlines()) < lines:
        src = sources[i % len(sources)]
        body = [line for line in src.splitlines() if not line.startswith(("import ", "#"))]
        text = "\n".join(body)
        for name in ("IncorrectFlattenModel", "IncorrectReshapeModel", "EmbeddingMismatchModel", "IncorrectFlatten",
                     "CorrectFlatten", "AdaptivePoolingModel"):
            text = text.replace(name, f"{name}{i}")
        text = text.replace("print(output.shape)", "")
        out.append(text)
        out.append("")
        i += 1
    return "\n".join(out) + "\n"


def notebook_cells(text: str) -> list:
    """`text` (a file's) as notebook cells, (kind, source): a code cell per top-level class with what
    follows it up to the next class (its driver), a markdown cell before every tenth one. The code
    cells' lines are the file's lines, so the program the server builds from them is `text` itself:
    the header's empty third line becomes `%matplotlib inline`, a line the server blanks."""
    lines = text.splitlines()
    assert lines[2] == "", "the generated file's third line is empty"
    lines[2] = "%matplotlib inline"
    starts = [0] + [i for i, line in enumerate(lines) if line.startswith("class ") and i > 0]
    chunks = [lines[a:b] for a, b in zip(starts, starts[1:] + [len(lines)])]
    # as Jupyter stores a cell: no newline after its last line (the program ends each line with one)
    cells = []
    for n, chunk in enumerate(chunks):
        if n % 10 == 1:
            cells.append(("markdown", f"## Models, part {n // 10 + 1}\n\nThe next classes, each with its driver."))
        cells.append(("code", "\n".join(chunk)))
    return cells


def write_notebook(path: Path, cells: list) -> None:
    """An nbformat 4 notebook with these cells (sources stored as lists of lines, as Jupyter does)."""
    def source(text: str) -> list:
        return text.splitlines(keepends=True)

    doc = {"cells": [dict({"cell_type": kind, "metadata": {}, "source": source(text)},
                          **({"execution_count": None, "outputs": []} if kind == "code" else {}))
                     for kind, text in cells],
           "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                        "language_info": {"name": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(doc, indent=1) + "\n")


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def analyze_ms(text: str, path: str, runs: int) -> float:
    """The engine alone, in this process: the part of the latency that is not the server's."""
    from shapels.analysis.engine import analyze

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        analyze(text, path)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def parse_ms(text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        cst.parse_module(text)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


class Bench:
    def __init__(self) -> None:
        self.client = LanguageClient("bench", "1")
        self.arrived: dict = {}
        self.waiters: dict = {}
        self.notes: list = []  # extra summary lines
        self.after: list = []  # (uri, t0, future): the first publish for uri at or after t0

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams):
            key = (params.uri, params.version)
            self.arrived[key] = time.perf_counter()
            future = self.waiters.pop(key, None)
            if future is not None and not future.done():
                future.set_result(self.arrived[key])
            now = self.arrived[key]
            for entry in list(self.after):
                uri, t0, waiting = entry
                if uri == params.uri and now >= t0:
                    self.after.remove(entry)
                    if not waiting.done():
                        waiting.set_result(now)

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params):
            pass

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(params):
            pass

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "shapels", "serve", "--stdio")
        await self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), initialization_options={"shapels": {"debounceMs": 0}}))
        self.client.initialized(types.InitializedParams())

    def published(self, uri: str, version: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if (uri, version) in self.arrived:
            future.set_result(self.arrived[(uri, version)])
        else:
            self.waiters[(uri, version)] = future
        return future

    async def open(self, uri: str, text: str) -> None:
        done = self.published(uri, 1)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        await asyncio.wait_for(done, 120)

    async def change_latency(self, uri: str, text: str, runs: int) -> list:
        times = []
        for version in range(2, runs + 2):
            # A real edit that changes the text but not its meaning: a trailing comment grows.
            new = text + "#" * (version % 7) + "\n"
            done = self.published(uri, version)
            t0 = time.perf_counter()
            self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=new)]))
            t1 = await asyncio.wait_for(done, 120)
            times.append((t1 - t0) * 1000)
        return times

    async def open_notebook(self, path: Path) -> dict:
        """Open the .ipynb at `path` (read back with the CLI's reader) as VS Code does; return the
        client's view of it: uri, version and cells (kind, uri, text, version)."""
        from shapels.notebooks import read_notebook

        uri = path.as_uri()
        cells = [{"kind": c.kind, "text": c.source, "version": 1,
                  # as VS Code writes a cell's uri: the notebook's path and a %-escaped fragment
                  "uri": f"vscode-notebook-cell:{path.as_posix()}#W{c.index}sZmlsZQ%3D%3D"}
                 for c in read_notebook(path).cells]
        notebook = {"uri": uri, "version": 1, "cells": cells}
        code = [c for c in cells if c["kind"] == "code"]
        done = [self.published(c["uri"], 1) for c in code]
        self.client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=uri, notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code if c["kind"] == "code"
                                          else types.NotebookCellKind.Markup, document=c["uri"]) for c in cells]),
            cell_text_documents=[types.TextDocumentItem(uri=c["uri"], version=1, text=c["text"],
                                                        language_id="python" if c["kind"] == "code" else "markdown")
                                 for c in cells]))
        await asyncio.wait_for(asyncio.gather(*done), 120)
        return notebook

    async def notebook_change_latency(self, notebook: dict, runs: int) -> tuple:
        """Edit the last code cell as the file rows edit the file (a trailing comment line that grows),
        so the program the server analyses is, version for version, the file row's text. Returns the
        latencies (ms) to the edited cell's publish and to the last of all code cells' publishes."""
        code = [c for c in notebook["cells"] if c["kind"] == "code"]
        cell = code[-1]
        base = cell["text"]
        edited, every = [], []
        for version in range(2, runs + 2):
            new = base + "\n" + "#" * (version % 7)  # the program: the file row's `text + "#"*k + "\n"`
            notebook["version"] += 1
            cell["version"] += 1
            cell["text"] = new
            t0 = time.perf_counter()
            # every code cell is published again for this change: the others at their own (unchanged)
            # versions, so wait for a publish after t0 rather than for a version
            others = [self.published_after(c["uri"], t0) for c in code if c is not cell]
            mine = self.published(cell["uri"], cell["version"])
            self.client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(uri=notebook["uri"],
                                                                            version=notebook["version"]),
                change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(
                    text_content=[types.NotebookDocumentCellContentChanges(
                        document=types.VersionedTextDocumentIdentifier(uri=cell["uri"], version=cell["version"]),
                        changes=[types.TextDocumentContentChangeWholeDocument(text=new)])]))))
            t_mine = await asyncio.wait_for(mine, 120)
            t_all = max([t_mine] + list(await asyncio.wait_for(asyncio.gather(*others), 120)))
            edited.append((t_mine - t0) * 1000)
            every.append((t_all - t0) * 1000)
        return edited, every

    def published_after(self, uri: str, t0: float) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.after.append((uri, t0, future))
        return future

    def close_notebook(self, notebook: dict) -> None:
        self.client.notebook_document_did_close(types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook["uri"]),
            cell_text_documents=[types.TextDocumentIdentifier(uri=c["uri"]) for c in notebook["cells"]]))

    async def status(self) -> dict:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def notebook_row(bench: Bench, tmp: Path, text: str, runs: int) -> tuple:
    """The notebook of `text` (see notebook_cells): opened, edited `runs` times in its last code cell,
    then closed."""
    from shapels.notebooks import build_program, read_notebook

    path = tmp / "generated_1000_lines.ipynb"
    write_notebook(path, notebook_cells(text))
    program = build_program(read_notebook(path).cells)
    assert program.text == text, "the notebook's program differs from the file it was cut from"
    notebook = await bench.open_notebook(path)
    edited, every = await bench.notebook_change_latency(notebook, runs)
    bench.close_notebook(notebook)
    parse = parse_ms(program.text, max(5, runs // 3))
    engine = analyze_ms(program.text, str(path), max(5, runs // 3))
    median = statistics.median(every)
    cells = notebook["cells"]
    code = sum(c["kind"] == "code" for c in cells)
    name = f"generated_1000_lines.ipynb ({code} code + {len(cells) - code} markdown cells, last cell edited)"
    bench.notes.append(
        f"- The notebook row: the same {len(program.text.splitlines())} lines as generated_1000_lines.py, cut at its "
        f"classes into {code} code cells (the header's empty third line is `%matplotlib inline`, which the server "
        f"blanks, so the program it analyses is the file's text, edit for edit), {len(cells) - code} markdown cells "
        "between, written as an nbformat 4 .ipynb and opened with notebookDocument/didOpen; each notebookDocument/"
        "didChange replaces the last code cell's text as the file rows replace the file's. Its latency runs to the "
        "last of the per-cell publishes for that change (every code cell is published, in order; the edited cell, "
        f"being last, is that one: its own median {statistics.median(edited):.1f} ms, p95 "
        f"{percentile(edited, 0.95):.1f} ms).")
    return (name, len(program.text.splitlines()), median, percentile(every, 0.95), parse, engine, median / parse)


async def main(runs: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="shapels-bench-"))
    files = {p.name: p.read_text() for p in sorted(EXAMPLES.glob("*.py"))}
    files["generated_1000_lines.py"] = generated_model_file(1000)
    transformer = torch_transformer_source()
    if transformer is not None:
        files["torch_transformer.py"] = transformer.read_text()
    bench = Bench()
    await bench.start()
    rows = []
    for name, text in files.items():
        path = tmp / name
        path.write_text(text)
        uri = path.as_uri()
        await bench.open(uri, text)
        latencies = await bench.change_latency(uri, text, runs)
        parse = parse_ms(text, max(5, runs // 3))
        engine = analyze_ms(text, str(path), max(5, runs // 3))
        median = statistics.median(latencies)
        rows.append((name, len(text.splitlines()), median, percentile(latencies, 0.95), parse, engine, median / parse))
    # 20 files open at once.
    sources = list(files.values())
    opened = len(files)
    i = 0
    while opened < 20:
        path = tmp / f"extra_{i}.py"
        text = sources[i % len(sources)]
        path.write_text(text)
        await bench.open(path.as_uri(), text)
        opened += 1
        i += 1
    status = await bench.status()
    # The notebook after the RSS figure (which stays a files figure); its row goes under its file's.
    name = "generated_1000_lines.py"
    at = [r[0] for r in rows].index(name) + 1
    rows.insert(at, await notebook_row(bench, tmp, files[name], runs))
    await bench.stop()

    table = ["| file | lines | didChange→publish median (ms) | p95 (ms) | libcst parse (ms) | analyze() alone (ms) "
             "| median / parse |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, lines, median, p95, parse, engine, ratio in rows:
        table.append(f"| {name} | {lines} | {median:.1f} | {p95:.1f} | {parse:.1f} | {engine:.1f} | {ratio:.2f}× |")
    summary = [
        "",
        f"- Server RSS with {status['documents']} files open: **{status['rss_kb'] / 1024:.1f} MB** (target ≤ 150 MB)",
        f"- torch imported by the server: **{status['torch_imported']}** (must be False)",
        "- `analyze() alone` is the engine called in the benchmark process: latency minus it is the server's own "
        "cost (JSON-RPC, scheduling, position conversion).",
        *bench.notes,
        f"- Runs per file: {runs}; debounce 0 ms (the default 300 ms debounce adds its quiet time on top).",
        f"- Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end: on a shared machine absolute times are noisy, compare columns.",
    ]
    report = "# Language server: didChange → publishDiagnostics\n\n" + "\n".join(table + summary) + "\n"
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    assert status["torch_imported"] is False, "the language server imported torch"
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.runs)))
