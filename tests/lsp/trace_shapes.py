"""Run each example under torch and record, per line of `forward`, the shape of `x` after that line.

Used by the hover tests as the ground truth. Prints {file name: {line: [dims]}} as JSON.
"""

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path


def trace(path: str) -> dict:
    import torch

    shapes: dict = {}
    last: dict = {}

    def local(frame, event, arg):
        if event == "exception":  # the line did not complete: it has no "after"
            last.pop(id(frame), None)
            return local
        line = last.get(id(frame))
        if event in ("line", "return") and line is not None:
            x = frame.f_locals.get("x")
            if isinstance(x, torch.Tensor):
                shapes.setdefault(line, list(x.shape))
        if event == "line":
            last[id(frame)] = frame.f_lineno
        return local

    def global_trace(frame, event, arg):
        if frame.f_code.co_name == "forward" and frame.f_code.co_filename == path:
            return local
        return None

    sys.settrace(global_trace)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(path, run_name="__main__")
    except Exception:  # noqa: BLE001 - the failing examples fail here, after their shapes are known
        pass
    finally:
        sys.settrace(None)
    return shapes


if __name__ == "__main__":
    print(json.dumps({Path(p).name: trace(str(Path(p).resolve())) for p in sys.argv[1:]}))
