"""Findings as the engine reports them: a code, a message, where, why, and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from shapels.analysis.positions import Loc, Span
from shapels.codes import Code


EARLIER_ERROR = "the earlier error"  # a warning's related note pointing at the error torch stops at


@dataclass
class Related:
    loc: Optional[Loc]
    message: str
    span: Optional[Span] = None


@dataclass
class Fix:
    message: str
    loc: Loc
    content: str
    span: Optional[Span] = None
    target: str = ""  # what it changes, for messages: "conv1's out_channels"
    param: str = ""  # the constructor parameter it sets
    size: Any = None  # the value (a dim) that parameter needs for the inputs in play
    also: tuple = ()  # further edits (Fix) made with this one, as one fix: h0's and c0's batch together

    def edits(self) -> list:
        """(span, content) of every edit of this fix, this one's first."""
        return [(self.span, self.content)] + [(more.span, more.content) for more in self.also]


@dataclass
class Evidence:
    """What the failing call saw, kept for the repair's search of causes (never shown): the tensors it
    got (their traces lead back to where they were made) and the layer it was."""

    operands: tuple = ()
    source: Any = None  # the operand the message is about
    layer: Any = None
    call_loc: Optional[Loc] = None
    producer: Optional[tuple] = None  # (the layer upstream that made the arriving size, its argument)
    sizes: Optional[tuple] = None  # the sizes a view/reshape asked for, where it failed on them
    paired: Optional[tuple] = None  # a contraction's: the axis of each operand whose sizes had to agree
    axis: Optional[int] = None  # an index's: the dim of the source it was out of range for


@dataclass
class Finding:
    code: Code  # a constant of shapels/codes.py
    severity: str  # error | warning | information | hint
    message: str
    loc: Optional[Loc]
    related: list = field(default_factory=list)
    fix: Optional[Fix] = None
    span: Optional[Span] = None
    module: Optional[str] = None  # the nn.Module class it was found in
    param: Optional[str] = None  # the constructor parameter blamed, if any
    alternatives: list = field(default_factory=list)  # further Fix options (e.g. LazyLinear)
    producer: Optional[Fix] = None  # the upstream argument that may be the one to change (repair.py decides)
    evidence: Optional[Evidence] = None  # for repair.py's search of causes beyond constructor arguments
    # Where `loc` is in an imported file: the analysed file's call that led there (innermost), where the
    # finding is reported instead (engine._resolve_findings).
    site: Optional[Loc] = None

    def key(self) -> tuple:
        span = self.span
        return (self.code, span and (span.start_line, span.start_col), self.message)
