"""The real run: `shapels confirm` and the server's `shapels.confirm` command.

Only the worker process (`worker.py` and what it imports: `recorder.py`, `sandbox.py`) imports
torch. The parent side (`api`, `pool`, `compare`, `report`, `render`, `cli`) never does, so the
language server can offer confirm without paying torch's import cost.

    from shapels.confirm.api import confirm_file
    report = confirm_file("model.py", device="auto")
"""
