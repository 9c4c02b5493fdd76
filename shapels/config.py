"""Settings from `[tool.shapels]` in the nearest pyproject.toml (the one piece of I/O for options)."""

from __future__ import annotations

import tomllib
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
    budget = section.get("budget_seconds", section.get("budgetSeconds"))
    if budget is not None:
        if isinstance(budget, (int, float)) and not isinstance(budget, bool) and budget > 0:
            options.budget_seconds = float(budget)
        else:
            problems.append("budget_seconds: expected a positive number")
    return options, problems
