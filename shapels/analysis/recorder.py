"""What an interpretation leaves behind: findings, and per forward() run the shapes it saw."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from shapels.analysis.findings import Finding
from shapels.analysis.positions import Loc


@dataclass
class NameEvent:
    """A name in forward and the value it holds there (`write`: it is an assignment target)."""

    loc: Loc
    name: str
    value: Any
    write: bool


@dataclass
class LayerEvent:
    """One call of a layer: the attribute path, the layer, and its input/output values."""

    loc: Loc  # the call expression in forward
    layer: Any
    inputs: list
    output: Any


@dataclass
class Run:
    """One interpretation of a user module's forward()."""

    class_name: str
    instance: Any
    inputs: dict  # param name -> Value
    source: str  # driver | config | comment | annotation | symbolic
    concrete: bool  # every input shape fully known
    names: list = field(default_factory=list)
    layers: list = field(default_factory=list)
    output: Any = None
    forward_loc: Optional[Loc] = None
    depth: int = 0
    # Its findings count in full: it ran certainly, not in a silenced loop probe, and before any error
    # of its execution. Only such a run spares the class a symbolic run of its own (engine fallbacks).
    reports_fully: bool = True


class Recorder:
    MAX_RUNS_PER_CLASS = 4

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._finding_keys: set = set()
        self.runs: dict[str, list[Run]] = {}
        self.models: list[Run] = []  # runs of models built at a file's top level (Keras), in call order
        self.graph: list[LayerEvent] = []  # layer calls made outside every run, in order (Keras's functional API)
        self._stack: list[Optional[Run]] = []
        self.notes: list[str] = []
        # (unit, call node) of the calls being made from the analysed file, innermost last (calls.call)
        self.sites: list = []
        # Names in the bodies of data loops (`for x, y in loader:`), for hover: NameEvents in order, and the
        # loops being run as (depth of the run stack when the loop began, its events), innermost last.
        self.loop_names: list[NameEvent] = []
        self._loops: list = []
        # How many things the interpretation told this recorder: findings (those deduplicated or withheld
        # too), names, layer calls, runs. A call that told it nothing may be answered from a functools cache
        # (function_caches.py): running it again would tell nothing either.
        self.told = 0

    # -- runs ---------------------------------------------------------------------------------
    def begin_run(self, run: Run) -> None:
        self.told += 1
        runs = self.runs.setdefault(run.class_name, [])
        if len(runs) < self.MAX_RUNS_PER_CLASS:
            runs.append(run)
            self._stack.append(run)
        else:
            self._stack.append(None)  # interpreted, but not kept: bounded memory

    def begin_model_run(self, run: Run) -> None:
        """A model that is no class of the file (a Keras Sequential or functional model), built or called
        on data: one run per model, its first call on data replacing the run of its build."""
        self.told += 1
        earlier = next((r for r in self.models if r.instance is run.instance), None)
        if earlier is not None and (earlier.concrete or not run.concrete):
            self._stack.append(None)
            return
        if earlier is not None:
            self.models.remove(earlier)
        self.models.append(run)
        self._stack.append(run)

    def begin_unrecorded(self) -> None:
        """Code that runs inside a run without being part of it (an imported module's top level, first
        read from a class's forward): what it names and calls is recorded into no run."""
        self._stack.append(None)

    def end_run(self, output: Any) -> None:
        run = self._stack.pop()
        if run is not None:
            run.output = output

    @property
    def depth(self) -> int:
        """How many runs are open, kept or not: where `unwind_to` returns to."""
        return len(self._stack)

    def unwind_to(self, depth: int) -> None:
        """End the runs opened since `depth` was read, without outputs: an analysis unit that stopped on an
        exception left them open."""
        while len(self._stack) > depth:
            self.end_run(None)

    @property
    def current(self) -> Optional[Run]:
        return self._stack[-1] if self._stack else None

    @property
    def at_top_level(self) -> bool:
        """No run in progress, kept or not (a model's second run on data is interpreted, not kept)."""
        return not self._stack

    def begin_loop(self) -> None:
        self._loops.append(len(self._stack))

    def end_loop(self) -> None:
        self._loops.pop()

    def name(self, loc: Loc, name: str, value: Any, write: bool) -> None:
        self.told += 1
        if self._loops and self._loops[-1] == len(self._stack):  # in a data loop's body, not in a forward it calls
            self.loop_names.append(NameEvent(loc, name, value, write))
            return
        run = self.current
        if run is not None:
            run.names.append(NameEvent(loc, name, value, write))

    def layer(self, loc: Loc, layer: Any, inputs: list, output: Any) -> None:
        self.told += 1
        run = self.current
        if run is not None:
            run.layers.append(LayerEvent(loc, layer, inputs, output))
        elif not self._stack:  # outside every run: a functional model's graph being built (keras_models)
            self.graph.append(LayerEvent(loc, layer, inputs, output))

    # -- findings -----------------------------------------------------------------------------
    def add(self, finding: Finding) -> None:
        self.told += 1
        # One finding per code and place: a layer built in a loop fails once per instance, and
        # those messages differ only in the instance's name.
        key = (finding.code, id(finding.loc.node) if finding.loc else finding.message)
        if key in self._finding_keys:
            return
        self._finding_keys.add(key)
        if finding.site is None and self.sites:
            finding.site = Loc(*self.sites[-1])  # used only where `loc` turns out to be in another file
        self.findings.append(finding)

    def withheld(self) -> None:
        """A finding the run's source keeps quiet about (a symbolic run's assertion on parameters): told all
        the same, as what a run of another source would report."""
        self.told += 1

    @contextlib.contextmanager
    def findings_apart(self) -> Iterator[None]:
        """Findings recorded inside are dropped and the ones before kept as they were: a probe of a loop
        on unknowns must neither report nor, by its keys, hide what the real run reports later."""
        saved = self.findings, self._finding_keys
        self.findings, self._finding_keys = [], set()
        try:
            yield
        finally:
            self.findings, self._finding_keys = saved
