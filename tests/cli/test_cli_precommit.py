"""The pre-commit hook (.pre-commit-hooks.yaml) through the real `pre-commit` tool, offline.

A hook with `language: python` makes pre-commit build a virtualenv and pip-install this repository
into it (setuptools, pygls, libcst, sympy from the index): that needs the network, so `try-repo`
cannot run here. The manifest is checked by pre-commit's own `validate-manifest`, and its hook runs
exactly as written (same id, entry, types) from a `repo: local` config with `language: system`,
which finds `shapels` on PATH: this test's virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, ROOT

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BROKEN = EXAMPLES / "torch" / "seed004_ex1.py"  # fc's in_features is 2000; it gets (1, 5120)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _env(tmp_path: Path) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }


def _run(args: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_manifest_is_valid_for_pre_commit():
    [hook] = yaml.safe_load(MANIFEST.read_text())
    assert {k: hook[k] for k in ("id", "entry", "language", "types_or")} == {
        "id": "shapels", "entry": "shapels check", "language": "python", "types_or": ["python", "jupyter"]}
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_commit_with_a_shape_bug_is_refused_and_a_fixed_one_accepted(tmp_path):
    env = _env(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _run(["git", "init", "-q", "."], repo, env).returncode == 0
    [hook] = yaml.safe_load(MANIFEST.read_text())
    config = {"repos": [{"repo": "local", "hooks": [dict(hook, language="system")]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    installed = _run([sys.executable, "-m", "pre_commit", "install"], repo, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    model = repo / "model.py"
    model.write_text(BROKEN.read_text())
    _run(["git", "add", "."], repo, env)
    refused = _run(["git", "commit", "-m", "add a model with a shape bug"], repo, env)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    output = refused.stdout + refused.stderr
    assert "model.py:11:29: linear-in-features" in output and "help: Set in_features to 5120" in output
    assert _run(["git", "rev-parse", "--verify", "HEAD"], repo, env).returncode != 0  # nothing committed

    fixed = _run([sys.executable, "-m", "shapels", "check", "--fix", "model.py"], repo, env)
    assert fixed.returncode == 0 and "nn.Linear(5120, 10)" in model.read_text(), fixed.stderr
    _run(["git", "add", "."], repo, env)
    accepted = _run(["git", "commit", "-m", "the model, fixed"], repo, env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "shapels....." in accepted.stdout + accepted.stderr and "Passed" in accepted.stdout + accepted.stderr

    (repo / "broken.py").write_text("import torch\nx = (1,\n")
    _run(["git", "add", "."], repo, env)
    refused = _run(["git", "commit", "-m", "a syntax error"], repo, env)
    assert refused.returncode != 0 and "broken.py:2:5: syntax-error" in refused.stdout + refused.stderr
    (repo / "broken.py").unlink()

    notebook = ROOT / "examples" / "digit_notebook.ipynb"  # one unbatched image into a CNN, in cell 5
    shutil.copy(notebook, repo / "digits.ipynb")
    _run(["git", "add", "-A"], repo, env)
    refused = _run(["git", "commit", "-m", "a notebook with a shape bug"], repo, env)
    assert refused.returncode != 0 and "digits.ipynb:cell 5:2:9: input-shape" in refused.stdout + refused.stderr
