"""Settings section `shapels`, and the analysis Options for one document.

Editor settings (camelCase, from initializationOptions, workspace/configuration or a pushed
didChangeConfiguration):

    enable         bool, default true: publish diagnostics and serve hover/hints/lenses
    severity       "error"|"warning"|"information"|"hint" for every code, or
                   {"<code>" | "*": level}: overrides the engine's severity
    inlayHints     bool, default true: shapes after each assignment in forward
    debounceMs     int >= 0, default 300: quiet time after a change before re-analysing
    inputs         default input shapes, as `Options.inputs`: {"Net": {"x": "(1, 3, 64, 64)"}}
                   or {"Net.x": [1, 3, 64, 64]}
    budgetSeconds  number > 0, default 5: the engine's time budget per file

`[tool.shapels]` in the nearest pyproject.toml is read too; being specific to the project, its
`inputs` (per class and parameter) and `budget_seconds` win over the editor's defaults
(`config.build_options`, with `Settings.defaults()` as the defaults).
An invalid value is reported (a list of problems) and replaced by its default.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from shapels.analysis.engine import Options
from shapels.analysis.inputs import parse_dims
from shapels.config import find_pyproject, options_from_section, read_tool_section

SECTION = "shapels"
LEVELS = ("error", "warning", "information", "hint")


@dataclass(frozen=True)
class Settings:
    enable: bool = True
    severity: tuple = ()  # ((code or "*", level), ...)
    inlay_hints: bool = True
    debounce_ms: int = 300
    inputs: dict = field(default_factory=dict, hash=False, compare=True)
    budget_seconds: float = 5.0

    def severity_for(self, code: str, default: str) -> str:
        table = dict(self.severity)
        return table.get(code, table.get("*", default))

    def defaults(self) -> Options:
        """The editor's part of the analysis Options, which a project's [tool.shapels] overrides."""
        return Options(inputs={cls: dict(params) for cls, params in self.inputs.items()},
                       budget_seconds=self.budget_seconds)


def section_of(raw: Any) -> Any:
    """Accept either the section itself or an object holding it under "shapels" (returned as given,
    so that a section of the wrong type reaches `parse`, which says so)."""
    if not isinstance(raw, dict):
        return None
    if SECTION in raw:  # {"shapels": ...}: its value is the section, even a wrong one (parse reports it)
        return raw[SECTION]
    return raw


def parse(raw: Any) -> tuple[Settings, list]:
    """Settings from a `shapels` section; each invalid entry gives a problem and its default."""
    problems: list = []
    defaults = Settings()
    if raw is None:
        return defaults, problems
    if not isinstance(raw, dict):
        return defaults, [f"the '{SECTION}' settings must be an object, got {type(raw).__name__}"]
    values: dict = {}

    def boolean(key: str, attr: str) -> None:
        if key in raw and raw[key] is not None:
            if isinstance(raw[key], bool):
                values[attr] = raw[key]
            else:
                problems.append(f"{key}: expected true or false, got {raw[key]!r}; using {getattr(defaults, attr)}")

    boolean("enable", "enable")
    boolean("inlayHints", "inlay_hints")
    trusted = raw.get("trusted")
    if trusted is not None and not isinstance(trusted, bool):
        problems.append(f"trusted: expected true or false, got {trusted!r}; treating the workspace as not trusted")

    debounce = raw.get("debounceMs")
    if debounce is not None:
        if isinstance(debounce, int) and not isinstance(debounce, bool) and 0 <= debounce <= 60_000:
            values["debounce_ms"] = debounce
        else:
            problems.append(f"debounceMs: expected an integer from 0 to 60000, got {debounce!r}; using {defaults.debounce_ms}")

    severity = raw.get("severity")
    if severity is not None:
        table, bad = _severity(severity)
        if bad:
            problems.append(f"severity: {bad}; using the engine's severities")
        else:
            values["severity"] = table

    section = {}
    if raw.get("inputs") is not None:
        section["inputs"] = raw["inputs"]
    if raw.get("budgetSeconds") is not None:
        section["budgetSeconds"] = raw["budgetSeconds"]
    options, option_problems = options_from_section(section)
    # The editor's key is budgetSeconds (the shared reader speaks of [tool.shapels]' budget_seconds).
    problems.extend(f"{p.replace('budget_seconds', 'budgetSeconds', 1)}; using the default" for p in option_problems)
    inputs, input_problems = _valid_inputs(options.inputs)
    problems.extend(input_problems)
    values["inputs"] = inputs
    if "budgetSeconds" in section and not option_problems_mention(option_problems, "budget"):
        values["budget_seconds"] = options.budget_seconds
    return Settings(**values), problems


def option_problems_mention(problems: list, word: str) -> bool:
    return any(word in p for p in problems)


def _severity(value: Any) -> tuple[tuple, Optional[str]]:
    if isinstance(value, str):
        if value in LEVELS:
            return (("*", value),), None
        return (), f"expected one of {', '.join(LEVELS)}, got {value!r}"
    if isinstance(value, dict):
        table = []
        for code, level in value.items():
            if level not in LEVELS:
                return (), f"{code}: expected one of {', '.join(LEVELS)}, got {level!r}"
            table.append((str(code), level))
        return tuple(sorted(table)), None
    return (), f"expected a level or an object of code -> level, got {value!r}"


def _valid_inputs(inputs: dict) -> tuple[dict, list]:
    good: dict = {}
    problems = []
    for cls, params in inputs.items():
        for param, spec in params.items():
            if parse_dims(spec) is None:
                problems.append(f"inputs.{cls}.{param}: cannot read the shape {spec!r}; ignored")
            else:
                good.setdefault(cls, {})[param] = spec
    return good, problems


class ProjectSettings:
    """`[tool.shapels]` per pyproject.toml, cached by modification time (read off the event loop)."""

    def __init__(self) -> None:
        self._cache: dict = {}
        self._lock = threading.Lock()

    def section(self, path: Optional[Path]) -> tuple[dict, list, Optional[Path]]:
        if path is None:
            return {}, [], None
        try:
            pyproject = find_pyproject(path)
        except OSError:
            return {}, [], None
        if pyproject is None:
            return {}, [], None
        try:
            mtime = pyproject.stat().st_mtime_ns
        except OSError:
            return {}, [], None
        with self._lock:
            hit = self._cache.get(pyproject)
            if hit is not None and hit[0] == mtime:
                return hit[1], [], pyproject
        section, problem = read_tool_section(pyproject)
        problems = [problem] if problem else []
        with self._lock:
            self._cache[pyproject] = (mtime, section)
        return section, problems, pyproject
