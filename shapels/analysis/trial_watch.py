"""What a fix trial's re-analysis observes for the repair (repair.py).

A fix is offered only when the re-analysed program runs clean *and* the edit did what it claims: the
new argument is known wherever the layer is built (`watched`), the failing call runs on known shapes
(`reached`), and no view merged the batch with part of a dim (`batch_merges`). The interpreter fills
these in as it runs; a plain analysis watches nothing, and these are then empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrialWatch:
    arguments: frozenset = frozenset()  # argument nodes whose values the trial wants to see
    calls: frozenset = frozenset()  # call nodes it wants to see run on known shapes
    watched: list = field(default_factory=list)  # (parameter, value) bound wherever a watched argument went
    reached: list = field(default_factory=list)  # per call of `calls`: were its tensors and arguments all known
    batch_merges: list = field(default_factory=list)  # views whose leading -1 took the batch with part of a dim
