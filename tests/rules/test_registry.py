"""The rule registry: one rule per name (the codes rules emit are checked in tests/test_codes.py)."""

from shapels.rules import registry


def test_no_name_is_registered_twice():
    assert registry.DUPLICATES == []

