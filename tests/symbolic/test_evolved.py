"""values.evolved: dataclasses.replace for the frozen value classes, without replace's cost."""

from __future__ import annotations

import dataclasses

import pytest

from shapels.symbolic.shape import Shape
from shapels.values import Step, Tensor, evolved


def _fields(value) -> dict:
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def test_evolved_is_replace():
    step = Step("conv", Shape.of([1, 3, 8, 8]), loc="here")
    tensor = Tensor(Shape.of([1, 3, 8, 8]), (step,), dtype="float32")
    for value, changes in ((tensor, {"dtype": "int64"}), (tensor, {"trace": (), "strides": (192, 64, 8, 1)}),
                           (step, {"unbatched": True}), (step, {"joins": (tensor,), "axes_from": (0, 2, 1, 3)})):
        made, expected = evolved(value, **changes), dataclasses.replace(value, **changes)
        assert type(made) is type(expected) and _fields(made) == _fields(expected)
        assert made is not value and _fields(value) != _fields(made)  # the original is left as it was
    assert evolved(step, unbatched=True) == dataclasses.replace(step, unbatched=True)  # Step compares by fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved(tensor, dtype="int64").dtype = "bool"  # still frozen


def test_evolved_refuses_a_field_the_class_lacks():
    with pytest.raises(AssertionError):
        evolved(Tensor(Shape.of([2])), dtypes="int64")
