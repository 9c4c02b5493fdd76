"""Bursts of edits: 200 didChange events sent as fast as possible, then the time from the last
didChange to the final publishDiagnostics (which must be for the last version), the number of
analyses the server actually ran (shapels.serverStatus "analyses") and the publishes it sent.

For each file and debounce (0 ms: no quiet time; 300 ms: the default), R repeats; median and max.
Writes benchmarks/results/bursts.md. A measurement; the property itself is tested in
tests/robustness/test_bursts.py.

    .venv/bin/python benchmarks/bench_bursts.py [--repeat 5] [--burst 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_lsp import EXAMPLES, generated_model_file  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bursts.md"


class Burst:
    def __init__(self, debounce_ms: int) -> None:
        self.debounce_ms = debounce_ms
        self.client = LanguageClient("bench-bursts", "1")
        self.publishes: list = []
        self.event = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams):
            self.publishes.append((time.perf_counter(), params.uri, params.version))
            self.event.set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params):
            pass

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(params):
            pass

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "shapels", "serve", "--stdio")
        await self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"shapels": {"debounceMs": self.debounce_ms}}))
        self.client.initialized(types.InitializedParams())

    async def wait_version(self, uri: str, version: int) -> float:
        while True:
            for t, u, v in self.publishes:
                if u == uri and v == version:
                    return t
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), 120)

    async def status(self) -> dict:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="shapels.serverStatus", arguments=[]))

    async def run(self, uri: str, text: str, burst: int) -> dict:
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        await self.wait_version(uri, 1)
        before = (await self.status())["analyses"]
        start = len(self.publishes)
        row = len(text.splitlines())  # type at the end of the file: a growing trailing comment
        for version in range(2, burst + 2):
            self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=row, character=0),
                                      end=types.Position(line=row, character=0)), text="#")]))
        sent = time.perf_counter()
        final = await self.wait_version(uri, burst + 1)
        status = await self.status()
        ours = [v for _, u, v in self.publishes[start:] if u == uri]
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))
        return {"latency_ms": (final - sent) * 1000, "analyses": status["analyses"] - before,
                "publishes": len(ours), "ordered": ours == sorted(ours) and ours[-1] == burst + 1}

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def main(repeat: int, burst: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="shapels-bursts-"))
    files = {"seed000_ex3.py": (EXAMPLES / "seed000_ex3.py").read_text(),
             "generated_1000_lines.py": generated_model_file(1000)}
    rows = []
    for debounce in (0, 300):
        bench = Burst(debounce)
        await bench.start()
        for name, text in files.items():
            results = []
            for i in range(repeat):
                path = tmp / f"{i}_{name}"
                path.write_text(text)
                results.append(await bench.run(path.as_uri(), text, burst))
            lat = [r["latency_ms"] for r in results]
            rows.append((name, len(text.splitlines()), debounce, statistics.median(lat), max(lat),
                         statistics.median(r["analyses"] for r in results), max(r["analyses"] for r in results),
                         max(r["publishes"] for r in results), all(r["ordered"] for r in results)))
            print(rows[-1], flush=True)
        await bench.stop()
    lines = [
        f"# Language server: bursts of {burst} didChange events",
        "",
        f"{burst} incremental didChange events (one `#` typed at the end of the file each) sent without waiting, "
        "then the time from the last didChange to the publishDiagnostics for the last version.",
        "",
        "| file | lines | debounce (ms) | last didChange → final publish, median (ms) | max (ms) "
        f"| analyses run (of {burst}), median | max | publishes, max | only newer versions, last = final |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, n, debounce, med, worst, an_med, an_max, pubs, ordered in rows:
        lines.append(f"| {name} | {n} | {debounce} | {med:.0f} | {worst:.0f} | {an_med:g} | {an_max} | {pubs} | "
                     f"{'yes' if ordered else '**NO**'} |")
    lines += [
        "",
        f"- Repeats per row: {repeat}; each burst on a freshly opened document.",
        "- `analyses run` counts the scheduler's jobs that started the engine (shapels.serverStatus `analyses`): "
        "a superseded request waiting in its debounce or in the queue never runs.",
        f"- Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end: on a shared machine absolute times are noisy.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.repeat, args.burst)))
