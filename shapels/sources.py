"""Source files on disk: the one reader of a Python file's text, and the folders never walked.

Every part that reads a file's source (the CLI, the import loader, confirm and its worker, the check
of configured inputs) reads it here, so a file reads the same everywhere: as Python reads it, UTF-8
with a byte-order mark allowed, and an undecodable byte replaced rather than fatal (one stray byte in
a comment must not cost the whole file's analysis).
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

# Folders no walk of a project descends into: tools' and environments' own files, never the user's.
SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", "build",
                       "dist", ".ipynb_checkpoints"})


def decode_source(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def read_source(path: Union[str, Path]) -> str:
    """The file's text (OSError when it cannot be read)."""
    return decode_source(Path(path).read_bytes())
