"""`shapels check`'s cache of results: a file that did not change, nor anything it imports, is answered
from the last run's analysis instead of being analysed again (as ruff's cache does).

An entry is found by a key over what decides the analysis up front: the file's path and the text the
engine reads (for a notebook, its program, cells included), the analysis code (a hash of shapels' own
sources, the Python version, libcst's and sympy's), and the options that change results (inputs, time
budget, `--strict`, the import roots, the working folder). What a file imports is only known by
analysing it, so an entry also keeps every question the analysis asked the import loader (the
importing file and the module name) with the answer it got (the file found and a hash of its text,
or nothing found), transitively: an import of an import asks the loader too. An entry serves only
when the loader, asked the same questions now, gives the same answers: an imported file that was
edited, removed, or shadowed by a new one makes it a miss.

Not kept: a file whose analysis failed (an internal error) or stopped short (`partial`: the time
budget, which depends on the machine's load), so those are analysed afresh every time. `--fix` and
`--diff` never use the cache.

Where: `$SHAPELS_CACHE_DIR`, else `$XDG_CACHE_HOME/shapels`, else `~/.cache/shapels`; one folder per
version of the analysis code under it (delete the folder to clear the cache). Each entry is written
to a temporary file that is then renamed over the old one (shapels/atomic.py), so concurrent runs
never read half an entry; an entry that cannot be read or unpickled, or that does not belong to its
key, is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Optional

from shapels.codes import ANALYSIS_INTERNAL_ERROR

FORMAT = 1  # of an entry; a change here makes every old entry a miss
ENV = "SHAPELS_CACHE_DIR"
TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# Created by shapels: its results cache (see check_cache.py).\n"


def cache_root() -> Path:
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "shapels"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The analysis code: every .py file of the shapels package (path and bytes), the interpreter
    (its `compile()` words the syntax errors) and the libraries the engine runs on."""
    from importlib import metadata

    digest = hashlib.sha256(f"format {FORMAT}\0{sys.version}\0{sys.implementation.name}\0".encode())
    for dist in ("libcst", "sympy"):
        try:
            digest.update(f"{dist} {metadata.version(dist)}\0".encode())
        except Exception:  # noqa: BLE001 - not installed as a distribution: its sources are not hashed
            digest.update(f"{dist} ?\0".encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0")
        digest.update(source.read_bytes() + b"\0")
    return digest.hexdigest()


def options_fingerprint(options, strict: bool) -> str:
    """The options that change results: every field of the analysis Options but the loader (whose
    roots are named instead; its answers are checked per entry), `--strict`, and the working folder
    (the loader's first root, and relative paths in results)."""
    if dataclasses.is_dataclass(options):
        fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    else:
        fields = dict(vars(options))
    loader = fields.pop("loader", None)
    roots = [repr(getattr(loader, name, None)) for name in ("roots", "packages")]
    return repr((sorted((k, repr(v)) for k, v in fields.items()), type(loader).__qualname__, roots, strict,
                 os.getcwd()))


@functools.lru_cache(maxsize=256)
def _text_digest(text: str) -> str:
    """A text's sha256. Kept per text: every analysis of a run asks for the same imported files (the same
    str objects, from the loader's cache, so a lookup costs no rehash), ~5 MB of them per transformers
    modeling file."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class RecordingLoader:
    """The import loader, with every question asked of it and the answer it gave: (importer, module)
    -> None or (path found, hash of its text)."""

    def __init__(self, loader):
        self.loader = loader
        self.answers: dict = {}

    def __call__(self, importer_path: str, dotted: str):
        try:
            found = self.loader(importer_path, dotted)
        except Exception as error:  # the engine reads an unreadable import as not found: so must the key
            self.answers.setdefault((importer_path, dotted), ("raised", type(error).__name__))
            raise
        if (importer_path, dotted) not in self.answers:  # the first answer is the one kept
            self.answers[(importer_path, dotted)] = _answer(found)
        return found

    def __getattr__(self, name):  # roots, packages: as the loader's
        if name == "loader":
            raise AttributeError(name)
        return getattr(self.loader, name)


def _answer(found) -> Optional[tuple]:
    return None if found is None else (found[0], _text_digest(found[1]))


class Cache:
    """The entries for one run: one analysis code, one set of options."""

    def __init__(self, options, strict: bool, root: Optional[Path] = None):
        self.root = root if root is not None else cache_root()
        self.folder = self.root / f"check-{code_fingerprint()[:20]}"
        self.context = hashlib.sha256(options_fingerprint(options, strict).encode()).hexdigest()
        self.loader = getattr(options, "loader", None)
        self.hits = self.misses = self.stored = 0
        self._answers: dict = {}  # (importer, module) -> answer, asked once per run

    def __getstate__(self):  # to a worker process: no loader answers, which are this process's
        state = dict(self.__dict__)
        state["_answers"] = {}
        return state

    def key(self, path, text: str, notebook=None) -> str:
        digest = hashlib.sha256(f"{self.context}\0{path}\0{os.path.abspath(path)}\0".encode())
        digest.update(text.encode("utf-8", "surrogatepass"))
        if notebook is not None:
            digest.update(b"\0notebook\0" + repr(notebook).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _entry_path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pickle"

    def load(self, key: str) -> Optional[tuple]:
        """(findings, syntax_error, partial) of a valid entry, or None: no entry, an unreadable or
        foreign one, or one whose imports answer differently now."""
        try:
            entry = pickle.loads(self._entry_path(key).read_bytes())
            if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key):
                raise ValueError("not an entry for this key")
            answers, record = entry["answers"], entry["record"]
            valid = all(self._answer_now(importer, dotted) == answer for (importer, dotted), answer in answers)
        except Exception:  # noqa: BLE001 - missing, truncated, corrupt, another version's: analyse afresh
            valid = False
        if not valid:
            self.misses += 1
            return None
        self.hits += 1
        return record

    def _answer_now(self, importer: str, dotted: str) -> Optional[tuple]:
        if self.loader is None:
            return None
        question = (importer, dotted)
        if question not in self._answers:
            try:
                self._answers[question] = _answer(self.loader(importer, dotted))
            except Exception as error:  # noqa: BLE001 - as RecordingLoader records it
                self._answers[question] = ("raised", type(error).__name__)
        return self._answers[question]

    def store(self, key: str, record: tuple, answers: dict) -> None:
        """Keep a result (its findings, syntax error, partial) with the loader's answers; a cache that
        cannot be written is no cache, never an error."""
        from shapels.atomic import write_atomically

        entry = {"format": FORMAT, "key": key, "answers": sorted(answers.items(), key=lambda a: a[0]),
                 "record": record}
        target = self._entry_path(key)
        try:
            data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
            if not target.parent.is_dir():
                self._tag()
                target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, data)
        except Exception:  # noqa: BLE001 - read-only or full disk, an unpicklable value: not kept
            return
        self.stored += 1

    def _tag(self) -> None:
        """A CACHEDIR.TAG at the cache's root, so backup tools skip it."""
        self.root.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            try:
                from shapels.atomic import write_atomically

                write_atomically(tag, TAG.encode())
            except OSError:
                pass


def record_of(result) -> Optional[tuple]:
    """What an entry keeps of a check result, or None for one that is not kept (failed, or partial:
    the time budget is the machine's, not the file's)."""
    if result is None or result.partial or any(f.code == ANALYSIS_INTERNAL_ERROR for f in result.findings):
        return None
    return transfer_of(result)


def transfer_of(result) -> tuple:
    """A check result as it can be pickled (to the cache, from a worker): (findings, syntax error,
    partial). The findings lose their `loc`s, pointers into the analysed syntax tree that no output
    of `check` reads (spans say where); everything else is kept as it is."""
    return ([_without_locs(f) for f in result.findings], result.syntax_error, result.partial)


def _without_locs(value):
    from shapels.analysis.positions import Loc

    if isinstance(value, Loc):
        return None
    if isinstance(value, (list, tuple)) and any(_has_loc(v) for v in value):
        return type(value)(_without_locs(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and _has_loc(value):
        return dataclasses.replace(value, **{f.name: _without_locs(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


def _has_loc(value) -> bool:
    from shapels.analysis.positions import Loc

    if isinstance(value, Loc):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_loc(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_has_loc(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def result_of(record: tuple, path, text: str, notebook=None):
    """The check result an entry's record stands for, as analyse_file gives it."""
    from shapels.analysis.engine import AnalysisResult

    findings, syntax_error, partial = record
    result = AnalysisResult(str(path), findings=list(findings), syntax_error=syntax_error, partial=partial, text=text)
    if notebook is not None:
        result.notebook = notebook
    return result
