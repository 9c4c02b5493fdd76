"""Worker side: running a Keras file for real, on Keras 3's torch backend (no TensorFlow needed).

- `uses_keras(text)`: the file imports keras or tensorflow.
- `prepare()`: imports keras (KERAS_BACKEND is torch in the worker, set before any import), stands in
  for `tensorflow` when it is not installed (`tf_shim`), and makes Keras layer calls recorded
  (`keras_recorder`). Returns a message when keras is missing.
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


def uses_keras(text: str) -> bool:
    """Whether the file imports keras or tensorflow (an import anywhere, a function's included)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return bool(_IMPORT.search(text))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] in FRAMEWORKS for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in FRAMEWORKS:
                return True
    return False


def prepare() -> Optional[str]:
    """Import keras on the torch backend and hook it; a message (how to install it) when it is missing."""
    from shapels.confirm import keras_recorder, messages, tf_shim

    try:
        import keras
    except Exception as error:  # noqa: BLE001 - ImportError, or a broken install raising anything
        return messages.NO_KERAS.format(python=sys.executable, error=f"{type(error).__name__}: {error}")
    backend = keras.backend.backend()
    if backend != BACKEND:
        return (f"keras runs on its {backend} backend in the confirm worker (it was imported before "
                f"KERAS_BACKEND={BACKEND} was set); confirm runs Keras files on the torch backend")
    tf_shim.install()
    keras_recorder.install()
    return None


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
