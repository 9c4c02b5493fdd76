"""Run drivers of research-style model packages (or mutants of their files) with torch, and answer one JSON
label a job. Started by corpus/research_mutants.py with the interpreter of .tools/research-venv: the project's
torch and einops (its site-packages on a .pth line) and the packages' small pure-Python dependencies (einx,
loguru, torch-einops-utils, huggingface-hub, safetensors, tqdm, numpy), installed there on first use.

Dependencies that only training, sampling or data code uses (torchvision, PIL, accelerate, ema-pytorch,
pytorch-fid, scipy) are replaced by permissive stand-ins whose every attribute is another stand-in, as
corpus/timm_run.py does for timm: model code does not use them to build or run a model.

The job's text is the package file with a driver appended (as shapels reads it). The file part, up to the
driver's first line, is served to the import system in place of the real module under the real file name,
so every module importing it gets the mutant and tracebacks name its lines; the driver part is then run in
that module's namespace, compiled under the same file name with its own line numbers, under torch.no_grad.

The worker imports torch and the dependencies once, then forks a child per job (its own sys.modules: each
mutant imports the packages afresh); a job that takes longer than its timeout is killed.

Usage: python corpus/research_run.py --worker ROOT...   (JSON jobs on stdin, one a line:
       {"module": "vit_pytorch.vit", "path": file, "text": file + driver, "driver_line": n, "trace": bool,
        "timeout": seconds}; answers one JSON line each on stdout)
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import select
import signal
import sys
import traceback

from standins import StandInModule  # noqa: E402  (corpus/, the script's folder)

STAND_INS = {"torchvision", "PIL", "accelerate", "ema_pytorch", "pytorch_fid", "scipy"}


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stand-ins for training-only dependencies, and the mutant's text for the one module it replaces."""

    def __init__(self):
        self.module = self.text = self.path = None

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in STAND_INS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        if self.text is not None and fullname == self.module:
            spec = importlib.util.spec_from_loader(fullname, self, origin=self.path)
            if self.path.endswith("__init__.py"):
                spec.submodule_search_locations = [os.path.dirname(self.path)]
            return spec
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


FINDER = _Finder()


def _shape(value):
    """A tensor as its list of sizes, a tuple/list as {"seq": [...]}, anything else as None."""
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        return {"seq": [_shape(v) for v in value]}
    return None


def _tracer(path: str, executed: set, seen: dict):
    """Lines of the file that ran, and per function (name:first line) the types and int values of its
    locals (corpus/intent_mutants.py's swap_name reads which names hold ints)."""

    def local(frame, event, arg):
        if event == "line":
            executed.add(frame.f_lineno)
        if event in ("line", "return"):
            scope = seen.setdefault(f"{frame.f_code.co_name}:{frame.f_code.co_firstlineno}", {})
            for name, value in frame.f_locals.items():
                entry = scope.setdefault(name, {"types": set(), "ints": set(), "first": frame.f_lineno})
                entry["types"].add(type(value).__name__)
                entry["first"] = min(entry["first"], frame.f_lineno)
                if type(value) is int and len(entry["ints"]) < 16:
                    entry["ints"].add(value)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == path else None

    return tracer


def label(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    path, lines = job["path"], job["text"].splitlines(keepends=True)
    cut = job["driver_line"] - 1
    FINDER.module, FINDER.text, FINDER.path = job["module"], "".join(lines[:cut]), path
    out: dict = {"runs": False, "phase": "import", "error_type": None, "error": None, "error_line": None,
                 "output_shape": None, "calls": []}
    calls: list = []
    modules: dict = {}

    def hook(module, args, output):
        modules[id(module)] = module
        calls.append((id(module), type(module).__name__, _shape(args), _shape(output)))

    executed: set = set()
    seen: dict = {}
    namespace: dict = {}
    try:
        module = importlib.import_module(job["module"])
        namespace = dict(module.__dict__)
        namespace["__name__"] = "__main__"
        code = compile("\n" * cut + "".join(lines[cut:]), path, "exec")
        out["phase"] = "driver"
        torch.nn.modules.module.register_module_forward_hook(hook)
        if job.get("trace"):
            sys.settrace(_tracer(path, executed, seen))
        try:
            with torch.no_grad():
                exec(code, namespace)
        finally:
            sys.settrace(None)
        out["output_shape"] = _shape(namespace.get("out"))
        out["runs"], out["phase"] = True, None
    except BaseException as error:  # noqa: BLE001 - a label, whatever the model raises
        out["error_type"] = type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        out["error"] = message[:300]
        frames = [n for frame, n in traceback.walk_tb(error.__traceback__) if frame.f_code.co_filename == path]
        if isinstance(error, SyntaxError) and error.filename == path:
            frames.append(error.lineno)
        out["error_line"] = frames[-1] if frames else None
    names: dict = {}
    model = namespace.get("model")
    if isinstance(model, torch.nn.Module):
        for qual, sub in model.named_modules(prefix="model"):
            names.setdefault(id(sub), qual)
    counts: dict = {}
    for key, cls, shape_in, shape_out in calls:
        index = counts[key] = counts.get(key, -1) + 1
        out["calls"].append([names.get(key, f"<{cls}>"), index, shape_in, shape_out])
    if job.get("trace"):
        out["executed_lines"] = sorted(executed)
        out["locals"] = {scope: {n: {"types": sorted(e["types"]), "ints": sorted(e["ints"]), "first": e["first"]}
                                 for n, e in names_.items()} for scope, names_ in seen.items()}
    return out


def _child(job: dict, fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    try:
        answer = json.dumps(label(job))
    except BaseException as error:  # noqa: BLE001
        answer = json.dumps({"runs": False, "error_type": "RunnerError", "error": repr(error)[:300],
                             "error_line": None, "output_shape": None, "calls": []})
    with os.fdopen(fd, "w") as pipe:
        pipe.write(answer)
    os._exit(0)


def run_forked(job: dict) -> dict:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _child(job, write)
    os.close(write)
    chunks, deadline = [], job.get("timeout", 120)
    import time

    end = time.monotonic() + deadline
    with os.fdopen(read) as pipe:
        while True:
            left = end - time.monotonic()
            ready, _, _ = select.select([pipe], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"runs": False, "error_type": "Timeout", "error": f"over {deadline} s", "error_line": None,
                        "output_shape": None, "calls": []}
            chunk = pipe.read()
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    text = "".join(chunks)
    if not text:
        return {"runs": False, "error_type": "WorkerDied", "error": "", "error_line": None, "output_shape": None,
                "calls": []}
    return json.loads(text)


def worker(roots: list) -> None:
    import warnings

    warnings.simplefilter("ignore")
    sys.path[:0] = roots
    sys.meta_path.insert(0, FINDER)
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = open(os.devnull, "w")
    import einops.layers.torch  # noqa: F401
    import torch  # noqa: F401 - imported once, before any fork, with what every package needs

    for name in ("einx", "torch_einops_utils", "loguru", "huggingface_hub", "safetensors.torch", "tqdm", "timm",
                 "timm.layers"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a child will say what is missing
            pass
    for line in sys.stdin:
        job = json.loads(line)
        answers.write(json.dumps({"ready": True} if job.get("ping") else run_forked(job)) + "\n")
        answers.flush()


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        raise SystemExit(__doc__)
    worker(sys.argv[2:])
