"""`shapels check|shapes|confirm|serve`: one core behind every command.

Exit status of `check`: 0 when no error was found, 1 when any was (a syntax error is one), 2 for a
usage error or an internal failure (DESIGN.md part B). A usage error: a path that does not exist or
holds no Python file, an unreadable `--input`, or an input entry (`--input`, `[tool.shapels]`) that
names a class or forward parameter that does not exist. `--fix`/`--diff`: shapels/fixes.py.

A Jupyter notebook (`*.ipynb`, named or under a folder) is analysed as one program of its code cells
(shapels/notebooks.py); its findings name the cell (`nb.ipynb:cell 3:2:5: ...`). A notebook that
cannot be read (bad JSON, an unknown nbformat) is named on stderr with the reason, the other files
are still reported, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from shapels import __version__
from shapels.cli_settings import Settings, UsageError, check_inputs, load_settings  # noqa: F401 - the CLI's names
from shapels.codes import ANALYSIS_INTERNAL_ERROR, MISSING_INPUT, SYNTAX_ERROR
from shapels.file_check import shown_path, analyse_file, with_cli_findings, with_notebook
from shapels.sources import SKIP_DIRS, read_source

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
PATTERNS = ("*.py", "*.ipynb")


def iter_python_files(paths: list) -> list:
    """The files to analyse: each file named, and the *.py files and notebooks (*.ipynb) under each
    folder named. A path that does not exist, or a folder that holds neither, is a usage error."""
    files, seen = [], set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [c for c in sorted(c for pattern in PATTERNS for c in path.rglob(pattern))
                     if c.is_file() and not SKIP_DIRS.intersection(c.relative_to(path).parts[:-1])]
            if not found:
                raise UsageError(f"{raw}: no Python file (*.py) or notebook (*.ipynb) in this folder")
        elif path.is_file():
            found = [path]
        else:
            raise UsageError(f"{raw}: no such file or directory")
        for candidate in found:
            key = os.path.abspath(candidate)
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    return files


def read_all(files: list) -> tuple:
    """(texts, notebooks): each file's text; for a notebook, the text of its program, and in
    `notebooks` its Program (or the NotebookError that says why it cannot be read; its text is "")."""
    from shapels.notebooks import NotebookError, is_notebook, program_of, read_notebook

    texts, notebooks = {}, {}
    for path in files:
        if is_notebook(path):
            try:
                program = program_of(read_notebook(path))
            except NotebookError as error:
                notebooks[path], texts[path] = error, ""
            else:
                notebooks[path], texts[path] = program, program.text
            continue
        try:
            texts[path] = read_source(path)
        except OSError as error:
            raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None
    return texts, notebooks


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def cmd_check(args) -> int:
    if args.diff and args.format != "text":
        raise UsageError("--diff prints a unified diff; it cannot be combined with --format " + args.format)
    files = iter_python_files(args.paths)
    settings = load_settings(args.paths, args.input)
    texts, notebooks = read_all(files)
    check_inputs(settings, texts)
    if args.diff or args.fix:
        return _check_and_fix(args, files, texts, notebooks, settings)
    from shapels.parallel_check import analyse_files

    outcomes = analyse_files(files, texts, notebooks, settings.options, args.strict, args.jobs, not args.no_cache)
    return _report(args, files, outcomes)


def _report(args, files: list, outcomes: list, fixed: int = 0) -> int:
    from shapels import output

    results = [r for r in outcomes if r is not None]
    if args.format == "json":
        print(output.check_json(results))
    elif args.format == "sarif":
        print(output.check_sarif(results))
    else:
        text = output.check_text(results)
        if text:
            print(text)
    errors = sum(1 for r in results for f in r.findings if f.severity == "error")
    if args.format == "text":
        sys.stdout.flush()  # the findings first, then the summary, even when both streams share a pipe
        summary = f"{_plural(errors, 'error')} in {_plural(len(files), 'file')}"
        if args.fix:
            summary = f"fixed {_plural(fixed, 'error')}; {summary} left"
        unchecked = sum(1 for r in results for f in r.findings if f.code == MISSING_INPUT and f.severity != "error")
        if unchecked:
            summary += (f"; {_plural(unchecked, 'class')} not checked for lack of an input shape "
                        "(missing-input; --strict fails on them)")
        print(summary, file=sys.stderr)
    return EXIT_USAGE if _internal_failure(outcomes) else EXIT_FOUND if errors else EXIT_OK


def _check_and_fix(args, files: list, texts: dict, notebooks: dict, settings: Settings) -> int:
    """--fix: apply the offered fixes one at a time, write the files and report what is left.
    --diff: print what --fix would change, and exit 1 when it would change anything."""
    outcomes, fixed, changed, syntax_errors, unwritten = [], 0, 0, 0, 0
    for path in files:
        fixer = _fix_notebook if path in notebooks else _fix_file
        result, applied, not_written = fixer(args, path, shown_path(str(path)), texts, notebooks, settings)
        unwritten += not_written
        if applied:
            changed += 1
            fixed += applied
        if result is not None:
            program = getattr(result, "notebook", None)
            syntax_errors += result.syntax_error is not None or bool(program is not None and program.broken)
        outcomes.append(result)
    if args.diff:
        sys.stdout.flush()
        print(f"would fix {_plural(fixed, 'error')} in {_plural(changed, 'file')}"
              + (f"; {_plural(syntax_errors, 'file')} with a syntax error" if syntax_errors else ""), file=sys.stderr)
        return EXIT_USAGE if _internal_failure(outcomes) else EXIT_FOUND if changed or syntax_errors else EXIT_OK
    status = _report(args, files, outcomes, fixed)
    return EXIT_USAGE if unwritten else status


def _fix_file(args, path, shown, texts, notebooks, settings):
    """One .py file through fixes.fix_text: (result, number of fixes applied) or a bare result (None
    or not fixed) for the report."""
    from shapels.analysis.engine import analyze
    from shapels.fixes import SourceFile, UnreadableSource, fix_text, unified_diff

    try:
        source = SourceFile.read(path)
    except (OSError, UnreadableSource) as error:
        print(f"{shown}: {error}", file=sys.stderr)
        return analyse_file(path, texts[path], settings.options, args.strict), 0, False
    try:
        outcome = fix_text(source.text, lambda text: analyze(text, str(path), settings.options))
    except Exception as error:  # noqa: BLE001 - a bug on one file must not cost the others' results
        print(f"{shown}: not fixed, internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return None, 0, False
    _say_applied(args, shown, outcome)
    if outcome.changed:
        if args.diff:
            sys.stdout.write(unified_diff(outcome.original, outcome.text, shown))
        else:
            try:
                source.write(outcome.text)
            except OSError as error:
                print(f"{shown}: not fixed, cannot write it: {error.strerror or error}", file=sys.stderr)
                return analyse_file(path, texts[path], settings.options, args.strict), 0, True
    result = with_cli_findings(outcome.result, outcome.text, args.strict)
    return result, len(outcome.applied) if outcome.changed else 0, False


def _fix_notebook(args, path, shown, texts, notebooks, settings):
    """A notebook through fixes.fix_text: the edits go into the cells (notebooks.NotebookFile), the
    diff is shown per cell (`nb.ipynb:cell 3`), and the file is rewritten with only those cells'
    sources changed."""
    from shapels.analysis.engine import analyze
    from shapels.fixes import fix_text, unified_diff
    from shapels.notebooks import NotebookError, NotebookFile

    program = notebooks[path]
    if isinstance(program, NotebookError):
        return analyse_file(path, "", settings.options, args.strict, program), 0, False
    try:
        notebook = NotebookFile.read(path)
    except NotebookError as error:
        print(f"{shown}: {error}", file=sys.stderr)
        return None, 0, False

    def locate(text: str, line: int) -> tuple:
        cell, row = notebook.program(text).locate(line)
        return cell + 1, row

    try:
        outcome = fix_text(notebook.original.text, lambda text: analyze(text, str(path), settings.options),
                           apply=notebook.apply, locate=locate)
    except Exception as error:  # noqa: BLE001 - a bug on one file must not cost the others' results
        print(f"{shown}: not fixed, internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return None, 0, False
    _say_applied(args, shown, outcome)
    if outcome.changed:
        if args.diff:
            for index, before, after in notebook.changed_cells(outcome.text):
                sys.stdout.write(unified_diff(before, after, f"{shown}:cell {index + 1}"))
        else:
            try:
                notebook.write(outcome.text)
            except OSError as error:
                print(f"{shown}: not fixed, cannot write it: {error.strerror or error}", file=sys.stderr)
                return analyse_file(path, texts[path], settings.options, args.strict, program), 0, True
    result = with_notebook(with_cli_findings(outcome.result, outcome.text, args.strict), notebook.program(outcome.text))
    return result, len(outcome.applied) if outcome.changed else 0, False


def _say_applied(args, shown: str, outcome) -> None:
    for applied in outcome.applied:
        verb = "would fix" if args.diff else "fixed"
        where = f"cell {applied.cell}:{applied.line}" if applied.cell is not None else f"{applied.line}"
        print(f"{shown}:{where}: {verb} {applied.code}: {applied.message}", file=sys.stderr)
    if outcome.stopped:
        print(f"{shown}: {outcome.stopped}", file=sys.stderr)


def _internal_failure(outcomes: list) -> bool:
    """A file not analysed, or a statement or class of one given up, for a bug in shapels: exit 2, as
    the contract says, after every result that was found is printed."""
    return any(r is None or any(f.code == ANALYSIS_INTERNAL_ERROR for f in r.findings) for r in outcomes)


def cmd_shapes(args) -> int:
    from shapels import output

    files = iter_python_files([args.path])
    settings = load_settings([args.path], args.input)
    texts, notebooks = read_all(files)
    check_inputs(settings, texts)
    outcomes = [analyse_file(path, texts[path], settings.options, notebook=notebooks.get(path)) for path in files]
    broken = False
    for result in outcomes:
        if result is None:
            continue
        program = getattr(result, "notebook", None)
        if result.syntax_error is not None or (program is not None and program.broken):
            broken = True
            for f in result.findings:
                if f.code == SYNTAX_ERROR or result.syntax_error is not None:
                    print(output.finding_text(result, f), file=sys.stderr)
            if result.syntax_error is not None:
                continue
        print(output.shapes_json(result) if args.format == "json" else output.shapes_text(result))
    return EXIT_USAGE if _internal_failure(outcomes) else EXIT_FOUND if broken else EXIT_OK


def cmd_serve(args) -> int:
    try:
        from shapels.lsp.server import run_stdio
    except ImportError as error:
        print(f"shapels serve: the language server is not available: {error}", file=sys.stderr)
        return EXIT_USAGE
    run_stdio()
    return EXIT_OK


def cmd_confirm(args) -> int:
    try:
        from shapels.confirm.cli import run_confirm
    except ImportError as error:
        print(f"shapels confirm: not available: {error}", file=sys.stderr)
        return EXIT_USAGE
    return run_confirm(args)


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of processes, 1 or more")
    return n


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shapels", description="Find tensor-shape bugs in PyTorch models without running them.")
    p.add_argument("--version", action="version", version=f"shapels {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="report shape mismatches in files or directories")
    check.add_argument("paths", nargs="+")
    check.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    check.add_argument("--input", action="append", default=[], metavar="CLASS:PARAM=(1,3,64,64)",
                       help="input shape for a module's forward parameter (repeatable)")
    check.add_argument("--strict", action="store_true",
                       help="a module class left unchecked for lack of an input shape (missing-input) is an error")
    fixing = check.add_mutually_exclusive_group()
    fixing.add_argument("--fix", action="store_true",
                        help="apply the verified fixes to the files, one at a time, and report what is left")
    fixing.add_argument("--diff", action="store_true",
                        help="print the verified fixes as a unified diff instead of applying them; exit 1 if any")
    check.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                       help="analyse in N worker processes (default: one per CPU, for more than a few small files; "
                            "1: in this process)")
    check.add_argument("--no-cache", action="store_true",
                       help="analyse every file afresh, without reading or writing the results cache "
                            "($SHAPELS_CACHE_DIR, else $XDG_CACHE_HOME/shapels or ~/.cache/shapels)")
    check.set_defaults(func=cmd_check)

    shapes = sub.add_parser("shapes", help="print every layer's input and output shape, without running")
    shapes.add_argument("path")
    shapes.add_argument("--format", choices=["text", "json"], default="text")
    shapes.add_argument("--input", action="append", default=[], metavar="CLASS:PARAM=(1,3,64,64)")
    shapes.set_defaults(func=cmd_shapes)

    confirm = sub.add_parser("confirm", help="run the model for real and compare with the static shapes")
    confirm.add_argument("path")
    confirm.add_argument("--device", choices=["auto", "cuda", "cpu", "meta"], default="auto")
    confirm.add_argument("--format", choices=["text", "json"], default="text")
    confirm.add_argument("--timeout", type=float, default=60.0, help="seconds before the run is stopped")
    confirm.add_argument("--memory-mb", type=int, default=4096, help="memory cap of the worker process")
    confirm.add_argument("--input", action="append", default=[], metavar="CLASS:PARAM=(1,3,64,64)",
                         help="input shape for a model without a driver (as for check)")
    confirm.set_defaults(func=cmd_confirm)

    serve = sub.add_parser("serve", help="run the language server on stdio")
    serve.add_argument("--stdio", action="store_true", help="accepted for editors; stdio is the only transport")
    serve.set_defaults(func=cmd_serve)
    return p


def main(argv: Optional[list] = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    try:
        return args.func(args)
    except UsageError as error:
        for line in str(error).splitlines():
            print(f"shapels: {line}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - an internal failure is exit 2 with a message, never a traceback dump
        print(f"shapels: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
