"""Shared test fixtures: where the seed examples live, and running Python in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shapels.rules import load_deferred

ROOT = Path(__file__).resolve().parents[1]
# The test files in every folder (tests/analysis, tests/cli, tests/rules, ...) import the shared helpers here
# (conftest, harnesses, producer_models, notebook_helpers, program_runs, two_file_project) by their bare names. pytest's default import mode
# puts this folder on sys.path as it loads this file; the entry keeps that true under any import mode.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
# Tests iterate the whole registry (every rule's examples, every layer's name): register the families it
# otherwise registers on first use (Keras's; tests/rules/test_registry.py checks that deferral).
load_deferred()
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "examples"


@pytest.fixture(autouse=True)
def _own_results_cache(tmp_path_factory, monkeypatch):
    """Each test's `shapels check` runs (in this process or a subprocess) keep their results cache in a
    folder of their own: never the user's, and never a result another test cached."""
    monkeypatch.setenv("SHAPELS_CACHE_DIR", str(tmp_path_factory.mktemp("shapels-cache")))


def torch_examples() -> list:
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    return [(name, spec) for name, spec in expected.items() if name.startswith("torch/")]


@pytest.fixture(scope="session")
def expected() -> dict:
    return json.loads((EXAMPLES / "expected.json").read_text())


def run_python(path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=timeout, cwd=path.parent)


def run_shapels(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapels", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def torch_error(source: str):
    """Run a model program in this process under torch: its RuntimeError's message, or None if it runs."""
    try:
        exec(compile(source, "<model>", "exec"), {"__name__": "__main__"})
    except RuntimeError as error:
        return str(error)
    return None


def torch_fails(source: str) -> bool:
    return torch_error(source) is not None


def driver_globals(source: str) -> dict:
    """The module-level names after shapels runs a program's top-level code (no classes' own runs),
    asserting that no statement of it hit an internal error."""
    import libcst as cst

    from shapels.analysis import engine
    from shapels.analysis.interpreter import Budget, Interpreter
    from shapels.analysis.recorder import Recorder
    from shapels.analysis.scopes import make_scope

    module = cst.parse_module(source)
    interp = Interpreter(make_scope("__main__", "t.py", module), Recorder(), Budget(None), None)
    failures: list = []
    engine._run_driver(interp, module, failures)
    assert not failures, failures[0].message
    return interp.globals


def apply_fix(source: str, fix) -> str:
    """The text with a finding's fix applied (its span: 1-based lines, 0-based code-point columns)."""
    lines = source.splitlines(keepends=True)
    span = fix.span
    start = sum(len(text) for text in lines[: span.start_line - 1]) + span.start_col
    end = sum(len(text) for text in lines[: span.end_line - 1]) + span.end_col
    return source[:start] + fix.content + source[end:]
