"""A package's sources read as files: its wheel fetched with pip (no dependencies) into .tools/<dist> and
only unzipped, never imported. Imports nothing of shapels, so a tool that measures shapels at another
commit (`--commit`) can use it before putting that commit on sys.path."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fetch(dist: str, version: str, module: str | None = None) -> Path:
    """The .py files of `module` (the import name; `dist` by default), unzipped from the wheel of
    `dist==version` into .tools/<dist>/src-<version>."""
    module = module or dist
    tools = ROOT / ".tools" / dist
    src = tools / f"src-{version}"
    if (src / module).is_dir():
        return src
    tools.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"{dist}=={version}", "-d",
                    str(tools)], check=True)
    [wheel] = tools.glob(f"{module}-{version}-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(src, [n for n in z.namelist() if n.startswith(f"{module}/") and n.endswith(".py")])
    return src


def venv_beside_project(venv: Path, dependencies: list) -> Path:
    """The interpreter of a venv that sees this interpreter's site-packages (torch, libcst, ...) through a .pth
    line, with `dependencies` (pinned) installed into it on first use: a labelling interpreter for packages
    whose small dependencies (numpy, ...) the project's own venv does not have, as CI has none."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      capture_output=True, text=True, check=True).stdout.strip())
        (purelib / "_project_site_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *dependencies], check=True)
    return python
