"""Which argument to blame, decided by trying the fixes.

A mismatch between a producer (`conv1`'s out_channels) and its consumer (`bn1`'s num_features) can be
fixed on either side. Torch blames the consumer, and so do we, unless changing the consumer would only
move the failure further down while changing the producer makes the model consistent: then the
producer is the offending argument (it disagrees with every layer after it). A candidate counts only
when re-analysing the file with it applied leaves no problem that was not there before, so the fix a
diagnostic carries is one the engine has checked, not a guess. Candidates are the rule's value, the
other side's expression (`self.inplanes`) and variables in scope that hold the needed size.

Before any constructor argument, the causes of causes.py are tried (a statement whose result is
dropped, a flatten that swallowed the batch, the driver's input made without a batch dim or
channels-last): the first that makes the file run clean becomes the diagnosis, on its own line and in
the author's terms, and the error torch raises becomes its related information. A number fix that only
makes torch run on a model that now merges the batch into the features is never offered. A fix that no
re-analysis confirmed (out of trials or time, or beyond the first errors) is not offered either: the
message still says what is wrong.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

import libcst as cst

from shapels.analysis import causes as C
from shapels.analysis.argument_asserts import reads_parameters
from shapels.analysis.findings import EARLIER_ERROR, Finding, Fix, Related
from shapels.codes import ANALYSIS_BUDGET, INPUT_SHAPE
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D

MAX_FINDINGS = 2  # the first errors are the ones torch would stop at
MAX_TRIALS = 16  # re-analyses per analysis, whatever the findings
MAX_CAUSES = 6  # causes tried per finding
# Interpreter steps (AnalysisResult.steps) of one re-analysis above which a file gets no checked
# alternatives. Counted in work, not seconds, so that the same file gets the same fixes on any machine and
# under any load; only the user's time budget (Options.budget_seconds) may still cut trials short.
# Calibrated against the cut-off it replaced, 0.1 s of CPU per re-analysis: of 1,257 trials (the research,
# intent and held-out corpora's mutants, the seed examples), re-analyses of up to ~1,650 steps took
# 0.05-0.11 s of CPU (median by size, on a busy 2-core machine), their parse a large part of it, and the
# next ones, from ~2,050 steps, 0.17-0.43 s; no trial fell between. A cut-off anywhere in that gap agrees
# with the CPU seconds' on 95% of the trials (the rest are borderline ones of 800-1,650 steps, which the
# seconds judged either way from run to run); 1,800 is in its middle, so that a small change in what a
# step counts does not move a file across.
EXPENSIVE_TRIAL_STEPS = 1800
MAX_NAMES = 2  # variables tried per side
PROBLEMS = ("error", "warning")

# (text, where the new argument is written, the line whose calls must run on known shapes)
#   -> AnalysisResult, or None when out of budget
Analyse = Callable[[str, tuple, Optional[int]], Optional[object]]


@dataclass(frozen=True)
class Leave:
    """What a fix may leave behind: `strict` to be preferred, `lenient` to be offered at all; and the line
    of the failing call, which must then run on shapes the analysis knows (an edit that only made them
    unknown silenced the check, it did not fix anything)."""

    strict: frozenset
    lenient: frozenset
    reach: Optional[int] = None


@dataclass
class _Edit:
    start: int  # offsets in the text
    end: int
    content: str
    span: Any  # the replaced range (Span)

    @property
    def line_delta(self) -> int:
        """How many lines the edit adds (negative: removes)."""
        return self.content.count("\n") - (self.span.end_line - self.span.start_line)

    def written_at(self) -> tuple:
        """The new content's span in the edited text: (line, col, end line, end col)."""
        lines = self.content.split("\n")
        first, col = self.span.start_line, self.span.start_col
        end_col = col + len(lines[0]) if len(lines) == 1 else len(lines[-1])
        return (first, col, first + len(lines) - 1, end_col)


class _Trials:
    def __init__(self, text: str, analyse: Analyse, findings: list):
        self.text = text
        self.analyse = analyse
        self.findings = findings
        self.left = MAX_TRIALS
        self._line_starts: Optional[list] = None  # offsets of the text's lines, taken at the first edit
        self.last_new: list = []  # what the last rejected trial newly reported
        self.last_merges = 0  # views in the last trial whose leading -1 took the batch with part of a dim
        self.positions = None  # Loc -> Span in this text, for edits the causes propose
        # the most interpreter steps one re-analysis took so far: its cost in work (by seconds, even of CPU, a
        # slower or busier machine made the same file "expensive" and lose its alternatives)
        self.costliest = 0
        self.out_of_time = False  # a re-analysis found the time budget spent, or was cut short by it

    @property
    def expensive(self) -> bool:
        """Re-analyses of this file cost enough that only what the diagnosis needs is tried: the
        preferred fix; alternatives beside it are then not checked, and so not offered."""
        return self.costliest > EXPENSIVE_TRIAL_STEPS

    def span_of(self, loc) -> Any:
        return self.positions(loc) if self.positions is not None else None

    def source(self, span) -> Optional[str]:
        edit = self.edit(span, "")
        return None if edit is None else self.text[edit.start:edit.end]

    @property
    def _starts(self) -> list:
        """Where each line of the text starts: read only where a finding has a fix to try (most files have
        none, and a file of thousands of lines is not scanned for them)."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self.text)]
        return self._line_starts

    def edit(self, span, content: str) -> Optional[_Edit]:
        if span is None or span.end_line > len(self._starts):
            return None
        starts = self._starts
        start = starts[span.start_line - 1] + span.start_col
        end = starts[span.end_line - 1] + span.end_col
        return _Edit(start, end, content, span)

    def allowed(self, finding: Finding) -> "Leave":
        """The problems a fix of `finding` may leave. Preferably the others except the warnings that
        follow it ("once the earlier error is fixed"): a fix that clears those too is the consistent
        one (a producer rather than its consumer). At least every problem already reported: a fix that
        adds none is still a fix where the file has independent errors."""
        others = [f for f in self.findings if f is not finding]
        evidence = finding.evidence
        # Where the failing call saw shapes it knew, a fix must leave them known there.
        call = evidence.call_loc if evidence is not None and evidence.operands and all(
            _known(t) for t in evidence.operands) else None
        span = self.span_of(call) if call is not None else None
        return Leave(problem_keys([f for f in others if not _follows(f, finding)]), problem_keys(others),
                     span.start_line if span is not None else None)

    def fixes(self, fix: Fix, allowed: "Leave") -> Optional[bool]:
        """True: with `fix` applied the file has no problem outside `allowed.strict` (and a constructor
        argument's fix gives it the needed size). None: out of trials or time (undecided). After a
        False, `leniently` says whether it passed against `allowed.lenient`."""
        if _numbers_a_parameter(fix):
            self.leniently = False
            return False
        return self.runs_clean(fix, allowed)

    def runs_clean(self, fix: Fix, allowed: "Leave") -> Optional[bool]:
        """`fixes`, also for an edit that is never offered: what it would leave says where the mismatch is."""
        self.leniently = False
        if self.left <= 0:
            return None
        edit = self.edit(fix.span, fix.content)
        further = [self.edit(more.span, more.content) for more in fix.also]
        if edit is None or None in further:
            return False
        self.left -= 1
        text = self.text
        for part in sorted([edit] + further, key=lambda e: e.start, reverse=True):  # the last first: offsets hold
            text = text[:part.start] + part.content + text[part.end:]
        result = self.analyse(text, edit.written_at(), allowed.reach)
        if result is not None:
            self.costliest = max(self.costliest, result.steps)
        if result is None or result.partial:
            # None: no time was left to start it; a partial one the budget stopped says so in a note
            self.out_of_time = self.out_of_time or result is None or any(
                f.code == ANALYSIS_BUDGET for f in result.findings)
            return None
        if result.syntax_error is not None or fix.param and not _gives(result.watched, fix):
            return False
        # The failing call must run on known shapes: the first call of its line (where torch stops) and most
        # of the others; one of many may not (an instance of a class built many times met in a loop's probe)
        reached = result.reached
        if allowed.reach is not None and not (reached and reached[0] and 2 * sum(reached) > len(reached)):
            return False
        new = [f for f in result.findings if f.severity in PROBLEMS and f.span is not None
               and (f.code, _before_edit(f.span.start_line, edit)) not in allowed.strict]
        self.last_new = new
        self.last_merges = len(result.batch_merges)
        self.leniently = all((f.code, _before_edit(f.span.start_line, edit)) in allowed.lenient for f in new)
        return not new


def _numbers_a_parameter(fix: Fix) -> bool:
    """A number written over an expression the function computes from its parameters (`channels`,
    `input_channels = channels * k`) would make this one call run and break every other: the instance
    built with another `channels`. Such a fix is never offered; a name that holds the size may be."""
    loc = fix.loc
    node = getattr(loc, "node", None)
    if node is None or isinstance(node, (cst.Integer, cst.Float)) or not _is_number(fix.content):
        return False
    return reads_parameters(node, loc.unit, loc.env)


def _is_number(content: str) -> bool:
    """`3`, `-1`, `(3, 3)`: a literal of numbers only."""
    try:
        value = ast.literal_eval(content)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    values = value if isinstance(value, (tuple, list)) else (value,)
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _known(tensor) -> bool:
    shape = tensor.shape
    return shape.ranked and all(D.known_or_open(d) for d in shape.dims)


def _gives(watched: list, fix: Fix) -> bool:
    """The new argument is known wherever the layer is built, and is the needed size at least once
    (a class built several times needs other sizes elsewhere): a fix that only made the size unknown,
    and so silenced the check, is no fix."""
    sizes = [to_dim(value) for param, value in watched if param == fix.param]
    if not sizes:  # only a user function's parameter of another name took the new argument: its values
        sizes = [to_dim(value) for _, value in watched]
    if not sizes or any(size is None for size in sizes):
        return False
    return fix.size is None or any(D.eq(size, fix.size) is True for size in sizes)


def _follows(later: Finding, first: Finding) -> bool:
    return later.severity == "warning" and any(r.message == EARLIER_ERROR and r.span == first.span
                                               for r in later.related)


def _before_edit(line: int, edit: _Edit) -> int:
    delta = edit.line_delta
    return line - delta if line > edit.span.end_line + delta else line


def problem_keys(findings: list) -> frozenset:
    return frozenset((f.code, f.span.start_line) for f in findings if f.severity in PROBLEMS and f.span is not None)


UNCHECKED_FOR_TIME = ("no fix offered: the time budget ran out before shapels could check one by re-analysis; "
                      "budgetSeconds / budget_seconds raises it")


def choose_fixes(findings: list, text: str, analyse: Analyse, source: Optional[C.Source] = None,
                 span_of: Optional[Callable] = None) -> None:
    """Find the cause of the first errors and check every fix by re-analysis; move the blame to the
    cause, or to the producer where only a producer fix makes the file consistent. Edits `findings` in
    place: a finding whose cause another one already names is dropped. `source` and `span_of` (the file's
    syntax, and where a node is in it) let the causes of causes.py propose edits; without them only the
    constructor arguments are tried."""
    trials = _Trials(text, analyse, findings)
    trials.positions = span_of
    errors = [f for f in findings if f.severity == "error" and f.span is not None]
    chosen = errors[:MAX_FINDINGS]
    # Taken before any blame moves: trials re-analyse without moving blame, so they report at the old lines.
    allowed = [trials.allowed(f) for f in chosen]
    verified: set = set()  # ids of the fixes a re-analysis confirmed
    named: dict = {}  # (line, col, content) of a cause's edit -> the finding that names it
    followers = [[f for f in findings if _follows(f, error)] for error in chosen]
    unchecked: list = []  # the errors whose fixes the time budget left unchecked
    for n, (finding, may_leave, after) in enumerate(zip(chosen, allowed, followers)):
        code = finding.code
        if not _choose(finding, trials, may_leave, source, verified, named, findings):
            # out of time or trials: what is left stays unconfirmed, and is not offered
            unchecked = chosen[n:] if trials.out_of_time else []
            break
        if finding.code != code or finding not in findings:
            # A cause was named, and its edit runs clean: the warnings that assumed the error fixed go too.
            owner = finding if finding in findings else named.get(_key(finding.fix))
            for follower in after:
                if follower in findings:
                    findings.remove(follower)
                    owner.related.append(_consequence(follower))
    for finding in chosen:
        missing = C.missing_layer(finding) if finding.fix is None and finding in findings else None
        if missing:
            finding.message += f" ({missing})"
    for finding in findings:  # only what a re-analysis confirmed is offered
        if finding.fix is not None and id(finding.fix) not in verified:
            finding.fix = None
        finding.alternatives = [a for a in finding.alternatives if id(a) in verified]
    for finding in unchecked:  # no fix, and not because none works: say so rather than look fixless
        if finding in findings and finding.fix is None:
            finding.message += f" ({UNCHECKED_FOR_TIME})"


def _choose(finding: Finding, trials: _Trials, allowed: Leave, source: Optional[C.Source], verified: set,
            named: dict, findings: list) -> bool:
    """The cause of one error and its fix; False when out of time or trials."""
    def taken(candidates) -> Optional[bool]:
        """True: a candidate became the diagnosis; None: out of time or trials; False: none ran clean."""
        cause = _first_cause(candidates, trials, allowed)
        if cause:
            _take_cause(finding, cause, verified, named, findings)
        return None if cause is None else bool(cause)

    if source is not None:
        outcome = taken(C.causes(finding, source))
        if outcome is not False:
            return outcome is True
    merged = C.merges_batch(finding)
    if merged:
        outcome = taken(C.last_resorts(finding, source)) if source is not None else False
        if outcome is False:
            _refuse_number_fix(finding, merged)
        return outcome is not None
    if source is not None and C.names_first(finding):
        outcome = taken(C.other_names(finding, source))
        if outcome is not False:
            return outcome is True
    data_sized = source is not None and C.sized_by_the_driver(finding, source)
    decided = _decide(finding, trials, allowed, verified, data_sized, source) if finding.fix is not None else False
    if decided is None:
        return False
    if source is None:
        return True
    reading = _first_cause(C.size_reading(finding, source), trials, allowed)
    if reading is None:
        return False
    if not reading and not decided:  # nothing ran clean yet: the readings nothing names, last
        outcome = taken(C.last_resorts(finding, source))
        return outcome is not None
    if reading and decided and reading.code == INPUT_SHAPE and (C.written_for_a_map(finding) or C.takes_images(finding)):
        # `nn.Linear(16 * 5 * 5, 120)` says which map it was written for, a first conv of 3 input channels
        # that it takes RGB images: the input that gives it wins.
        number = finding.fix
        _take_cause(finding, reading, verified, named, findings)
        if number is not None:
            finding.alternatives.append(number)
            finding.related.append(Related(number.loc, f"or: {number.message.lower()}", number.span))
    elif reading and decided:  # both readings run: the constructor's stays preferred, the other is offered
        verified.add(id(reading.fix))
        finding.alternatives.append(reading.fix)
        finding.related.append(Related(reading.fix.loc, f"or: {reading.diagnosis}", reading.fix.span))
    elif reading:
        _take_cause(finding, reading, verified, named, findings)
    return True


def _first_cause(candidates, trials: _Trials, allowed: Leave):
    """The first candidate whose edit makes the file run clean; False if none does, None when out of
    time or trials."""
    fallback = False
    for cause in list(candidates)[:MAX_CAUSES]:
        for part in (cause.fix,) + cause.fix.also:
            part.span = trials.span_of(part.loc)
        verdict = trials.fixes(cause.fix, allowed)
        if verdict is None:
            return None
        if verdict:
            return cause
        if trials.leniently and fallback is False:
            fallback = cause  # clears this error and adds nothing, though a later one stays
    return fallback


def _take_cause(finding: Finding, cause: C.Cause, verified: set, named: dict, findings: list) -> None:
    """The cause becomes the diagnosis; a later error with the same cause folds into the first."""
    verified.add(id(cause.fix))
    _blame_cause(finding, cause)
    key = _key(cause.fix)
    if key in named:
        named[key].related.extend(finding.related[:1])
        findings.remove(finding)
    else:
        named[key] = finding


def _key(fix: Fix) -> tuple:
    return (fix.span.start_line, fix.span.start_col, fix.content)


def _blame_cause(finding: Finding, cause: C.Cause) -> None:
    """The cause's line becomes the diagnostic's place; what torch would say there becomes related. A
    Keras layer's error stays where Keras raises it, the call, which is where Keras users look for it
    (the data's line is related, and the fix still edits it) where the cause is the data."""
    layer = finding.evidence.layer if finding.evidence is not None else None
    if cause.code == INPUT_SHAPE and layer is not None and layer.kind.startswith("keras."):
        finding.related.insert(0, Related(cause.fix.loc, cause.diagnosis, span=cause.fix.span))
    else:
        finding.related.insert(0, _consequence(finding))
        finding.loc, finding.span = cause.fix.loc, cause.fix.span
        finding.code = cause.code
        finding.message = cause.diagnosis
    finding.param = None
    finding.fix = cause.fix
    finding.alternatives = []
    finding.producer = None


def _consequence(finding: Finding) -> Related:
    return Related(finding.loc, f"then: {finding.message}", finding.span)


def _refuse_number_fix(finding: Finding, why: str) -> None:
    """A Linear sized to a feature map's last axis, or a layer resized for one unbatched sample, would make
    torch run on a model that no longer computes what it was written for: no such fix is offered."""
    finding.fix = None
    finding.alternatives = []
    finding.producer = None
    finding.message += f" ({why}: resizing this layer would not fix that)"


def _decide(finding: Finding, trials: _Trials, allowed: Leave, verified: set, data_sized: bool,
            source: Optional[C.Source] = None) -> Optional[bool]:
    producer = finding.producer if finding.producer is not None and finding.producer.span is not None else None
    consumer_fix = finding.fix
    if consumer_fix.loc != finding.loc:  # a rewrite of the call (reshape, a cast): checked as it is
        verdict = trials.fixes(consumer_fix, allowed)
        if verdict:
            verified.add(id(consumer_fix))
        return verdict
    rejected: list = []
    fallback = None  # the first fix that clears this error and adds nothing, though a later one stays
    for candidate in _consumer_candidates(finding, producer, trials, data_sized):
        verdict = trials.fixes(candidate, allowed)
        if verdict is None:
            return None
        fallback = fallback or (candidate if trials.leniently else None)
        if verdict:
            if trials.last_merges and producer is not None:
                preferred = _producer_that_keeps_the_batch(finding, producer, trials, allowed, trials.last_merges)
                if preferred is None:
                    return None
                if preferred:
                    verified.add(id(preferred))
                    _blame_producer(finding, preferred, consumer_fix, [])
                    return True
            verified.add(id(candidate))
            finding.fix = candidate
            checked = _consumer_runs(finding, candidate, producer, trials, allowed, verified)
            if checked and source is not None and finding.fix is candidate and \
                    candidate.content in _multiples_holding(consumer_fix.loc, consumer_fix.size):
                # the consumer's made-up multiple stays an alternative to the producer's own text
                blamed = _factor_upstream(finding, candidate, trials, allowed, verified, source, [], True)
                return None if blamed is None else True
            return checked
        rejected.append(list(trials.last_new))
    if producer is not None and _numbers_a_parameter(consumer_fix):
        # The consumer's number is not offered (it fits this call only), but whether it would run still
        # says whether the consumer is a consistent place for the blame
        verdict = trials.runs_clean(consumer_fix, allowed)
        if verdict is None:
            return None
        if verdict and not trials.last_merges:
            finding.fix = None
            return _consumer_runs(finding, consumer_fix, producer, trials, allowed, verified)
    if producer is not None:
        for candidate in _producer_candidates(finding, producer, trials):
            verdict = trials.fixes(candidate, allowed)
            if verdict is None:
                return None
            if verdict:
                verified.add(id(candidate))
                _blame_producer(finding, candidate, consumer_fix, rejected[0] if rejected else [])
                return True
    if source is not None:  # nothing at the consumer runs clean: a factor the producer wrote may be the slip
        blamed = _factor_upstream(finding, consumer_fix, trials, allowed, verified, source,
                                  rejected[0] if rejected else [], False)
        if blamed is not False:
            return blamed
    if fallback is None:
        return False
    verified.add(id(fallback))
    finding.fix = fallback
    return True


def _consumer_runs(finding: Finding, consumer: Fix, producer: Optional[Fix], trials: _Trials, allowed: Leave,
                   verified: set) -> Optional[bool]:
    """The consumer's edit `consumer` runs clean (offered as the finding's fix, or not offered: None): check
    the alternatives, and move the blame upstream where the producer's change runs too and the width the
    consumer would take is the odd one."""
    checked = _check_alternatives(finding, producer, trials, allowed, verified)
    upstream = finding.producer  # the producer's fix, or its variant in the file's own names
    if checked and upstream is not None and id(upstream) in verified and C.odd_width(consumer.size, upstream.size):
        if finding.fix is not None:
            finding.alternatives.insert(0, finding.fix)
        _blame_producer(finding, upstream, consumer, [])
    return checked


def _factor_upstream(finding: Finding, consumer: Fix, trials: _Trials, allowed: Leave, verified: set,
                     source: C.Source, left_over: list, keep_consumer: bool) -> Optional[bool]:
    """Where the layer upstream that set the arriving width wrote it as an expression times a literal factor
    (`(inner_dim * 3) * 2`) and the expression alone runs clean, that factor is the odd one: the producer is
    blamed, its expression being the author's own text. Tried where the consumer's verified fix writes a
    multiple no one wrote (`inner_dim * 2`, from _multiples_holding; `keep_consumer`: it stays an
    alternative), and where nothing at the consumer runs clean. True: blamed; False: no such factor runs
    clean; None: out of trials."""
    upstream = _first_cause(C.factor_upstream(finding, source, consumer), trials, allowed)
    if not upstream:
        return upstream
    verified.add(id(upstream.fix))
    if keep_consumer:
        finding.alternatives.insert(0, consumer)
    _blame_producer(finding, upstream.fix, consumer, left_over, expected=C.expected_size(finding))
    return True


def _producer_that_keeps_the_batch(finding: Finding, producer: Fix, trials: _Trials, allowed: Leave,
                                   merges: int):
    """A producer fix that runs clean with fewer views that merge the batch than the consumer's fix left
    (C3D's `x.view(-1, 64 * 2 * 4 * 4)` after a conv of 128 channels: resizing the BatchNorm runs, and the
    view then doubles the batch). False when none does; None when out of trials."""
    for candidate in _producer_candidates(finding, producer, trials):
        verdict = trials.fixes(candidate, allowed)
        if verdict is None:
            return None
        if verdict and trials.last_merges < merges:
            return candidate
    return False


def _check_alternatives(finding: Finding, producer: Optional[Fix], trials: _Trials, allowed: Leave,
                        verified: set) -> Optional[bool]:
    """Offer the upstream change and the other alternatives beside a verified fix only if each passes the
    strict test: the file clean but for the problems that do not follow from this one. (The lenient one,
    every problem already reported, let through an upstream change at a driver's `dim=` that a later
    layer of the same width then failed on, at a line that happened to hold another report.)"""
    for alternative in list(finding.alternatives):
        checkable = alternative.span is not None and not trials.expensive
        verdict = trials.fixes(alternative, allowed) if checkable else False
        if verdict:
            verified.add(id(alternative))
            continue
        if alternative is producer and verdict is False and checkable:
            # Its number may fit this instance only (`width * 2` -> 64); the upstream change written in the
            # file's own names (`width`) may still be one
            verdict = _in_own_names(finding, producer, trials, allowed, verified)
            if verdict:
                continue
        finding.alternatives.remove(alternative)
        if alternative is producer:
            finding.related = [r for r in finding.related if r.span != producer.span]
        if verdict is None:
            return None
    return True


def _in_own_names(finding: Finding, producer: Fix, trials: _Trials, allowed: Leave, verified: set) -> Optional[bool]:
    """Put the first verified variant of the producer's fix that names the size in its place among the
    alternatives; None when out of trials."""
    for candidate in _producer_candidates(finding, producer, trials):
        if candidate is producer:
            continue
        verdict = trials.fixes(candidate, allowed)
        if verdict:
            verified.add(id(candidate))
            where = finding.alternatives.index(producer)
            finding.alternatives[where] = candidate
            finding.producer = candidate
            finding.related = [replace(r, message=candidate.message.replace("Set", "or set", 1))
                               if r.span == producer.span and r.message.startswith("or set") else r
                               for r in finding.related]
            return True
        if verdict is None:
            return None
    return False


def _consumer_candidates(finding: Finding, producer: Optional[Fix], trials: _Trials, data_sized: bool) -> list:
    fix = finding.fix
    names = [_variant(fix, name) for name in _names_holding(fix.loc, fix.size)]
    if _numbers_a_parameter(fix) and not data_sized:
        # `Linear(hidden, ...)` after a bidirectional LSTM: `hidden * 2`, not 512. Not where the size came
        # from the driver's data unchanged (a 6-channel signal into `Conv1d(channels, ...)`): `channels * 2`
        # would fit the model to the data; the driver's input is tried instead (causes.size_reading and
        # causes.last_resorts).
        names += [_variant(fix, name) for name in _multiples_holding(fix.loc, fix.size)]
    # Written as a name, the argument is one of the class's sizes: another name that fits every instance
    # keeps the author's terms; written as a number, a number.
    out = names + [fix] if isinstance(getattr(fix.loc, "node", None), cst.Name) else [fix]
    if producer is not None and _same_scope(fix.loc, producer.loc):
        text = trials.source(producer.span)  # the producer's own expression, valid in this scope
        if text:
            out.append(_variant(fix, text))
    out += names
    return _unique(out, trials.source(fix.span))


def _producer_candidates(finding: Finding, producer: Fix, trials: _Trials) -> list:
    out = []
    if _same_scope(finding.loc, producer.loc):
        text = trials.source(finding.span)  # the consumer's expression: `self.inplanes`
        if text:
            out.append(_variant(producer, text))
    out += [_variant(producer, name) for name in _names_holding(producer.loc, producer.size)]
    out.append(producer)
    return _unique(out, trials.source(producer.span))


def _variant(fix: Fix, content: str) -> Fix:
    """The same edit with other content: "Set conv1's out_channels to self.inplanes"."""
    action = fix.message.rsplit(" to ", 1)[0]
    return replace(fix, message=f"{action} to {content}", content=content)


def _unique(fixes: list, current: Optional[str]) -> list:
    seen = {current}
    out = []
    for fix in fixes:
        if fix.content not in seen:
            seen.add(fix.content)
            out.append(fix)
    return out


def _same_scope(a, b) -> bool:
    return a is not None and b is not None and a.unit is b.unit


def _names_holding(loc, size) -> list:
    """Variables in scope where the argument was written whose value is `size`."""
    if size is None:
        return []
    names = []
    for name, dim in _sizes_in_scope(loc):
        if D.eq(dim, size) is True:
            names.append(name)
            if len(names) == MAX_NAMES:
                break
    return names


def _sizes_in_scope(loc):
    """(name, size) of the variables in scope where the argument was written that hold a size."""
    env = getattr(loc, "env", None)
    if not isinstance(env, dict):
        return
    for name, value in env.items():
        if name == "self" or name.startswith("_"):
            continue
        dim = to_dim(value)
        if dim is not None:
            yield name, dim


MAX_FACTOR = 4  # `hidden * 2` (both directions), `dim * 3` (q, k, v), `dim * 4` (an MLP's hidden width)


def _multiples_holding(loc, size) -> list:
    """`name * k` for the variables in scope where the argument was written whose value times a small k is
    `size`, the smallest k first: where a number would fit one instance only, the size in the author's terms."""
    wanted = D.as_int(size) if size is not None else None
    if not wanted:
        return []
    found = []
    for name, dim in _sizes_in_scope(loc):
        held = D.as_int(dim)
        if held and held > 1 and wanted % held == 0 and 1 < wanted // held <= MAX_FACTOR:
            found.append((wanted // held, f"{name} * {wanted // held}"))
    return [text for _, text in sorted(found, key=lambda pair: pair[0])][:MAX_NAMES]


def _blame_producer(finding: Finding, fix: Fix, consumer_fix: Fix, left_over: list, expected=None) -> None:
    """The producer's argument becomes the diagnostic's place; the consumer is related (`expected`: the size
    it expects, where the producer's fix does not say it)."""
    consumer_loc, consumer_span = finding.loc, finding.span
    why = (f"; the mismatch starts at {fix.target or 'the layer upstream'}: with {fix.param}={fix.content}, "
           "every layer after it agrees")
    if left_over:
        why += f" (setting {consumer_fix.target or 'this layer'} instead fails at line {left_over[0].span.start_line})"
    finding.message += why
    finding.loc, finding.span = fix.loc, fix.span
    finding.param = fix.param
    finding.fix = fix
    finding.alternatives = [a for a in finding.alternatives if a is not finding.producer]
    finding.related = [r for r in finding.related if r.span != fix.span]
    finding.related.insert(0, Related(consumer_loc, _expects(consumer_fix, expected if expected is not None
                                                             else fix.size), consumer_span))
    finding.producer = None


def _expects(consumer_fix: Fix, size) -> str:
    """`bn1 expects num_features=64 here`."""
    label = consumer_fix.target.rsplit("'s ", 1)[0] if consumer_fix.target else "this layer"
    value = D.show(size) if size is not None else "another size"
    return f"{label} expects {consumer_fix.param or 'a different size'}={value} here"
