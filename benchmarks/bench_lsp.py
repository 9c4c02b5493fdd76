"""Language-server latency and memory: didChange -> publishDiagnostics over stdio.

For each file: the median and 95th percentile of the time from sending a didChange to receiving
the publishDiagnostics for that version (debounce set to 0, so this is the server's own cost),
next to libcst's parse time of the same text. Then the server's RSS with 20 files open, and
whether it imported torch (it must not). Writes benchmarks/results/lsp.md.

    .venv/bin/python benchmarks/bench_lsp.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
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

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams):
            key = (params.uri, params.version)
            self.arrived[key] = time.perf_counter()
            future = self.waiters.pop(key, None)
            if future is not None and not future.done():
                future.set_result(self.arrived[key])

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

    async def status(self) -> dict:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


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
