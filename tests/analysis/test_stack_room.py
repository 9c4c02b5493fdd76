"""with_stack_room (shapels/analysis/stack_room.py): a plain call, on a frame-stack chunk of its own."""

from __future__ import annotations

import resource
import sys

import pytest

from shapels.analysis.stack_room import with_stack_room


def _bounce(depth: int) -> int:
    return 0 if depth == 0 else _bounce(depth - 1) + 1


def _bounces(times: int) -> int:
    """Recursion that goes 300 frames deep and back, `times` times: across a 16 KiB chunk's end each time."""
    return sum(_bounce(300) for _ in range(times))


def test_results_exceptions_and_the_recursion_limit_are_a_plain_calls():
    assert with_stack_room(divmod, 7, 2) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        with_stack_room(divmod, 1, 0)
    assert with_stack_room(with_stack_room, _bounce, 50) == 50  # nested: a chunk each

    def deepest(depth: int = 0) -> int:
        try:
            return deepest(depth + 1)
        except RecursionError:
            return depth

    plain = deepest()
    assert abs(with_stack_room(deepest) - plain) <= 3  # counted in frames, not in bytes


@pytest.mark.skipif(sys.implementation.name != "cpython" or sys.version_info < (3, 11) or sys.platform != "linux",
                    reason="CPython's frame chunks (3.11+), counted in Linux's page faults")
def test_recursion_that_crosses_a_chunk_end_maps_no_memory_with_room():
    def faults(call) -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        assert call() == 300 * 2000
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    faults(lambda: _bounces(2000))  # warm: objects allocated once
    plain = faults(lambda: _bounces(2000))
    roomy = faults(lambda: with_stack_room(_bounces, 2000))
    assert plain > 2000 and roomy < plain / 10, (plain, roomy)
