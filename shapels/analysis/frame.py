"""What one piece of running code sees: its frame (locals, certainty, owner), the analysis budget,
and how a statement ended. The bottom of the interpreter's stack: every semantic module may use it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

import libcst as cst

from shapels.analysis.positions import Loc
from shapels.symbolic import dims as D

# How a statement or block ended: fell through, or left by return/break/continue, or by a raise (dead).
NORMAL, RETURN, BREAK, CONTINUE, DEAD = "normal", "return", "break", "continue", "dead"


class BudgetExceeded(Exception):
    """The per-analysis time budget ran out; results so far are kept."""


class Budget:
    """A deadline for one analysis, from its start (the parse counts), checked every few steps. The import
    of sympy, when the analysis makes the process's first symbol, does not count (dims.import_seconds)."""

    def __init__(self, seconds: Optional[float]):
        self._end = None if seconds is None else time.monotonic() + seconds
        self._imported = D.import_seconds()
        self._ticks = 0

    @property
    def steps(self) -> int:
        """The interpreter steps taken so far (statements, calls, rules): the analysis's work, which is the
        same on any machine, where its seconds are not."""
        return self._ticks

    def add_steps(self, steps: int) -> None:
        """Count the steps of work answered without being taken again (pure_calls.py): `steps` is the
        work's measure, the same whether a call ran or was answered from its first run."""
        self._ticks += steps

    @property
    def deadline(self) -> Optional[float]:
        return None if self._end is None else self._end + D.import_seconds() - self._imported

    def tick(self) -> None:
        self._ticks += 1
        if self._end is not None and self._ticks % 16 == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded()


@dataclass
class Frame:
    unit: cst.CSTNode  # the function (or top-level statement) whose nodes we are in
    env: dict
    certain: bool = True  # False inside a branch or loop body that may not run
    owner: Any = None  # ClassInfo whose method this is, for super()
    record: bool = False  # record names for hover (forward of a module)
    returns: list = field(default_factory=list)
    depth: int = 0
    scope: Any = None  # the Scope (file) whose globals names resolve in; None: the analysed file
    param_locs: dict = field(default_factory=dict)  # parameter -> where the caller wrote its argument
    # True once this code is reached only on some paths: after `if <unknown>: return` (or break/continue),
    # the rest runs only when the branch did not. Findings there depend on the branch; mutations stay
    # certain for the code that follows them, so `certain` keeps its meaning. A branch frame starts with
    # its parent's value, so one that turns True inside a branch tells the join a path left early.
    conditional: bool = False
    caller: Any = None  # the Frame whose call runs this function (for blame that climbs to the arguments' author)

    def branch(self, env: dict, certain: bool) -> "Frame":
        return Frame(self.unit, env, certain, self.owner, self.record, self.returns, self.depth, self.scope,
                     self.param_locs, self.conditional, self.caller)

    @property
    def surely_reached(self) -> bool:
        """This code runs on every path of the inputs in play: its findings are certain."""
        return self.certain and not self.conditional

    def loc(self, node: cst.CSTNode) -> Loc:
        return Loc(self.unit, node)
