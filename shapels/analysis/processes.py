"""`torch.multiprocessing.Process(target=train, args=(rank, model, ...))` and `.start()`: a training script
that trains in worker processes (pytorch/examples' mnist_hogwild). Starting one runs `target(*args,
**kwargs)` in a new process, with what the script passed: analysed as that call, at the `.start()`, so its
findings are the script's. `.join()`, `.is_alive()` and the rest change no shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shapels.analysis.semantics import iterate
from shapels.values import NONE, UNKNOWN, DictValue, Value

if TYPE_CHECKING:
    from shapels.analysis.frame import Frame
    from shapels.analysis.protocol import Interp

PROCESSES = ("torch.multiprocessing.Process", "multiprocessing.Process", "multiprocessing.context.Process",
             "torch.multiprocessing.spawn.Process")
_PARAMS = ("group", "target", "name", "args", "kwargs")


@dataclass(eq=False)
class ProcessValue(Value):
    target: Value
    args: list
    kwargs: dict = field(default_factory=dict)


def process(args: list, kwargs: dict) -> Value:
    """`Process(group=None, target=None, name=None, args=(), kwargs={}, *, daemon=None)`."""
    if len(args) > len(_PARAMS) or set(kwargs) - set(_PARAMS) - {"daemon"}:
        return UNKNOWN
    bound = dict(zip(_PARAMS, args))
    if any(k in bound for k in kwargs):
        return UNKNOWN
    bound.update(kwargs)
    target = bound.get("target")
    positional = iterate(bound["args"]) if "args" in bound else []
    keywords = bound.get("kwargs")
    if target is None or positional is None or keywords is not None and not (
            isinstance(keywords, DictValue) and all(isinstance(k, str) for k in keywords.items)):
        return UNKNOWN
    return ProcessValue(target, list(positional), dict(keywords.items) if keywords is not None else {})


def process_method(interp: Interp, process: ProcessValue, name: str, args: list, kwargs: dict, frame: Frame,
                   node) -> Value:
    if name in ("start", "run") and not args and not kwargs:
        interp.call(process.target, list(process.args), dict(process.kwargs), frame, node)
        return NONE
    return UNKNOWN
