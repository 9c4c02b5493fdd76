"""`shapels check|shapes|confirm|serve`: one core behind every command.

Exit status of `check`: 0 when no error was found, 1 when any was, 2 for a usage error or an
internal failure (DESIGN.md part B).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from shapels import __version__

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", "build", "dist"}


class UsageError(Exception):
    pass


def iter_python_files(paths: list) -> list:
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*.py")):
                if not SKIP_DIRS.intersection(candidate.relative_to(path).parts[:-1]):
                    files.append(candidate)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or directory")
    return files


def read_source(path: Path) -> str:
    """Text as Python reads it: UTF-8 (BOM allowed); undecodable bytes are replaced, never fatal."""
    data = path.read_bytes()
    return data.decode("utf-8-sig", errors="replace")


def build_options(paths: list, cli_inputs: list):
    from shapels.analysis.inputs import parse_cli_input
    from shapels.config import find_pyproject, options_from_section, read_tool_section

    start = Path(paths[0]) if paths else Path.cwd()
    section, problem = read_tool_section(find_pyproject(start if start.exists() else Path.cwd()))
    if problem:
        print(f"shapels: {problem}", file=sys.stderr)
    options, problems = options_from_section(section)
    for p in problems:
        print(f"shapels: [tool.shapels] {p}; using the default", file=sys.stderr)
    for text in cli_inputs or []:
        parsed = parse_cli_input(text)
        if parsed is None:
            raise UsageError(f"--input {text!r}: expected 'Class:param=(1,3,64,64)'")
        cls, param, spec = parsed
        options.inputs.setdefault(cls, {})[param] = spec
    from shapels.imports import FileLoader

    options.loader = FileLoader(roots=[Path.cwd()])
    return options


def analyze_files(files: list, options) -> list:
    from shapels.analysis.engine import analyze

    results = []
    for path in files:
        try:
            result = analyze(read_source(path), str(path), options)
        except Exception as error:  # noqa: BLE001 - a bug on one file must not cost the others' results
            print(f"{path}: not analysed, internal error: {type(error).__name__}: {error}", file=sys.stderr)
            results.append(None)
            continue
        if result.syntax_error is not None:
            e = result.syntax_error
            print(f"{path}:{e.line}:{e.column + 1}: not analysed, syntax error: {e.message}", file=sys.stderr)
        results.append(result)
    return results


def cmd_check(args) -> int:
    from shapels import output

    files = iter_python_files(args.paths)
    outcomes = analyze_files(files, build_options(args.paths, args.input))
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
        print(f"{errors} error{'s' if errors != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}", file=sys.stderr)
    return EXIT_USAGE if _internal_failure(outcomes) else EXIT_FOUND if errors else EXIT_OK


def _internal_failure(outcomes: list) -> bool:
    """A file not analysed, or a statement or class of one given up, for a bug in shapels: exit 2, as
    the contract says, after every result that was found is printed."""
    return any(r is None or any(f.code == "analysis-internal-error" for f in r.findings) for r in outcomes)


def cmd_shapes(args) -> int:
    from shapels import output

    files = iter_python_files([args.path])
    outcomes = analyze_files(files, build_options([args.path], args.input))
    for result in outcomes:
        if result is not None:
            print(output.shapes_json(result) if args.format == "json" else output.shapes_text(result))
    return EXIT_USAGE if _internal_failure(outcomes) else EXIT_OK


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shapels", description="Find tensor-shape bugs in PyTorch models without running them.")
    p.add_argument("--version", action="version", version=f"shapels {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="report shape mismatches in files or directories")
    check.add_argument("paths", nargs="+")
    check.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    check.add_argument("--input", action="append", default=[], metavar="CLASS:PARAM=(1,3,64,64)",
                       help="input shape for a module's forward parameter (repeatable)")
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
        print(f"shapels: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - an internal failure is exit 2 with a message, never a traceback dump
        print(f"shapels: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
