"""ruff over the project's Python (pyproject.toml's [tool.ruff.lint] says which rules and why).

A finding fails the test with ruff's own report, one line per finding. The second test feeds ruff a
file with an unused import and an undefined name under shapels/, so a config that selects nothing,
or that stops applying to the package, fails too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINTED = ["shapels", "tests", "benchmarks", "corpus", "scripts"]


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    # --no-cache: no .ruff_cache in the checkout; the run takes well under a second anyway
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=concise", *args],
                          cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    result = ruff(*LINTED)
    assert "No module named ruff" not in result.stderr, "ruff is in the test extra: pip install -e '.[test]'"
    assert result.returncode == 0, f"ruff check {' '.join(LINTED)}:\n{result.stdout}{result.stderr}"


def test_the_config_applies_to_the_package():
    probe = "import os\n\n\ndef f():\n    return undefined_name\n"
    result = ruff("--stdin-filename", "shapels/_lint_probe.py", "-", stdin=probe)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "F401" in result.stdout and "F821" in result.stdout, result.stdout
