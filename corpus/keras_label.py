"""Label Keras application builders (and mutants of their files) by running them with Keras 3 on the
torch backend. A worker for corpus/keras_apps.py: it reads jobs as JSON lines on stdin and writes one
JSON line per job on stdout, importing Keras once.

A job: {"id", "path" (the real application file), "text" (the file's text, mutated or not, with the
driver appended), "trace" (record which lines of the file the run executes)}. The text is compiled under
the real path and executed as a fresh module, so the traceback's innermost frame in the application file
gives the line that failed (lines never move in a mutant).

A label: runs or not, the error's type and text, that line, the output shape, and the executed lines
when asked.

Run by keras_apps.py as `KERAS_BACKEND=torch .venv/bin/python corpus/keras_label.py`.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
import traceback
import types
import warnings


def _innermost_line(tb, path: str):
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def label(job: dict) -> dict:
    path, text = job["path"], job["text"]
    module = types.ModuleType("keras_corpus_app")
    module.__file__ = path
    executed: set = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != path:
            return None
        if event == "line":
            executed.add(frame.f_lineno)
        return tracer

    started = time.perf_counter()
    row: dict = {"id": job["id"]}
    try:
        code = compile(text, path, "exec")
        if job.get("trace"):
            sys.settrace(tracer)
        try:
            # what the text prints goes to stderr: stdout carries the labels (a keras-io example prints inside
            # the functions it calls)
            with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                exec(code, module.__dict__)
        finally:
            sys.settrace(None)
        out = module.__dict__.get("out")
        row["runs"] = True
        row["output_shape"] = [int(d) for d in out.shape] if hasattr(out, "shape") else None
    except Exception as error:  # noqa: BLE001 - the label is what happened
        row["runs"] = False
        row["error_type"] = type(error).__name__
        row["error"] = str(error)[:600]
        row["line"] = _innermost_line(error.__traceback__, path)
    row["seconds"] = round(time.perf_counter() - started, 2)
    if job.get("trace"):
        row["executed"] = sorted(executed)
    del module
    gc.collect()
    return row


def main() -> int:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras  # noqa: F401 - imported once, before the first job is timed
    import torch

    torch.set_num_threads(2)
    for line in sys.stdin:
        if not line.strip():
            continue
        sys.stdout.write(json.dumps(label(json.loads(line))) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
