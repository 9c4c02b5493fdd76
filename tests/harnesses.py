"""Loading the rule harnesses (tests/rules/_*_harness.py) by path, once each under one name, from tests in
every folder alike (their folders are on sys.path in pytest's rootdir import mode, but a module
imported twice under two names would be two modules)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

RULES = Path(__file__).resolve().parent / "rules"


def load(stem: str):
    """The module tests/rules/<stem>.py, loaded once as `shapels_tests<stem>`."""
    name = f"shapels_tests{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RULES / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
