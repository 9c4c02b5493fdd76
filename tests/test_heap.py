"""Free memory goes back to the operating system after an analysis in the language server
(shapels/heap.py): glibc keeps freed pages otherwise, and the server's memory only grows."""

from __future__ import annotations

import platform
import sys

import pytest

from shapels import heap

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_the_pages_an_analysis_freed_are_given_back():
    heap.release_free_memory()
    blocks = [bytearray(2048) for _ in range(30_000)]  # ~60 MB from malloc (over pymalloc's 512 bytes)
    kept = blocks[::200] + [blocks[-1]]  # a few live blocks throughout, as an analysis's results stay
    del blocks
    before = _rss_mb()  # freed, but glibc still holds the pages
    assert heap.release_free_memory() is True
    assert _rss_mb() < before - 30
    assert len(kept) == 151


def test_elsewhere_it_does_nothing(monkeypatch):
    monkeypatch.setattr(heap, "_trim", None)  # as where no C library has malloc_trim
    assert heap.release_free_memory() is False


def test_the_server_releases_after_each_analysis(tmp_path, monkeypatch):
    from shapels.imports import FileLoader
    from shapels.lsp import diagnostics
    from shapels.lsp.server import create_server

    calls = []
    real = diagnostics.analyze

    def analyse(*args, **kwargs):
        calls.append("analyse")
        return real(*args, **kwargs)

    monkeypatch.setattr(diagnostics, "analyze", analyse)
    monkeypatch.setattr(diagnostics, "release_free_memory", lambda: calls.append("release"))
    path = tmp_path / "model.py"
    path.write_text("import torch.nn as nn\nnet = nn.Linear(4, 2)\n")
    server = create_server()
    server.import_loader = FileLoader(roots=[str(tmp_path)])  # as after `initialize` (its workspace folders)
    result, problems, settings, program = diagnostics._analyse(server, path.as_uri(), path.read_text())
    assert calls == ["analyse", "release"] and result.syntax_error is None
