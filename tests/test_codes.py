"""Diagnostic codes are constants of shapels/codes.py (mypy's errorcodes.py style).

A misspelt constant fails at import (`from shapels.codes import LINEAR_IN_FEATURE`) or in ruff's
check (an undefined name, tests/test_lint.py). What the constants cannot catch is a code spelt as a
string, so the package's syntax is scanned: no string equal to a catalogued slug outside codes.py,
and no string at all where a code is passed (a rule's fail/expect, ShapeError, Finding, Condition,
Cause, an Example's error), so an unknown slug fails here too.
"""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path

import pytest

from shapels import codes
from shapels.codes import CODES, LINEAR_IN_FEATURES, Code

PACKAGE = Path(codes.__file__).parent
# Calls whose first positional argument is a code, and keywords that carry one.
_CODE_FIRST = {"fail", "ShapeError", "Finding", "Condition", "Cause"}
_CODE_KEYWORDS = {"code", "error"}
# lsprotocol Diagnostics of a confirm run ("shapels (run)") carry the run's verdict, not a static code.
_NOT_OURS = {"Diagnostic"}


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def spelt_codes(source: str) -> list:
    """(line, what) for each code written as a string in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in CODES:
            found.append((node.lineno, f"the slug {node.value!r}: use codes.{node.value.upper().replace('-', '_')}"))
        if not isinstance(node, ast.Call) or _callee(node) in _NOT_OURS:
            continue
        if _callee(node) in _CODE_FIRST and node.args and _is_text(node.args[0]):
            found.append((node.lineno, f"a string as {_callee(node)}'s code: {ast.unparse(node.args[0])}"))
        for kw in node.keywords:
            if kw.arg in _CODE_KEYWORDS and _is_text(kw.value):
                found.append((node.lineno, f"a string as {kw.arg}=: {ast.unparse(kw.value)}"))
    return found


def test_no_module_spells_a_code():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == Path(codes.__file__):
            continue
        problems += [f"{path.relative_to(PACKAGE.parent)}:{line}: {what}" for line, what in spelt_codes(path.read_text())]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source", [
    'call.fail("linear-in-fetures", "message")',  # a typo: no such code
    'call.expect(a, b, code="conv-in-channel", message="m")',
    'raise ShapeError(f"{kind}-mismatch", "m")',
    'Finding("syntax-eror", "error", "m", None)',
    'ex(T(2, 3), error="no-such-code")',
    'CODE = "cat-mismatch"',  # a known slug, spelt: use the constant
    'if finding.code == "view-invalid-shape": pass',
])
def test_the_scan_finds_a_spelt_code(source):
    assert spelt_codes(source), source


def test_the_scan_leaves_constants_and_run_diagnostics_alone():
    assert spelt_codes('call.fail(LINEAR_IN_FEATURES, "message", param="in_features")') == []
    assert spelt_codes('types.Diagnostic(range=r, message=m, code="run-ok")') == []


def test_each_constant_is_its_catalogue_entry():
    constants = {name: value for name, value in vars(codes).items() if isinstance(value, Code)}
    assert constants, "no constants found"
    assert {value.slug for value in constants.values()} == set(CODES)
    for name, value in constants.items():
        assert name == value.slug.upper().replace("-", "_"), name
        assert CODES[value.slug] is value


def test_a_code_reads_as_its_slug_everywhere():
    """Outputs are unchanged: a constant prints, compares, hashes and serialises as the slug did."""
    assert LINEAR_IN_FEATURES == "linear-in-features" and hash(LINEAR_IN_FEATURES) == hash("linear-in-features")
    assert f"{LINEAR_IN_FEATURES}" == "linear-in-features" and repr(LINEAR_IN_FEATURES) == "'linear-in-features'"
    assert json.dumps({"code": LINEAR_IN_FEATURES}) == '{"code": "linear-in-features"}'
    assert {"linear-in-features": 1}[LINEAR_IN_FEATURES] == 1
    assert pickle.loads(pickle.dumps(LINEAR_IN_FEATURES)) is LINEAR_IN_FEATURES  # worker processes, the cache
    assert LINEAR_IN_FEATURES.href.endswith("#linear-in-features")
    assert codes.get("linear-in-features") is LINEAR_IN_FEATURES


def test_a_slug_is_defined_once():
    with pytest.raises(ValueError, match="defined twice"):
        codes._code("linear-in-features", "again", "again")
    assert CODES["linear-in-features"] is LINEAR_IN_FEATURES
