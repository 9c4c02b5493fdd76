"""library.py: the library functions shapels models without a shape rule, one handler per name."""

from __future__ import annotations

import pytest

from shapels.analysis import library
from shapels.values import Number, Seq, Unknown

from conftest import driver_globals


def test_a_name_has_one_handler():
    first = library.handler_for("functools.partial")
    with pytest.raises(ValueError, match="functools.partial"):
        library.library("functools.partial")(lambda *args: None)
    assert library.handler_for("functools.partial") is first


def test_a_call_in_a_form_its_handler_does_not_model_is_unknown():
    # typing.cast and torch.Size are modelled in their usual forms only: the handler declines the
    # others, no rule has them, so they are unknown rather than a value guessed from odd arguments
    scope = driver_globals("import typing\nimport torch\n"
                           "cast = typing.cast(int, 3)\nodd_cast = typing.cast(3)\n"
                           "size = torch.Size([2, 3])\nodd_size = torch.Size(5)\n")
    assert isinstance(scope["cast"], Number) and int(scope["cast"].value) == 3
    assert isinstance(scope["size"], Seq) and [int(d.value) for d in scope["size"].items] == [2, 3]
    assert isinstance(scope["odd_cast"], Unknown) and isinstance(scope["odd_size"], Unknown)
