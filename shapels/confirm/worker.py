"""The worker process: `python -m shapels.confirm.worker`, one JSON object per line.

It imports torch once, answers `ready`, then serves run requests until stdin closes. A file that
imports keras or tensorflow runs with Keras 3 on the torch backend (`keras_support`: keras is imported
on the first such run, TensorFlow stood in for when it is not installed):

    parent -> {"id": 1, "op": "run", "path": "/abs/m.py", "text": null | "...", "device": "auto",
               "memory_mb": 4096}
    worker -> {"id": 1, "result": {...}}     (see `run_request`)

The protocol travels on private copies of fd 0 and 1; the real fd 0 reads /dev/null and fds 1/2
are captured per run, so nothing a script prints or reads can touch the protocol.
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
from typing import Any, Optional


def _take_protocol_fds():
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdin = open(os.devnull)
    return proto_in, proto_out


def _send(out, message: dict) -> None:
    out.write((json.dumps(message) + "\n").encode())


def main() -> int:
    parent = os.getppid()
    proto_in, proto_out = _take_protocol_fds()
    from shapels.confirm import keras_support

    keras_support.set_backend()
    try:
        import torch  # noqa: F401 - the whole point of the worker: import once, stay warm
    except Exception as error:  # noqa: BLE001 - ImportError, or a broken install raising anything
        _send(proto_out, {"ready": False, "kind": "no-torch", "message": f"{type(error).__name__}: {error}",
                          "python": sys.executable})
        return 0
    from shapels.confirm import recorder, sandbox

    recorder.install()
    sandbox.become_subreaper()
    sandbox.die_with_parent(parent)
    _set_threads()
    _warm_up()
    gc.collect()
    gc.freeze()  # torch's own objects never change generation again: a full collection stays cheap
    _send(proto_out, {"ready": True, "pid": os.getpid(), "torch": torch.__version__,
                      "cuda": bool(torch.cuda.is_available())})
    buffer = b""
    while True:
        chunk = proto_in.read(65536)
        if not chunk:
            return 0
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if request.get("op") == "exit":
                return 0
            try:
                result = run_request(request)
            except BaseException as error:  # noqa: BLE001 - report, never die silently
                result = {"ok": False, "error": {"kind": "internal", "type": type(error).__name__,
                                                 "message": f"confirm failed inside the worker: {error}",
                                                 "trace": traceback.format_exc(limit=8)}}
            _send(proto_out, {"id": request.get("id"), "result": result})
            del result
            gc.collect()  # free the script's module cycles (a model's memory) before the next run


def _set_threads() -> None:
    """One intra-op thread unless SHAPELS_CONFIRM_THREADS says otherwise: confirm runs small inputs,
    where torch's thread pool costs more than it gains (10x slower medians on a busy 2-CPU machine)."""
    import torch

    try:
        threads = int(os.environ.get("SHAPELS_CONFIRM_THREADS", "1"))
    except ValueError:
        threads = 1
    if threads > 0:
        torch.set_num_threads(threads)


def _warm_up() -> None:
    """Pay the first-call costs (kernel dispatch, oneDNN init) before anyone waits on a run."""
    import torch

    with torch.no_grad():
        x = torch.randn(1, 3, 8, 8)
        y = torch.nn.functional.max_pool2d(torch.relu(torch.nn.Conv2d(3, 4, 3, padding=1)(x)), 2)
        torch.nn.Linear(64, 2)(y.view(1, -1))
        torch.nn.Embedding(10, 4)(torch.randint(0, 10, (1, 3)))
        torch.nn.AdaptiveAvgPool2d((2, 2))(y)


def pick_device(requested: str) -> tuple:
    """(device, problem): `auto` is CUDA when available, else the CPU."""
    import torch

    if requested in (None, "", "auto"):
        return ("cuda" if torch.cuda.is_available() else "cpu"), None
    if requested == "cuda" and not torch.cuda.is_available():
        return None, (f"CUDA is not available here (torch {torch.__version__}"
                      f"{', built without CUDA' if torch.version.cuda is None else ''}); use --device cpu or meta")
    if requested in ("cpu", "cuda", "meta"):
        return requested, None
    return None, f"unknown device {requested!r}: expected auto, cuda, cpu or meta"


def run_request(request: dict) -> dict:
    import torch

    from shapels.confirm import keras_support, messages, recorder, sandbox, tf_shim

    path = request["path"]
    device, problem = pick_device(request.get("device", "auto"))
    if problem:
        return {"ok": False, "device": request.get("device"), "error": {"kind": "device", "message": problem}}
    text = request.get("text")
    if text is None:
        try:
            from shapels.sources import read_source

            text = read_source(path)
        except OSError as error:
            return {"ok": False, "device": device, "error": {"kind": "usage", "message": f"cannot read {path}: {error.strerror}"}}
    memory_mb = request.get("memory_mb")
    imported = keras_support.frameworks(text)
    keras_file = bool(imported)
    if keras_file:
        problem = keras_support.prepare()
        if problem:
            return {"ok": False, "device": device, "error": {"kind": "no-keras", "message": problem}}
        keras_support.fresh_session()
        tf_shim.reset()
    result: dict = {"ok": False, "device": device, "keras": keras_support.version() if keras_file else None}
    rec = recorder.Recorder(path)
    worker_pid = os.getpid()
    started = time.perf_counter()
    cuda_cap = None
    with sandbox.Capture(request.get("output_limit", sandbox.OUTPUT_LIMIT)) as capture:
        with sandbox.ScriptEnvironment(path):
            if device == "cuda" and memory_mb:
                cuda_cap = _cuda_memory_cap(memory_mb)
            try:
                code = compile(text, path, "exec", dont_inherit=True)
            except SyntaxError as error:
                result["error"] = {"kind": "exception", "type": "SyntaxError", "message": error.msg,
                                   "raw_message": error.msg, "line": error.lineno}
                code = None
            if code is not None:
                main = types.ModuleType("__main__")
                main.__file__ = path
                main.__builtins__ = __builtins__
                sys.modules["__main__"] = main
                if device != "cpu":
                    torch.set_default_device(device)
                try:
                    with sandbox.MemoryCap(memory_mb if device != "cuda" else None), \
                            sandbox.CpuCap(request.get("cpu_seconds")), rec, \
                            (keras_support.device_scope(device) if keras_file else contextlib.nullcontext()), \
                            (tf_shim.standing_in() if "tensorflow" in imported else contextlib.nullcontext()):
                        try:
                            exec(code, main.__dict__)
                            for call in request.get("calls") or []:
                                _synthesized_call(main.__dict__, call, result)
                        finally:
                            if os.getpid() != worker_pid:
                                os._exit(0)  # a forked child of the script: never return into the worker loop
                        if device == "cuda":
                            torch.cuda.synchronize()
                    result["ok"] = True
                except SystemExit as stop:
                    status = stop.code
                    result["exit_code"] = status if isinstance(status, int) or status is None else 1
                    if status in (None, 0):
                        result["ok"] = True
                    else:
                        result["error"] = {"kind": "exit", "type": "SystemExit",
                                           "message": f"the script called sys.exit({status!r})",
                                           "line": _user_line(stop.__traceback__, path)}
                except BaseException as error:  # noqa: BLE001 - the user's exception is the result
                    result["error"] = _describe(error, path, rec, memory_mb)
                finally:
                    torch.set_default_device(None)
                    torch.set_default_dtype(torch.float32)
                    torch.set_grad_enabled(True)
                    if cuda_cap is not None:
                        torch.cuda.set_per_process_memory_fraction(1.0)
    result["run_seconds"] = time.perf_counter() - started
    if keras_file and tf_shim.needed():
        what, line = tf_shim.needed()
        result["ok"] = False
        result["error"] = {"kind": "no-tensorflow", "type": None, "line": line,
                           "message": messages.NO_TENSORFLOW.format(what=what, stood_in=tf_shim.STOOD_IN)}
    result["killed_children"] = sandbox.kill_children()
    model = rec.model()
    result["output_shape"] = model["output"] if model else None
    result["model"] = model
    result["layers"] = rec.layers()
    if not result["layers"] and not model and rec.symbolic:
        result["layers"] = rec.symbolic_layers()
        result.setdefault("notes", []).append(
            "no layer was called on data: the rows are Keras's own shapes from building the model on "
            "keras.Input (batch None), as model.summary() prints them")
    rec.release()
    result["stdout"] = capture.text
    result["stdout_bytes"] = capture.total
    result["stdout_truncated"] = capture.truncated
    error = result.get("error")
    if error and error.get("kind") == "memory":
        result["replace_worker"] = True
    return result


def _synthesized_call(namespace: dict, call: dict, result: dict) -> None:
    """No driver in the file: build the class without arguments and call it with the inputs the static
    engine used (from settings, a `# shapels: input` comment or annotations)."""
    import torch

    cls = namespace.get(call["class"])
    if not isinstance(cls, type):
        result.setdefault("notes", []).append(f"could not find class {call['class']} to build it")
        return
    try:
        model = cls()
    except TypeError as error:
        result.setdefault("notes", []).append(f"could not build {call['class']}() without arguments: {error}")
        return
    args = []
    for spec in call["inputs"]:
        if spec.get("long"):
            args.append(torch.randint(0, max(1, int(spec["long"])), tuple(spec["shape"])))
        else:
            args.append(torch.randn(*spec["shape"]))
    result.setdefault("notes", []).append(
        f"no driver called {call['class']}: built {call['class']}() and called it with "
        + ", ".join(f"{s['name']} {tuple(s['shape'])}" for s in call["inputs"]) + f" (inputs from {call['source']})")
    model(*args)


def _cuda_memory_cap(memory_mb: int) -> Optional[float]:
    import torch

    try:
        total = torch.cuda.get_device_properties(0).total_memory
        fraction = min(1.0, memory_mb * 2**20 / total)
        torch.cuda.set_per_process_memory_fraction(fraction)
        return fraction
    except Exception:  # noqa: BLE001
        return None


def _user_line(tb, path: str) -> Optional[int]:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(error: BaseException, path: str, rec, memory_mb: Optional[int]) -> dict:
    from shapels.confirm import messages

    raw = str(error)
    if isinstance(error, KeyError) and error.args:
        raw = repr(error.args[0])
    failure = rec.failure_for(error)
    kind = "exception"
    message = messages.normalise(raw, failure)
    if messages.is_out_of_memory(type(error).__name__, raw) and memory_mb:
        kind = "memory"
        message = messages.memory_message(memory_mb, messages.allocation_detail(raw))
    info: dict[str, Any] = {
        "kind": kind,
        "type": type(error).__name__,
        "message": message,
        "raw_message": raw.strip()[:4000],
        "line": _user_line(error.__traceback__, path),
        "constructor_line": failure["line"] if failure else None,
        "layer": failure["name"] if failure else None,
        "layer_type": failure["type"] if failure else None,
        "trace": _user_trace(error.__traceback__, path),
    }
    return info


def _user_trace(tb, path: str) -> list:
    frames = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            frames.append({"line": tb.tb_lineno, "function": tb.tb_frame.f_code.co_name})
        tb = tb.tb_next
    return frames[-12:]


if __name__ == "__main__":
    sys.exit(main())
