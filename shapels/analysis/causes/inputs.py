"""The input: the driver's tensor without a batch dim, channels-last, transposed, or of an image size the
model was not built for, rewritten where the factory writes its sizes; and a state made in forward for
one batch size."""

from __future__ import annotations

import math
from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import Cause, Source, expected_size, flatten_width, map_side, shape_text, window_of
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import (
    ASSERT_FAILS, BROADCAST_MISMATCH, CAT_MISMATCH, CONV_IN_CHANNELS, CONV_KERNEL_TOO_LARGE, INPUT_SHAPE,
    LINEAR_IN_FEATURES, POOL_OUTPUT_EMPTY, VIEW_INVALID_SHAPE,
)
from shapels.rules import registry as rule_registry
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.values import MAX_TRACE, Tensor

# Image sizes people build models for: the candidates when the input's size looks like the cause.
_IMAGE_SIZES = (28, 32, 64, 96, 112, 128, 160, 192, 224, 227, 256, 299, 320, 384, 448, 512)


MAX_SIZE_TRIALS = 2


SIGNALLED, SIZE, GUESS = "signalled", "size", "guess"  # what says the input is the cause (see _input_shapes)


def driver_input(finding: Finding, source: Source, kind: str) -> Iterator[Cause]:
    """The tensor the driver made has no batch dim, is channels-last, is transposed, or has an image
    size the model was not built for: the fix rewrites the sizes where it is made, in the driver's own
    terms (`torch.randn(batch_size, latent_dim)` is reordered, not turned into numbers)."""
    evidence = finding.evidence
    if evidence is None:
        return
    seen = set()
    for tensor in ([evidence.source] if evidence.source is not None else []) + list(evidence.operands):
        origin = _origin(tensor, source)
        if origin is None or id(origin[1]) in seen:
            continue
        seen.add(id(origin[1]))
        loc, call, dims, texts, holder = origin
        name = source.assigned.get(id(call))
        what = f"`{name}`" if name else "the input"
        named = _named_sizes(source) if kind == GUESS else {}
        for layout, diagnosis, reading in _input_shapes(finding, tensor, dims, what, _driver_batch(tensor, source), named):
            if reading != kind:
                continue
            new_texts = [texts[item] if isinstance(item, int) else item[0] for item in layout]
            new_dims = [dims[item] if isinstance(item, int) else item[-1] if len(item) > 1 else int(item[0])
                        for item in layout]
            content = _factory_text(call, holder, new_texts, source)
            fix = Fix(f"Make the input {shape_text(new_dims)}", loc, content, target="the model's input")
            yield Cause(INPUT_SHAPE, fix, diagnosis)


def _origin(tensor, source: Source) -> Optional[tuple]:
    """(loc, call, sizes, their texts, the tuple that holds them or None) of the driver's factory call that
    made this tensor: `torch.randn(1, 28, 28)`, `torch.zeros((n, 3))`, `torch.randint(0, 9, (40,))`. The
    sizes are what the analysis knows them to be; each must be known."""
    if not isinstance(tensor, Tensor) or not tensor.trace:
        return None
    first = tensor.trace[0]
    loc = first.loc
    if first.label != "input" or loc is None or not isinstance(loc.node, cst.Call) or id(loc.unit) in source.methods:
        return None
    call = loc.node
    if any(a.star for a in call.args) or any(a.keyword is not None and a.keyword.value == "size" for a in call.args):
        return None
    positional = [a.value for a in call.args if a.keyword is None]
    # tf.random.normal(shape=(64,)), np.zeros(shape=(2, 3)): the sizes written as a keyword
    positional += [a.value for a in call.args if a.keyword is not None and a.keyword.value == "shape"]
    tuples = [v for v in positional if isinstance(v, (cst.Tuple, cst.List))]
    holder = tuples[0] if len(tuples) == 1 else None
    values = [element.value for element in holder.elements] if holder is not None else positional
    shape = first.shape
    dims = [D.as_int(d) for d in shape.dims] if shape.ranked else []
    starred = holder is not None and any(isinstance(e, cst.StarredElement) for e in holder.elements)
    if not values or len(values) != len(dims) or None in dims or starred:
        return None
    return loc, call, dims, [source.code(v) for v in values], holder


def _input_shapes(finding: Finding, tensor: Tensor, dims: list, what: str, batch: Optional[tuple],
                  named: Optional[dict] = None) -> Iterator[tuple]:
    """(layout, diagnosis, kind) for each way the input may be wrong, the most specific first. A layout
    lists the new sizes: an index keeps that size as written, a 1-tuple is a new number ((text, size) where
    the text is a name, `batch_size`). The kind says
    what speaks for it: SIGNALLED (a layer took the input unbatched, the expected size sits at another
    dim), SIZE (an image size the model was built for) or GUESS (nothing names it: tried last). `batch`
    is (size, its text) where the driver's other inputs say what the batch is."""
    expected = expected_size(finding)
    old = shape_text(dims)
    keep = list(range(len(dims)))
    no_batch = (f"{what} has no batch dim: the model takes a batch ({', '.join(['N'] + [str(d) for d in dims])}), "
                f"and {what} is one sample {old}")
    unbatched = any(step.unbatched for step in tensor.trace) or finding.code.endswith("-input-rank")
    if unbatched and len(dims) <= 4:
        yield [("1",)] + keep, no_batch, SIGNALLED
        if batch is not None:
            # A batch of one may not be the program's (targets of the batch size, a BatchNorm in training)
            yield [(batch[1], batch[0])] + keep, no_batch + f"; the driver's other inputs have a batch of {batch[0]}", SIGNALLED
    if expected is not None and len(dims) >= 3 and dims[-1] == expected and dims[1] != expected:
        layout = [0, len(dims) - 1] + keep[1:-1]
        new = [dims[i] for i in layout]
        yield layout, f"{what} is channels-last {old}: the model takes channels at dim 1, {shape_text(new)}", SIGNALLED
    if expected is not None and len(dims) == 2 and dims[0] == expected and dims[1] != expected:
        yield [1, 0], (f"{what} is transposed: {old}, where the model takes rows of {expected} features, "
                       f"{shape_text([dims[1], dims[0]])}"), SIGNALLED
    if not unbatched and len(dims) <= 4:
        # No layer said so, but a batch of one is what a program that reads x.size(0) as the batch may need
        # (a video (C, T, H, W) too, where an einops pattern reads five dims).
        yield [("1",)] + keep, no_batch, GUESS
        if batch is not None:
            yield [(batch[1], batch[0])] + keep, no_batch + f"; the driver's other inputs have a batch of {batch[0]}", GUESS
    transposed_already = expected is not None and len(dims) == 2 and dims[0] == expected
    if len(dims) == 2 and dims[0] != dims[1] and not transposed_already and \
            (dims[0] != 1 or _operand_of_shape(finding, [dims[1], dims[0]])):
        # (seq_len, batch) where the model reads (batch, seq_len): no size names it, the re-analysis decides.
        # Not (1, n) unless what it meets is (n, 1) (a loss's scores): a batch of one made a batch of n would
        # run on a model that takes short rows, and change what the batch is.
        yield [1, 0], (f"{what} is transposed: {old}, where the model takes {shape_text([dims[1], dims[0]])}"), GUESS
    meant = channels_meant(finding, tensor)
    if meant is not None:
        yield [0, (str(meant),)] + keep[2:], (f"{what} has {dims[1]} channels {old}, and the model's first layer "
                                              f"takes {meant}-channel images"), SIZE
    yield from _named_layouts(dims, what, old, named or {})
    for size in _image_sizes(finding, tensor, dims)[:MAX_SIZE_TRIALS]:
        if finding.code in _TOO_SMALL:
            why = (f"{what} is {dims[-2]}×{dims[-1]} {old}, too small for the model's downsampling: "
                   f"{size}×{size} inputs run through it")
        elif finding.code == ASSERT_FAILS:
            why = f"{what} is {dims[-2]}×{dims[-1]} {old}, which the model's size check refuses; {size}×{size} passes it"
        else:
            why = f"the model was built for {size}×{size} inputs, and {what} is {dims[-2]}×{dims[-1]} {old}"
        yield keep[:-2] + [(str(size),), (str(size),)], why, SIZE


def takes_images(finding: Finding) -> bool:
    """Whether the driver's input met the model's first layer with a channel count no image has (6), where
    that layer was built for grey or RGB images: the data is what the file got wrong, and resizing the
    layer would change the model's hyperparameters to fit it."""
    return channels_meant(finding) is not None


def channels_meant(finding: Finding, tensor: Optional[Tensor] = None) -> Optional[int]:
    """The image channel count (3 or 1) the model's first layer was built for, where the driver's image of
    another count (no image has 6) reached it through no other layer, re-laid or changed element by element
    at most: a conv's in_channels, or a
    patch embedding's in_features of channels × patch area (`Rearrange('b c (h p1) (w p2) -> b (h w)
    (p1 p2 c)')` then `nn.Linear(patch_dim, dim)`: 192 = 3 × 8 × 8 where 384 arrived)."""
    evidence = finding.evidence
    tensor = tensor if tensor is not None else (evidence.source if evidence is not None else None)
    if finding.code not in (CONV_IN_CHANNELS, LINEAR_IN_FEATURES) or not isinstance(tensor, Tensor) or \
            not tensor.trace or not tensor.shape.ranked or tensor.shape.rank < 2:
        return None
    image = tensor.trace[0].shape
    sizes = [D.as_int(d) for d in image.dims] if image.ranked and image.rank in (4, 5) else None
    if not sizes or None in sizes or sizes[1] in _FEW_CHANNELS or \
            any(_computes(step.layer) or _elements(step.shape) != math.prod(sizes) for step in tensor.trace[1:]):
        return None  # not an image, or one of image-like channels, or a layer computed on it before
    expected = expected_size(finding)
    got = D.as_int(tensor.shape.dims[1 if finding.code == CONV_IN_CHANNELS else -1])
    if expected is None or not got or sizes[1] * expected % got:
        return None
    meant = sizes[1] * expected // got
    return meant if meant in _IMAGE_CHANNELS else None


def sized_by_the_driver(finding: Finding, source: Source) -> bool:
    """Whether the failing layer's input is the tensor the driver made, with no layer that has weights between
    (a Rearrange, an Unfold, a pooling or an activation at most; an op that is no layer must keep every
    element, as a view or a permute does): the size it disagrees with is the data's, and a size of the
    model's own rewritten to fit it (`channels * 2` where a 6-channel signal met `Conv1d(channels, ...)`)
    would change the model to fit the data."""
    evidence = finding.evidence
    tensor = evidence.source if evidence is not None else None
    if not isinstance(tensor, Tensor) or not tensor.trace or len(tensor.trace) >= MAX_TRACE or \
            _origin(tensor, source) is None:
        return False  # a trace at its limit has dropped steps: what happened between is not known
    made = _elements(tensor.trace[0].shape)
    return made is not None and all(not _computes(step.layer) if step.layer is not None
                                    else _elements(step.shape) == made for step in tensor.trace[1:])


def _computes(layer) -> bool:
    """Whether a layer on the image's way computes with weights of its own (a conv, a norm), which the
    channel count could have been meant for; einops' Rearrange, a Flatten or an activation hold none and
    only re-lay or map the elements (ViT's `Rearrange(...)` then `nn.Linear(patch_dim, dim)`)."""
    if layer is None:
        return False
    rule = rule_registry.lookup(layer.kind)
    return rule is None or bool(rule.parameters)


def _elements(shape) -> Optional[int]:
    sizes = [D.as_int(d) for d in shape.dims] if shape.ranked else [None]
    return None if None in sizes else math.prod(sizes)


def _operand_of_shape(finding: Finding, dims: list) -> bool:
    """Whether the failing call got a tensor of exactly these known sizes."""
    evidence = finding.evidence
    return evidence is not None and any(
        isinstance(t, Tensor) and t.shape.ranked and [D.as_int(d) for d in t.shape.dims] == dims
        for t in evidence.operands)


# Parameter and keyword names by which a file states its images' side and channel count
# (`ViT(image_size=32, ...)`, `def __init__(self, ..., channels=3)`).
_SIDE_NAMES = {"image_size", "img_size", "input_size", "input_resolution", "resolution", "image_res"}
_CHANNEL_NAMES = {"channels", "in_channels", "in_chans", "input_channels", "num_channels", "image_channels", "in_ch"}
_FEW_CHANNELS = (1, 3, 4)  # a channels-last image ends in one of these
_IMAGE_CHANNELS = (3, 1)  # RGB, grey: the channel counts tried, in order, where the file names none


def _named_sizes(source: Source) -> dict:
    """{"side": sizes, "channels": counts} the file writes as ints under those names: keyword arguments
    of its top-level calls (the driver's constructor) and parameter defaults of its functions."""
    found: dict = {"side": set(), "channels": set()}

    def note(name: str, value) -> None:
        number = int(value.value) if isinstance(value, cst.Integer) else None
        if number is None or number <= 0:
            return
        if name in _SIDE_NAMES:
            found["side"].add(number)
        elif name in _CHANNEL_NAMES:
            found["channels"].add(number)

    for _, call in source.top_level_calls:
        for arg in call.args:
            if arg.keyword is not None:
                note(arg.keyword.value, arg.value)
    for param, default in source.int_defaults:
        note(param, default)
    return found


def _named_layouts(dims: list, what: str, old: str, named: dict) -> Iterator[tuple]:
    """Last resorts for an image-like input (N, C, H, W) that nothing in the failing call names: it is
    channels-last, or has another channel count or side than the ones the file states. The re-analysis
    decides; each is one trial."""
    keep = list(range(len(dims)))
    stated = set(named.get("channels", ()))
    if len(dims) == 3:
        # (N, C, L) or (N, tokens, features): only a channel count the file states is tried at dim 1
        for channels in sorted(stated - {dims[1]}):
            yield [0, (str(channels),), 2], (f"{what} has {dims[1]} channels {old}, and the model is built for "
                                             f"{channels}"), GUESS
        return
    if len(dims) not in (4, 5):
        return
    if dims[-1] in _FEW_CHANNELS and dims[1] not in _FEW_CHANNELS:
        layout = [0, len(dims) - 1] + list(range(1, len(dims) - 1))
        yield layout, (f"{what} is channels-last {old}: the model takes channels at dim 1, "
                       f"{shape_text([dims[i] for i in layout])}"), GUESS
    for channels in sorted(stated - {dims[1]}):
        yield [0, (str(channels),)] + keep[2:], (f"{what} has {dims[1]} channels {old}, and the model is built for "
                                                 f"{channels}"), GUESS
    if not stated and dims[1] not in _FEW_CHANNELS:
        # An image of a channel count no image has, and nothing in the file names one (`patch_dim = 3 * p ** 2`):
        # RGB, then grey, each kept only where the whole file then runs clean.
        for channels in _IMAGE_CHANNELS:
            yield [0, (str(channels),)] + keep[2:], (f"{what} has {dims[1]} channels {old}, and the model runs on "
                                                     f"{channels}-channel images"), GUESS
    if len(dims) == 4 and dims[-1] == dims[-2]:
        for side in sorted(set(named.get("side", ())) - {dims[-1]}):
            yield keep[:-2] + [(str(side),), (str(side),)], (f"the model was built for {side}×{side} inputs, and "
                                                             f"{what} is {dims[-2]}×{dims[-1]} {old}"), GUESS


def _driver_batch(tensor: Tensor, source: Source) -> Optional[tuple]:
    """(size, text) of the batch the driver's other inputs have: the dim 0 most of the driver's other
    tensors share (above 1), written as the driver's own int name for it where one holds it (`batch_size`)
    and is assigned before the input is made; None where they do not agree. The other tensors: top-level
    names whose tensor keeps the dim 0 of the factory that made it (`adj = torch.rand(30, 30) > 0.5`), and
    factories written inline in a top-level statement with literal sizes (`loss(out, torch.ones(16))`)."""
    own = tensor.trace[0].loc if tensor.trace else None
    if own is None:
        return None
    counts: dict = {}
    made = set()
    for value in source.globals.values():
        if not isinstance(value, Tensor) or not value.trace or not value.shape.ranked or not value.shape.rank:
            continue
        first = value.trace[0]
        if first.label != "input" or first.loc is None or first.loc.node is own.node or id(first.loc.node) in made:
            continue
        size = D.as_int(value.shape.dims[0])
        if first.shape.ranked and first.shape.rank and D.as_int(first.shape.dims[0]) == size and size and size > 1:
            made.add(id(first.loc.node))
            counts[size] = counts.get(size, 0) + 1
    for _, call in source.top_level_calls:
        if call is own.node or id(call) in made:
            continue
        size = _literal_batch(call, source)
        if size is not None and size > 1:
            counts[size] = counts.get(size, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    if not ranked or len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    size = ranked[0][0]
    return size, _batch_name(size, own.unit, source) or str(size)


_FACTORIES = {"randn": 0, "rand": 0, "zeros": 0, "ones": 0, "empty": 0, "full": 0, "randint": -1}


def _literal_batch(call: cst.Call, source: Source) -> Optional[int]:
    """The first size of `torch.ones(16)`, `torch.zeros((16, 1))`, `torch.randint(0, 2, (16,))`, written
    as an int literal or a top-level int name; None for anything else."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "torch"
            and func.attr.value in _FACTORIES):
        return None
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    if not positional:
        return None
    sizes = positional[_FACTORIES[func.attr.value]]
    first = sizes.elements[0].value if isinstance(sizes, (cst.Tuple, cst.List)) and sizes.elements else \
        None if _FACTORIES[func.attr.value] == -1 or func.attr.value == "full" else sizes
    if isinstance(first, cst.Integer):
        return int(first.value, 0)
    if isinstance(first, cst.Name):
        return D.as_int(to_dim(source.globals.get(first.value)))
    return None


def _batch_name(size: int, statement, source: Source) -> Optional[str]:
    """A top-level int name holding `size` whose name says batch (`batch_size`, `BATCH`), assigned in a
    statement before `statement` (where the input is made)."""
    for node in source.module.body:
        if node is statement or _holds(node, statement):
            return None
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                name = small.targets[0].target.value
                value = source.globals.get(name)
                if "batch" in name.lower() and D.as_int(getattr(value, "value", None)) == size:
                    return name
    return None


def _holds(node: cst.CSTNode, inner: cst.CSTNode) -> bool:
    """Whether `inner` is inside `node` (a driver under `if __name__ == "__main__":`)."""
    found = []

    class _Find(cst.CSTVisitor):
        def on_visit(self, visited: cst.CSTNode) -> bool:
            if visited is inner:
                found.append(visited)
            return not found

    node.visit(_Find())
    return bool(found)


_TOO_SMALL = (CONV_KERNEL_TOO_LARGE, POOL_OUTPUT_EMPTY)


def _sizes_that_fit(finding: Finding, side: int) -> list:
    """Common image sizes above `side` large enough for the layer whose window outgrew its map: the
    map shrank by the input's side over the map's, so the input needs about that many times the
    window (kernel less padding), the smallest such sizes first (the re-analysis decides)."""
    evidence = finding.evidence
    source = evidence.source if evidence is not None else None
    shape = source.shape if isinstance(source, Tensor) else None
    got = D.as_int(shape.dims[-1]) if shape is not None and shape.ranked and shape.rank >= 1 else None
    layer = evidence.layer if evidence is not None else None
    window = window_of(layer)
    kernel = _first_int(layer.args.get(window.kernel)) if window is not None else None
    padding = _first_int(layer.args.get(window.padding)) if window is not None and not window.padding_mode else None
    window = max((kernel or 2) - 2 * (padding or 0), 1)
    # Halved: floors on the way make the shrinking less than proportional (a 28-pixel input leaves a 1×1
    # map where 32 leaves 2×2), so the estimate overshoots
    least = window * side / got / 2 if got else side + 1
    return [s for s in _IMAGE_SIZES if s > side and s >= least]


def _first_int(value) -> Optional[int]:
    """An int argument, or the first of a tuple of them (a square kernel's side)."""
    items = getattr(value, "items", None)
    return D.as_int(to_dim(items[0] if items else value)) if value is not None else None


def _image_sizes(finding: Finding, tensor: Tensor, dims: list) -> list:
    """Square image sizes to try when a Linear after the convolutions expects C*s*s features for the
    C-channel map it gets (the author sized it for an s×s map), or a skip connection does not line up."""
    if len(dims) != 4 or dims[-1] != dims[-2]:
        return []
    if finding.code in (LINEAR_IN_FEATURES, VIEW_INVALID_SHAPE):
        expected = expected_size(finding) if finding.code == LINEAR_IN_FEATURES else flatten_width(finding)
        side = map_side(tensor, expected)
        if side is None:
            return []
        got, wanted = side
        estimate = dims[-1] * wanted / got
    elif finding.code in _TOO_SMALL:
        return _sizes_that_fit(finding, dims[-1])
    elif finding.code == ASSERT_FAILS:
        # A size check the input fails (`h % 32 != 0`): the common sizes near it, the larger first on a tie
        # (an image is padded up to what a downsampling model takes, as such checks advise)
        near = [s for s in _IMAGE_SIZES if s != dims[-1] and dims[-1] / 2 <= s <= dims[-1] * 2]
        return sorted(near, key=lambda s: (abs(s - dims[-1]), -s))
    elif finding.code in (CAT_MISMATCH, BROADCAST_MISMATCH):
        estimate = dims[-1]
        sizes = sorted({16 * math.floor(estimate / 16), 16 * math.ceil(estimate / 16)} - {dims[-1], 0})
        return sorted(sizes, key=lambda s: abs(s - estimate))
    else:
        return []
    # An image size people mistake for another is near it (28 for 32, 256 for 224), never 4x away.
    near = (s for s in _IMAGE_SIZES if s != dims[-1] and dims[-1] / 2 <= s <= dims[-1] * 2)
    return sorted(near, key=lambda s: abs(s - estimate))


def _factory_text(call: cst.Call, holder, sizes: list, source: Source) -> str:
    """`torch.randn(1, 1, 28, 28)` for `torch.randn(1, 28, 28)`; `torch.randint(0, 9, (8, 40))` for
    `torch.randint(0, 9, (40,))`: the other arguments kept as written."""
    if holder is not None:
        inner = ", ".join(sizes) + ("," if len(sizes) == 1 else "")
        written = f"[{', '.join(sizes)}]" if isinstance(holder, cst.List) else f"({inner})"
        args = [(f"{a.keyword.value}={written}" if a.keyword is not None else written) if a.value is holder
                else source.code(a).strip().rstrip(",").strip() for a in call.args]
    else:
        keywords = [source.code(a).strip().rstrip(",").strip() for a in call.args if a.keyword is not None]
        args = [", ".join(sizes)] + keywords
    return f"{source.code(call.func)}({', '.join(args)})"


def fixed_batch_state(finding: Finding, source: Source) -> Iterator[Cause]:
    """`h0 = torch.zeros(self.num_layers, 32, self.hidden_size)` in forward, for a model then called on a
    batch of 16: the literal batch of a state made inside the model becomes `x.size(0)` (or 1), in every
    such factory of that function at once (h0 and c0), so any batch fits."""
    evidence = finding.evidence
    if evidence is None:
        return
    made = [t for t in evidence.operands if _made_in_a_method(t, source)]
    data = [t for t in evidence.operands if not any(t is m for m in made) and t.shape.ranked]
    if not made or not data:
        return
    unit = made[0].trace[0].loc.unit
    name = _first_parameter(unit)
    if name is None or unit.name.value == "__init__":
        return  # a parameter made in the constructor is no per-call state: its first argument is no tensor
    calls = [t.trace[0].loc.node for t in made if t.trace[0].loc.unit is unit]
    first = [a.value for a in calls[0].args if a.keyword is None]
    for dim in (0, 1):
        batch = D.as_int(data[0].shape.dim(dim)) if data[0].shape.rank > dim else None
        for position, node in enumerate(first):
            if batch is None or not isinstance(node, cst.Integer) or int(node.value, 0) == batch:
                continue
            literal = node.value
            positional = ([a for a in c.args if a.keyword is None] for c in calls)
            edits = [Loc(unit, args[position].value) for args in positional
                     if len(args) > position and isinstance(args[position].value, cst.Integer)
                     and args[position].value.value == literal]
            content = f"{name}.size({dim})"
            fixes = [Fix(f"Follow the batch: {content}", loc, content, target="the state's batch") for loc in edits]
            fix = fixes[0]
            fix.also = tuple(fixes[1:])
            yield Cause(finding.code, fix, f"the state made in forward has a batch of {literal}, and `{name}` has "
                                           f"{batch}: {content} follows the batch: {finding.message}")


def _made_in_a_method(tensor, source: Source) -> bool:
    first = tensor.trace[0] if isinstance(tensor, Tensor) and tensor.trace else None
    return first is not None and first.label == "input" and first.loc is not None and \
        isinstance(first.loc.node, cst.Call) and id(first.loc.unit) in source.methods


def _first_parameter(unit) -> Optional[str]:
    """`x` of `def forward(self, x, hidden=None)`."""
    if not isinstance(unit, cst.FunctionDef):
        return None
    params = list(unit.params.posonly_params) + list(unit.params.params)
    return params[1].name.value if len(params) > 1 else None


_SIZES_SET_BY = ("Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop")


def transform_size(finding: Finding, source: Optional[Source] = None) -> Iterator[Cause]:
    """`transforms.Resize(32)` in a dataset's transform, where the model was built for 28×28 images: the
    last transform that sets the size set to an image size the model fits (the same sizes a driver's input
    is tried with). Written as one int, that int; as a script's option (`Resize(opt.imageSize)`), the
    option's int default; as another expression (`Resize(opt.imageSize * 2)`), the whole argument."""
    evidence = finding.evidence
    if evidence is None:
        return
    for tensor in [evidence.source] + list(evidence.operands):
        if not isinstance(tensor, Tensor) or not tensor.trace:
            continue
        made = tensor.trace[0]  # the dataset's step: one sample's (C, H, W)
        setting = _last_size_step(getattr(made, "layer", None))
        where = setting.arg_locs.get("size") if setting is not None and setting.arg_locs else None
        if where is None or not isinstance(where.node, cst.BaseExpression) or not made.shape.ranked or \
                made.shape.rank != 3:
            continue
        option = _option_default(where.node, source) if source is not None else None
        written = option or where
        dims = [None] + [D.as_int(d) for d in made.shape.dims]
        if option is None and source is not None and isinstance(where.node, cst.BinaryOperation):
            # `Resize(opt.imageSize * 2)`: the size the script's option itself says comes first
            for side in (where.node.left, where.node.right):
                if _option_default(side, source) is not None:
                    text = source.code(side)
                    fix = Fix(f"Make the images the option's size: {setting.name}({text})", where, text,
                              target="the dataset's transform")
                    yield Cause(INPUT_SHAPE, fix, f"the dataset's transform makes {dims[-2]}×{dims[-1]} images "
                                                  f"({setting.name}), not the size of its option `{text}`: "
                                                  f"{finding.message}")
        for size in _image_sizes(finding, tensor, dims)[:MAX_SIZE_TRIALS]:
            how = f"the option's default {size}" if option else f"{setting.name}({size})"
            fix = Fix(f"Make the images {size}×{size}: {how}", written, str(size), target="the dataset's transform")
            yield Cause(INPUT_SHAPE, fix, f"the dataset's transform makes {dims[-2]}×{dims[-1]} images "
                                          f"({setting.name}), and the model was built for {size}×{size}: "
                                          f"{finding.message}")
        return


def _option_default(node: cst.CSTNode, source: Source) -> Optional[Loc]:
    """`opt.imageSize`: the int default of the one `add_argument('--imageSize', ..., default=64)` whose dest
    is that name (the value the script runs with where the command line does not give it)."""
    if not isinstance(node, cst.Attribute):
        return None
    found = []
    for unit, call in source.calls + source.top_level_calls:
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_argument"):
            continue
        flags = [a.value.evaluated_value for a in call.args if a.keyword is None and isinstance(a.value, cst.SimpleString)]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        dest = keywords.get("dest")
        if isinstance(dest, cst.SimpleString):
            names = {dest.evaluated_value}
        else:
            longs = [f for f in flags if f.startswith("--")]
            names = {(longs or flags or [""])[0].lstrip("-").replace("-", "_")}
        if node.attr.value in names and isinstance(keywords.get("default"), cst.Integer):
            found.append(Loc(unit, keywords["default"]))
    return found[0] if len(found) == 1 else None


def _last_size_step(transform):
    """The last step of a transform (a Compose's, in order) that sets the image's size."""
    steps = getattr(transform, "steps", None)
    if steps:
        found = [_last_size_step(step) for step in steps]
        return next((step for step in reversed(found) if step is not None), None)
    return transform if getattr(transform, "name", None) in _SIZES_SET_BY else None


def asserted_size(finding: Finding, source: Source) -> Iterator[Cause]:
    """`assert h == self.image_size` (or torch._assert) false because the driver's input has another
    size where the model asserts one: the sizes of the input equal to the one compared, past its batch
    dim, become the asserted size, where the factory writes them."""
    evidence = finding.evidence
    if finding.code != ASSERT_FAILS or evidence is None or not evidence.sizes or None in evidence.sizes:
        return
    got, wanted = evidence.sizes
    if got == wanted or wanted < 1:
        return
    for tensor in evidence.operands:
        origin = _origin(tensor, source)
        if origin is None:
            continue
        loc, call, dims, texts, holder = origin
        name = source.assigned.get(id(call))
        what = f"`{name}`" if name else "the input"
        if len(dims) == 4 and dims[-1] == got and got in _CHANNEL_COUNTS and wanted in dims[1:3]:
            # The size asserted is there, a channel count stands where it is read: a channels-last image
            layout = [0, 3, 1, 2]
            new_dims = [dims[i] for i in layout]
            fix = Fix(f"Make the input {shape_text(new_dims)}", loc,
                      _factory_text(call, holder, [texts[i] for i in layout], source), target="the model's input")
            yield Cause(INPUT_SHAPE, fix, f"{what} is channels-last {shape_text(dims)}: the model takes channels at "
                                          f"dim 1, {shape_text(new_dims)}: {finding.message}")
        # the spatial sizes (past batch and channels) equal to the one compared become the one asserted
        positions = [i for i, d in enumerate(dims) if i >= min(2, len(dims) - 1) and d == got]
        if not positions:
            continue
        new_texts = [str(wanted) if i in positions else text for i, text in enumerate(texts)]
        new_dims = [wanted if i in positions else d for i, d in enumerate(dims)]
        fix = Fix(f"Make the input {shape_text(new_dims)}", loc, _factory_text(call, holder, new_texts, source),
                  target="the model's input")
        yield Cause(INPUT_SHAPE, fix, f"{what} is {shape_text(dims)}, and the model asserts {wanted} where it has "
                                      f"{got}: {finding.message}")
        return


_CHANNEL_COUNTS = (1, 3, 4)  # grey, RGB, RGBA
