"""Fixtures for confirm: one warm worker shared by the module's tests, and script helpers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from shapels.confirm.pool import WorkerPool

EXAMPLES = Path("/work/shared/examples")
if not EXAMPLES.is_dir():
    EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())
TORCH_EXAMPLES = sorted((EXAMPLES / "torch").glob("*.py"))


@pytest.fixture(scope="session")
def pool():
    """The warm worker every test shares (tests that kill it check it comes back)."""
    p = WorkerPool()
    p.start()
    yield p
    p.close()


@pytest.fixture
def script(tmp_path):
    """Write a script (dedented) into tmp_path and return its path."""

    def write(text: str, name: str = "script.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def expected_for(path: Path) -> dict:
    return EXPECTED[f"torch/{path.name}"]
