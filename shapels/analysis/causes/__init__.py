"""Causes of a shape error beyond the constructor argument torch blames, as candidate edits.

A mismatch at `fc1` is often not `fc1`'s fault: the driver's image has no batch dim, `x.view(...)`'s
result was never assigned, a flatten swallowed the batch, a reduction dropped the dim a broadcast
needed. Each generator here reads the failing call's evidence (the tensors it got and where they came
from) or the syntax around it, and proposes an edit with a diagnosis in the author's terms. Nothing
here decides: repair.py re-analyses the edited text and keeps a cause only if the file then runs
clean, so a proposal that is wrong costs a trial, never a false fix.

The order of `causes()` is the preference: a statement that certainly does nothing comes before a
changed input, which comes before a changed size.
"""

from __future__ import annotations

from typing import Iterator, Optional

from shapels.analysis.causes.base import Cause, Source, conv_map_into_linear, expected_size, written_for_a_map
from shapels.analysis.causes.cuts import data_cut_where_passed
from shapels.analysis.causes.geometry import odd_geometry
from shapels.analysis.causes import keras, keras_geometry
from shapels.analysis.causes.inputs import (GUESS, SIGNALLED, SIZE, asserted_size, driver_input, fixed_batch_state,
                                            sized_by_the_driver, takes_images, transform_size)
from shapels.analysis.causes.losses import probabilities_for_an_index_loss
from shapels.analysis.causes.names import other_name, unused_parameter
from shapels.analysis.causes.residual import width_of_a_broadcast_operand
from shapels.analysis.causes.statements import (discarded_results, dropped_keepdim, flattened_batch,
                                                forgotten_flatten, rows_a_view_multiplied, wrapped_width)
from shapels.analysis.causes.widths import (channels_the_product_names, factor_upstream, odd_width,
                                            odd_width_in_a_broadcast, width_part_in_a_broadcast,
                                            width_the_target_names)
from shapels.analysis.findings import Finding
from shapels.codes import BROADCAST_MISMATCH
from shapels.symbolic import dims as D
from shapels.values import Tensor

__all__ = ["Cause", "Source", "causes", "other_names", "size_reading", "last_resorts", "names_first", "missing_layer",
           "expected_size", "factor_upstream", "merges_batch", "odd_width", "sized_by_the_driver", "takes_images",
           "written_for_a_map"]


def causes(finding: Finding, source: Source) -> Iterator[Cause]:
    """Candidate causes of `finding` that come before any constructor argument, the preferred first: each
    makes code that certainly does something unintended (a dropped result, a flattened batch, one sample
    where the model takes a batch) do what the rest of the program says."""
    yield from discarded_results(finding, source)
    yield from flattened_batch(finding, source)
    yield from dropped_keepdim(finding, source)
    yield from forgotten_flatten(finding, source)
    yield from keras.forgotten_flatten(finding, source)
    yield from wrapped_width(finding)
    yield from driver_input(finding, source, SIGNALLED)
    yield from data_cut_where_passed(finding, source)
    yield from rows_a_view_multiplied(finding, source)
    yield from asserted_size(finding, source)
    yield from fixed_batch_state(finding, source)
    yield from odd_geometry(finding, source)
    yield from keras_geometry.odd_branch_geometry(finding, source)
    yield from odd_width_in_a_broadcast(finding)
    yield from width_part_in_a_broadcast(finding, source)
    yield from width_the_target_names(finding, source)
    yield from probabilities_for_an_index_loss(finding, source)
    yield from channels_the_product_names(finding)
    yield from unused_parameter(finding, source)


def other_names(finding: Finding, source: Source) -> Iterator[Cause]:
    """Another int name where the blamed layer's arguments are written as names. Tried before the number
    when that number would be written at a caller (`ResBlock(64, 128)`): the caller's hyperparameters
    stay, the class's own name is what was wrong."""
    yield from other_name(finding, source)


def size_reading(finding: Finding, source: Source) -> Iterator[Cause]:
    """An image size the model was built for: as plausible as the constructor's number, so tried when it
    fails and offered beside it when it works (preferred where the Linear is written as a product)."""
    yield from driver_input(finding, source, SIZE)
    yield from transform_size(finding, source)


def last_resorts(finding: Finding, source: Source) -> Iterator[Cause]:
    """Tried only where nothing else ran clean (no number fix, or one that would merge the batch): another
    int name where nothing says which size fits, the input with a batch dim or transposed where no
    layer or size names it, and the layer that made one operand of a broadcast its other width."""
    yield from other_name(finding, source, unsettled=True)
    yield from driver_input(finding, source, GUESS)
    yield from width_of_a_broadcast_operand(finding)


def names_first(finding: Finding) -> bool:
    """Whether the argument that sets the size, at the blamed layer or upstream, is written as a name:
    then the class's other names come before a number, which would replace the name with a literal or be
    written at a caller (`ResBlock(64, 128)`), changing the caller's hyperparameters."""
    evidence = finding.evidence
    if evidence is None:
        return False
    producer, produced = evidence.producer or (None, None)
    return finding.param in (getattr(evidence.layer, "named_args", None) or {}) or \
        produced in (getattr(producer, "named_args", None) or {})


def missing_layer(finding: Finding) -> Optional[str]:
    """The layer a pattern says is missing, where no edit could be checked: a residual add whose shortcut
    is the block's input unchanged while the branch changed its channels or size."""
    evidence = finding.evidence
    if finding.code != BROADCAST_MISMATCH or evidence is None or len(evidence.operands) != 2:
        return None
    for branch, shortcut in (evidence.operands, evidence.operands[::-1]):
        steps = {id(step) for step in branch.trace}
        rank4 = branch.shape.ranked and shortcut.shape.ranked and branch.shape.rank == shortcut.shape.rank == 4
        if rank4 and shortcut.trace and len(branch.trace) > len(shortcut.trace) and \
                all(id(step) in steps for step in shortcut.trace):
            return ("the shortcut adds the block's input unchanged, and the branch changed its channels or size: "
                    "the shortcut needs a downsample (a 1×1 Conv2d with the block's stride, then a norm)")
    return None


def merges_batch(finding: Finding) -> Optional[str]:
    """Why the constructor's number fix would only make torch run, if it would: the model got one
    unbatched sample, or a Linear got a conv feature map whose last axis it would take as the features."""
    evidence = finding.evidence
    if evidence is None or not isinstance(evidence.source, Tensor):
        return None
    if any(step.unbatched for step in evidence.source.trace):
        return "a layer took its input as one unbatched sample, so the batch is not where the model expects it"
    if conv_map_into_linear(finding) is not None:
        return "a Linear got a conv feature map and takes its last axis as the features; was a flatten forgotten?"
    if _first_dim_as_features(finding, evidence.source):
        return ("the size it would need is the input's first dim, which lost its place on the way (a model that "
                "takes a batch reads that dim as the batch)")
    return None


def _first_dim_as_features(finding: Finding, tensor: Tensor) -> bool:
    """Whether the number fix would write the driver input's first dim, where the tensor arriving has fewer
    dims than that input had: a (50, 40) sequence given without its batch, summed over its features, reaches
    a Linear as (50,), and in_features=50 would make the sequence the features."""
    first = tensor.trace[0] if tensor.trace else None
    if finding.fix is None or first is None or first.label != "input" or not first.shape.ranked:
        return False
    if not tensor.shape.ranked or first.shape.rank < 2 or tensor.shape.rank >= first.shape.rank:
        return False
    size = D.as_int(first.shape.dims[0])
    return size is not None and size > 1 and size == D.as_int(getattr(finding.fix, "size", None))
