"""Run one timm model (or a mutant of one of its files) with torch, in its own process, and print its
label as one line of JSON. Started by corpus/timm_mutants.py with the interpreter of .tools/timm-venv
(torch 2.13 CPU and numpy: timm needs numpy, and the project's own venv has none, as CI has none).

timm imports torchvision and PIL at package import (its data transforms), and neither imports beside
the CPU torch here; model code does not use them to build or run a model, so both are replaced by
permissive stand-ins whose every attribute is another stand-in. The mutated file is served to the
import system in place of the real one, under the real file name, so tracebacks name its lines.

Usage (JSON on stdin): {"src": timm's source root, "imports": "...", "constructor": "...", "side": 224,
                        "module": "timm.models.resnet", "text": mutated source or null, "trace": bool}
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import traceback

from standins import StandInModule  # noqa: E402  (corpus/, the script's folder)

STAND_INS = {"torchvision", "PIL"}


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stand-ins for torchvision/PIL, and the mutant's text for the one module it replaces."""

    def __init__(self, module: str | None, text: str | None, path: str | None):
        self.module, self.text, self.path = module, text, path

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in STAND_INS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        if self.text is not None and fullname == self.module:
            return importlib.util.spec_from_loader(fullname, self, origin=self.path)
        return None

    def create_module(self, spec):
        if spec.name.split(".")[0] in STAND_INS:
            module = StandInModule(spec.name)
            module.__path__ = []
            return module
        return None

    def exec_module(self, module):
        if module.__name__ == self.module and self.text is not None:
            module.__file__ = self.path
            exec(compile(self.text, self.path, "exec"), module.__dict__)


def label(job: dict) -> dict:
    sys.path.insert(0, job["src"])
    path = str(importlib.util.find_spec(job["module"].split(".")[0]).submodule_search_locations[0])
    path = path.rsplit("/", 1)[0] + "/" + job["module"].replace(".", "/") + ".py"
    sys.meta_path.insert(0, _Finder(job["module"], job.get("text"), path))
    out: dict = {"runs": False, "phase": "import", "error_type": None, "error": None, "error_line": None,
                 "output_shape": None, "executed_lines": []}
    executed: set = set()
    try:
        import torch

        scope: dict = {"torch": torch}
        exec(job["imports"], scope)
        out["phase"] = "build"
        torch.manual_seed(0)

        def local(frame, event, arg):
            if event == "line":
                executed.add(frame.f_lineno)
            return local

        def global_(frame, event, arg):
            return local if frame.f_code.co_filename == path else None

        if job.get("trace"):
            sys.settrace(global_)
        try:
            model = eval(job["constructor"], scope)
        finally:
            sys.settrace(None)
        model.eval()
        out["phase"] = "forward"
        with torch.no_grad():
            result = model(torch.randn(1, 3, job["side"], job["side"]))
        out["output_shape"] = list(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        out["runs"], out["phase"] = True, None
    except Exception as error:  # noqa: BLE001 - a label, whatever the model raises
        out["error_type"] = type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        out["error"] = message[:300]
        lines = [n for frame, n in traceback.walk_tb(error.__traceback__) if frame.f_code.co_filename == path]
        out["error_line"] = lines[-1] if lines else None
    out["executed_lines"] = sorted(executed)
    return out


if __name__ == "__main__":
    print(json.dumps(label(json.loads(sys.stdin.read()))))
