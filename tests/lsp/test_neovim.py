"""A real client: headless Neovim (Debian's `neovim`, built-in LSP client) opens an example,
receives the diagnostic and gets hover text. Installs Neovim with scripts/install-neovim.sh when
missing; skips (saying why) only if it cannot be installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lsp.conftest import ROOT, copy_example


@pytest.fixture(scope="module")
def nvim() -> str:
    found = shutil.which("nvim")
    if found is None:
        install = subprocess.run(["sh", str(ROOT / "scripts" / "install-neovim.sh")], capture_output=True,
                                 text=True, timeout=600)
        found = shutil.which("nvim")
        if found is None:
            pytest.skip(f"Neovim is not installed and scripts/install-neovim.sh could not install it "
                        f"(exit {install.returncode}): {install.stderr.strip()[-500:]}")
    return found


def test_neovim_gets_diagnostic_and_hover(nvim, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    out = tmp_path / "nvim.json"
    env = {
        **os.environ,
        "SHAPELS_FILE": str(path),
        "SHAPELS_PYTHON": sys.executable,
        "SHAPELS_OUT": str(out),
        "SHAPELS_HOVER_LINE": "13",
        "SHAPELS_HOVER_COL": "4",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    script = Path(__file__).with_name("neovim_client.lua")
    run = subprocess.run([nvim, "--headless", "--clean", "-n", "-c", f"luafile {script}"], env=env,
                         capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert out.is_file(), f"Neovim wrote nothing (exit {run.returncode}): {run.stderr[-2000:]}"
    got = json.loads(out.read_text())
    assert "error" not in got, got
    assert got["waited"] is True
    [diagnostic] = got["diagnostics"]
    assert diagnostic["lnum"] == 8 and diagnostic["col"] == 25 and diagnostic["end_col"] == 29
    assert diagnostic["source"] == "shapels"
    assert "in_features=1024" in diagnostic["message"]
    assert "x: Tensor[1, 5120]" in got["hover"]
