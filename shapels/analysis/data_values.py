"""Datasets and loaders as library models (issue 23): what a training loop's batches are.

`TensorDataset(x, y)` holds samples `(x[i], y[i])`; `DataLoader(ds, batch_size=B)` yields them collated
as torch's default_collate does: tensors stacked on a new dim 0, Python ints into an int64 tensor
`(B,)`, floats into a float64 one, tuples and lists element by element, dicts per key. The batch dim is
B where every batch is full (`drop_last=True`, or a dataset whose length B divides), else a symbol: the
last batch may be smaller. `for x, y in loader:` runs the loop body once on one batch, like a forward
(a dataset of known, non-zero length yields at least one); `enumerate(loader)` and `tqdm(loader)` pass
the batches through, and `next(iter(loader))` is one batch.

A user Dataset class counts by what its own `__getitem__(0)` returns and its `__len__()`, run as the
loader would run them. A dataset whose samples are not known (one that reads files, a torchvision
dataset) gives no loader: its loop stays the unknown loop it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import sympy

from shapels.analysis.objects import Instance, UserFunction

from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import UNKNOWN, Const, DictValue, ListValue, Number, Seq, Tensor, Value

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp

DATASETS = ("torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset")
LOADERS = ("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader")
PASS_THROUGH = ("tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "tqdm.std.tqdm")


@dataclass(eq=False)
class DatasetValue(Value):
    """A map-style dataset whose samples have a known structure, and its length (None: not known)."""

    sample: Value
    length: Optional[sympy.Expr]


@dataclass(eq=False)
class LoaderValue(Value):
    """What iterating yields, one item per round, and whether it surely yields at least one."""

    item: Value
    nonempty: bool


def tensor_dataset(args: list, kwargs: dict) -> Value:
    """`TensorDataset(x, y)`: torch requires every tensor to have the same size at dim 0 (an assertion)."""
    if kwargs or not args or not all(isinstance(a, Tensor) and a.shape.ranked and a.shape.rank >= 1 for a in args):
        return UNKNOWN
    lengths = [a.shape.dims[0] for a in args]
    if any(D.eq(n, lengths[0]) is not True for n in lengths[1:]):
        return UNKNOWN  # torch's "Size mismatch between tensors" where certain: not a shape finding here
    sample = Seq(tuple(Tensor(Shape.of(a.shape.dims[1:]), a.trace, dtype=a.dtype) for a in args))
    return DatasetValue(sample, lengths[0])


def user_dataset(interp: Interp, dataset: Instance, frame) -> Value:
    """A user class's dataset: its sample is what `dataset[0]` returns, its length `len(dataset)`."""
    getitem, length = dataset.info.find_method("__getitem__"), dataset.info.find_method("__len__")
    if getitem is None:
        return UNKNOWN
    sample = interp.invoke(UserFunction(getitem[1], getitem[0]), [Number(sympy.Integer(0))], {}, frame,
                           receiver=dataset)
    size = interp.invoke(UserFunction(length[1], length[0]), [], {}, frame, receiver=dataset) if length else None
    return DatasetValue(sample, to_dim(size) if isinstance(size, Number) else None)


def data_loader(args: list, kwargs: dict) -> Value:
    """`DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
    collate_fn=None, pin_memory=False, drop_last=False, ...)` over a dataset of known samples, with the
    default collate and batching; anything else is unknown."""
    names = ("dataset", "batch_size", "shuffle", "sampler", "batch_sampler", "num_workers", "collate_fn",
             "pin_memory", "drop_last")
    bound = dict(zip(names, args))
    if len(args) > len(names) or any(k in bound for k in kwargs):
        return UNKNOWN
    bound.update(kwargs)
    dataset = bound.get("dataset")
    if not isinstance(dataset, DatasetValue):
        return UNKNOWN
    for custom in ("sampler", "batch_sampler", "collate_fn"):
        if custom in bound and not _is_none(bound[custom]):
            return UNKNOWN  # another batching or collate than torch's default
    batch_size = bound.get("batch_size", Number(sympy.Integer(1)))
    if _is_none(batch_size):
        return LoaderValue(dataset.sample, _positive(dataset.length))  # no batching: samples one by one
    size = to_dim(batch_size) if isinstance(batch_size, Number) else None
    drop_last = bound.get("drop_last", Const(False))
    if size is None or not isinstance(drop_last, Const) or D.as_int(size) is not None and D.as_int(size) < 1:
        return UNKNOWN
    full = drop_last.value is True or dataset.length is not None and D.divides(size, dataset.length) is True
    batch = size if full else D.fresh("B")  # the last batch may be smaller
    collated = collate(dataset.sample, batch)
    if collated is UNKNOWN:
        return UNKNOWN
    nonempty = _positive(dataset.length) and (drop_last.value is not True or D.eq(size, dataset.length) is True
                                               or _at_least(dataset.length, size))
    return LoaderValue(collated, nonempty)


def collate(sample: Value, batch) -> Value:
    """torch's default_collate of `batch` samples shaped like `sample`."""
    if isinstance(sample, Tensor):
        if not sample.shape.ranked:
            return Tensor(Shape.unknown(), sample.trace, dtype=sample.dtype)
        return Tensor(Shape.of([batch, *sample.shape.dims]), sample.trace, dtype=sample.dtype)
    if isinstance(sample, Number):
        integral = not isinstance(sample.value, float) and getattr(sample.value, "is_integer", False)
        return Tensor(Shape.of([batch]), dtype="int64" if integral else "float64")
    if isinstance(sample, Const) and isinstance(sample.value, bool):
        return Tensor(Shape.of([batch]), dtype="bool")
    if isinstance(sample, (Seq, ListValue)):
        items = [collate(item, batch) for item in sample.items]
        if any(item is UNKNOWN for item in items):
            return UNKNOWN
        return Seq(tuple(items)) if isinstance(sample, Seq) else ListValue(items)
    if isinstance(sample, DictValue):
        items = {key: collate(value, batch) for key, value in sample.items.items()}
        return UNKNOWN if any(v is UNKNOWN for v in items.values()) else DictValue(items)
    return UNKNOWN


def enumerated(loader: LoaderValue) -> LoaderValue:
    """`enumerate(loader)`: (the round's index, not known here, its batch)."""
    return LoaderValue(Seq((Number(D.fresh("i")), loader.item)), loader.nonempty)


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None


def _positive(length) -> bool:
    n = D.as_int(length) if length is not None else None
    return n is not None and n > 0


def _at_least(length, size) -> bool:
    n, b = D.as_int(length), D.as_int(size)
    return n is not None and b is not None and n >= b
