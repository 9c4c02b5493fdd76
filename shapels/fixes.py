"""`shapels check --fix` and `--diff`: apply the fixes the analysis offers, one at a time.

Only a finding's preferred fix (`finding.fix`) is applied, and only one the engine offers (it offers
only fixes it verified by re-analysing the file). After each edit the file is analysed again, so the
next fix is the one the edited file calls for and several errors in one file are fixed consistently.
An edit after which the analysis shows a problem that was not there before (or a syntax error, or
runs out of time) is reverted, and that file is left as it then is.

Edits are spans (1-based lines, 0-based code-point columns, lines broken at \\r\\n, \\r or \\n as
libcst breaks them). A file keeps its encoding (a UTF-8 BOM, a coding cookie) and its line endings.

A notebook goes through the same loop on its program's text (shapels/notebooks.py): `fix_text`'s
`apply` puts each edit into the right cell and `locate` names a line as (cell, line in it).
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from shapels.atomic import write_atomically

LINE_BREAK = re.compile(r"\r\n|\r|\n")
PROBLEMS = ("error", "warning")
MAX_FIXES = 50  # per file: each costs a re-analysis


class UnreadableSource(Exception):
    pass


@dataclass
class SourceFile:
    path: Path
    text: str  # as decoded, without the BOM
    encoding: str  # Python's codec name ("utf-8-sig" when the file starts with a BOM)

    @classmethod
    def read(cls, path: Path) -> "SourceFile":
        data = Path(path).read_bytes()
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            text = data.decode(encoding)
        except (SyntaxError, LookupError, UnicodeDecodeError) as error:
            raise UnreadableSource(f"cannot decode it ({error}); not fixed") from error
        return cls(Path(path), text, encoding)  # "utf-8-sig" strips the BOM here and writes it back

    def write(self, text: str) -> None:
        """Replace the file's contents atomically, keeping its encoding and permissions."""
        write_atomically(self.path, text.encode(self.encoding))


def newline_of(text: str) -> str:
    """The file's line ending: the first one it uses ("\\n" when it has none)."""
    found = LINE_BREAK.search(text)
    return found.group(0) if found else "\n"


def line_starts(text: str) -> list:
    return [0] + [m.end() for m in LINE_BREAK.finditer(text)]


def apply_fix(text: str, fix) -> Optional[str]:
    """`text` with every edit of `fix` made (a fix may change two lines together), the last first so the
    earlier positions hold; None when one does not fit the text."""
    for span, content in sorted(fix.edits(), key=lambda edit: (edit[0].start_line, edit[0].start_col), reverse=True):
        text = apply_edit(text, span, content) if text is not None else None
    return text


def apply_edit(text: str, span, content: str) -> Optional[str]:
    """`text` with the span replaced by `content` (written with the file's line endings), or None when
    the span is not inside the text."""
    starts = line_starts(text)
    if not (1 <= span.start_line <= span.end_line <= len(starts)):
        return None
    start = starts[span.start_line - 1] + span.start_col
    end = starts[span.end_line - 1] + span.end_col
    for line, offset in ((span.start_line, start), (span.end_line, end)):
        line_end = starts[line] if line < len(starts) else len(text)
        if offset > len(text) or offset > line_end or offset < starts[line - 1]:
            return None
    if end < start:
        return None
    newline = newline_of(text)
    content = LINE_BREAK.sub(lambda _: newline, content)
    return text[:start] + content + text[end:]


@dataclass
class Applied:
    line: int  # in the file (in the cell, for a notebook)
    code: str
    message: str  # the fix's message: "Set in_features to 5120"
    cell: Optional[int] = None  # a notebook's cell, 1-based (all cells counted)


@dataclass
class FixOutcome:
    original: str
    text: str  # with every applied fix
    result: object  # the AnalysisResult of `text`
    applied: list = field(default_factory=list)  # Applied
    stopped: Optional[str] = None  # why a fix was reverted and the file left as it was before it

    @property
    def changed(self) -> bool:
        return self.text != self.original


def _key(finding) -> tuple:
    return (finding.code, finding.span.start_line, finding.fix.content)


def _fixable(result, tried: set) -> Optional[object]:
    """The first error with a fix (then the first warning), in the order of the file."""
    for severity in PROBLEMS:
        for f in result.findings:
            if (f.severity == severity and f.fix is not None and f.fix.span is not None and f.span is not None
                    and _key(f) not in tried):
                return f
    return None


def _problems(result) -> set:
    return {(f.code, f.span.start_line) for f in result.findings if f.severity in PROBLEMS and f.span is not None}


def _before_edit(line: int, span, content: str) -> int:
    """A line of the edited text, as numbered before the edit."""
    delta = len(LINE_BREAK.findall(content)) - (span.end_line - span.start_line)
    return line - delta if line > span.end_line + delta else line


def fix_text(text: str, analyse: Callable[[str], object], result=None,
             apply: Optional[Callable[[str, object], Optional[str]]] = None,
             locate: Optional[Callable[[str, int], tuple]] = None) -> FixOutcome:
    """Apply the first offered fix, re-analyse, apply the next, until none is left. `apply(text, fix)`
    makes a fix's edits (default: `apply_fix`); `locate(text, line)` gives (cell, line) for messages."""
    apply = apply or apply_fix

    def where(text_: str, line: int) -> tuple:
        return locate(text_, line) if locate is not None else (None, line)

    def named(text_: str, line: int) -> str:
        cell, row = where(text_, line)
        return f"cell {cell}, line {row}" if cell is not None else f"line {row}"

    result = result if result is not None else analyse(text)
    outcome = FixOutcome(text, text, result)
    tried: set = set()
    while len(outcome.applied) < MAX_FIXES and outcome.result.syntax_error is None:
        finding = _fixable(outcome.result, tried)
        if finding is None:
            break
        tried.add(_key(finding))
        fix = finding.fix
        edited = apply(outcome.text, fix)
        if edited is None or edited == outcome.text:
            continue
        after = analyse(edited)
        where_ = f"{named(outcome.text, finding.span.start_line)}: {fix.message}"
        if after.syntax_error is not None:
            outcome.stopped = f"{where_}: not applied, the file would not parse"
            break
        if after.partial:
            outcome.stopped = f"{where_}: not applied, the analysis of the edited file did not finish"
            break
        before = _problems(outcome.result)
        new = sorted((f for f in after.findings if f.severity in PROBLEMS and f.span is not None
                      and (f.code, _before_edit(f.span.start_line, fix.span, fix.content)) not in before),
                     key=lambda f: (f.span.start_line, f.span.start_col))
        if new:
            first = new[0]
            outcome.stopped = (f"{where_}: not applied, it would add {first.code} on {named(edited, first.span.start_line)} "
                               f"({first.message[:120]})")
            break
        cell, row = where(outcome.text, finding.span.start_line)
        outcome.applied.append(Applied(row, finding.code, fix.message, cell))
        outcome.text, outcome.result = edited, after
    return outcome


def unified_diff(before: str, after: str, name: str) -> str:
    """The change as a unified diff (difflib), each line ending in a newline."""
    def split(text: str) -> list:
        starts = line_starts(text)
        return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)]) if a < b]

    out = []
    for line in difflib.unified_diff(split(before), split(after), fromfile=name, tofile=name):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        elif line.endswith("\r"):
            line += "\n"
        out.append(line)
    return "".join(out)
