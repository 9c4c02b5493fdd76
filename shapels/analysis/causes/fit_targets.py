"""The map size the targets want: a Keras model fit on targets that are images or sequences (an
autoencoder's (N, 28, 28, 1), a reconstruction's (N, 288, 1)) must output their size, so where its output
meets them with another map size, the window layers (conv, pool) that made the output are the suspects.
The data is the truth of intent: the targets' size is what the geometry was meant to give."""

from __future__ import annotations

from typing import Optional

from shapels.analysis.findings import Finding
from shapels.codes import LOSS_TARGET
from shapels.symbolic import dims as D
from shapels.values import Layer, Tensor


def map_the_targets_want(finding: Finding) -> Optional[tuple]:
    """(the model's output, the targets) where a Keras loss got them with the same rank (3 or more), the
    same batch and channels, and map sizes that are known and differ; else None."""
    evidence = finding.evidence
    if finding.code != LOSS_TARGET or evidence is None or not isinstance(evidence.source, Tensor):
        return None
    layer = evidence.layer
    if not (isinstance(layer, Layer) and layer.kind.startswith("keras.")):
        return None
    target = evidence.source
    output = next((t for t in evidence.operands if isinstance(t, Tensor) and t is not target), None)
    if output is None or not (target.shape.ranked and output.shape.ranked):
        return None
    if output.shape.rank != target.shape.rank or output.shape.rank < 3:
        return None
    ends = (0, -1)  # batch and channels (Keras is channels-last): they must agree, only the map differs
    if any(D.eq(output.shape.dims[i], target.shape.dims[i]) is not True for i in ends):
        return None
    mine = [D.as_int(d) for d in output.shape.dims[1:-1]]
    theirs = [D.as_int(d) for d in target.shape.dims[1:-1]]
    if None in mine or None in theirs or mine == theirs:
        return None
    return output, target
