"""Jupyter notebooks as one Python program: for the CLI and the language server alike.

- `read_notebook(path)` / `parse_notebook(raw)`: an `.ipynb` file's cells, read leniently (nbformat
  4, and 3's worksheets; a cell source given as a list of strings or as one string). Anything else
  (bad JSON, another nbformat, a cell that is not an object) is a `NotebookError` with a message a
  user can act on, never another exception.
- `build_program(cells)`: the code cells, in order, as one text the engine analyses. Each code cell
  keeps all its lines, so a line of the program is a line of one cell at the same column. IPython
  lines are blanked where they stand: line magics (`%matplotlib inline`), shell escapes
  (`!pip install x`, `files = !ls`), help (`obj?`), a cell magic's line (`%%time`; a cell under a
  non-Python cell magic such as `%%bash` is blanked whole), and top-level `display(...)` calls. A
  code cell that does not compile even so is blanked too and listed in `Program.broken` (Jupyter
  would run the others).
- `Program.locate(line)`, `Program.cell_span(span)`: a program line or engine span -> the cell
  (its index among *all* cells, markdown included: `cell 3` is `cells[2]`, as ruff counts) and the
  line within it; `Program.program_line(cell_index, line)` the other way (for the server).
- `NotebookFile`: `--fix` on a notebook: the edits go into the cells' sources and the file is
  rewritten by replacing only the changed cells' `source` values in the raw JSON, so every other
  byte (outputs, metadata, key order, indentation) stays as it was.

No I/O besides `read_notebook` and `NotebookFile.write`; nothing here imports the engine.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from shapels.analysis.compile_quiet import warnings_silenced
from shapels.atomic import write_atomically

SUFFIX = ".ipynb"
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # a line with its ending (LSP's and libcst's breaks)
# Cell magics whose body is Python (as ruff reads them); any other cell magic's body is not analysed.
PYTHON_CELL_MAGICS = {"capture", "debug", "prun", "pypy", "python", "python3", "time", "timeit"}
_MAGIC = re.compile(r"^\s*(?:[%!]|\?\?|\?)")  # %line magic, !shell, ?help
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.\[\], ]+\s*=\s*[%!]")  # files = !ls, t = %timeit -o f()
_HELP_SUFFIX = re.compile(r"^\s*[\w.]+\s*\?\??\s*$")  # torch.randn?
_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | ast.PyCF_ONLY_AST


class NotebookError(Exception):
    """A file that cannot be read as a notebook; the message says why."""


def is_notebook(path) -> bool:
    return str(path).lower().endswith(SUFFIX)


@dataclass
class Cell:
    index: int  # among all cells of the notebook, 0-based (shown 1-based: `cell 3` is index 2)
    kind: str  # "code", "markdown", "raw", "heading" (nbformat 3)
    source: str
    uri: Optional[str] = None  # the cell's text document (language server)
    version: Optional[int] = None  # its version when the program was built (language server)
    language: str = "python"

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def is_code(self) -> bool:
        return self.kind == "code" and self.language == "python"


@dataclass
class Broken:
    cell: int  # index among all cells
    line: int  # 1-based, within the cell
    column: int  # 0-based
    end_line: int
    end_column: int
    message: str


@dataclass
class Program:
    text: str  # the code cells, in order, IPython lines blanked: what the engine analyses
    cells: list  # every Cell of the notebook, in order
    rows: list = field(default_factory=list)  # program line (0-based index) -> (cell index, 1-based line in cell)
    first_line: dict = field(default_factory=dict)  # cell index -> its first program line (1-based)
    broken: list = field(default_factory=list)  # Broken: code cells left out, for a syntax error
    blanked: dict = field(default_factory=dict)  # cell index -> 1-based lines blanked (magics, display)

    def locate(self, line: int) -> tuple:
        """A 1-based program line -> (cell index, 1-based line in that cell)."""
        if not self.rows:
            return (self.cells[0].index if self.cells else 0), max(line, 1)
        return self.rows[min(max(line, 1), len(self.rows)) - 1]

    def cell_span(self, span) -> tuple:
        """An engine span (program lines) -> (cell index, the span within that cell). A span that ends
        in a later cell (never one the engine makes) is cut at its start line."""
        cell, start = self.locate(span.start_line)
        end_cell, end = self.locate(span.end_line)
        end_col = span.end_col
        if end_cell != cell:
            end, end_col = start, max(span.start_col, span.end_col if span.end_line == span.start_line else span.start_col)
        return cell, type(span)(start, span.start_col, end, end_col)

    def program_line(self, cell_index: int, line: int) -> Optional[int]:
        """(cell index, 1-based line in it) -> the 1-based program line; None for a cell not in the program."""
        first = self.first_line.get(cell_index)
        return None if first is None else first + line - 1

    def cell(self, index: int) -> Optional[Cell]:
        for c in self.cells:
            if c.index == index:
                return c
        return None

    def code_cells(self) -> list:
        return [c for c in self.cells if c.is_code]


# -- reading ----------------------------------------------------------------------------------------
@dataclass
class NotebookData:
    raw: str  # the file's text
    nbformat: int
    cells: list  # Cell
    paths: list  # per cell, its source's key path in the JSON: ("cells", 3, "source")
    language: str = "python"


def read_notebook(path) -> NotebookData:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise NotebookError(f"cannot read it: {error.strerror or error}") from None
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotebookError(f"not a notebook: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_notebook(raw)


def parse_notebook(raw: str) -> NotebookData:
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a notebook: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise NotebookError("not a notebook: its JSON is nested too deeply") from None
    if not isinstance(doc, dict):
        kind = _json_type(doc)
        raise NotebookError(f"not a notebook: the JSON is a{'n' if kind[0] in 'aeiou' else ''} {kind}, "
                            "not an object with \"cells\"")
    version = doc.get("nbformat", 4 if "cells" in doc else None)
    if isinstance(version, bool) or not isinstance(version, int):
        raise NotebookError("not a notebook: no \"nbformat\" version and no \"cells\" list")
    language = _language(doc.get("metadata"))
    if version == 4 or (version > 4 and "cells" in doc):
        if version > 4:
            pass  # a later minor format with the same layout: read as 4
        return _read_v4(raw, doc, language)
    if version == 3:
        return _read_v3(raw, doc, language)
    raise NotebookError(f"nbformat {version} is not supported (shapels reads nbformat 3 and 4); "
                        "convert it with `jupyter nbconvert --to notebook --inplace`")


def _json_type(value) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), "null")


def _language(metadata) -> str:
    if not isinstance(metadata, dict):
        return "python"
    for key, field_ in (("language_info", "name"), ("kernelspec", "language")):
        block = metadata.get(key)
        if isinstance(block, dict) and isinstance(block.get(field_), str) and block[field_]:
            return block[field_].lower()
    return "python"


def _source(value, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    raise NotebookError(f"not a valid notebook: {where}: its source is a{'n' if _json_type(value)[0] in 'aeiou' else ''} "
                        f"{_json_type(value)}; expected a string or a list of strings")


def _read_v4(raw: str, doc: dict, language: str) -> NotebookData:
    cells_json = doc.get("cells")
    if not isinstance(cells_json, list):
        raise NotebookError("not a valid notebook: \"cells\" is missing or not a list")
    cells, paths = [], []
    for i, cell in enumerate(cells_json):
        if not isinstance(cell, dict):
            raise NotebookError(f"not a valid notebook: cell {i + 1} is not an object")
        kind = cell.get("cell_type")
        kind = kind if isinstance(kind, str) else "raw"
        cells.append(Cell(i, kind, _source(cell.get("source"), f"cell {i + 1}"), language=language))
        paths.append(("cells", i, "source"))
    return NotebookData(raw, 4, cells, paths, language)


def _read_v3(raw: str, doc: dict, language: str) -> NotebookData:
    sheets = doc.get("worksheets")
    if not isinstance(sheets, list):
        raise NotebookError("not a valid nbformat 3 notebook: \"worksheets\" is missing or not a list")
    cells, paths = [], []
    for w, sheet in enumerate(sheets):
        items = sheet.get("cells") if isinstance(sheet, dict) else None
        if not isinstance(items, list):
            raise NotebookError(f"not a valid nbformat 3 notebook: worksheet {w + 1} has no \"cells\" list")
        for i, cell in enumerate(items):
            index = len(cells)
            if not isinstance(cell, dict):
                raise NotebookError(f"not a valid notebook: cell {index + 1} is not an object")
            kind = cell.get("cell_type") if isinstance(cell.get("cell_type"), str) else "raw"
            key = "input" if kind == "code" else "source"
            cell_language = cell.get("language") if isinstance(cell.get("language"), str) else language
            cells.append(Cell(index, kind, _source(cell.get(key), f"cell {index + 1}"), language=cell_language.lower()))
            paths.append(("worksheets", w, "cells", i, key))
    return NotebookData(raw, 3, cells, paths, language)


# -- the program ------------------------------------------------------------------------------------
def split_lines(text: str) -> list:
    """The lines of a text without their endings, as LSP and libcst count them ("a\\n" is two)."""
    return [line.rstrip("\r\n") for line in LINE.findall(text)] + ([""] if not text or text[-1] in "\r\n" else [])


def build_program(cells: list) -> Program:
    """The notebook's code cells as one program (module docstring)."""
    lines: list = []
    program = Program("", list(cells))
    for cell in cells:
        if not cell.is_code:
            continue
        cell_lines = split_lines(cell.source)
        code, blanked, problem = python_lines(cell_lines)
        if problem is not None:
            program.broken.append(Broken(cell.index, *problem))
            code = [""] * len(cell_lines)
        if blanked:
            program.blanked[cell.index] = blanked
        program.first_line[cell.index] = len(lines) + 1
        lines.extend(code)
        program.rows.extend((cell.index, n) for n in range(1, len(code) + 1))
    program.text = "".join(line + "\n" for line in lines)
    return program


def python_lines(lines: list) -> tuple:
    """A code cell's lines with IPython's own lines blanked: (lines, blanked 1-based lines, syntax
    problem or None). The problem is (line, column, end_line, end_column, message) within the cell."""
    blanked: list = []
    out = list(lines)
    first = next((i for i, line in enumerate(out) if line.strip()), None)
    if first is not None and out[first].lstrip().startswith("%%"):
        name = out[first].lstrip()[2:].split(None, 1)[0] if out[first].strip() != "%%" else ""
        if name not in PYTHON_CELL_MAGICS:
            return [""] * len(out), list(range(1, len(out) + 1)), None  # %%bash, %%writefile: not Python
        out[first] = ""
        blanked.append(first + 1)
    problem = _compile(out)
    if problem is not None:
        magic_lines = _magic_lines(out)
        if magic_lines:
            for i in magic_lines:
                indent = out[i][: len(out[i]) - len(out[i].lstrip())]
                out[i] = f"{indent}pass" if indent else ""
                blanked.append(i + 1)
            problem = _compile(out)
    if problem is None:
        for i in _display_lines(out):
            out[i] = ""
            blanked.append(i + 1)
    return out, sorted(blanked), problem


def _magic_lines(lines: list) -> list:
    """0-based lines that are IPython syntax, and the continuation lines of those ending in '\\'."""
    found, follow = [], False
    for i, line in enumerate(lines):
        if follow or _MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP_SUFFIX.match(line):
            found.append(i)
            follow = line.rstrip().endswith("\\")
    return found


def _compile(lines: list) -> Optional[tuple]:
    text = "".join(line + "\n" for line in lines)
    try:
        with warnings_silenced():  # invalid escape sequences and the like: not our business here
            compile(text, "<cell>", "exec", _FLAGS, dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        col = max((error.offset or 1) - 1, 0)
        end_line, end_col = error.end_lineno, (error.end_offset or 0) - 1
        if end_line is None or (end_line, end_col) <= (line, col):
            end_line, end_col = line, col + 1
        return line, col, end_line, end_col, f"SyntaxError: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return 1, 0, 1, 1, f"{type(error).__name__}: {error}"
    return None


def _display_lines(lines: list) -> list:
    """0-based lines of top-level `display(...)` statements that have their lines to themselves."""
    text = "".join(line + "\n" for line in lines)
    if "display" not in text:
        return []
    try:
        tree = compile(text, "<cell>", "exec", _FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    body = tree.body
    found = []
    for k, stmt in enumerate(body):
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "display"):
            continue
        first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
        shared = any(other is not stmt and (other.lineno <= last and (other.end_lineno or other.lineno) >= first)
                     for other in body[max(k - 1, 0): k + 2])
        if not shared:
            found.extend(range(first - 1, last))
    return found


def program_of(data: NotebookData) -> Program:
    return build_program(data.cells)


# -- where things are, as the outputs show it --------------------------------------------------------
def where_text(program: Program, line: int, col0: int) -> str:
    """`cell 3:2:5` for a program line and 0-based column."""
    cell, row = program.locate(line)
    return f"cell {cell + 1}:{row}:{col0 + 1}"


# -- fixing -----------------------------------------------------------------------------------------
class NotebookFile:
    """A notebook being fixed: its cells, the programs the fixes went through, and the write-back.

    `apply(program_text, fix)` (for fixes.fix_text) puts a fix's edits into the cells' sources of the
    program that text was built from, and returns the new program's text."""

    def __init__(self, path, data: NotebookData):
        self.path = Path(path)
        self.data = data
        self.original = build_program(data.cells)
        self._programs = {self.original.text: self.original}

    @classmethod
    def read(cls, path) -> "NotebookFile":
        return cls(path, read_notebook(path))

    def program(self, text: str) -> Program:
        return self._programs[text]

    def apply(self, text: str, fix) -> Optional[str]:
        from shapels.fixes import apply_edit

        program = self._programs.get(text)
        if program is None:
            return None
        sources = {c.index: c.source for c in program.cells}
        # the last edit first, so that an edit never moves another's position
        for span, content in sorted(fix.edits(), key=lambda e: (e[0].start_line, e[0].start_col), reverse=True):
            if span is None:
                return None
            cell, local = program.cell_span(span)
            if local.start_line in program.blanked.get(cell, ()) or any(b.cell == cell for b in program.broken):
                return None  # never edit a magic or a cell that was not analysed
            edited = apply_edit(sources[cell], local, content)
            if edited is None:
                return None
            sources[cell] = edited
        cells = [Cell(c.index, c.kind, sources[c.index], c.uri, c.version, c.language) for c in program.cells]
        new = build_program(cells)
        self._programs.setdefault(new.text, new)
        return new.text

    def changed_cells(self, text: str) -> list:
        """(cell index, old source, new source) of each cell the fixes changed."""
        final = self._programs[text]
        return [(old.index, old.source, new.source) for old, new in zip(self.original.cells, final.cells)
                if old.source != new.source]

    def rewritten(self, text: str) -> str:
        """The notebook's raw JSON with the changed cells' sources replaced, and nothing else."""
        changes = {self.data.paths[index]: new for index, _, new in self.changed_cells(text)}
        return replace_sources(self.data.raw, changes)

    def write(self, text: str) -> None:
        write_atomically(self.path, self.rewritten(text).encode("utf-8"))


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def value_spans(raw: str, targets: set) -> dict:
    """The (start, end) offsets in `raw` of the JSON values at the key paths in `targets` (paths of
    keys and list indices from the top). Only the containers on the way are walked; every other value
    is skipped by the C decoder."""
    prefixes = {t[:k] for t in targets for k in range(len(t) + 1)}
    found: dict = {}

    def skip_ws(i: int) -> int:
        return _WS.match(raw, i).end()

    def walk(i: int, path: tuple) -> int:
        i = skip_ws(i)
        if path in targets:
            _, end = _DECODER.raw_decode(raw, i)
            found[path] = (i, end)
            return end
        if path not in prefixes or raw[i] not in "{[":
            return _DECODER.raw_decode(raw, i)[1]
        if raw[i] == "{":
            i = skip_ws(i + 1)
            if raw[i] == "}":
                return i + 1
            while True:
                key, i = json.decoder.scanstring(raw, skip_ws(i) + 1)
                i = skip_ws(i)
                i = walk(i + 1, path + (key,))  # past the ':'
                i = skip_ws(i)
                if raw[i] == "}":
                    return i + 1
                i += 1  # ','
        i = skip_ws(i + 1)
        if raw[i] == "]":
            return i + 1
        n = 0
        while True:
            i = skip_ws(walk(i, path + (n,)))
            n += 1
            if raw[i] == "]":
                return i + 1
            i += 1

    walk(0, ())
    return found


def replace_sources(raw: str, changes: dict) -> str:
    """`raw` with the source at each key path replaced by the new text, written as the old value was:
    a list of lines keeps its layout (the whitespace around its items), a string stays a string, and
    non-ASCII characters are escaped only when the file escaped them."""
    spans = value_spans(raw, set(changes))
    ascii_only = raw.isascii()
    out, last = [], 0
    for path, (start, end) in sorted(spans.items(), key=lambda item: item[1][0]):
        old = raw[start:end]
        out.append(raw[last:start])
        out.append(_encode_like(old, changes[path], ascii_only))
        last = end
    out.append(raw[last:])
    return "".join(out)


def _encode_like(old: str, text: str, ascii_only: bool) -> str:
    if not old.startswith("["):
        return json.dumps(text, ensure_ascii=ascii_only)
    items = LINE.findall(text) if text else []
    lead = re.match(r"\[([ \t\r\n]*)", old).group(1)
    trail = re.search(r"([ \t\r\n]*)\]\Z", old).group(1)
    second = re.search(r",([ \t\r\n]*)", old)
    between = second.group(1) if second else lead
    if not items:
        return "[]"
    if not lead and old == "[]":  # an empty list before: nbformat's own layout, one line per item
        indent = " "
        lead, between, trail = "\n" + indent, "\n" + indent, "\n"
    return "[" + lead + ("," + between).join(json.dumps(item, ensure_ascii=ascii_only) for item in items) + trail + "]"
