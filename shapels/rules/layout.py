"""Dim layout: permute/transpose, squeeze/unsqueeze, expand/repeat, chunk/split/unbind, movedim,
narrow/select/unfold, flip/roll/tril, view_as, and Tensor.type."""

from __future__ import annotations

from shapels.codes import DIM_OUT_OF_RANGE, EXPAND_MISMATCH, OP_INPUT_SHAPE, SPLIT_MISMATCH, VIEW_INVALID_SHAPE
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.common import normalize_dim, numel
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import UNKNOWN

MAX_PIECES = 4096  # chunk/split/unbind give a python tuple; past this we do not build it


def dim_index(call: RuleCall, shape: Shape, dim, param: str = "dim") -> int:
    """The position in `shape.dims` that a dim argument names. On an unranked shape only a
    negative dim inside the known suffix can be placed. On a 0-d shape the result is 0."""
    d = normalize_dim(call, dim, shape.rank, param=param)
    if d < 0:
        if -d > len(shape.dims):
            raise Unknowable(param)
        return len(shape.dims) + d
    return d


def dim_indices(call: RuleCall, shape: Shape, dims, param: str = "dim") -> list:
    """Several dim arguments (permute, flip, sum over a tuple): no dim may appear twice."""
    out = [dim_index(call, shape, d, param) for d in dims]
    if len(set(out)) != len(out):
        call.fail(DIM_OUT_OF_RANGE, f"a dim appears more than once in ({', '.join(D.show(d) for d in dims)})")
    return out


def _ranked(call: RuleCall, name: str = "input") -> Shape:
    shape = call.shape(name)
    if not shape.ranked:
        raise Unknowable(name)
    return shape


def _at_least_1d(call: RuleCall, shape: Shape, what: str) -> None:
    if shape.ranked and shape.rank == 0:
        call.fail(OP_INPUT_SHAPE, f"{what}() cannot be applied to a 0-dim tensor")


def _concrete(d, name: str) -> int:
    value = D.as_int(d)
    if value is None:
        raise Unknowable(name)
    return value


# -- permute / transpose -----------------------------------------------------------------------
def _permute(call: RuleCall, order) -> Shape:
    shape = _ranked(call)
    if len(order) != shape.rank:
        call.fail(
            OP_INPUT_SHAPE,
            f"permute() got {len(order)} dims for the {shape.rank}-D tensor {shape.show()}: "
            f"it needs one per dim",
        )
    indices = list(dim_indices(call, shape, order))
    call.moved_axes = tuple(indices)
    return Shape.of(shape.dims[i] for i in indices)


@function(
    "torch.Tensor.permute",
    signature="input, *dims",
    examples=[
        ex(T(2, 3, 4), 0, 2, 1, out=(2, 4, 3)),
        ex(T(2, 3, 4), (2, 0, 1), out=(4, 2, 3)),
        ex(T(2, 3, 4), 2, 1, error=OP_INPUT_SHAPE),
        ex(T(2, 3, 4), 0, 0, 1, error=DIM_OUT_OF_RANGE),
    ],
)
def permute(call: RuleCall):
    return _permute(call, call.int_list("dims"))


@function("torch.permute", signature="input, dims", examples=[ex(T(2, 3, 4), (-1, 0, 1), out=(4, 2, 3))])
def torch_permute(call: RuleCall):
    return _permute(call, call.int_list("dims"))


def _swap(call: RuleCall, a, b) -> Shape:
    shape = call.shape("input")
    i, j = dim_index(call, shape, a, "dim0"), dim_index(call, shape, b, "dim1")
    if shape.rank == 0:
        return shape
    dims = list(shape.dims)
    dims[i], dims[j] = dims[j], dims[i]
    if shape.ranked:
        moved = list(range(shape.rank))
        moved[i], moved[j] = j, i
        call.moved_axes = tuple(moved)
    return Shape(tuple(dims), shape.ranked)


@function(
    "torch.Tensor.transpose", "torch.transpose", "torch.Tensor.swapdims", "torch.swapdims",
    signature="input, dim0, dim1",
    examples=[
        ex(T(2, 3, 4), 1, 2, out=(2, 4, 3)),
        ex(T(2, 3, 4), -1, -3, out=(4, 3, 2)),
        ex(T(2, 3), 0, 2, error=DIM_OUT_OF_RANGE),
    ],
)
def transpose(call: RuleCall):
    return _swap(call, call.dim("dim0"), call.dim("dim1"))


@function(
    "torch.Tensor.swapaxes", "torch.swapaxes",
    signature="input, axis0, axis1",
    examples=[ex(T(2, 3), 0, 1, out=(3, 2))],
)
def swapaxes(call: RuleCall):
    return _swap(call, call.dim("axis0"), call.dim("axis1"))


@function(
    "torch.Tensor.t", "torch.t",
    signature="input",
    examples=[ex(T(2, 3), out=(3, 2)), ex(T(3), out=(3,)), ex(T(2, 3, 4), error=OP_INPUT_SHAPE)],
)
def t(call: RuleCall):
    shape = call.shape("input")
    if len(shape.dims) > 2:
        call.fail(OP_INPUT_SHAPE, f"t() expects a tensor with <= 2 dims, but {shape.show()} has {len(shape.dims)}")
    shape = _ranked(call)
    return Shape.of(reversed(shape.dims))


# -- squeeze / unsqueeze -----------------------------------------------------------------------
@function(
    "torch.Tensor.squeeze", "torch.squeeze",
    signature="input, dim=None",
    examples=[
        ex(T(1, 3, 1, 4), out=(3, 4)),
        ex(T(1, 3, 1), 2, out=(1, 3)),
        ex(T(1, 3, 1), 1, out=(1, 3, 1)),
        ex(T(1, 3, 1), (0, 2), out=(3,)),
        ex(T(1, 3), 2, error=DIM_OUT_OF_RANGE),
    ],
)
def squeeze(call: RuleCall):
    shape = call.shape("input")
    if call.is_none("dim"):
        positions = range(len(_ranked(call).dims))
    else:
        positions = dim_indices(call, shape, call.dims("dim"))
    if shape.rank == 0:
        return shape
    drop = set()
    for i in positions:
        is_one = D.eq(shape.dims[i], 1)
        if is_one is None:
            raise Unknowable("input")  # a symbolic dim might be 1
        if is_one:
            drop.add(i)
    return Shape(tuple(d for i, d in enumerate(shape.dims) if i not in drop), shape.ranked)


@function(
    "torch.Tensor.unsqueeze", "torch.unsqueeze",
    signature="input, dim",
    examples=[
        ex(T(2, 3), 0, out=(1, 2, 3)),
        ex(T(2, 3), -1, out=(2, 3, 1)),
        ex(T(2, 3), 3, error=DIM_OUT_OF_RANGE),
    ],
)
def unsqueeze(call: RuleCall):
    shape = call.shape("input")
    d = normalize_dim(call, call.dim("dim"), None if shape.rank is None else shape.rank + 1)
    if d < 0:  # unranked: count from the end, past the new dim
        d = len(shape.dims) + d + 1
        if d < 0:
            raise Unknowable("dim")
    dims = list(shape.dims)
    dims.insert(d, 1)
    return Shape(tuple(dims), shape.ranked)


# -- expand / repeat ---------------------------------------------------------------------------
def _expand(call: RuleCall, shape: Shape, sizes) -> Shape:
    """Sizes align with the input's dims from the right; -1 keeps a dim; new leading dims are free.
    An unranked input is checked against its known suffix; the result's rank is len(sizes)."""
    if len(sizes) < len(shape.dims):
        call.fail(
            EXPAND_MISMATCH,
            f"expand: {len(sizes)} sizes given for the {len(shape.dims)}-D tensor {shape.show()}; "
            f"it needs at least one per dim",
        )
    lead = len(sizes) - len(shape.dims)
    out = []
    for k, size in enumerate(sizes):
        value = D.as_int(size)
        if value is not None and value < -1:
            call.fail(EXPAND_MISMATCH, f"expand: invalid size {value}")
        if k < lead:
            if value == -1:
                if shape.ranked:
                    call.fail(EXPAND_MISMATCH, f"expand: -1 is not allowed for the new leading dim {k}")
                out.append(D.fresh("?"))  # maybe an existing dim of the unranked input
            else:
                out.append(size if size is not None else D.fresh("?"))
            continue
        current = shape.dims[k - lead]
        if value == -1:
            out.append(current)
        elif size is None:
            out.append(D.fresh("?"))
        elif D.eq(current, size) is True or D.eq(current, 1) is True:
            out.append(size)
        else:
            call.expect(
                current,
                size,
                code=EXPAND_MISMATCH,
                message=lambda: (
                    f"the expanded size ({D.show(size)}) must match the existing size ({D.show(current)}) "
                    f"at non-singleton dim {k}: {shape.show()} cannot expand to "
                    f"({', '.join('?' if s is None else D.show(s) for s in sizes)})"
                ),
            )
            out.append(size)
    return Shape.of(out)


@function(
    "torch.Tensor.expand",
    signature="input, *sizes",
    examples=[
        ex(T(3, 1), 3, 4, out=(3, 4)),
        ex(T(3, 1), 2, -1, 5, out=(2, 3, 5)),
        ex(T(2, 3), 4, 4, error=EXPAND_MISMATCH),
        ex(T(2, 3), 3, error=EXPAND_MISMATCH),
    ],
)
def expand(call: RuleCall):
    return _expand(call, call.shape("input"), call.int_list("sizes"))


@function(
    "torch.Tensor.expand_as",
    signature="input, other",
    examples=[ex(T(1, 3), T(2, 3), out=(2, 3)), ex(T(2, 3), T(3, 3), error=EXPAND_MISMATCH)],
)
def expand_as(call: RuleCall):
    return _expand(call, call.shape("input"), _ranked(call, "other").dims)


def _repeat(call: RuleCall, shape: Shape, reps) -> Shape:
    if len(reps) < len(shape.dims):
        call.fail(
            EXPAND_MISMATCH,
            f"repeat: {len(reps)} sizes given for the {len(shape.dims)}-D tensor {shape.show()}; "
            f"it needs at least one per dim",
        )
    lead = len(reps) - len(shape.dims)
    out = []
    for k, r in enumerate(reps):
        value = D.as_int(r)
        if value is not None and value < 0:
            call.fail(EXPAND_MISMATCH, f"repeat: negative repeat {value}")
        if r is None or (k < lead and not shape.ranked):
            out.append(D.fresh("?"))
        else:
            out.append(r if k < lead else r * shape.dims[k - lead])
    return Shape.of(out)


@function(
    "torch.Tensor.repeat",
    signature="input, *sizes",
    examples=[
        ex(T(2, 3), 2, 2, out=(4, 6)),
        ex(T(2, 3), 4, 1, 1, out=(4, 2, 3)),
        ex(T(2, 3), 2, error=EXPAND_MISMATCH),
    ],
)
def repeat(call: RuleCall):
    return _repeat(call, call.shape("input"), call.int_list("sizes"))


@function(
    "torch.Tensor.tile", "torch.tile",
    signature="input, *dims",
    examples=[ex(T(2, 3), (2,), out=(2, 6)), ex(T(2, 3), 2, 1, 1, out=(2, 2, 3))],
)
def tile(call: RuleCall):
    shape, reps = _ranked(call), call.int_list("dims")
    return _repeat(call, shape, (1,) * (shape.rank - len(reps)) + tuple(reps))


@function(
    "torch.Tensor.repeat_interleave", "torch.repeat_interleave",
    signature="input, repeats=None, dim=None, *, output_size=None",
    examples=[ex(T(2, 3), 2, dim=1, out=(2, 6)), ex(T(2, 3), 2, out=(12,))],
)
def repeat_interleave(call: RuleCall):
    shape, repeats = call.shape("input"), call.dim("repeats")  # a tensor of repeats: unknowable
    if call.is_none("dim"):
        total = numel(shape)
        if total is None:
            raise Unknowable("input")
        return Shape.of([total * repeats])
    if shape.rank == 0:  # torch rejects every dim here, even 0 and -1
        call.fail(DIM_OUT_OF_RANGE, "repeat_interleave: a 0-dim tensor takes no dim")
    i = dim_index(call, shape, call.dim("dim"))
    return shape.with_dim(i, shape.dims[i] * repeats)


# -- chunk / split / unbind ---------------------------------------------------------------------
def _pieces(shape: Shape, i: int, sizes) -> tuple:
    if len(sizes) > MAX_PIECES:
        raise Unknowable("input")
    return tuple(shape.with_dim(i, s) for s in sizes)


def _split_sizes(call: RuleCall, size, split_size) -> list:
    """torch.split with an int: pieces of split_size, the last one shorter."""
    s, n = D.as_int(split_size), D.as_int(size)
    if s is not None and s < 0:
        call.fail(SPLIT_MISMATCH, f"split expects a non-negative split_size, got {s}")
    if n is None or s is None:  # symbolic: only an even split into a known number of pieces
        count = D.as_int(D.cancelled_quotient(size, split_size))
        if count is None or count <= 0:
            raise Unknowable("input")
        return [split_size] * count
    if s == 0:
        if n != 0:
            call.fail(SPLIT_MISMATCH, f"split_size can only be 0 if the dim's size is 0, but it is {n}")
        return [0]
    if n == 0:
        return [0]
    sizes = [int(s)] * (n // s)
    return sizes + [int(n % s)] if n % s else sizes


def _split(call: RuleCall, split) -> tuple:
    shape = call.shape("input")
    _at_least_1d(call, shape, "split")
    i = dim_index(call, shape, call.dim("dim"))
    size = shape.dims[i]
    single = call.dim_or_none(split)
    if single is not None:
        return _pieces(shape, i, _split_sizes(call, size, single))
    sizes = call.int_list(split)
    if any(s is None for s in sizes):
        raise Unknowable(split)
    for s in sizes:
        if D.as_int(s) is not None and D.as_int(s) < 0:
            call.fail(SPLIT_MISMATCH, f"split sizes must be non-negative, got {D.show(s)}")
    total = D.dim_sum(sizes)
    call.expect(
        total,
        size,
        code=SPLIT_MISMATCH,
        message=lambda: (
            f"split sizes ({', '.join(D.show(s) for s in sizes)}) add up to {D.show(total)}, "
            f"but dim {i} of {shape.show()} has size {D.show(size)}"
        ),
    )
    return _pieces(shape, i, sizes)


@function(
    "torch.Tensor.split",
    signature="input, split_size, dim=0",
    examples=[
        ex(T(7, 2), 3, out=((3, 2), (3, 2), (1, 2))),
        ex(T(2, 10), [3, 7], dim=1, out=((2, 3), (2, 7))),
        ex(T(2, 10), [3, 3], dim=1, error=SPLIT_MISMATCH),
    ],
)
def split_method(call: RuleCall):
    return _split(call, "split_size")


@function(
    "torch.split",
    signature="input, split_size_or_sections, dim=0",
    examples=[ex(T(4, 6), [2, 4], -1, out=((4, 2), (4, 4)))],
)
def torch_split(call: RuleCall):
    return _split(call, "split_size_or_sections")


@function(
    "torch.Tensor.chunk", "torch.chunk",
    signature="input, chunks, dim=0",
    examples=[
        ex(T(2, 10), 2, dim=-1, out=((2, 5), (2, 5))),
        ex(T(5), 4, out=((2,), (2,), (1,))),
        ex(T(4), 0, error=SPLIT_MISMATCH),
    ],
)
def chunk(call: RuleCall):
    shape, chunks = call.shape("input"), _concrete(call.dim("chunks"), "chunks")
    _at_least_1d(call, shape, "chunk")
    if chunks <= 0:
        call.fail(SPLIT_MISMATCH, f"chunk expects chunks to be greater than 0, got {chunks}")
    i = dim_index(call, shape, call.dim("dim"))
    size = shape.dims[i]
    if D.as_int(size) == 0:
        return _pieces(shape, i, [size] * chunks)
    if D.as_int(size) is None:
        even = D.cancelled_quotient(size, chunks)
        if even.is_integer is not True:
            raise Unknowable("input")
        return _pieces(shape, i, [D.const(even)] * chunks)
    return _pieces(shape, i, _split_sizes(call, size, D.ceildiv(size, chunks)))


@function(
    "torch.Tensor.unbind", "torch.unbind",
    signature="input, dim=0",
    examples=[ex(T(2, 3), 1, out=((2,), (2,), (2,))), ex(T(2, 3), 2, error=DIM_OUT_OF_RANGE)],
)
def unbind(call: RuleCall):
    shape = call.shape("input")
    if shape.rank == 0:
        call.fail(DIM_OUT_OF_RANGE, "unbind: a 0-dim tensor has no dim to unbind")
    i = dim_index(call, shape, call.dim("dim"))
    count = _concrete(shape.dims[i], "input")
    rest = Shape(shape.dims[:i] + shape.dims[i + 1 :], shape.ranked)
    if count > MAX_PIECES:
        raise Unknowable("input")
    return (rest,) * count


# -- movedim / narrow / select / unfold ---------------------------------------------------------
@function(
    "torch.Tensor.movedim", "torch.movedim", "torch.Tensor.moveaxis", "torch.moveaxis",
    signature="input, source, destination",
    examples=[
        ex(T(2, 3, 4), 0, -1, out=(3, 4, 2)),
        ex(T(2, 3, 4), (0, 1), (2, 0), out=(3, 4, 2)),
        ex(T(2, 3, 4), (0, 1), (2,), error=DIM_OUT_OF_RANGE),
    ],
)
def movedim(call: RuleCall):
    shape = _ranked(call)
    source, destination = call.dims("source"), call.dims("destination")
    if len(source) != len(destination):
        call.fail(
            DIM_OUT_OF_RANGE,
            f"movedim: source has {len(source)} dims but destination has {len(destination)}",
        )
    src = dim_indices(call, shape, source, "source")
    dst = dim_indices(call, shape, destination, "destination")
    if shape.rank == 0:
        return shape
    out: list = [None] * shape.rank
    for s, d in zip(src, dst):
        out[d] = shape.dims[s]
    rest = iter(d for i, d in enumerate(shape.dims) if i not in src)
    return Shape.of(d if d is not None else next(rest) for d in out)


@function(
    "torch.Tensor.narrow", "torch.narrow",
    signature="input, dim, start, length",
    examples=[
        ex(T(4, 6), 1, 2, 3, out=(4, 3)),
        ex(T(4, 6), 1, -2, 2, out=(4, 2)),
        ex(T(4, 6), 1, 4, 3, error=OP_INPUT_SHAPE),
    ],
)
def narrow(call: RuleCall):
    shape = call.shape("input")
    _at_least_1d(call, shape, "narrow")
    i = dim_index(call, shape, call.dim("dim"))
    length = call.dim("length")
    size, start = D.as_int(shape.dims[i]), D.as_int(call.dim_or_none("start"))
    if D.as_int(length) is not None and D.as_int(length) < 0:
        call.fail(OP_INPUT_SHAPE, "narrow(): length must be non-negative")
    if size is not None and start is not None:
        if not -size <= start <= size:
            call.fail(OP_INPUT_SHAPE, f"narrow(): start {start} is out of range for dim {i} of size {size}")
        start += size if start < 0 else 0
        if D.as_int(length) is not None and start + D.as_int(length) > size:
            call.fail(
                OP_INPUT_SHAPE,
                f"narrow(): start ({start}) + length ({D.as_int(length)}) exceeds dim {i} of size {size}",
            )
    return shape.with_dim(i, length)


@function(
    "torch.Tensor.select", "torch.select",
    signature="input, dim, index",
    examples=[ex(T(4, 6), 1, -1, out=(4,)), ex(T(4, 6), 0, 4, error=OP_INPUT_SHAPE)],
)
def select(call: RuleCall):
    shape = call.shape("input")
    _at_least_1d(call, shape, "select")
    i = dim_index(call, shape, call.dim("dim"))
    size, index = D.as_int(shape.dims[i]), D.as_int(call.dim_or_none("index"))
    if size is not None and index is not None and not -size <= index < size:
        call.fail(OP_INPUT_SHAPE, f"select(): index {index} is out of range for dim {i} of size {size}")
    return Shape(shape.dims[:i] + shape.dims[i + 1 :], shape.ranked)


@function(
    "torch.Tensor.unfold",
    signature="input, dimension, size, step",
    examples=[ex(T(2, 10), 1, 3, 2, out=(2, 4, 3)), ex(T(2, 10), 1, 11, 1, error=OP_INPUT_SHAPE)],
)
def unfold(call: RuleCall):
    shape = call.shape("input")
    if shape.rank == 0:
        raise Unknowable("input")
    i = dim_index(call, shape, call.dim("dimension"), "dimension")
    size, step, length = call.dim("size"), call.dim("step"), shape.dims[i]
    if D.as_int(step) is not None and D.as_int(step) <= 0:
        call.fail(OP_INPUT_SHAPE, f"unfold: step must be positive, got {D.as_int(step)}")
    if D.as_int(size) is not None and D.as_int(size) < 0:
        call.fail(OP_INPUT_SHAPE, f"unfold: size must be non-negative, got {D.as_int(size)}")
    if D.as_int(size) is not None and D.as_int(length) is not None and D.as_int(size) > D.as_int(length):
        call.fail(OP_INPUT_SHAPE, f"unfold: size {D.as_int(size)} is larger than dim {i} of {shape.show()}")
    out = shape.with_dim(i, D.floordiv(length - size, step) + 1)
    return Shape(out.dims + (size,), shape.ranked)


# -- shape-preserving ops that take dims --------------------------------------------------------
def _check_dims(call: RuleCall, dims) -> Shape:
    shape = call.shape("input")
    dim_indices(call, shape, dims)
    return shape


@function(
    "torch.Tensor.flip",
    signature="input, *dims",
    preserves_shape=True,
    examples=[ex(T(2, 3), 0, 1, out=(2, 3)), ex(T(2, 3), 0, 0, error=DIM_OUT_OF_RANGE)],
)
def flip(call: RuleCall):
    return _check_dims(call, call.int_list("dims"))


@function("torch.flip", signature="input, dims", preserves_shape=True, examples=[ex(T(2, 3), (-1,), out=(2, 3))])
def torch_flip(call: RuleCall):
    return _check_dims(call, call.int_list("dims"))


@function(
    "torch.Tensor.roll", "torch.roll",
    signature="input, shifts, dims=None",
    preserves_shape=True,
    examples=[ex(T(2, 3), 1, 1, out=(2, 3)), ex(T(2, 3), 1, 2, error=DIM_OUT_OF_RANGE)],
)
def roll(call: RuleCall):
    shape = call.shape("input")
    if call.is_none("dims"):
        return shape
    if shape.rank == 0:
        call.fail(DIM_OUT_OF_RANGE, "roll: a 0-dim tensor has no dims to roll along")
    for d in call.dims("dims"):  # repeats are allowed here
        dim_index(call, shape, d, "dims")
    return shape


@function(
    "torch.Tensor.tril", "torch.tril", "torch.Tensor.triu", "torch.triu",
    signature="input, diagonal=0",
    preserves_shape=True,
    examples=[ex(T(2, 3, 4), 1, out=(2, 3, 4)), ex(T(3), error=OP_INPUT_SHAPE)],
)
def tril(call: RuleCall):
    shape = call.shape("input")
    if shape.ranked and shape.rank < 2:
        call.fail(OP_INPUT_SHAPE, f"tril/triu need a tensor with at least 2 dims, got {shape.show()}")
    return shape


@function(
    "torch.Tensor.view_as", "torch.Tensor.reshape_as",
    signature="input, other",
    examples=[ex(T(6), T(2, 3), out=(2, 3)), ex(T(6), T(2, 4), error=VIEW_INVALID_SHAPE)],
)
def view_as(call: RuleCall):
    source, target = call.shape("input"), _ranked(call, "other")
    have, want = numel(source), numel(target)
    if have is not None:
        call.expect(
            want,
            have,
            code=VIEW_INVALID_SHAPE,
            message=lambda: f"view_as: {source.show()} holds {D.show(have)} elements, {target.show()} {D.show(want)}",
        )
    return target


@function(
    "torch.Tensor.type",
    signature="input, dtype=None, non_blocking=False, **kwargs",
    examples=[ex(T(2, 3), "torch.LongTensor", out=(2, 3))],
)
def tensor_type(call: RuleCall):
    if call.is_none("dtype"):
        return UNKNOWN  # x.type() is the type's name, a string
    return call.shape("input")
