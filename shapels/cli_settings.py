"""A command's settings (`check`, `shapes`, `confirm`): the Options from the one configuration path
(shapels/config.py) with the command line's `--input`s over them, and every input entry with where it
came from, so that one naming a class or parameter that does not exist is a usage error.

Its own module so that `shapels confirm` (shapels/confirm/cli.py) and `shapels check` share it
without importing each other.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional


class UsageError(Exception):
    """A usage error: the command exits with status 2 and this message (DESIGN.md part B)."""


@dataclass
class Settings:
    options: object  # analysis Options
    entries: list  # cli_findings.InputEntry, [tool.shapels] ones first
    pyproject: Optional[Path]


def load_settings(paths: list, cli_inputs: list) -> Settings:
    """Options from [tool.shapels] in the nearest pyproject.toml and `--input` (which wins), imports
    resolved from the current directory, and every input entry, where it came from, for check_inputs.
    A problem with the section is named on stderr and its default used."""
    from shapels.analysis.inputs import parse_cli_input, parse_dims
    from shapels.cli_findings import InputEntry
    from shapels.config import project_options
    from shapels.imports import FileLoader
    from shapels.output import display_path

    start = Path(paths[0]) if paths else Path.cwd()
    project = project_options(start if start.exists() else Path.cwd(), loader=FileLoader(roots=[Path.cwd()]))
    for problem in project.problems:
        print(f"shapels: {problem}", file=sys.stderr)
    options, pyproject = project.options, project.pyproject
    entries = []
    for cls, params in options.inputs.items():
        for param, spec in params.items():
            origin = f"[tool.shapels] inputs \"{cls}.{param}\" in {display_path(str(pyproject))}"
            if parse_dims(spec) is None:
                raise UsageError(f"{origin}: {spec!r} is not a shape; write it as [1, 3, 64, 64] or \"B 3 H W\"")
            entries.append(InputEntry(cls, param, spec, origin, configured=True))
    for text in cli_inputs or []:
        parsed = parse_cli_input(text)
        if parsed is None:
            raise UsageError(f"--input {text!r}: expected 'Class:param=(1,3,64,64)'")
        cls, param, spec = parsed
        options.inputs.setdefault(cls, {})[param] = spec
        entries.append(InputEntry(cls, param, spec, f"--input {text!r}"))
    return Settings(options, entries, pyproject)


def check_inputs(settings: Settings, texts: dict) -> None:
    """A usage error for an input entry that names a class or forward parameter that does not exist."""
    if not settings.entries:
        return
    from shapels.cli_findings import ClassTable, InputError
    from shapels.cli_findings import check_inputs as check

    table = ClassTable()
    for path, text in texts.items():
        table.add_file(text, str(path))
    try:
        check(settings.entries, table, settings.pyproject.parent if settings.pyproject else None)
    except InputError as error:
        raise UsageError(str(error)) from None
