"""Running a model program as `python file` would, and applying a one-line fix to its text: what the tests
of blame and fixes (tests/analysis/test_causes.py, test_repair.py, test_geometry_causes.py) check a fix by."""

from __future__ import annotations


def torch_error(source: str):
    """The exception the program raises when run (torch imported by it, gradients off), or None."""
    import torch

    try:
        with torch.no_grad():
            exec(compile(source, "<model>", "exec"), {"__name__": "__main__"})
    except Exception as error:  # noqa: BLE001 - the failure is the result
        return error
    return None


def apply_fix(source: str, fix) -> str:
    """The text with a one-line fix's edit made."""
    lines = source.splitlines(True)
    span = fix.span
    assert span.start_line == span.end_line
    i = span.start_line - 1
    lines[i] = lines[i][: span.start_col] + fix.content + lines[i][span.end_col:]
    return "".join(lines)
