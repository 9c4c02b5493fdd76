"""The one configuration path: the analysis Options for a file, from `[tool.shapels]` in the nearest
pyproject.toml (the one piece of I/O for options) over the caller's defaults, with the import loader.

The CLI, the language server and confirm all build their Options with `build_options` (the server
passes the editor's settings as `defaults`; the CLI adds its `--input`s after), so a setting or an
import means the same to each of them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from shapels.analysis.engine import Options


def find_pyproject(start: Path) -> Optional[Path]:
    start = start.resolve()
    for folder in [start] + list(start.parents) if start.is_dir() else [start.parent] + list(start.parent.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_tool_section(pyproject: Optional[Path]) -> tuple[dict, Optional[str]]:
    """The [tool.shapels] table, and a message when the file cannot be read."""
    if pyproject is None:
        return {}, None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return {}, f"{pyproject}: ignored [tool.shapels]: {error}"
    section = data.get("tool", {}).get("shapels", {})
    if not isinstance(section, dict):
        return {}, f"{pyproject}: [tool.shapels] must be a table"
    return section, None


def options_from_section(section: dict) -> tuple[Options, list]:
    """Options from a settings mapping; invalid entries are reported and replaced by defaults."""
    problems = []
    options = Options()
    inputs = section.get("inputs", {})
    if isinstance(inputs, dict):
        for key, value in inputs.items():
            if isinstance(value, dict):
                options.inputs.setdefault(key, {}).update({k: v for k, v in value.items()})
            elif "." in key:
                cls, _, param = key.partition(".")
                options.inputs.setdefault(cls, {})[param] = value
            else:
                problems.append(f"inputs.{key}: expected 'Class.param = [dims]' or a table")
    else:
        problems.append("inputs: expected a table")
    args = section.get("args", {})
    if isinstance(args, dict):
        for dest, value in args.items():
            if _plain(value):
                options.args[dest] = value
            else:
                problems.append(f"args.{dest}: expected a number, a string, a boolean or a list of them")
    else:
        problems.append("args: expected a table")
    budget = section.get("budget_seconds", section.get("budgetSeconds"))
    if budget is not None:
        if isinstance(budget, (int, float)) and not isinstance(budget, bool) and budget > 0:
            options.budget_seconds = float(budget)
        else:
            problems.append("budget_seconds: expected a positive number")
    return options, problems


def _plain(value) -> bool:
    """A value a command line gives argparse after its `type`: a number, a string, a boolean, or a list of them."""
    if isinstance(value, list):
        return all(_plain(v) and not isinstance(v, list) for v in value)
    return isinstance(value, (int, float, str, bool))


def build_options(section: dict, defaults: Optional[Options] = None, loader=None) -> tuple[Options, list]:
    """`defaults` (the engine's when None) with a [tool.shapels] `section` over them: its inputs win per
    class and parameter, its budget when valid; `loader` resolves imports (None: the file alone).
    Each invalid entry of the section is a problem, "[tool.shapels] ...; using the default"."""
    base = defaults or Options()
    options = replace(base, inputs={cls: dict(params) for cls, params in base.inputs.items()}, args=dict(base.args),
                      loader=loader)
    if not section:
        return options, []
    project, problems = options_from_section(section)
    for cls, params in project.inputs.items():
        options.inputs.setdefault(cls, {}).update(params)
    options.args.update(project.args)  # [tool.shapels.args] imageSize = 32: the command line the scripts run with
    budget_given = section.get("budget_seconds", section.get("budgetSeconds")) is not None
    if budget_given and not any("budget" in p for p in problems):
        options.budget_seconds = project.budget_seconds
    return options, [f"[tool.shapels] {p}; using the default" for p in problems]


@dataclass
class ProjectOptions:
    options: Options
    pyproject: Optional[Path]  # where the section came from, if any
    problems: list = field(default_factory=list)  # the file unreadable, or entries replaced by defaults


def project_options(start: Path, defaults: Optional[Options] = None, loader=None) -> ProjectOptions:
    """build_options with the section of the pyproject.toml nearest to `start` (a file or folder)."""
    pyproject = find_pyproject(start)
    section, problem = read_tool_section(pyproject)
    options, problems = build_options(section, defaults, loader)
    return ProjectOptions(options, pyproject, ([problem] if problem else []) + problems)
