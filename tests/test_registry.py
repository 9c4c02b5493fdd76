"""The rule registry: one rule per name, and every code a rule can emit is catalogued."""

import re
from pathlib import Path

from shapels import codes
from shapels.rules import registry


def test_no_name_is_registered_twice():
    assert registry.DUPLICATES == []


def test_every_code_used_by_a_rule_is_in_the_catalogue():
    rules_dir = Path(registry.__file__).parent
    used = set()
    for path in rules_dir.rglob("*.py"):  # the Keras rules are in a subpackage
        used |= set(re.findall(r'code="([a-z\-]+)"', path.read_text()))
        used |= set(re.findall(r'fail\(\s*"([a-z\-]+)"', path.read_text()))
        used |= set(re.findall(r'error="([a-z\-]+)"', path.read_text()))
    assert used, "no codes found: the scan is broken"
    assert used <= set(codes.CODES), used - set(codes.CODES)
