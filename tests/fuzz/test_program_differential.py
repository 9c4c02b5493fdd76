"""Program-level differential fuzzing: generated model programs, run under real torch (CPU) and analysed by shapels.

Properties (the product's promise, "truth over coverage"):
1. No false positive: if torch ran the program without error, shapels reports no error-severity finding;
   if torch raised, every error-severity finding is on the constructor line of the layer that raised,
   on the line of the raising statement, or on the line holding the injected wrong value.
2. No wrong shape: wherever shapels claims a fully concrete shape for a layer's output (or for a binding
   in forward), it equals the shape torch produced there.
3. Recall (measured): the fraction of failing programs where shapels reports an error on one of those lines.

SHAPELS_FUZZ_EXAMPLES=2000 for a long run (not derandomized: new programs each time); `-s` prints the figures.
The default (150 programs) is derandomized, so CI sees the same programs every time, and each analysis has a
time budget no loaded machine reaches, so a fix trial cut short cannot change a verdict (speed is judged by
benchmarks/, never by a test).
"""

from __future__ import annotations

import ast
import itertools
import os
import sys
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Optional

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from shapels.analysis.engine import Options, analyze

from .reporting import checker, report
from .program_gen import Program, numbered, programs

EXAMPLES = int(os.environ.get("SHAPELS_FUZZ_EXAMPLES", "150"))
# SHAPELS_FUZZ_COLLECT=1: survey mode, collect every violation (no shrinking) instead of stopping at the first
COLLECT = os.environ.get("SHAPELS_FUZZ_COLLECT") == "1"
RECALL_FLOOR = float(os.environ.get("SHAPELS_FUZZ_RECALL_FLOOR", "0.95"))
OPTIONS = Options(budget_seconds=600)
_ids = itertools.count()


# -- running for real ----------------------------------------------------------------------------------
@dataclass
class RunResult:
    error: Optional[BaseException] = None
    error_line: Optional[int] = None  # innermost line of the generated file in the traceback
    raising_layer_line: Optional[int] = None  # constructor line of the innermost torch module in flight
    raising_layer: Optional[str] = None
    layer_outputs: dict = field(default_factory=dict)  # constructor line -> [shape tuple]
    bindings: dict = field(default_factory=dict)  # (line, name) -> [shape tuple]

    @property
    def allowed_lines(self) -> set:
        return {line for line in (self.error_line, self.raising_layer_line) if line is not None}


def run_for_real(program: Program) -> RunResult:
    """exec the instrumented copy (same lines) in a fresh namespace as __main__, with hooks on every module."""
    filename = f"<fuzz-program-{next(_ids)}>"
    result = RunResult()
    stack: list = []

    def rec(name, value):
        if isinstance(value, torch.Tensor):
            line = sys._getframe(1).f_lineno
            result.bindings.setdefault((line, name), []).append(tuple(value.shape))

    original_init = torch.nn.Module.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == filename and not (
                frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is self
            ):
                object.__setattr__(self, "_fuzz_line", frame.f_lineno)
                break
            frame = frame.f_back

    def pre_hook(module, args):
        stack.append(module)

    def hook(module, args, output):
        if stack and stack[-1] is module:
            stack.pop()
        line = getattr(module, "_fuzz_line", None)
        if line is not None and isinstance(output, torch.Tensor):
            result.layer_outputs.setdefault(line, []).append(tuple(output.shape))

    handles = [
        torch.nn.modules.module.register_module_forward_pre_hook(pre_hook),
        torch.nn.modules.module.register_module_forward_hook(hook),
    ]
    torch.nn.Module.__init__ = init
    try:
        code = compile(program.instrumented, filename, "exec")
        namespace = {"__name__": "__main__", "_rec": rec, "print": lambda *a, **k: None}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(0)
            exec(code, namespace)
    except Exception as error:  # noqa: BLE001 - any failure of the program is data
        result.error = error
        for frame, line in traceback.walk_tb(error.__traceback__):
            if frame.f_code.co_filename == filename:
                result.error_line = line
        for module in reversed(stack):
            if type(module).__module__.startswith("torch.") and hasattr(module, "_fuzz_line"):
                result.raising_layer_line = module._fuzz_line
                result.raising_layer = type(module).__name__
                break
    finally:
        torch.nn.Module.__init__ = original_init
        for handle in handles:
            handle.remove()
    return result


# -- where a constructor argument was written --------------------------------------------------------------
def origin_lines(source: str, line: Optional[int]) -> set:
    """Lines where the arguments of the constructor call on `line` were written.

    shapels (by design, DESIGN.md "Location" and calls.argument_locs) blames the place a fix belongs: an
    argument that is a bare parameter of the enclosing function is traced back to what the callers passed
    for it (the driver's `Net(in_channels=1)`, a helper's call site `self._block(in_channels, 8)`), or to
    the parameter's default. Every hop of that chain is allowed; this computes them from the source alone,
    independently of shapels.
    """
    if line is None:
        return set()
    tree = ast.parse(source)
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    classes = {f: c.name for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for f in c.body if isinstance(f, ast.FunctionDef)}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]

    def enclosing(node):
        inside = [f for f in funcs if f.lineno <= node.lineno <= f.end_lineno]
        return max(inside, key=lambda f: f.lineno) if inside else None

    def params(func):
        return [a.arg for a in func.args.args]

    def origins(func, name, depth=0) -> set:
        if depth > 4:
            return set()
        names = params(func)
        index = names.index(name) - (1 if names and names[0] == "self" else 0)
        if func.name == "__init__" and func in classes:
            sites = [c for c in calls if isinstance(c.func, ast.Name) and c.func.id == classes[func]]
        else:
            sites = [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr == func.name]
        found = set()
        for site in sites:
            passed = next((k.value for k in site.keywords if k.arg == name), None)
            if passed is None and 0 <= index < len(site.args):
                passed = site.args[index]
            if passed is not None:
                found |= expression_origins(passed, depth + 1)
        if not found:
            defaults = func.args.defaults
            offset = len(func.args.args) - len(defaults)
            position = names.index(name)
            if position >= offset:
                found.add(defaults[position - offset].lineno)
        return found

    def expression_origins(expr, depth=0) -> set:
        func = enclosing(expr)
        if isinstance(expr, ast.Name) and func is not None and expr.id in params(func):
            return origins(func, expr.id, depth) | {expr.lineno}  # every hop of the chain
        return {expr.lineno}

    out = set()
    for call in calls:
        if call.lineno == line:
            for expr in list(call.args) + [k.value for k in call.keywords]:
                out |= expression_origins(expr)
    return out


# -- comparing ------------------------------------------------------------------------------------------
def concrete(shape) -> Optional[tuple]:
    if shape is None or not shape.ranked:
        return None
    dims = []
    for d in shape.dims:
        if isinstance(d, int) or getattr(d, "is_Integer", False):
            dims.append(int(d))
        else:
            return None
    return tuple(dims)


@dataclass
class Stats:
    programs: int = 0
    ran_ok: int = 0
    raised: int = 0
    found: int = 0  # raised, and shapels reports an error on an allowed line (or a moved one whose fix runs)
    moved: int = 0  # found with the blame on a producer upstream, its fix checked by running it
    injected: int = 0
    layer_checks: int = 0
    binding_checks: int = 0
    missed: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    missed_examples: list = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.raised if self.raised else 1.0

    def __str__(self) -> str:
        return (
            f"programs={self.programs} ran_ok={self.ran_ok} raised={self.raised} injected_bug={self.injected} "
            f"recall={self.found}/{self.raised}={self.recall:.3f} (blame moved upstream, fix runs: {self.moved}) "
            f"layer_shape_checks={self.layer_checks} "
            f"binding_shape_checks={self.binding_checks}\n  torch exceptions: {dict(self.exceptions)}"
            f"\n  missed (raising layer or exception): {dict(self.missed.most_common(12))}"
        )


def describe(program: Program, run: RunResult, findings) -> str:
    lines = [f"bug: {program.bug} at line {program.bug_line}"]
    if run.error is not None:
        lines.append(
            f"torch raised {type(run.error).__name__} at line {run.error_line} "
            f"(layer {run.raising_layer} built at line {run.raising_layer_line}): {str(run.error)[:300]}"
        )
    else:
        lines.append("torch ran without error")
    for f in findings:
        lines.append(f"shapels: {f.severity} {f.code} line {f.span.start_line}: {f.message}")
    lines.append(numbered(program.source))
    return "\n".join(lines)


def allowed_lines(program: Program, run: RunResult) -> set:
    """The raising statement, the raising layer's constructor, where its arguments were written, the bug."""
    allowed = run.allowed_lines | origin_lines(program.source, run.raising_layer_line)
    return allowed | ({program.bug_line} if program.bug_line else set())


def with_fix(program: Program, fix) -> Optional[Program]:
    """The program with a diagnostic's one-line fix applied (to the run copy too: same lines)."""
    span = fix.span if fix is not None else None
    if span is None or span.start_line != span.end_line:
        return None
    source, instrumented = program.source.splitlines(True), program.instrumented.splitlines(True)
    i = span.start_line - 1
    line = source[i].rstrip("\n")
    if not instrumented[i].startswith(line) or span.end_col > len(line):
        return None
    # a forward's line carries its recorder call after the source's text (`x = f(x); _rec('x', x)`)
    source[i] = line[: span.start_col] + fix.content + source[i][span.end_col:]
    instrumented[i] = line[: span.start_col] + fix.content + instrumented[i][span.end_col:]
    return replace(program, source="".join(source), instrumented="".join(instrumented))


def fix_makes_it_run(program: Program, finding) -> bool:
    """A diagnostic away from torch's raising layer is right when its fix, applied, makes the program
    run: the blame moved to the producer (`conv2`'s out_channels) because only that fix was consistent."""
    fixed = with_fix(program, finding.fix)
    return fixed is not None and run_for_real(fixed).error is None


def check_program(program: Program, stats: Optional[Stats] = None, check_bindings: bool = True) -> None:
    run = run_for_real(program)
    result = analyze(program.source, "fuzz_program.py", OPTIONS)
    errors = [f for f in result.findings if f.severity == "error"]
    info = describe(program, run, result.findings)

    # 1. no false positive
    moved = []  # errors blamed upstream of torch's raising layer, whose fix makes the program run
    if run.error is None:
        assert not errors, "shapels reports an error but torch ran the program:\n" + info
    else:
        allowed = allowed_lines(program, run)
        away = [f for f in errors if f.span.start_line not in allowed]
        moved = [f for f in away if fix_makes_it_run(program, f)]
        stray = [f for f in away if f not in moved]
        assert not stray, f"shapels reports an error away from where torch raised (allowed lines {sorted(allowed)}):\n" + info

    # 2. no wrong shape
    layer_checks = binding_checks = 0
    for module in result.modules:
        for layer in module.layers:
            claimed = concrete(layer.output)
            if claimed is None or layer.span is None:
                continue
            real = run.layer_outputs.get(layer.span.start_line)
            if not real:
                continue
            layer_checks += 1
            assert claimed in real, (
                f"shapels says layer {layer.name} ({layer.kind}, line {layer.span.start_line}) outputs {claimed}, "
                f"torch gave {sorted(set(real))}:\n" + info
            )
        if not check_bindings:
            continue
        for binding in module.bindings:
            claimed = concrete(binding.shape)
            if claimed is None:
                continue
            real = run.bindings.get((binding.span.start_line, binding.name))
            if not real:
                continue
            binding_checks += 1
            assert claimed in real, (
                f"shapels says {binding.name} on line {binding.span.start_line} is {claimed}, "
                f"torch gave {sorted(set(real))}:\n" + info
            )

    if stats is not None:
        stats.programs += 1
        stats.injected += program.bug is not None
        stats.layer_checks += layer_checks
        stats.binding_checks += binding_checks
        if run.error is None:
            stats.ran_ok += 1
        else:
            stats.raised += 1
            stats.exceptions[type(run.error).__name__] += 1
            allowed = allowed_lines(program, run)
            if moved:
                stats.found += 1
                stats.moved += 1
            elif any(f.span.start_line in allowed for f in errors):
                stats.found += 1
            else:
                stats.missed[run.raising_layer or f"<{type(run.error).__name__} at statement>"] += 1
                if len(stats.missed_examples) < 5:
                    stats.missed_examples.append(info)


# -- the fuzz test ----------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_program_differential():
    stats = Stats()
    violations: list = []
    check = checker(check_program, stats, violations, COLLECT)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("SHAPELS_FUZZ_EXAMPLES"),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(programs())
    def fuzz(program):
        check(program)

    fuzz()
    report("program differential", stats, violations, COLLECT)
    if stats.raised >= 20:
        assert stats.recall >= RECALL_FLOOR, f"recall fell below {RECALL_FLOOR}: {stats}"
