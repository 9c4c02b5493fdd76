"""Data cut where it is passed: `model(x_train[:2, :1])` where the model's call reads `inputs[:, 1]`. The
array as made has the column the index reads; the slice written at the call took it away, so that slice is
the edit (as a loss's targets cut where they are passed are, in widths.py)."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from shapels.analysis.causes.base import Cause, Source
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import TENSOR_INDEX
from shapels.symbolic import dims as D
from shapels.values import Tensor


def data_cut_where_passed(finding: Finding, source: Source) -> Iterator[Cause]:
    """An index out of range on the tensor a call was given, which arrived as an argument cut by a slice on
    the dim the index reads: the slice without that cut (the re-analysis keeps it only where the file then
    runs clean)."""
    evidence = finding.evidence
    if finding.code != TENSOR_INDEX or evidence is None or evidence.axis is None or \
            not isinstance(evidence.source, Tensor) or len(evidence.source.trace) < 2:
        return
    *_, before, cut = evidence.source.trace
    node = getattr(cut.loc, "node", None)
    if cut.label != "index" or not isinstance(node, cst.Subscript) or not _passed(node, source):
        return
    shape, made = cut.shape, before.shape
    axis = evidence.axis
    if not (shape.ranked and made.ranked and shape.rank == made.rank == evidence.source.shape.rank == len(node.slice)) \
            or not all(isinstance(element.slice, cst.Slice) for element in node.slice):
        return  # each element one slice of one dim, in order: the element at `axis` made that dim
    now, was = D.as_int(shape.dims[axis]), D.as_int(made.dims[axis])
    if now is None or was is None or now >= was:
        return
    elements = list(node.slice)
    if axis == len(elements) - 1 and axis > 0:
        kept = elements[:axis]
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    else:
        kept = elements[:axis] + [elements[axis].with_changes(slice=cst.Slice(lower=None, upper=None))] + elements[axis + 1:]
    content = source.code(node.with_changes(slice=kept))
    fix = Fix(f"Pass {content}: the array has {was} there", Loc(cut.loc.unit, node), content,
              target=f"the data passed ({source.code(node)})")
    yield Cause(finding.code, fix, f"{source.code(node)} cuts dim {axis} of the data to {now} where it is passed, and "
                                   f"the call indexes it past that (the array has {was}): {finding.message}")


def _passed(node: cst.Subscript, source: Source) -> bool:
    """The subscript is written as an argument of a call (`model(x_train[:2, :1])`)."""
    return any(argument.value is node for _, call in source.calls + source.top_level_calls for argument in call.args)
