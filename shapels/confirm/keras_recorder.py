"""Worker side, imports keras: Keras layer calls into the run's `Recorder`.

A Keras 3 layer on the torch backend is a `torch.nn.Module`, but `Layer.__call__` converts, checks the
input spec and builds the layer before it reaches torch's `Module.__call__`, so a rank error
(seed002_ex1's "expected min_ndim=2, found ndim=1") never reaches torch's forward hooks. `install()`
wraps `keras.layers.Layer.__call__` instead: each call on real data (numpy arrays or tensors) enters
and leaves the active recorder, named with the layer's `name`. Symbolic calls (on `keras.Input`'s
KerasTensors, and Keras's shape inference, which calls layers on meta tensors inside a symbolic scope)
are Keras's own bookkeeping, not calls on data: they are kept apart (`note_symbolic`, batch None) and
become the layers' rows only when nothing was called on data (a file that builds a model and prints
its summary), and the layer an exception came from in one is the failing layer (a Sequential whose
build raises in its constructor). Where each layer was built comes
from the recorder's `nn.Module.__init__` wrapper, as for torch's layers.
"""

from __future__ import annotations

from shapels.confirm import recorder

_ORIGINAL_CALL = None


def install() -> None:
    """Wrap `Layer.__call__` (once per process) and tell the torch hooks to leave Keras layers alone."""
    global _ORIGINAL_CALL
    if _ORIGINAL_CALL is not None:
        return
    import keras
    from keras.src.backend.common.keras_tensor import any_symbolic_tensors
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope

    layer_class = keras.layers.Layer
    _ORIGINAL_CALL = original = layer_class.__call__

    def __call__(self, *args, **kwargs):
        rec = recorder.active()
        if rec is None:
            return original(self, *args, **kwargs)
        if in_symbolic_scope() or any_symbolic_tensors(args, kwargs):
            try:
                output = original(self, *args, **kwargs)
            except BaseException as error:
                rec.note_failure(self, error, _symbolic_shape(args))  # a Sequential that fails to build
                if not in_symbolic_scope():
                    rec.note_symbolic(self, getattr(self, "name", None), _symbolic_shape(args),
                                      _symbolic_tree(list(args)), None)
                raise
            if not in_symbolic_scope():  # the user's functional code, or a Sequential building itself
                rec.note_symbolic(self, getattr(self, "name", None), _symbolic_shape(args),
                                  _symbolic_tree(list(args)), _symbolic_tree(output))
            return output
        rec.enter(self, args, name=getattr(self, "name", None))
        try:
            output = original(self, *args, **kwargs)
        except BaseException:
            rec.leave(self, args, None)
            raise
        rec.leave(self, args, output)
        return output

    def _symbolic_shape(args):
        for arg in args:
            shape = getattr(arg, "shape", None)
            if isinstance(shape, tuple):
                return [d if d is None else int(d) for d in shape]
        return None

    def _symbolic_tree(value, depth=0):
        """A KerasTensor's shape as a list (None where Keras leaves a dim open); lists of them as lists."""
        shape = getattr(value, "shape", None)
        if isinstance(shape, tuple):
            return [d if d is None else int(d) for d in shape]
        if isinstance(value, (list, tuple)) and depth < 3:
            items = [_symbolic_tree(v, depth + 1) for v in list(value)[:recorder.MAX_ITEMS]]
            return items if any(i is not None for i in items) else None
        return None

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    layer_class.__call__ = __call__
    recorder.HOOKED_ELSEWHERE = (layer_class,)
    recorder.MODEL_TYPES = (keras.Model,)
