"""Worker side: running a Keras file for real, on Keras 3's torch backend (no TensorFlow needed).

- `frameworks(text)`: which of keras and tensorflow the file imports.
- `prepare()`: imports keras (KERAS_BACKEND is torch in the worker, set before any import) and makes
  Keras layer calls recorded (`keras_recorder`). Returns a message when keras is missing. A file that
  imports tensorflow runs inside `tf_shim.standing_in()` (a stand-in when TensorFlow is not installed).
- `device_scope(device)`: Keras on torch places its tensors on its own device (CUDA when available):
  the run's device is put in scope, so `--device cpu` means the CPU for Keras too.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
from typing import Optional

BACKEND = "torch"
FRAMEWORKS = ("keras", "tensorflow")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+(keras|tensorflow)\b", re.MULTILINE)


def set_backend() -> None:
    """Keras reads KERAS_BACKEND once, at its first import: the worker sets it before anything runs."""
    os.environ["KERAS_BACKEND"] = BACKEND


def frameworks(text: str) -> set:
    """Which of keras and tensorflow the file imports (an import anywhere, a function's included)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {m.group(1) for m in _IMPORT.finditer(text)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found & set(FRAMEWORKS)


def prepare() -> Optional[str]:
    """Import keras on the torch backend and hook it; a message (how to install it) when it is missing."""
    from shapels.confirm import keras_recorder, messages

    try:
        import keras
    except Exception as error:  # noqa: BLE001 - ImportError, or a broken install raising anything
        return messages.NO_KERAS.format(python=sys.executable, reason=f"{type(error).__name__}: {error}")
    backend = keras.backend.backend()
    if backend != BACKEND:
        return (f"keras runs on its {backend} backend in the confirm worker (it was imported before "
                f"KERAS_BACKEND={BACKEND} was set); confirm runs Keras files on the torch backend")
    keras_recorder.install()
    return None


def version() -> str:
    import keras

    return keras.__version__


def fresh_session() -> None:
    """Keras's global state as a fresh `python FILE` has it: layer names count from the start again
    (`dense`, not `dense_3` after three earlier runs in this worker)."""
    import keras

    keras.backend.clear_session()


@contextlib.contextmanager
def device_scope(device: str):
    import keras

    with keras.device(device):
        yield
