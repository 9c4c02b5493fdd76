"""A package's sources read as files: its wheel fetched with pip (no dependencies) into .tools/<dist> and
only unzipped, never imported. Imports nothing of shapels, so a tool that measures shapels at another
commit (`--commit`) can use it before putting that commit on sys.path."""

from __future__ import annotations

import subprocess
import sys
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
