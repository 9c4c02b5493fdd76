"""A failing assertion in a class shapels built with its defaults (no program builds it): claimed only where
the defaults' values are not what makes it fail.

An assertion compares the input, or what the class made of it, with the sizes its constructor was given
(`assert H == self.img_size[0]` in a patch embedding): it states what callers must pass. timm's CoaT has
`patch_size=16` and `img_size=224` as defaults, and its second patch embedding asserts the first one's grid
(224 // 16 = 14) is 224 // 4 = 56: CoaT() fails whatever the input, yet every CoaT timm builds passes
`patch_size=4` and runs. So the class is run again with its int defaults as named symbols, as its parameters
without one are: an assertion that is still certainly false there fails for any values (a size written in the
code), and stays; one that is not fails only for the default values, no program was seen to pass, and is not
claimed (nor what was said only "once it is fixed")."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from shapels.analysis import calls
from shapels.analysis.findings import EARLIER_ERROR
from shapels.analysis.interpreter import Frame, Interpreter
from shapels.analysis.modtable import ClassInfo
from shapels.analysis.objects import UserFunction
from shapels.analysis.recorder import Recorder
from shapels.codes import ASSERT_FAILS
from shapels.symbolic import dims as D
from shapels.values import Number


def symbolic_kwargs(info: ClassInfo, defaults: bool) -> dict:
    """A named symbol for each `__init__` parameter without a default and, with `defaults`, for each whose
    default is an int literal of 2 or more (a size; 0 and 1 are as often switches and counts of nothing)."""
    found = info.find_method("__init__")
    kwargs = {}
    if found is not None:
        init = found[1]
        for param in list(init.params.params)[1:] + list(init.params.kwonly_params):
            default = param.default
            if default is None or (defaults and isinstance(default, cst.Integer) and default.evaluated_value >= 2):
                kwargs[param.name.value] = Number(D.symbol(param.name.value))
    return kwargs


def drop_default_assertions(interp: Interpreter, info: ClassInfo, forward: cst.FunctionDef,
                            owner: Optional[ClassInfo], args: list, start: int) -> None:
    """Of the findings the class's run added from `start` on, drop the failing assertions that hold for some
    values of its int defaults, and the findings said to follow them."""
    added = interp.recorder.findings[start:]
    failed = [f for f in added if f.code is ASSERT_FAILS and f.loc is not None]
    if not failed:
        return
    still = _assertions_failing_for_any_defaults(interp, info, forward, owner, args)
    dropped = [f.loc for f in failed if id(f.loc.node) not in still]
    if not dropped:
        return
    gone = {id(loc.node) for loc in dropped}
    interp.recorder.findings[start:] = [
        f for f in added
        if not (f.code is ASSERT_FAILS and f.loc is not None and id(f.loc.node) in gone)
        and not any(r.message == EARLIER_ERROR and r.loc is not None and id(r.loc.node) in gone for r in f.related)]


def _assertions_failing_for_any_defaults(interp: Interpreter, info: ClassInfo, forward: cst.FunctionDef,
                                         owner: Optional[ClassInfo], args: list) -> set:
    """The nodes of the assertions that fail in a run with the int defaults as symbols, in a recorder of its
    own: that run reports nothing and shows nothing on hover."""
    saved = interp.recorder, interp.first_error, interp.source
    interp.recorder = Recorder()
    try:
        interp.source = "symbolic"
        instance = calls.instantiate(interp, info, [], symbolic_kwargs(info, True), Frame(info.node, {}, True), None)
        interp.first_error = None
        calls.call_instance(interp, instance, list(args), {}, Frame(forward, {}, True, owner), None,
                            UserFunction(forward, owner))
        return {id(f.loc.node) for f in interp.recorder.findings if f.code is ASSERT_FAILS and f.loc is not None}
    finally:
        interp.recorder, interp.first_error, interp.source = saved
