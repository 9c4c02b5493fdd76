"""Worker side, imports torch: which source line built each module, and what each layer call saw.

- `torch.nn.Module.__init__` is wrapped once per worker: a module built while a recording is active
  remembers the line of the user's file that built it (the frame that called the class, skipping
  the chain of `__init__`s running on that very module). A module built by library code (a layer
  inside `nn.MultiheadAttention`, a torchvision model) is *indirect*: it gets the user line that led
  there but is not listed as a layer of its own.
- Global forward pre-hooks/hooks (`always_call=True`) record every call: input shapes on the way
  in, output shapes on the way out, and, when the hook runs while an exception unwinds, the
  innermost module the exception came through.
- Keras layers (Keras 3 on the torch backend: torch modules whose `__call__` checks and builds before
  torch's own) are recorded by `keras_recorder`, which calls `enter`/`leave` from `Layer.__call__`; the
  torch hooks leave them alone (`HOOKED_ELSEWHERE`).
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch.nn.modules import module as _module_mod

MAX_TOP_CALLS = 64
MAX_ITEMS = 16


@dataclass
class Origin:
    line: int
    direct: bool


_ACTIVE: Optional["Recorder"] = None
_ORIGINAL_INIT = None
HOOKED_ELSEWHERE: tuple = ()  # module types recorded by another hook (keras.layers.Layer)
MODEL_TYPES: tuple = ()  # called at the top level, these are the model, not one of its layers (keras.Model)


def active() -> Optional["Recorder"]:
    return _ACTIVE


def install() -> None:
    """Wrap `nn.Module.__init__` (once per process)."""
    global _ORIGINAL_INIT
    if _ORIGINAL_INIT is not None:
        return
    _ORIGINAL_INIT = original = torch.nn.Module.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        recorder = _ACTIVE
        if recorder is not None:
            recorder.note_construction(self, sys._getframe(1))

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    torch.nn.Module.__init__ = __init__


def _is_array(value: Any) -> bool:
    """A torch tensor, or a numpy array (what a Keras model is often called on)."""
    return isinstance(value, torch.Tensor) or (type(value).__module__ == "numpy" and hasattr(value, "ndim"))


def shape_tree(value: Any, depth: int = 0) -> Any:
    """A tensor's shape as a list of ints; tuples/lists/dicts of tensors as nested lists/dicts; else None."""
    if _is_array(value):
        return [int(d) for d in value.shape]
    if depth >= 3:
        return None
    if isinstance(value, (tuple, list)):
        items = [shape_tree(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
        return items if any(i is not None for i in items) else None
    if isinstance(value, dict):
        items = {str(k): shape_tree(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
        return items if any(i is not None for i in items.values()) else None
    return None


def first_tensor_shape(values: Any) -> Optional[list]:
    for v in values:
        if _is_array(v):
            return [int(d) for d in v.shape]
    return None


def type_name(cls: type) -> str:
    """`torch.nn.Linear` for torch's layers (as the static engine names them), the class name for the user's."""
    module = cls.__module__ or ""
    if module.startswith("torch.nn.modules."):
        return "torch.nn." + cls.__qualname__
    if module.startswith("keras.src.layers."):
        return "keras.layers." + cls.__qualname__
    if module.startswith("keras.src.models."):
        return "keras.Model" if cls.__qualname__ == "Functional" else "keras." + cls.__qualname__
    if module == "__main__":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


MAX_CALLS_KEPT = 64  # calls of one module whose shapes are kept (a layer in a long loop)


class Recorder:
    def __init__(self, filename: str):
        self.filename = filename
        self.origins: "weakref.WeakKeyDictionary[torch.nn.Module, Origin]" = weakref.WeakKeyDictionary()
        self.calls: dict = {}  # id(module) -> record (first call), insertion ordered
        self._alive: list = []  # recorded modules, kept alive so their ids stay unique for the run
        self.names: dict = {}  # id(module) -> qualified name under the top-level module
        self.stack: list = []
        self._root = None
        self.failures: dict = {}  # id(exception) -> the innermost failing module's record, or None
        self._exceptions: list = []
        self.top_calls: list = []
        self.symbolic: dict = {}  # id(module) -> record of its first symbolic call (Keras's, on keras.Input)
        self._handles: list = []

    # -- construction ------------------------------------------------------------------------
    def note_construction(self, module, frame) -> None:
        while frame is not None:
            code = frame.f_code
            if code.co_name == "__init__" and code.co_argcount:
                if frame.f_locals.get(code.co_varnames[0]) is module:
                    frame = frame.f_back
                    continue
            break
        if frame is None:
            return
        direct = frame.f_code.co_filename == self.filename
        while frame is not None and frame.f_code.co_filename != self.filename:
            frame = frame.f_back
        if frame is not None:
            self.origins[module] = Origin(frame.f_lineno, direct)

    # -- hooks -------------------------------------------------------------------------------
    def __enter__(self) -> "Recorder":
        global _ACTIVE
        _ACTIVE = self
        self._handles = [
            _module_mod.register_module_forward_pre_hook(self._pre),
            _module_mod.register_module_forward_hook(self._post, always_call=True),
        ]
        return self

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        _ACTIVE = None
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _pre(self, module, args) -> None:
        if not isinstance(module, HOOKED_ELSEWHERE):
            self.enter(module, args)

    def _post(self, module, args, output) -> None:
        if not isinstance(module, HOOKED_ELSEWHERE):
            self.leave(module, args, output)

    def enter(self, module, args, name: Optional[str] = None) -> None:
        """A call of `module` on `args` begins (`name`: the layer's own, a Keras layer's `name`)."""
        top = not self.stack
        if top and self._root is not module:
            self._root = module
            self.names = {id(m): name for name, m in _safe_named_modules(module)}
        self.stack.append(module)
        origin = self.origins.get(module)
        if origin is None or not origin.direct:
            return
        if top and (type(module).__module__ == "__main__" or isinstance(module, MODEL_TYPES)):
            return  # the model the driver calls: reported as the model, not as one of its layers
        record = self.calls.get(id(module))
        if record is None:
            self._alive.append(module)
            record = self.calls[id(module)] = {
                "line": origin.line,
                "name": self.names.get(id(module)) or name or "",
                "type": type_name(type(module)),
                "input": first_tensor_shape(args),
                "inputs": shape_tree(list(args)) or [],
                "output": None,
                "calls": 1,
                "status": "running",
                "every": [],  # each call: where in the file it was made, what went in and came out
                "_module": module,
            }
        else:
            record["calls"] += 1
        if len(record["every"]) < MAX_CALLS_KEPT:
            record["every"].append({"row": self._calling_line(), "input": first_tensor_shape(args), "output": None,
                                    "status": "running"})

    def leave(self, module, args, output) -> None:
        """The call ends: `output`, or None with the exception in sys.exc_info() when it raised."""
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is module:
                del self.stack[i:]
                break
        error = sys.exc_info()[1]
        record = self.calls.get(id(module))
        if output is None and error is not None:
            self._fail(module, record, error)
        elif record is not None and record["status"] == "running":
            record["output"] = shape_tree(output)
            record["status"] = "ok"
        if record is not None:
            call = next((c for c in reversed(record["every"]) if c["status"] == "running"), None)
            if call is not None:
                failed = output is None and error is not None
                call["status"] = "raised" if failed else "ok"
                call["output"] = None if failed else shape_tree(output)
        if not self.stack and (output is not None or error is None) and len(self.top_calls) < MAX_TOP_CALLS:
            origin = self.origins.get(module)
            self.top_calls.append({
                "type": type_name(type(module)),
                "class": type(module).__qualname__,
                "user_class": type(module).__module__ == "__main__" or isinstance(module, MODEL_TYPES),
                "line": origin.line if origin else None,
                "input": first_tensor_shape(args),
                "output": shape_tree(output),
            })

    def _calling_line(self) -> Optional[int]:
        """The line of the user's file that made the current call (a forward's `self.fc(x)`)."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != self.filename:
            frame = frame.f_back
        return frame.f_lineno if frame is not None else None

    def _fail(self, module, record, error) -> None:
        if record is not None and record["status"] == "running":
            record["status"] = "raised"
        key = id(error)
        if key in self.failures:
            return
        self._exceptions.append(error)  # keeps the id unique while we hold it
        if type(module).__module__ == "__main__":
            self.failures[key] = None  # the error is in the user's own forward: the traceback line says it all
        elif record is not None:
            self.failures[key] = dict(record, **_layer_params(module))

    def note_failure(self, module, error, input_shape=None) -> None:
        """`module` raised `error` in a call that is not recorded (a Keras layer's symbolic call): the
        innermost such module built in the user's file is the failing layer, as `_fail` would say."""
        key = id(error)
        if key in self.failures:
            return
        origin = self.origins.get(module)
        if origin is None or not origin.direct:
            return
        self._exceptions.append(error)
        if type(module).__module__ == "__main__":
            self.failures[key] = None
        else:
            self.failures[key] = {"line": origin.line, "name": getattr(module, "name", None) or "",
                                  "type": type_name(type(module)), "input": input_shape}

    # -- results -----------------------------------------------------------------------------
    def failure_for(self, error: BaseException) -> Optional[dict]:
        seen = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if id(error) in self.failures:
                return self.failures[id(error)]
            error = error.__context__
        return None

    def note_symbolic(self, module, name: str, input_shape, inputs, output) -> None:
        """A Keras layer built in the user's file called on symbolic tensors (functional code on
        keras.Input, a Sequential building itself): Keras's own shapes, batch None. Kept apart: they are
        the layers' rows only when nothing was called on data."""
        origin = self.origins.get(module)
        if origin is None or not origin.direct or id(module) in self.symbolic:
            return
        if type(module).__module__ == "__main__" or isinstance(module, MODEL_TYPES):
            return
        self._alive.append(module)
        self.symbolic[id(module)] = {"line": origin.line, "name": name or "", "type": type_name(type(module)),
                                     "input": input_shape, "inputs": inputs or [], "output": output, "calls": 1,
                                     "status": "ok" if output is not None else "raised", "every": []}

    def symbolic_layers(self) -> list:
        return sorted(self.symbolic.values(), key=lambda r: r["line"])

    def layers(self) -> list:
        out = []
        for record in self.calls.values():
            out.append({k: v for k, v in record.items() if not k.startswith("_")})
        out.sort(key=lambda r: r["line"])
        return out

    def model(self) -> Optional[dict]:
        """The top-level call the driver made: the model last called (of a class from the user's file or a
        Keras model, else any), at its first call."""
        mine = [c for c in self.top_calls if c["user_class"]]
        chosen = (mine or self.top_calls or [None])[-1]
        if chosen is None:
            return None
        # that model's first call: the one the static result describes (a model called again with another
        # batch, or by Keras's fit/predict once per batch, keeps its first call's shapes)
        return next(c for c in self.top_calls if c["class"] == chosen["class"] and c["line"] == chosen["line"])

    def release(self) -> None:
        self._alive.clear()
        self._root = None
        self._exceptions.clear()
        for record in self.calls.values():
            record.pop("_module", None)


def _safe_named_modules(module) -> list:
    try:
        return list(module.named_modules())
    except Exception:  # noqa: BLE001 - a user module with a broken __getattr__ must not stop the run
        return []


def _layer_params(module) -> dict:
    extra: dict = {}
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor):
        extra["weight"] = [int(d) for d in weight.shape]
    groups = getattr(module, "groups", None)
    if isinstance(groups, int):
        extra["groups"] = groups
    return extra
