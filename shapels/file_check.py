"""One file's check result: the engine's analysis with the CLI's own findings (syntax errors, classes
without input) and a notebook's cells attached. Shared by `shapels check` in-process (cli.py) and its
worker processes (parallel_check.py), which is why it sits below both."""

from __future__ import annotations

import sys
from pathlib import Path

from shapels.codes import ANALYSIS_INTERNAL_ERROR, SYNTAX_ERROR


def shown_path(path: str) -> str:
    from shapels.output import display_path

    return display_path(path)


def analyse_file(path: Path, text: str, options, strict: bool = False, notebook=None):
    """The file's AnalysisResult with the CLI's findings added (syntax error, classes without input),
    or None when the analysis failed (a bug in shapels, named on stderr) or the notebook could not be
    read (`notebook` a NotebookError, named on stderr). For a notebook (`notebook` its Program, whose
    text is `text`), the result carries the program as `result.notebook`, for the outputs."""
    from shapels.analysis.engine import analyze
    from shapels.analysis.stack_room import with_stack_room
    from shapels.notebooks import NotebookError

    if isinstance(notebook, NotebookError):
        print(f"{shown_path(str(path))}: {notebook}", file=sys.stderr)
        return None
    try:
        result = analyze(text, str(path), options)
    except Exception as error:  # noqa: BLE001 - a bug on one file must not cost the others' results
        print(f"{shown_path(str(path))}: not analysed, internal error: {type(error).__name__}: {error}",
              file=sys.stderr)
        return None
    # the CLI's findings place the classes without input: libcst's codegen of the whole file, recursive
    return with_notebook(with_stack_room(with_cli_findings, result, text, strict), notebook)


def with_notebook(result, program):
    """A notebook's result: the program attached (outputs place findings in cells with it), and a
    `syntax-error` finding on each code cell that does not compile (that cell was left out, the
    others analysed, as Jupyter would run them)."""
    if program is None:
        return result
    from shapels.analysis.findings import Finding
    from shapels.analysis.positions import Span

    result.notebook = program
    broken = []
    for b in program.broken:
        first = program.program_line(b.cell, 1)
        span = Span(first + b.line - 1, b.column, first + b.end_line - 1, b.end_column)
        broken.append(Finding(SYNTAX_ERROR, "error", f"{b.message}; this cell was not analysed", None, span=span))
    if broken:
        result.findings = broken + list(result.findings)
    return result


def with_cli_findings(result, text: str, strict: bool = False):
    """add_cli_findings; a failure there (a bug in shapels) keeps the engine's findings and adds an
    analysis-internal-error note, so the exit status is 2 as for any internal failure."""
    from shapels.analysis.findings import Finding
    from shapels.analysis.positions import Span
    from shapels.cli_findings import add_cli_findings

    try:
        return add_cli_findings(result, text, strict)
    except Exception as error:  # noqa: BLE001 - the engine's findings still stand
        result.findings = list(result.findings) + [Finding(
            ANALYSIS_INTERNAL_ERROR, "information",
            f"shapels could not tell which classes got no input shape (internal error, {type(error).__name__}: "
            f"{str(error)[:200]}); the findings above stand. This is a bug in shapels: please report it.",
            None, span=Span(1, 0, 1, 0))]
        return result
