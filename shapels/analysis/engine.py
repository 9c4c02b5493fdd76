"""analyze(text) -> AnalysisResult: the one entry point behind the CLI, the server and confirm."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import libcst as cst

from shapels.analysis import calls, causes, default_runs, repair
from shapels.analysis.findings import Finding
from shapels.analysis.gc_quiet import fewer_collections
from shapels.analysis.limits import blank_long_statements, line_limit, screen, statement_prefix
from shapels.analysis.inputs import annotation_inputs, comment_inputs, configured_inputs
from shapels.analysis.interpreter import Budget, BudgetExceeded, Frame, Interpreter, is_import_line
from shapels.analysis.modtable import ClassInfo
from shapels.analysis.parsing import parse_module
from shapels.analysis.scopes import Loader, make_scope
from shapels.analysis.stack_room import with_stack_room
from shapels.analysis.suppression import silenced
from shapels.analysis.objects import Instance, UserFunction
from shapels.analysis.positions import Loc, Positions, Span, node_ranges
from shapels.analysis.recorder import Recorder, Run
from shapels.analysis.trial_watch import TrialWatch
from shapels.codes import ANALYSIS_BUDGET, ANALYSIS_INTERNAL_ERROR, UNRESOLVED_IMPORT
from shapels.rules import lookup
from shapels.rules.base import RuleCall, from_python
from shapels.symbolic.shape import Shape
from shapels.values import Const, Layer, Number, Step, Tensor
SOURCE_RANK = {"config": 0, "comment": 1, "annotation": 2, "driver": 3, "symbolic": 4}


@dataclass
class Options:
    inputs: dict = field(default_factory=dict)  # {"Net": {"x": "(1, 3, 64, 64)"}}
    budget_seconds: Optional[float] = 5.0
    loader: Optional[Loader] = None  # reads imported workspace/package modules; None: this file only
    verify_fixes: bool = True  # re-analyse with the first errors' fixes applied (repair.py)
    watch: Optional[tuple] = None  # (line, col, end line, end col): record layer arguments written there
    reach: Optional[int] = None  # a line whose calls a fix trial wants to see run on known shapes
    args: dict = field(default_factory=dict)  # a script's command line by argparse dest: {"dataset": "cifar10"}


@dataclass
class Binding:
    span: Span
    name: str
    value: Any
    write: bool

    @property
    def shape(self) -> Optional[Shape]:
        return self.value.shape if isinstance(self.value, Tensor) else None


@dataclass
class LayerCall:
    """One call of a layer in forward: where, the first tensor it got, and what it returned (a tensor, or
    a tuple such as an LSTM's `(out, (h, c))`)."""

    span: Optional[Span]
    input: Optional[Shape]
    output: Any
    order: int = 0  # its place among all the layer calls of the run


@dataclass
class LayerReport:
    name: str
    kind: str
    span: Optional[Span]  # the constructor call
    call_span: Optional[Span]  # the (first) call in forward
    input: Optional[Shape]  # of the first call
    output: Optional[Shape]  # of the first call, where it returned one tensor
    args: dict  # resolved constructor arguments, shown on hover
    calls: list = field(default_factory=list)  # LayerCall, every call of this layer in the run, in order
    weights: Optional[int] = None  # how many weights it builds (a Keras layer's "Param #"), where known

    @property
    def output_value(self) -> Any:
        """The first call's whole output (a tuple's shapes too)."""
        return self.calls[0].output if self.calls else None


@dataclass
class ModuleReport:
    name: str
    span: Span
    forward_span: Optional[Span]
    source: str
    inputs: dict  # name -> Shape | None
    output: Any
    bindings: list  # Binding (assignment targets), source order
    names: list  # Binding (every tensor name occurrence), for hover
    layers: list  # LayerReport


@dataclass
class ClassRun:
    """A class's (or top-level model's) primary run as `check`'s note on a class without input reads it:
    where the class is, the shapes its inputs had and what it called. ModuleReport holds this and more (a
    span and shape for every name and layer call, each layer's weights), which hover and `shapes` read and
    `check` does not: building those is about a tenth of a check of a file with no driver."""

    name: str
    span: Span
    forward_span: Optional[Span]
    source: str  # as ModuleReport's
    inputs: dict  # name -> Shape | None
    called: frozenset  # the kinds of the layers and module classes its run called (LayerReport.kind)


@dataclass
class SyntaxProblem:
    message: str
    line: int
    column: int  # 0-based


@dataclass
class AnalysisResult:
    path: str
    findings: list = field(default_factory=list)
    syntax_error: Optional[SyntaxProblem] = None
    partial: bool = False
    text: str = ""
    watched: list = field(default_factory=list)  # (parameter, value) of layer arguments at Options.watch
    reached: list = field(default_factory=list)  # per call on Options.reach's line: were its tensors all known
    batch_merges: list = field(default_factory=list)  # views whose leading -1 took the batch with part of a dim
    keras: bool = False  # the file imports Keras (or TensorFlow): its tensors are shown in Keras's notation
    steps: int = 0  # the interpreter steps the analysis took, not counting its fix trials: its work (Budget.steps)
    _build_modules: Any = field(default=None, repr=False)
    _modules: Optional[list] = field(default=None, repr=False)
    _build_loop_names: Any = field(default=None, repr=False)
    _loop_names: Optional[list] = field(default=None, repr=False)
    _build_class_runs: Any = field(default=None, repr=False)
    _class_runs: Optional[list] = field(default=None, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @property
    def modules(self) -> list:
        """Per-class shapes (hover, inlay hints, `shapes`), built on first use: `check` and the
        server's diagnostics never pay for them."""
        with self._lock:
            if self._modules is None:
                self._modules = self._build_modules() if self._build_modules is not None else []
                self._build_modules = None
            return self._modules

    @property
    def class_runs(self) -> list:
        """ClassRun of each module class and top-level model, in the order of `modules`, built on first use."""
        with self._lock:
            if self._class_runs is None:
                self._class_runs = self._build_class_runs() if self._build_class_runs is not None else []
                self._build_class_runs = None
            return self._class_runs

    @property
    def loop_names(self) -> list:
        """Binding: names at the top level and in data loops' bodies (`for x, y in loader:`), for hover
        and inlay hints; built on first use, as `modules` (their positions cost a pass over the file)."""
        with self._lock:
            if self._loop_names is None:
                self._loop_names = self._build_loop_names() if self._build_loop_names is not None else []
                self._build_loop_names = None
            return self._loop_names


def analyze(text: str, path: str = "<string>", options: Optional[Options] = None) -> AnalysisResult:
    with fewer_collections():
        return with_stack_room(_analyze, text, path, options or Options())


def _analyze(text: str, path: str, options: Options) -> AnalysisResult:
    result = AnalysisResult(path, text=text)
    budget = Budget(options.budget_seconds)  # from now: the parse counts against it
    limit = line_limit(options.budget_seconds)
    prefix = statement_prefix(text, limit) if limit is not None else None
    if prefix is not None:
        # Positions stay valid: the prefix starts at line 1.
        result.findings.append(_budget_note(
            f"shapels analysed lines 1-{prefix.count(chr(10))} of {text.count(chr(10)) + 1}: the rest would not fit "
            f"the time budget ({options.budget_seconds:g} s; budgetSeconds / budget_seconds raises it)"))
        result.partial = True
        text = prefix
    text, skipped = blank_long_statements(text, options.budget_seconds)
    for first, last, what in skipped:
        result.findings.append(_budget_note(
            f"shapels skipped {what} (lines {first}-{last}): {last - first + 1:,} lines in one statement would not "
            f"fit the time budget ({options.budget_seconds:g} s; budgetSeconds / budget_seconds raises it)"))
        result.partial = True
    screened = screen(text)
    if screened.reason is not None:
        result.partial = True
        result.findings.append(_budget_note(f"shapels did not analyse this file: {screened.reason}"))
        return result
    try:
        module = parse_module(text)
    except cst.ParserSyntaxError as error:
        result.syntax_error = SyntaxProblem(str(error.message), error.raw_line, error.raw_column)
        return result
    except (RecursionError, MemoryError, ValueError) as error:
        result.syntax_error = SyntaxProblem(f"cannot parse: {type(error).__name__}", 1, 0)
        return result
    main = make_scope("__main__", path, module, text)
    table = main.table
    result.keras = any(q.split(".")[0] in ("keras", "tensorflow") for q in table.aliases.values())
    recorder = Recorder()
    interp = Interpreter(main, recorder, budget, options.loader)
    positions = Positions(module, text)
    ranges = node_ranges(module) if options.watch is not None or options.reach is not None else {}
    interp.trial = TrialWatch(
        arguments=frozenset(node for node, where in ranges.items() if where == tuple(options.watch))
        if options.watch is not None else frozenset(),
        calls=frozenset(node for node, where in ranges.items() if where[0] == options.reach)
        if options.reach is not None else frozenset(),
        watched=result.watched, reached=result.reached, batch_merges=result.batch_merges)
    interp.command_line = options.args
    stopped = False
    failures: list = []  # internal errors, each confined to the statement or class it broke
    try:
        _guarded(interp, failures, "the bases of this file's classes", None, lambda: interp.linker.link_bases(main))
        _guarded(interp, failures, "the imports of this file's classes", None,
                 lambda: recorder.findings.extend(_unresolved_import_note(interp, main)))
        _run_driver(interp, module, failures)
        _run_fallbacks(interp, table, options, failures)
    except (BudgetExceeded, RecursionError):
        stopped = result.partial = True
    finally:
        recorder.unwind_to(0)
        result.steps = budget.steps
    if failures:
        result.partial = True
        recorder.findings.extend(failures)
    findings = _resolve_findings(recorder.findings, positions, text)
    if options.verify_fixes and not result.partial and not stopped:
        # The file's syntax for the causes is read only where there is an error to find one for (a full
        # libcst visit: ~0.1 s on a 1,000-line file).
        source = causes.Source(module, main.globals) if any(f.severity == "error" for f in findings) else None
        repair.choose_fixes(findings, text,
                            lambda trial_text, watch, reach: _trial(trial_text, watch, reach, path, options, budget),
                            source, positions.span)
        findings = _unsuppressed(findings, text)  # a blame moved to another line meets its comments there
    for finding in findings:
        finding.evidence = None  # the repair's reading of the failing call: not kept with the results
    result.findings = result.findings + findings
    if stopped:
        result.findings.append(_budget_note("shapels stopped at its time budget for this file; the results are partial"))
    result._build_loop_names = lambda: [Binding(s, e.name, e.value, e.write) for e in recorder.loop_names
                                        if isinstance(e.value, (Tensor, Number)) and e.loc.node is not None
                                        and (s := positions.span(e.loc)) is not None]

    def build_modules() -> list:
        positions.expect_many()  # every name's and layer call's span: the whole pass at once
        return [_module_report(info, recorder, positions) for info in table.module_classes()] + \
            [_model_report(run, positions, main.globals) for run in recorder.models]

    result._build_modules = build_modules
    result._build_class_runs = lambda: [_class_run(info, recorder, positions) for info in table.module_classes()] + \
        [_model_run(run, positions, main.globals) for run in recorder.models]
    return result


def _trial(text: str, watch: tuple, reach: Optional[int], path: str, options: Options,
           budget: Budget) -> Optional[AnalysisResult]:
    """Analyse a variant of the file in what is left of this analysis's budget (None: nothing left)."""
    seconds = None
    if budget.deadline is not None:
        seconds = budget.deadline - time.monotonic()
        if seconds <= 0.01:
            return None
    return analyze(text, path, replace(options, budget_seconds=seconds, verify_fixes=False, watch=watch, reach=reach))


def _budget_note(message: str) -> Finding:
    return Finding(ANALYSIS_BUDGET, "information", message, None, span=Span(1, 0, 1, 0))


# -- running ---------------------------------------------------------------------------------------
def _guarded(interp: Interpreter, failures: list, what: str, anchor: Optional[cst.CSTNode], work) -> None:
    """Run one unit of the analysis (a top-level statement, a class's run). An exception that is not
    the budget's is a bug in shapels: it ends that unit only, with an information note at `anchor`
    (None: line 1), and the recorder is unwound to where the unit began, so later runs record where
    they should."""
    depth = interp.recorder.depth
    try:
        work()
    except (BudgetExceeded, RecursionError):
        raise
    except Exception as error:  # noqa: BLE001 - one broken unit must not cost the file's other results
        interp.recorder.unwind_to(depth)
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        failures.append(Finding(
            ANALYSIS_INTERNAL_ERROR, "information",
            f"shapels could not finish analysing {what} (internal error, {detail[:200]}); the rest of the file "
            "is analysed. This is a bug in shapels: please report it.",
            Loc(anchor, anchor) if anchor is not None else None, span=None if anchor is not None else Span(1, 0, 1, 0)))


def _run_driver(interp: Interpreter, module: cst.Module, failures: list) -> None:
    """Interpret the module's top-level code: it builds the model and calls it, as `python file` would."""
    interp.globals["__name__"] = Const("__main__")
    interp.source = "driver"
    env = interp.globals
    # The top level's names are kept for hover, as a data loop's are (a Keras script's functional model,
    # the arrays it feeds it): Recorder.loop_names
    interp.recorder.begin_loop()
    try:
        for stmt in module.body:
            if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)) or is_import_line(stmt):
                continue
            frame = Frame(stmt, env, record=True)
            try:
                _guarded(interp, failures, "this statement", stmt, lambda: interp.exec_stmt(stmt, frame))
            except RecursionError:
                continue
    finally:
        interp.recorder.end_loop()


def _unresolved_import_note(interp: Interpreter, main) -> list:
    """One information note for the file, at the first import that should have given a class its base
    and did not (its module was not found or not read): those classes are not analysed as modules, and
    saying nothing would read as "checked, no problem"."""
    missed: dict = {}  # import name -> (qualname or None for a star import, [class names])
    for info, qualname, name in interp.linker.unresolved_bases(main.path):
        if info.is_module:
            continue  # another base made it a module: it is analysed
        entry = missed.setdefault(name, (qualname, []))
        if info.name not in entry[1]:
            entry[1].append(info.name)
    if not missed:
        return []
    where = [(_import_statement(main.module, name, qualname is None), name) for name, (qualname, _) in missed.items()]
    parts = []
    for name, (qualname, classes) in missed.items():
        what = f"`from {name} import *`" if qualname is None else f"`{qualname}`"
        parts.append(f"{what} (for {', '.join(classes)})")
    anchor = next((node for node, _ in where if node is not None), None)
    message = (f"shapels could not resolve {'the import' if len(parts) == 1 else 'the imports'} {'; '.join(parts)}: "
               + ("that class is not analysed as a module, so its shapes are not checked"
                  if sum(len(c) for _, c in missed.values()) == 1 else
                  "those classes are not analysed as modules, so their shapes are not checked")
               + ". Is the package installed in the environment shapels runs in, or its folder a workspace root?")
    loc = Loc(anchor[0], anchor[1]) if anchor is not None else None
    return [Finding(UNRESOLVED_IMPORT, "information", message, loc, span=None if loc is not None else Span(1, 0, 1, 0))]


def _import_statement(module: cst.Module, name: str, star: bool) -> Optional[tuple]:
    """(top-level statement, import node) of the import that binds `name` (or star-imports module
    `name`), looking inside `try:` blocks as the module table does."""
    from shapels.analysis.modtable import _top_level_statements, add_import, star_module

    for stmt in _top_level_statements(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if star:
                if star_module(small) == name:
                    return stmt, small
                continue
            bound: dict = {}
            add_import(bound, small)
            if name in bound:
                return stmt, small
    return None


def _explicit_inputs(info: ClassInfo, forward: cst.FunctionDef, options: Options) -> tuple:
    for source, found in (
        ("config", configured_inputs(info.name, options.inputs)),
        ("comment", comment_inputs(forward)),
        ("annotation", annotation_inputs(forward)),
    ):
        if found:
            return source, found
    return None, {}


def _run_fallbacks(interp: Interpreter, table, options: Options, failures: list) -> None:
    """Give every module class a run: with explicit inputs if any, else symbolic ones.

    Later classes first: a file defines its blocks before the model that uses them, and the
    model's run then checks each block inside it, where it is really used, instead of the
    block's own run and then again inside every class above it."""
    for info in reversed(table.module_classes()):
        if info.find_forward() is not None:
            _guarded(interp, failures, f"class {info.name}", info.node.name,
                     lambda: _run_fallback(interp, info, options))


def _run_fallback(interp: Interpreter, info: ClassInfo, options: Options) -> None:
    """One class's run, unless an earlier run already checked it in full."""
    owner, forward = info.find_forward()
    source, specs = _explicit_inputs(info, forward, options)
    if source is None and _already_checked(interp.recorder.runs.get(info.name, [])):
        return
    instance = _driver_instance(interp, info)
    built_here = instance is None  # by shapels, with its defaults: no program builds it
    instance = instance or _symbolic_instance(interp, info)
    args = []
    params = list(forward.params.params)[1:]
    for param in params:
        name = param.name.value
        if name in specs:
            shape = specs[name]
            args.append(Tensor(shape, (Step("input", shape, None),)))
        elif param.default is not None:
            frame = Frame(forward, {})
            args.append(interp.eval(param.default, frame))
        else:
            args.append(Tensor(Shape.unknown(), ()))
    interp.source = source or "symbolic"
    interp.first_error = None  # each fallback run is an execution of its own
    frame = Frame(forward, {}, True, owner)
    start = len(interp.recorder.findings)
    calls.call_instance(interp, instance, args, {}, frame, None, UserFunction(forward, owner))
    if built_here:
        default_runs.drop_default_assertions(interp, info, forward, owner, args, start)


def _already_checked(runs: list) -> bool:
    """The driver's (or explicit inputs') runs count, as always; a run inside another class's
    symbolic run counts only if its findings were reported in full (not in a branch that may not
    run, a silenced loop probe, or after an earlier error of that run)."""
    return any(run.source != "symbolic" or run.reports_fully for run in runs)


def _driver_instance(interp: Interpreter, info: ClassInfo) -> Optional[Instance]:
    for value in interp.globals.values():
        if isinstance(value, Instance) and value.info is info:
            return value
    return None


def _symbolic_instance(interp: Interpreter, info: ClassInfo) -> Instance:
    """Build the module with its defaults, and a named symbol for each int parameter without one."""
    frame = Frame(info.node, {}, True)
    interp.source = "symbolic"
    return calls.instantiate(interp, info, [], default_runs.symbolic_kwargs(info, False), frame, None)


# -- reporting -------------------------------------------------------------------------------------
def _resolve_findings(findings: list, positions: Positions, text: str) -> list:
    out = []
    for f in findings:
        f.span = f.span or positions.span(f.loc)
        if f.span is None and not _at_call_site(f, positions):
            continue
        for r in f.related:
            r.span = positions.span(r.loc)
        f.related = [r for r in f.related if r.span is not None]
        for fix in ([f.fix] if f.fix else []) + list(f.alternatives) + ([f.producer] if f.producer else []):
            fix.span = positions.span(fix.loc)
        out.append(f)
    return _unsuppressed(out, text)


def _at_call_site(finding, positions: Positions) -> bool:
    """An error inside an imported file (the package's own layers, reached from this file's driver) is
    reported at this file's call that led to it, its message saying where it happened; its fixes, which
    would edit the other file, are not offered here. Warnings and notes there stay unreported, and so do
    errors of an imported module's own top level (the import is not what this file runs)."""
    if finding.site is None or finding.severity != "error" or finding.loc is None \
            or not isinstance(finding.loc.unit, (cst.FunctionDef, cst.Lambda)):
        return False
    span = positions.span(finding.site)
    if span is None:
        return False
    finding.span = span
    where = f" ({finding.module})" if finding.module else ""
    finding.message = f"in imported code{where}: {finding.message}"
    finding.fix, finding.alternatives, finding.producer = None, [], None
    return True


def _unsuppressed(findings: list, text: str) -> list:
    if not findings:  # most files: the text is not split into lines for nothing
        return []
    lines = text.splitlines()
    out = [f for f in findings if not _suppressed(f, lines)]
    out.sort(key=lambda f: (f.span.start_line, f.span.start_col, f.code))
    return out


def _suppressed(finding: Finding, lines: list) -> bool:
    """A suppression comment for the finding's code on any line it spans (analysis/suppression.py)."""
    return any(silenced(lines[line_no - 1], finding.code)
               for line_no in range(finding.span.start_line, finding.span.end_line + 1) if 0 < line_no <= len(lines))


def _weights(layer, shape: Optional[Shape]) -> Optional[int]:
    """A library layer's weight count for the input of its first call, as its registry entry counts it."""
    if not isinstance(layer, Layer):
        return None
    rule = lookup(layer.kind)
    return rule.weight_count(RuleCall(layer.kind, layer.args, {}, layer), shape) if rule is not None else None


def _primary_run(runs: list) -> Optional[Run]:
    if not runs:
        return None
    return min(runs, key=lambda r: (SOURCE_RANK.get(r.source, 9), not r.concrete, r.depth))


def _class_place(info: ClassInfo, recorder: Recorder, positions: Positions) -> tuple:
    """(the class's span, its forward's span, its primary run or None)."""
    span = positions.node_span(info.node) or Span(1, 0, 1, 0)
    found = info.find_forward()
    forward_span = positions.node_span(found[1]) if found else None
    return span, forward_span, _primary_run(recorder.runs.get(info.name, []))


def _module_report(info: ClassInfo, recorder: Recorder, positions: Positions) -> ModuleReport:
    span, forward_span, run = _class_place(info, recorder, positions)
    if run is None:
        return ModuleReport(info.name, span, forward_span, "none", {}, None, [], [], [])
    return _run_report(info.name, span, forward_span, run, positions)


def _model_report(run: Run, positions: Positions, names: dict) -> ModuleReport:
    """A model built at the top level (a Keras Sequential or functional model), at its constructor: by the
    name the code calls it, or (built, never called) the top-level name that holds it."""
    name, span = _model_place(run, positions, names)
    return _run_report(name, span, span, run, positions)


def _model_place(run: Run, positions: Positions, names: dict) -> tuple:
    span = positions.span(run.forward_loc) if run.forward_loc is not None else None
    span = span or Span(1, 0, 1, 0)
    name = run.class_name
    if not run.concrete:
        name = next((k for k, v in names.items() if v is run.instance), name)
    return name, span


def _class_run(info: ClassInfo, recorder: Recorder, positions: Positions) -> ClassRun:
    """_module_report's name, spans, source and inputs, and the kinds its layers list."""
    span, forward_span, run = _class_place(info, recorder, positions)
    if run is None:
        return ClassRun(info.name, span, forward_span, "none", {}, frozenset())
    return ClassRun(info.name, span, forward_span, run.source, _run_inputs(run), _run_calls(run))


def _model_run(run: Run, positions: Positions, names: dict) -> ClassRun:
    name, span = _model_place(run, positions, names)
    return ClassRun(name, span, span, run.source, _run_inputs(run), _run_calls(run))


def _run_inputs(run: Run) -> dict:
    return {k: (v.shape if isinstance(v, Tensor) else None) for k, v in run.inputs.items()}


def _run_calls(run: Run) -> frozenset:
    return frozenset(event.layer.kind if isinstance(event.layer, Layer) else event.layer.info.name
                     for event in run.layers if isinstance(event.layer, (Layer, Instance)))


def _run_report(name: str, span: Span, forward_span: Optional[Span], run: Run, positions: Positions) -> ModuleReport:
    names = []
    for event in run.names:
        s = positions.span(event.loc)
        if s is not None:
            names.append(Binding(s, event.name, event.value, event.write))
    last_write: dict = {}
    for b in names:
        if b.write and isinstance(b.value, Tensor):
            last_write[(b.span.start_line, b.span.start_col)] = b
    bindings = sorted(last_write.values(), key=lambda b: (b.span.start_line, b.span.start_col))
    layers = []
    by_layer: dict = {}
    for order, event in enumerate(run.layers):
        layer = event.layer
        if not isinstance(layer, (Layer, Instance)):
            continue
        first = next((v for v in event.inputs if isinstance(v, Tensor)), None)
        call = LayerCall(positions.span(event.loc), first.shape if first is not None else None, event.output, order)
        if id(layer) in by_layer:
            by_layer[id(layer)].calls.append(call)  # a layer called again (shared weights, a loop)
            continue
        by_layer[id(layer)] = LayerReport(
            layer.label,
            layer.kind if isinstance(layer, Layer) else layer.info.name,
            positions.span(layer.loc),
            call.span,
            call.input,
            event.output.shape if isinstance(event.output, Tensor) else None,
            dict(layer.args) if isinstance(layer, Layer) else dict(layer.init_args),
            [call],
            _weights(layer, call.input),
        )
        layers.append(by_layer[id(layer)])
    return ModuleReport(name, span, forward_span, run.source, _run_inputs(run), run.output, bindings, names, layers)


__all__ = ["AnalysisResult", "Binding", "ClassRun", "LayerReport", "ModuleReport", "Options", "analyze", "from_python"]
