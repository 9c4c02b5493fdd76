"""`shapels confirm`: text and JSON output, exit status 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shapels.cli import main
from tests.confirm.conftest import TORCH_EXAMPLES, expected_for

BY_NAME = {p.name: p for p in TORCH_EXAMPLES}


@pytest.fixture(autouse=True)
def shared_worker(pool, monkeypatch):
    """The in-process CLI uses the module-level pool: make it the tests' warm worker."""
    from shapels.confirm import api

    monkeypatch.setattr(api, "_POOL", pool)


@pytest.mark.parametrize("name", ["seed004_ex3.py", "seed000_ex3.py"])
def test_json_output(capsys, name):
    path = BY_NAME[name]
    code = main(["confirm", str(path), "--device", "cpu", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    expected = expected_for(path)
    assert data["device"] == "cpu"
    assert data["filename"] == str(path)
    if expected["runs"]:
        assert code == 0
        assert data["ok"] and data["output_shape"] == expected["output_shape"]
        assert data["error"] is None
    else:
        assert code == 1
        assert data["error"]["message"] == expected["error"]
        assert data["error"]["row"] == expected["call_line"]
        assert data["error"]["constructor_row"] == expected["flags"][0]["line"]
    assert data["agreed"] is True
    assert all(v["verdict"] == "agreed" for v in data["verdicts"])
    assert {l["row"] for l in data["layers"]}


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["confirm", str(tmp_path / "missing.py")]) == 2
    assert "cannot read" in capsys.readouterr().out


def test_text_output_from_the_command_line():
    path = BY_NAME["seed000_ex3.py"]
    out = subprocess.run([sys.executable, "-m", "shapels", "confirm", str(path), "--device", "cpu"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    text = out.stdout
    assert "ran on cpu" in text
    assert "error: line 15: RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x5120 and 1024x128)" in text
    assert "raised in fc1 (torch.nn.Linear), built at line 9" in text
    assert "agreed" in text
