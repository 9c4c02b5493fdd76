"""Worker side: a stand-in `tensorflow` for files that import TensorFlow only to use Keras.

Installed only when TensorFlow itself is not importable. It maps
- `tf.keras`, `from tensorflow import keras`, `import tensorflow.keras.layers`, `from tensorflow.keras.models
  import Model` to Keras 3's tf.keras namespace (`keras._tf_keras.keras`, what TensorFlow 2.16+ serves
  as tf.keras), running on the torch backend;
- the few TensorFlow functions example code feeds models with: `tf.random.normal/uniform`, `tf.zeros`,
  `tf.ones`, `tf.reshape`, `tf.constant` / `tf.convert_to_tensor` (to keras.random / keras.ops, same
  arguments), `tf.random.set_seed` (keras.utils.set_random_seed), the dtypes `tf.float32`... (as
  Keras's dtype names) and `tf.errors.*` (exception classes; Keras on torch raises Python's own, so an
  `except tf.errors.InvalidArgumentError` catches nothing, as with Keras 3 on TensorFlow).
Anything else (`tf.reduce_sum`, `tf.data`, `import tensorflow.compat.v1`) needs real TensorFlow: it
raises `TensorFlowNeeded` (an import) or `TensorFlowAttributeNeeded` with how to install it, and `needed()` remembers it for the run's report
even when the script catches the exception.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Optional

from shapels.confirm import messages

NAME = "tensorflow"
KERAS = "keras._tf_keras.keras"  # Keras 3's tf.keras namespace; plain `keras` where a Keras 3 lacks it


def _keras_name() -> str:
    return KERAS if importlib.util.find_spec("keras._tf_keras") is not None else "keras"
STOOD_IN = ("tf.keras, tf.random.normal/uniform/set_seed, tf.zeros, tf.ones, tf.reshape, tf.constant, "
            "tf.convert_to_tensor, tf.errors and the dtypes")
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
_NEEDED: list = []  # (what, line) the run asked of TensorFlow beyond the stand-in


class TensorFlowNeeded(ModuleNotFoundError):
    """An import of TensorFlow beyond tf.keras (`import tensorflow.compat.v1`)."""


class TensorFlowAttributeNeeded(AttributeError):
    """An attribute of TensorFlow beyond the stand-in (`tf.reduce_sum`): an AttributeError, as Python
    raises for a missing one."""


def reset() -> None:
    _NEEDED.clear()


def needed() -> Optional[tuple]:
    """(what, line) of the first use of TensorFlow beyond the stand-in in this run, else None."""
    return _NEEDED[0] if _NEEDED else None


def _asker(frame):
    """The frame that asked: past the import machinery and this module."""
    while frame is not None:
        name = frame.f_code.co_filename
        machinery = name.startswith("<frozen importlib") or os.path.basename(os.path.dirname(name)) == "importlib"
        if not (machinery or name == __file__):
            return frame
        frame = frame.f_back
    return None


def _keras_dir() -> str:
    keras = sys.modules.get("keras")
    return os.path.dirname(getattr(keras, "__file__", None) or "") or "\0"


def _need(what: str, error_type: type = TensorFlowNeeded) -> Exception:
    """The exception for a use of TensorFlow beyond the stand-in; remembered for the report unless Keras
    itself asked (it probes for TensorFlow and carries on without it)."""
    asker = _asker(sys._getframe(1))
    if asker is None or not asker.f_code.co_filename.startswith(_keras_dir() + os.sep):
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        frame = asker
        while frame is not None and frame.f_code.co_filename != path:
            frame = frame.f_back
        _NEEDED.append((what, frame.f_lineno if frame is not None else None))
    error = error_type(messages.NO_TENSORFLOW.format(what=what, stood_in=STOOD_IN))
    error.name = NAME if error_type is TensorFlowNeeded else what.rsplit(".", 1)[-1]
    return error


class OpError(Exception):
    """tf.errors.OpError's stand-in: the base of TensorFlow's runtime errors."""


_ERROR_NAMES = ("InvalidArgumentError", "ResourceExhaustedError", "NotFoundError", "UnimplementedError",
                "InternalError", "FailedPreconditionError", "OutOfRangeError", "UnknownError")


def _errors_module() -> types.ModuleType:
    module = types.ModuleType(f"{NAME}.errors")
    module.OpError = OpError
    for name in _ERROR_NAMES:
        setattr(module, name, type(name, (OpError,), {"__module__": f"{NAME}.errors"}))
    return module


def _random_module() -> types.ModuleType:
    module = _Partial(f"{NAME}.random", "tf.random.")

    def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
        import keras

        return keras.random.normal(tuple(shape), mean=mean, stddev=stddev, dtype=dtype, seed=seed)

    def uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
        import keras

        if "int" in str(dtype):
            if maxval is None:
                raise ValueError("Must specify maxval for integer dtype")
            return keras.random.randint(tuple(shape), minval, maxval, dtype=dtype, seed=seed)
        return keras.random.uniform(tuple(shape), minval=minval, maxval=1.0 if maxval is None else maxval,
                                    dtype=dtype, seed=seed)

    def set_seed(seed):
        """TensorFlow's global seed, for what stands in for it: the torch generator and Keras's global
        SeedGenerator, which keras.random (tf.random here) draw from. (Not keras.utils.set_random_seed:
        it calls tf.random.set_seed itself when tensorflow is imported.)"""
        import torch
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR, SeedGenerator

        torch.manual_seed(seed)
        global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, SeedGenerator(seed))

    module.normal = normal
    module.uniform = uniform
    module.set_seed = set_seed
    return module


class _Partial(types.ModuleType):
    """A module that has what the stand-in covers and raises TensorFlowNeeded for anything else."""

    def __init__(self, name: str, shown: str):
        super().__init__(name)
        self._shown = shown

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        raise _need(f"{self._shown}{attr}", TensorFlowAttributeNeeded)


def _tensorflow_module() -> types.ModuleType:
    module = _Partial(NAME, "tf.")
    module.__path__ = []  # a package: `import tensorflow.keras.layers` asks the finder below
    module.__doc__ = "shapels confirm's stand-in for TensorFlow: Keras 3 on the torch backend"
    module.keras = importlib.import_module(_keras_name())
    module.random = _random_module()
    module.errors = _errors_module()

    def zeros(shape, dtype="float32", name=None):
        import keras

        return keras.ops.zeros(tuple(shape), dtype=dtype)

    def ones(shape, dtype="float32", name=None):
        import keras

        return keras.ops.ones(tuple(shape), dtype=dtype)

    def reshape(tensor, shape, name=None):
        import keras

        return keras.ops.reshape(tensor, tuple(shape))

    def constant(value, dtype=None, shape=None, name=None):
        import keras

        if shape is not None:
            raise _need("tf.constant(..., shape=...)", TensorFlowAttributeNeeded)
        return keras.ops.convert_to_tensor(value, dtype=dtype)

    def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
        import keras

        return keras.ops.convert_to_tensor(value, dtype=dtype or dtype_hint)

    module.executing_eagerly = lambda: True  # Keras asks (backend_utils.in_tf_graph) once tensorflow is imported
    module.zeros = zeros
    module.ones = ones
    module.reshape = reshape
    module.constant = constant
    module.convert_to_tensor = convert_to_tensor
    for dtype in DTYPES:
        setattr(module, dtype, dtype)
    return module


class _Alias(importlib.abc.Loader):
    def __init__(self, target: Optional[str], module: Optional[types.ModuleType] = None):
        self.target = target
        self.module = module

    def create_module(self, spec):
        if self.module is not None:
            return self.module
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != NAME and not fullname.startswith(NAME + "."):
            return None
        if fullname == NAME:
            return importlib.machinery.ModuleSpec(NAME, _Alias(None, _tensorflow_module()), is_package=True)
        rest = fullname[len(NAME) + 1:]
        top = rest.split(".")[0]
        if top == "keras":
            target = _keras_name() + rest[len("keras"):]
            if importlib.util.find_spec(target.split(".")[0]) is None:
                return None
            return importlib.machinery.ModuleSpec(fullname, _Alias(target), is_package=True)
        if top in ("random", "errors"):
            parent = sys.modules.get(NAME) or importlib.import_module(NAME)
            return importlib.machinery.ModuleSpec(fullname, _Alias(None, getattr(parent, top)))
        raise _need(f"import {fullname}")


@contextlib.contextmanager
def standing_in():
    """For one run of a file that imports tensorflow, unless TensorFlow itself is installed: the stand-in
    on sys.meta_path, taken away after with every `tensorflow` module it made, so that the next file (and
    Keras, which looks for `tensorflow` in sys.modules) finds no TensorFlow."""
    if NAME in sys.modules or importlib.util.find_spec(NAME) is not None:
        yield False
        return
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    lazy = _kerass_tensorflow()
    saved = (lazy._available, lazy.module) if lazy is not None else None
    if lazy is not None:
        lazy._available, lazy.module = False, None  # Keras's `tf.available`: no TensorFlow for Keras itself
    try:
        yield True
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == NAME or n.startswith(NAME + ".")]:
            del sys.modules[name]
        if lazy is not None:
            lazy._available, lazy.module = saved


def _kerass_tensorflow():
    """Keras's lazy handle on TensorFlow (keras.src.utils.module_utils.tensorflow): once the script has
    imported the stand-in, Keras would take it for TensorFlow (`tf.available`) and use tf.TensorShape,
    tf.data...; it is told there is none for the run, and its state is put back after."""
    try:
        from keras.src.utils import module_utils

        lazy = module_utils.tensorflow
        lazy._available, lazy.module  # noqa: B018 - both exist (Keras 3)
        return lazy
    except (ImportError, AttributeError):
        return None
