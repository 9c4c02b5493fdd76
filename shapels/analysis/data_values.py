"""Datasets and loaders as library models (issue 23): what a training loop's batches are.

`TensorDataset(x, y)` holds samples `(x[i], y[i])`; `DataLoader(ds, batch_size=B)` yields them collated
as torch's default_collate does: tensors stacked on a new dim 0, Python ints into an int64 tensor
`(B,)`, floats into a float64 one, tuples and lists element by element, dicts per key. The batch dim is
the first batch's: B where the dataset holds at least B samples (every batch but the last is full; a
smaller last batch is not analysed), the dataset's length where it holds fewer, else a symbol.
`for x, y in loader:` runs the loop body once on one batch, like a forward
(a dataset of known, non-zero length yields at least one); `enumerate(loader[, start])` and `tqdm(loader)` pass
the batches through, and `next(iter(loader))` is one batch.

A user Dataset class counts by what its own `__getitem__(0)` returns and its `__len__()`, run as the
loader would run them; a torchvision dataset by the facts of shapels/rules/vision_data.py (its image
through its transforms). A dataset that reads image files (`PIL.Image.open`) has samples of the files' sizes, not known
here, until its transforms size them (a CenterCrop, a Resize to a pair): `PILImageValue` carries the
image through `.convert(mode)`, `.split()`, `.copy()` and `.resize((w, h))`, and calling a transform
(`self.transform(img)`) applies it as a dataset does. A dataset whose samples are not known (a transform
that is a Lambda) gives no loader: its loop stays the unknown loop it was.

A dataset of unknown length (the files of a folder) still gives a loader whose loop body is analysed
on its first batch: a training loop is written to run, and every finding in it holds for whichever
batch comes first. A dataset known to be empty gives none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import weakref
from typing import TYPE_CHECKING, Callable, Optional

import libcst as cst
from shapels.analysis.objects import Instance, UserFunction
from shapels.analysis.python_values import MISSING_VALUE, plain
from shapels.rules import vision_data as V
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import UNKNOWN, Const, DictValue, ListValue, Number, Seq, Step, Tensor, Value

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp

DATASETS = ("torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset")
LOADERS = ("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader")
PASS_THROUGH = ("tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "tqdm.std.tqdm")


@dataclass(eq=False)
class DatasetValue(Value):
    """A map-style dataset whose samples have a known structure, and its length (None: not known)."""

    sample: Value  # UNKNOWN: samples default_collate cannot batch (a PIL image) or not known
    length: Optional[D.Dim]
    attributes: dict = field(default_factory=dict)  # what the dataset holds: MNIST's `.data`, `.targets`


@dataclass(eq=False)
class LoaderValue(Value):
    """What iterating yields, one item per round, and whether it yields at least one (None: a length not
    known, as a folder's; False: none)."""

    item: Value
    nonempty: Optional[bool]


@dataclass(eq=False)
class PILImageValue(Value):
    """A PIL image a dataset reads: its size is the file's (None) until resized; its channels its mode's
    (None: the file's own, until `.convert(mode)`)."""

    image: V.Image


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
    sample = interp.invoke(UserFunction(getitem[1], getitem[0]), [Number(0)], {}, frame,
                           receiver=dataset)
    size = interp.invoke(UserFunction(length[1], length[0]), [], {}, frame, receiver=dataset) if length else None
    return DatasetValue(sample, to_dim(size) if isinstance(size, Number) else None)


def batch_symbols(interp: Interp) -> Callable[[], D.Dim]:
    """Names for the batch dims of loaders over datasets of unknown length, one per loader of this
    analysis: `batch`, `batch2`, ... A named dim, not an unknown one: it is some size of at least 1, so
    `65025*batch` is surely not 255 (a fresh unknown decides nothing)."""
    made = _BATCHES.setdefault(interp, [])

    def new() -> D.Dim:
        made.append(None)
        return D.symbol("batch" if len(made) == 1 else f"batch{len(made)}")
    return new


_BATCHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_loader(args: list, kwargs: dict, loc=None, batch_symbol: Optional[Callable] = None) -> Value:
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
    batch_size = bound.get("batch_size", Number(1))
    if _is_none(batch_size):
        return LoaderValue(dataset.sample, _nonempty(dataset.length))  # no batching: samples one by one
    size = to_dim(batch_size) if isinstance(batch_size, Number) else None
    drop_last = bound.get("drop_last", Const(False))
    if size is None or not isinstance(drop_last, Const) or D.as_int(size) is not None and D.as_int(size) < 1:
        return UNKNOWN
    full = drop_last.value is True or dataset.length is not None and D.divides(size, dataset.length) is True
    if full or _at_least(dataset.length, size):
        batch = size  # every batch but the last is full: the body is analysed on the first
    elif dataset.length is not None and _at_least(size, dataset.length):
        batch = dataset.length  # one batch of every sample
    else:
        batch = batch_symbol() if batch_symbol is not None else D.fresh("B")
    collated = collate(dataset.sample, batch, loc)
    if collated is UNKNOWN:
        return UNKNOWN
    nonempty = _nonempty(dataset.length)
    if nonempty is not False and drop_last.value is True and D.eq(size, dataset.length) is not True \
            and not _at_least(dataset.length, size):
        # drop_last drops a short only batch: known lengths below the batch size give none
        known = D.as_int(dataset.length) is not None and D.as_int(size) is not None
        nonempty = False if known else None
    return LoaderValue(collated, nonempty)


def collate(sample: Value, batch, loc=None) -> Value:
    """torch's default_collate of `batch` samples shaped like `sample`; a tensor's provenance gains the
    loader's step at `loc`."""
    if isinstance(sample, Tensor):
        if not sample.shape.ranked:
            return Tensor(Shape.unknown(), sample.trace, dtype=sample.dtype)
        shape = Shape.of([batch, *sample.shape.dims])
        trace = sample.trace + (Step("batch", shape, loc),) if loc is not None else sample.trace
        return Tensor(shape, trace, dtype=sample.dtype)
    if isinstance(sample, Number):
        integral = not isinstance(sample.value, float) and getattr(sample.value, "is_integer", False)
        return Tensor(Shape.of([batch]), dtype="int64" if integral else "float64")
    if isinstance(sample, Const) and isinstance(sample.value, bool):
        return Tensor(Shape.of([batch]), dtype="bool")
    if isinstance(sample, (Seq, ListValue)):
        items = [collate(item, batch, loc) for item in sample.items]
        if any(item is UNKNOWN for item in items):
            return UNKNOWN
        return Seq(tuple(items)) if isinstance(sample, Seq) else ListValue(items)
    if isinstance(sample, DictValue):
        items = {key: collate(value, batch, loc) for key, value in sample.items.items()}
        return UNKNOWN if any(v is UNKNOWN for v in items.values()) else DictValue(items)
    return UNKNOWN


def data_span(args: list, kwargs: dict, node) -> Value:
    """`range(0, data.size(0) - 1, bptt)`: the offsets into data of a length not known here (its stop
    reads a size: `.size(...)`, `.shape`, `len(...)`), walked like a loader: the loop body runs once, at
    an offset `start + step*k` for some k >= 0, so what it finds holds at every offset, the first among
    them (a loop over the data is written to run). Any other range of unknown length stays unknown."""
    ints = [D.as_int(to_dim(a)) for a in args]
    if kwargs or not 1 <= len(args) <= 3 or not isinstance(node, cst.Call) or len(node.args) != len(args) or \
            any(a.star or a.keyword is not None for a in node.args):
        return UNKNOWN
    start, step = (0, 1) if len(args) == 1 else (ints[0], ints[2] if len(args) == 3 else 1)
    stop_at = 0 if len(args) == 1 else 1
    if start is None or step is None or step < 1 or ints[stop_at] is not None or \
            not isinstance(args[stop_at], Number) or not _reads_a_size(node.args[stop_at].value):
        return UNKNOWN
    return LoaderValue(Number(int(start) + step * (D.fresh("k") - 1)), None)


def _reads_a_size(expr: cst.BaseExpression) -> bool:
    """The expression reads a length: `x.size(0)`, `x.shape[0]`, `len(x)` somewhere in it."""
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if node.attr.value in ("size", "shape"):
                found.append(node)

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "len":
                found.append(node)

    expr.visit(Finder())
    return bool(found)


def enumerated(loader: LoaderValue) -> LoaderValue:
    """`enumerate(loader)`: (the round's index, not known here, its batch)."""
    return LoaderValue(Seq((Number(D.fresh("i")), loader.item)), loader.nonempty)


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None


def _nonempty(length) -> Optional[bool]:
    """Whether a dataset of this length yields a sample: None where its length is not known."""
    if length is None:
        return None
    n = D.as_int(length)
    if n is None:
        return True if D.eq(length, 0) is False else None
    return n > 0


def _at_least(length, size) -> bool:
    n, b = D.as_int(length), D.as_int(size)
    return n is not None and b is not None and n >= b


@dataclass(eq=False)
class TransformValue(Value):
    """A torchvision transform with the arguments it was built with (plain Python values), or the
    transforms a Compose chains; `known` is False where an argument or a step is not known."""

    name: str
    args: dict
    steps: tuple = ()
    known: bool = True
    arg_locs: dict = None  # parameter -> Loc of the argument as written (for the repair's edits)


def _plain(value: Value):
    if isinstance(value, ListValue):
        items = tuple(_plain(item) for item in value.items)
        return MISSING_VALUE if value.uncertain or MISSING_VALUE in items else items
    return plain(value)


def _bind(params: tuple, args: list, kwargs: dict) -> Optional[dict]:
    if len(args) > len(params) or any(k not in params for k in kwargs):
        return None
    bound = dict(zip(params, args))
    bound.update(kwargs)
    return bound


def make_transform(qualname: str, args: list, kwargs: dict, arg_locs: Optional[dict] = None) -> Value:
    """`transforms.Resize(32)`, `transforms.Compose([...])`: the transform as a value (TransformValue)."""
    name = qualname.rsplit(".", 1)[-1]
    if name not in V.TRANSFORMS:
        return UNKNOWN
    bound = _bind(V.TRANSFORM_PARAMS.get(name, ()), args, kwargs) if name in V.TRANSFORM_PARAMS else {}
    if bound is None:
        return TransformValue(name, {}, known=False)
    if name == "Compose":
        steps = bound.get("transforms")
        items = list(steps.items) if isinstance(steps, (ListValue, Seq)) and not getattr(steps, "uncertain", False) \
            else None
        if items is None or not all(isinstance(i, TransformValue) for i in items):
            return TransformValue(name, {}, known=False)
        return TransformValue(name, {}, tuple(items), all(i.known for i in items))
    values = {param: _plain(value) for param, value in bound.items() if param not in ("lambd", "mean", "std")}
    known = name != "Lambda" and MISSING_VALUE not in values.values()
    params = V.TRANSFORM_PARAMS.get(name, ())
    locs = {params[i] if isinstance(i, int) else i: where for i, where in (arg_locs or {}).items()
            if not isinstance(i, int) or i < len(params)}
    return TransformValue(name, values if known else {}, known=known, arg_locs=locs)


def apply(transform: Value, image: Optional[V.Image]) -> Optional[V.Image]:
    """The image after a transform (None where not known)."""
    if not isinstance(transform, TransformValue) or not transform.known or image is None:
        return None
    if transform.name == "Compose":
        for step in transform.steps:
            image = apply(step, image)
        return image
    return V.transform(transform.name, transform.args, image)


def vision_dataset(qualname: str, args: list, kwargs: dict, loc=None) -> Value:
    """`datasets.MNIST(root, train=True, transform=ToTensor())` and the like: samples (image, label) where
    the transforms end in a tensor of known channels (a PIL image does not collate); length per split."""
    if qualname == V.FAKE_DATA:
        bound = _bind(V.FAKE_DATA_PARAMS, args, kwargs)
        if bound is None:
            return UNKNOWN
        size = _plain(bound.get("size", Number(1000)))
        image_size = _plain(bound.get("image_size", Seq(tuple(Number(int(n)) for n in (3, 224, 224)))))
        image = V.dataset_image(qualname, image_size if isinstance(image_size, tuple) else None)
        length = int(size) if isinstance(size, int) and size >= 0 else None
    else:
        facts = V.DATASETS.get(qualname)
        params = V.IMAGE_FOLDER_PARAMS if qualname.endswith("ImageFolder") else V.DATASET_PARAMS
        bound = _bind(params, args, kwargs) if facts is not None else None
        if bound is None:
            return UNKNOWN
        image = V.dataset_image(qualname)
        train = _plain(bound.get("train", Const(True)))
        length = int(facts.length[0 if train else 1]) if facts.length and isinstance(train, bool) else None
    held = _held_tensors(qualname, image, length)
    transform = bound.get("transform")
    if transform is None or isinstance(transform, Const) and transform.value is None:
        # a PIL image: default_collate refuses it
        return DatasetValue(UNKNOWN, length, held) if held else UNKNOWN
    image = apply(transform, image)
    target_transform = bound.get("target_transform")
    if image is None or not image.tensor or target_transform is not None and not (
            isinstance(target_transform, Const) and target_transform.value is None):
        return DatasetValue(UNKNOWN, length, held) if held else UNKNOWN
    dims = [image.channels] + [d if d is not None else D.fresh("?") for d in (image.height, image.width)]
    # The sample's provenance starts at the dataset call, and carries the transform (the repair may
    # resize it: transform_size in causes/inputs.py)
    label = qualname.rsplit(".", 1)[-1]
    shape = Shape.of(dims)
    trace = (Step(label, shape, loc, transform),) if loc is not None else ()
    sample = Seq((Tensor(shape, trace, dtype=image.dtype), Number(D.fresh("label"))))
    return DatasetValue(sample, length, held)


def _held_tensors(qualname: str, image: Optional[V.Image], length) -> dict:
    """MNIST's `.data` (uint8 (N, H, W)) and `.targets` (int64 (N,)), for a split of known length."""
    if qualname not in V.HELD_AS_TENSORS or image is None or length is None:
        return {}
    return {"data": Tensor(Shape.of([length, image.height, image.width]), dtype="uint8"),
            "targets": Tensor(Shape.of([length]), dtype="int64")}


def dataset_attribute(dataset: DatasetValue, name: str) -> Value:
    return dataset.attributes.get(name, UNKNOWN)


# -- images a dataset reads itself ------------------------------------------------------------------------

def open_image(args: list, kwargs: dict) -> Value:
    """`PIL.Image.open(path)`: an image of the file's size and mode."""
    return PILImageValue(V.Image(None, None, None)) if args else UNKNOWN


def image_method(image: PILImageValue, name: str, args: list, kwargs: dict) -> Value:
    """`img.convert('YCbCr')`, `img.split()` (one single-band image per band), `img.copy()`,
    `img.resize((w, h))`; any other method is unknown."""
    if name == "copy" and not args and not kwargs:
        return PILImageValue(image.image)
    if name == "convert" and len(args) == 1 and not kwargs:
        mode = plain(args[0])
        bands = V.PIL_MODE_BANDS.get(mode) if isinstance(mode, str) else None
        return PILImageValue(V.Image(bands, image.image.height, image.image.width)) if bands else UNKNOWN
    if name == "split" and not args and not kwargs and image.image.channels is not None:
        band = V.Image(1, image.image.height, image.image.width)
        return Seq(tuple(PILImageValue(band) for _ in range(image.image.channels)))
    if name == "resize" and len(args) == 1 and not kwargs:
        resized = V.pil_resize(image.image, _plain(args[0]))
        return PILImageValue(resized) if resized is not None else UNKNOWN
    return UNKNOWN


def call_transform(interp: Interp, transform: TransformValue, args: list, kwargs: dict, frame, node) -> Value:
    """`self.transform(img)`: a transform applied to a PIL image or a (C, H, W) tensor of known sizes, as
    a dataset's `__getitem__` does; the tensor it makes starts its provenance here, with the transform."""
    if len(args) != 1 or kwargs:
        return UNKNOWN
    value = args[0]
    if isinstance(value, PILImageValue):
        image = value.image
    elif isinstance(value, Tensor) and value.shape.ranked and value.shape.rank == 3 and \
            all(D.as_int(d) is not None for d in value.shape.dims) and value.dtype is not None:
        c, h, w = (D.as_int(d) for d in value.shape.dims)
        image = V.Image(c, h, w, tensor=True, dtype=value.dtype)
    else:
        return UNKNOWN
    out = apply(transform, image)
    if out is None:
        return UNKNOWN
    if not out.tensor:
        return PILImageValue(out)
    shape = Shape.of([d if d is not None else D.fresh("?") for d in (out.channels, out.height, out.width)])
    loc = frame.loc(node) if node is not None else None
    trace = (Step(transform.name, shape, loc, transform),) if loc is not None else ()
    return Tensor(shape, trace, dtype=out.dtype)


# -- what scripts index datasets with -------------------------------------------------------------------

def random_int(args: list, kwargs: dict) -> Value:
    """random.randint(a, b) / randrange(a, b): an int at least `a` (a known int), not followed further."""
    low = D.as_int(to_dim(args[0])) if len(args) == 2 and not kwargs and isinstance(args[0], Number) else None
    if low is None or not isinstance(args[1], Number):
        return UNKNOWN
    return Number(int(low) + D.fresh("r") - 1)


def numpy_nonzero(args: list, kwargs: dict) -> Value:
    """`np.where(cond)` / `np.nonzero(a)`: one int64 index array per dim of the condition, of a length its
    values decide (NumPy's intp: int64 on the 64-bit platforms torch runs on)."""
    if len(args) != 1 or kwargs or not isinstance(args[0], Tensor) or not args[0].shape.ranked or \
            args[0].shape.rank < 1:
        return UNKNOWN
    return Seq(tuple(Tensor(Shape.of([D.fresh("nonzero")]), dtype="int64") for _ in range(args[0].shape.rank)))
