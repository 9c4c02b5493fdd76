"""What the CLI adds to the engine's findings, and how it checks the inputs it is given.

- A file the engine could not parse becomes a `syntax-error` finding at the line and column Python
  itself reports (`compile()`), not libcst's, which may point lines later.
- A module class whose forward got no input shape (no driver, nothing configured: its input stayed a
  tensor of unknown shape) gets a `missing-input` note that says how to give one; `--strict` makes
  it an error.
- An `--input` or `[tool.shapels]` inputs entry that names no class, or no parameter of its class's
  forward, is a usage error that lists the names that exist (`check_inputs`).

Nothing here changes the engine: the notes are derived from `AnalysisResult.modules`.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from shapels.analysis.engine import AnalysisResult
from shapels.analysis.findings import Finding
from shapels.analysis.positions import Span
from shapels.analysis.suppression import silenced
from shapels.codes import MISSING_INPUT, SYNTAX_ERROR

EXAMPLE = "1, 3, 64, 64"
KERAS_EXAMPLE = "1, 64, 64, 3"  # channels-last, as Keras takes images


class InputError(Exception):
    """An input entry that names a class or parameter that does not exist (a usage error)."""


# -- syntax errors -----------------------------------------------------------------------------------
def syntax_finding(text: str, path: str, fallback) -> Finding:
    """The `syntax-error` finding for a file the engine could not parse: where Python says the error
    is, with Python's message; libcst's position (`fallback`, a SyntaxProblem) only when Python
    accepts the file."""
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        if error.lineno is None:  # "source code string cannot contain null bytes" and the like
            line, col = _first_nul(text)
        else:
            line, col = error.lineno, max((error.offset or 1) - 1, 0)
        end_line, end_col = error.end_lineno, (error.end_offset or 0) - 1
        if end_line is None or (end_line, end_col) <= (line, col):
            end_line, end_col = line, col + 1  # Python gives no end: one character
        message = f"SyntaxError: {error.msg}; the file was not analysed"
        return Finding(SYNTAX_ERROR, "error", message, None, span=Span(line, col, end_line, end_col))
    except ValueError as error:  # null bytes, on Pythons that raise ValueError for them
        line, col = _first_nul(text)
        return Finding(SYNTAX_ERROR, "error", f"SyntaxError: {error}; the file was not analysed", None,
                       span=Span(line, col, line, col + 1))
    except (RecursionError, MemoryError) as error:
        line, col = fallback.line, fallback.column
        return Finding(SYNTAX_ERROR, "error", f"Python cannot compile this file ({type(error).__name__}); "
                       "the file was not analysed", None, span=Span(line, col, line, col))
    line, col = max(fallback.line, 1), max(fallback.column, 0)
    return Finding(SYNTAX_ERROR, "error", f"shapels cannot parse this file, which Python accepts ({fallback.message}); "
                   "the file was not analysed", None, span=Span(line, col, line, col))


def _first_nul(text: str) -> tuple:
    offset = text.find("\0")
    if offset < 0:
        return 1, 0
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


# -- classes that got no input -----------------------------------------------------------------------
def missing_input_notes(result: AnalysisResult, strict: bool = False) -> list:
    """A note on each module class whose forward ran with an input of wholly unknown shape: no driver
    reached it with a tensor it knows and no input was configured, so nothing that depends on that
    input was checked. A class that another class of the file calls is left out: its caller is the
    one to give an input to (its note says so), and that checks both."""
    modules = [m for m in result.class_runs if m.forward_span is not None]
    called = {kind for m in modules for kind in m.called if kind != m.name}
    lines = result.text.splitlines()
    notes = []
    for m in modules:
        unknown = [name for name, shape in m.inputs.items() if shape is not None and not shape.ranked and not shape.dims]
        if not unknown or m.name in called:
            continue
        span = _class_name_span(m, lines)
        line_text = lines[span.start_line - 1] if 0 < span.start_line <= len(lines) else ""
        if silenced(line_text, MISSING_INPUT):
            continue
        method = _method_name(m, lines)
        notes.append(Finding(MISSING_INPUT, "error" if strict else "information", _note(m, unknown, strict, method),
                             None, span=span, module=m.name))
    return notes


def _note(m, unknown: list, strict: bool, method: str = "forward") -> str:
    p = unknown[0]
    names = p if len(unknown) == 1 else ", ".join(unknown[:-1]) + " and " + unknown[-1]
    why = "no driver calls it; no input configured" if m.source == "symbolic" else "its caller passes an unknown shape"
    each = f" (one per parameter: {names})" if len(unknown) > 1 else ""
    keras = method == "call"  # a Keras model or layer: images are channels-last
    example, axes = (KERAS_EXAMPLE, "B 64 64 3") if keras else (EXAMPLE, "B 3 64 64")
    text = (f"{m.name} was not checked against an input: {method}'s {names} {'has' if len(unknown) == 1 else 'have'} "
            f"no shape ({why}). Give one{each}: --input '{m.name}:{p}=({example})', \"{m.name}.{p}\" = [{example}] "
            f"in [tool.shapels.inputs], '# shapels: input {p}=({example})' above def {method}"
            + ("" if keras else f", or {p}: Float[Tensor, \"{axes}\"] (jaxtyping)"))
    return text + (" [--strict]" if strict else "")


def _method_name(m, lines: list) -> str:
    """The method a call of the class runs, as the file writes it (`forward`, Keras's `call`)."""
    span = m.forward_span
    found = re.search(r"\bdef\s+(\w+)", lines[span.start_line - 1]) if span and 0 < span.start_line <= len(lines) else None
    return found.group(1) if found else "forward"


def _class_name_span(m, lines: list) -> Span:
    pattern = re.compile(rf"\bclass\s+({re.escape(m.name)})\b")
    for line_no in range(m.span.start_line, min(m.span.end_line, len(lines)) + 1):
        found = pattern.search(lines[line_no - 1])
        if found:
            return Span(line_no, found.start(1), line_no, found.end(1))
    return Span(m.span.start_line, m.span.start_col, m.span.start_line, m.span.start_col)


def add_cli_findings(result: AnalysisResult, text: str, strict: bool = False) -> AnalysisResult:
    """The syntax error as a finding, and the notes on classes without input, sorted in with the rest."""
    extra = []
    if result.syntax_error is not None:
        extra.append(syntax_finding(text, result.path, result.syntax_error))
    else:
        extra.extend(missing_input_notes(result, strict))
    if extra:
        result.findings = sorted(list(result.findings) + extra,
                                 key=lambda f: (f.span.start_line, f.span.start_col, f.code))
    return result


# -- checking the inputs the user gave ---------------------------------------------------------------
@dataclass
class InputEntry:
    cls: str
    param: str
    spec: object
    origin: str  # how the user wrote it, for messages: "--input 'Net:x=(1, 3)'"
    configured: bool = False  # from [tool.shapels] (may name a class of a file not checked now)


@dataclass
class ClassEntry:
    params: Optional[list]  # forward's parameters that take an input; None: not known (inherited from elsewhere)
    has_forward: bool
    where: str = ""
    keyword_only: tuple = ()  # forward's keyword-only parameters: the engine gives them no input


@dataclass
class ClassTable:
    classes: dict = field(default_factory=dict)  # name -> [ClassEntry, ...] (one per file that defines it)
    unparsed: list = field(default_factory=list)  # texts Python could not parse

    def add_file(self, text: str, where: str) -> None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.unparsed.append(text)
            return
        for name, entry in classes_of(tree, where).items():
            self.classes.setdefault(name, []).append(entry)

    def defines(self, name: str) -> bool:
        return name in self.classes or any(_defines(text, name) for text in self.unparsed)

    def with_forward(self) -> list:
        return sorted(n for n, entries in self.classes.items() if any(e.has_forward for e in entries))


def _defines(text: str, name: str) -> bool:
    return re.search(rf"^[ \t]*class[ \t]+{re.escape(name)}\b", text, re.M) is not None


def classes_of(tree: ast.Module, where: str = "") -> dict:
    """Every class of a file: whether it has a forward (its own, or a base's in the same file) and that
    forward's parameters after self (the ones an input is given for, as the engine reads them)."""
    defs = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}

    def lookup(node: ast.ClassDef, seen: set) -> Optional[ClassEntry]:
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "forward":
                args = item.args
                return ClassEntry([a.arg for a in args.posonlyargs + args.args][1:], True, where,
                                  tuple(a.arg for a in args.kwonlyargs))
        for base in node.bases:
            name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
            if name in defs and name not in seen:
                found = lookup(defs[name], seen | {name})
                if found is not None:
                    return found
        return None

    out = {}
    for name, node in defs.items():
        found = lookup(node, {name})
        if found is not None:
            out[name] = found
        elif any(not (isinstance(b, ast.Name) and b.id in ("object",)) for b in node.bases):
            out[name] = ClassEntry(None, False, where)  # its forward, if any, comes from an imported base
        else:
            out[name] = ClassEntry([], False, where)
    return out


def check_inputs(entries: list, table: ClassTable, project_root: Optional[Path] = None) -> None:
    """Raise InputError for the first entry that names a class no checked file defines, or a parameter
    its forward does not take. A [tool.shapels] entry may name a class of another file of the project
    (pre-commit checks only the files a commit changes): it is looked for under `project_root` too."""
    problems = []
    for entry in entries:
        candidates = table.classes.get(entry.cls)
        if candidates is None and table.defines(entry.cls):
            continue  # defined in a file Python cannot parse: that file's syntax error is the finding
        if candidates is None and entry.configured and project_root is not None:
            candidates = _find_in_project(project_root, entry.cls)
        if candidates is None:
            known = table.with_forward()
            listed = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "") if known else "none"
            where = " or any Python file under " + _show(project_root) if entry.configured and project_root else ""
            problems.append(f"{entry.origin}: no class {entry.cls} in the files checked{where}; "
                            f"classes with a forward there: {listed}")
            continue
        known_params = [e.params for e in candidates if e.params is not None]
        if len(known_params) < len(candidates):
            continue  # a forward inherited from an imported class: its parameters are not known here
        if any(entry.param in params for params in known_params):
            continue
        names = sorted({p for params in known_params for p in params})
        if not any(e.has_forward for e in candidates):
            problems.append(f"{entry.origin}: class {entry.cls} has no forward method, so it takes no input")
        else:
            listed = ", ".join(names) if names else "none after self"
            keyword_only = any(entry.param in e.keyword_only for e in candidates)
            what = "takes an input only for a positional parameter, not the keyword-only" if keyword_only else "has no parameter"
            problems.append(f"{entry.origin}: {entry.cls}.forward {what} {entry.param!r}; "
                            f"its parameters: {listed}")
    if problems:
        raise InputError("\n".join(problems))


def _show(path: Path) -> str:
    from shapels.output import display_path

    return display_path(str(path)) or "."


def _find_in_project(root: Path, name: str) -> Optional[list]:
    """The entries for class `name` in the Python files under root, or None when none defines it."""
    from shapels.sources import SKIP_DIRS, read_source

    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for file in sorted(files):
            if not file.endswith(".py"):
                continue
            path = Path(folder) / file
            try:
                text = read_source(path)
            except OSError:
                continue
            if not _defines(text, name):
                continue
            try:
                entries = classes_of(ast.parse(text), str(path))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return [ClassEntry(None, True, str(path))]  # it is there; its parameters cannot be read
            if name in entries:
                found.append(entries[name])
    return found or None
