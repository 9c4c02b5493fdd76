"""torch's container modules: they hold other modules and have no shape rule of their own; the
analysis builds, indexes and mutates them as torch does (shapels/analysis/containers.py)."""

from __future__ import annotations

from shapels.rules.registry import container

container("torch.nn.Sequential", chained=True, built_from="members")
container("torch.nn.ModuleList", built_from="iterable")
container("torch.nn.ModuleDict", keyed=True, built_from="mapping")
