"""Permissive stand-ins for a package that model code imports but never uses to build or run a model
(torchvision and PIL beside the CPU torch here, a diffusion package's training-only dependencies): every
attribute is another stand-in, callable, iterable as empty, and usable in `A | B` annotations.
Shared by the corpus runners (timm_run.py, research_run.py)."""

from __future__ import annotations

import types


class _AnythingMeta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return anything(name)

    def __iter__(cls):
        return iter(())

    def __or__(cls, other):  # `Image.Resampling | int` in annotations
        return cls

    __ror__ = __or__


def anything(name: str):
    return _AnythingMeta(name, (), {"__init__": lambda self, *a, **k: None, "__call__": lambda self, *a, **k: None})


class StandInModule(types.ModuleType):
    __version__ = "99.0.0"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = anything(name)
        setattr(self, name, value)
        return value
