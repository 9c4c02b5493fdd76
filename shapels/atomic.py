"""Replacing a file's contents atomically: a reader (an editor, a second `--fix`) sees the old file or
the new one, never half of it; the file keeps its permissions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".shapels-fix", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
