"""Matrix products: matmul/@ (1-D, 2-D and batched with broadcast batch dims), mm, bmm, mv, dot,
outer, addmm/baddbmm, F.bilinear, and einsum for equations over letters and `...`."""

from __future__ import annotations

from typing import Optional

from shapels.codes import BILINEAR_IN_FEATURES, BROADCAST_MISMATCH, MATMUL_MISMATCH, SHAPE_CONDITION
from shapels.rules.base import Condition, RuleCall, ShapeError, Unknowable
from shapels.rules.elementwise import broadcast
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq, Tensor


def _is_vector(shape: Shape, name: str) -> bool:
    """True for a 1-D operand, False for 2-D or more; unknowable when the rank is unknown."""
    if shape.ranked:
        return shape.rank == 1
    if len(shape.dims) >= 2:
        return False
    raise Unknowable(name)


def _inner(call: RuleCall, k1, k2, a: Shape, b: Shape, what: str) -> None:
    call.expect(
        k2,
        k1,
        code=MATMUL_MISMATCH,
        message=lambda: f"{what}: {a.show()} and {b.show()} cannot be multiplied, the inner dims differ ({D.show(k1)} vs {D.show(k2)})",
    )


def _batch(call: RuleCall, a: Shape, b: Shape) -> Shape:
    """Batch dims broadcast like elementwise ops; a failure is a matmul mismatch."""
    try:
        return broadcast(call, Shape(a.dims[:-2], a.ranked), Shape(b.dims[:-2], b.ranked))
    except ShapeError as error:
        raise ShapeError(
            MATMUL_MISMATCH, f"matmul batch dims do not broadcast: {a.show()} @ {b.show()} ({error.message})"
        ) from None


@function(
    "torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__",
    signature="input, other, *, out=None",
    examples=[
        ex(T(2, 3), T(3, 4), out=(2, 4)),
        ex(T(5, 1, 3, 4), T(2, 4, 6), out=(5, 2, 3, 6)),
        ex(T(3), T(5, 3, 4), out=(5, 4)),
        ex(T(5, 3, 4), T(4), out=(5, 3)),
        ex(T(3), T(3), out=()),
        ex(T(2, 3), T(4, 5), error=MATMUL_MISMATCH),
        ex(T(5, 3, 3, 4), T(2, 4, 6), error=MATMUL_MISMATCH),
    ],
)
def matmul(call: RuleCall):
    a, b = call.shape("input"), call.shape("other")
    for s in (a, b):
        if s.ranked and s.rank == 0:
            call.fail(MATMUL_MISMATCH, f"both arguments to matmul need to be at least 1-D, got {a.show()} and {b.show()}")
    a_vec, b_vec = _is_vector(a, "input"), _is_vector(b, "other")
    _inner(call, a.dims[-1], b.dims[-1] if b_vec else b.dims[-2], a, b, "matmul")
    if a_vec and b_vec:
        return Shape.of([])
    if a_vec:
        return Shape(b.dims[:-2] + b.dims[-1:], b.ranked)
    if b_vec:
        return Shape(a.dims[:-1], a.ranked)
    batch = _batch(call, a, b)
    return Shape(batch.dims + (a.dims[-2], b.dims[-1]), batch.ranked)


def _matrices(call: RuleCall, names, rank: int, what: str) -> list:
    """Operands that must be exactly `rank`-D. An unranked operand with enough known dims is read
    as if it had that rank: the output is what the op gives when it runs."""
    shapes = []
    for name in names:
        s = call.shape(name)
        if (s.ranked and s.rank != rank) or len(s.dims) > rank:
            call.fail(MATMUL_MISMATCH, f"{what} expects {rank}-D tensors, but {name} is {s.show()}")
        if len(s.dims) < rank:
            raise Unknowable(name)
        shapes.append(s)
    return shapes


@function(
    "torch.mm", "torch.Tensor.mm",
    signature="input, mat2, *, out=None",
    examples=[ex(T(2, 3), T(3, 4), out=(2, 4)), ex(T(2, 3), T(2, 4), error=MATMUL_MISMATCH), ex(T(3), T(3, 4), error=MATMUL_MISMATCH)],
)
def mm(call: RuleCall):
    a, b = _matrices(call, ("input", "mat2"), 2, "mm")
    _inner(call, a.dims[1], b.dims[0], a, b, "mm")
    return Shape.of([a.dims[0], b.dims[1]])


def _bmm(call: RuleCall, a: Shape, b: Shape, what: str) -> Shape:
    call.expect(
        b.dims[0],
        a.dims[0],
        code=MATMUL_MISMATCH,
        message=lambda: f"{what}: the batch sizes differ, {a.show()} and {b.show()} (bmm does not broadcast)",
    )
    _inner(call, a.dims[2], b.dims[1], a, b, what)
    return Shape.of([a.dims[0], a.dims[1], b.dims[2]])


@function(
    "torch.bmm", "torch.Tensor.bmm",
    signature="input, mat2, *, out=None",
    examples=[
        ex(T(5, 2, 3), T(5, 3, 4), out=(5, 2, 4)),
        ex(T(5, 2, 3), T(1, 3, 4), error=MATMUL_MISMATCH),
        ex(T(5, 2, 3), T(5, 2, 4), error=MATMUL_MISMATCH),
    ],
)
def bmm(call: RuleCall):
    a, b = _matrices(call, ("input", "mat2"), 3, "bmm")
    return _bmm(call, a, b, "bmm")


@function(
    "torch.mv", "torch.Tensor.mv",
    signature="input, vec, *, out=None",
    examples=[ex(T(2, 4), T(4), out=(2,)), ex(T(2, 4), T(3), error=MATMUL_MISMATCH)],
)
def mv(call: RuleCall):
    (a,), (v,) = _matrices(call, ("input",), 2, "mv"), _matrices(call, ("vec",), 1, "mv")
    _inner(call, a.dims[1], v.dims[0], a, v, "mv")
    return Shape.of([a.dims[0]])


@function(
    "torch.dot", "torch.Tensor.dot",
    signature="input, other, *, out=None",
    examples=[ex(T(4), T(4), out=()), ex(T(4), T(3), error=MATMUL_MISMATCH)],
)
def dot(call: RuleCall):
    a, b = _matrices(call, ("input", "other"), 1, "dot")
    _inner(call, a.dims[0], b.dims[0], a, b, "dot")
    return Shape.of([])


@function(
    "torch.outer", "torch.Tensor.outer", "torch.ger", "torch.Tensor.ger",
    signature="input, vec2, *, out=None",
    examples=[ex(T(4), T(3), out=(4, 3))],
)
def outer(call: RuleCall):
    a, b = _matrices(call, ("input", "vec2"), 1, "outer")
    return Shape.of([a.dims[0], b.dims[0]])


def _broadcasts_to(call: RuleCall, name: str, target: Shape, what: str) -> None:
    """`input` of addmm/baddbmm must expand to the product's shape."""
    s = call.shape(name)
    message = f"{what}: {name} {s.show()} does not broadcast to the product's shape {target.show()}"
    if len(s.dims) > target.rank:
        call.fail(BROADCAST_MISMATCH, message)
    for have, want in zip(reversed(s.dims), reversed(target.dims)):
        if D.eq(have, 1) is True or D.eq(have, want) is True:
            continue
        if D.eq(have, want) is False and D.eq(have, 1) is False:
            call.fail(BROADCAST_MISMATCH, message)
        call.conditions.append(Condition(SHAPE_CONDITION, f"{what}: holds only if {D.show(have)} = {D.show(want)} or 1"))


@function(
    "torch.addmm", "torch.Tensor.addmm",
    signature="input, mat1, mat2, *, beta=1, alpha=1, out=None",
    examples=[ex(T(3), T(2, 4), T(4, 3), out=(2, 3)), ex(T(2), T(2, 4), T(4, 3), error=BROADCAST_MISMATCH)],
)
def addmm(call: RuleCall):
    a, b = _matrices(call, ("mat1", "mat2"), 2, "addmm")
    _inner(call, a.dims[1], b.dims[0], a, b, "addmm")
    out = Shape.of([a.dims[0], b.dims[1]])
    _broadcasts_to(call, "input", out, "addmm")
    return out


@function(
    "torch.baddbmm", "torch.Tensor.baddbmm",
    signature="input, batch1, batch2, *, beta=1, alpha=1, out=None",
    examples=[ex(T(1, 1, 3), T(2, 2, 4), T(2, 4, 3), out=(2, 2, 3)), ex(T(2, 2, 4), T(2, 2, 4), T(2, 4, 3), error=BROADCAST_MISMATCH)],
)
def baddbmm(call: RuleCall):
    a, b = _matrices(call, ("batch1", "batch2"), 3, "baddbmm")
    out = _bmm(call, a, b, "baddbmm")
    _broadcasts_to(call, "input", out, "baddbmm")
    return out


@function(
    "torch.nn.functional.bilinear",
    signature="input1, input2, weight, bias=None",
    examples=[ex(T(5, 3), T(5, 4), T(6, 3, 4), out=(5, 6)), ex(T(5, 3), T(5, 2), T(6, 3, 4), error=BILINEAR_IN_FEATURES)],
)
def f_bilinear(call: RuleCall):
    a, b = call.shape("input1"), call.shape("input2")
    (w,) = _matrices(call, ("weight",), 3, "bilinear weight")
    for shape, want, name in ((a, w.dims[1], "input1"), (b, w.dims[2], "input2")):
        if not shape.dims:
            raise Unknowable(name)
        call.expect(
            shape.dims[-1],
            want,
            code=BILINEAR_IN_FEATURES,
            input_name=name,
            message=lambda: f"bilinear: {name} {shape.show()} has {D.show(shape.dims[-1])} features, the weight {w.show()} wants {D.show(want)}",
        )
    if not (a.ranked and b.ranked):
        raise Unknowable("input1")
    if a.rank != b.rank:
        call.fail(BILINEAR_IN_FEATURES, f"bilinear: input1 {a.show()} and input2 {b.show()} differ in rank")
    for x, y in zip(a.dims[:-1], b.dims[:-1]):
        call.expect(y, x, code=BILINEAR_IN_FEATURES, message=lambda: f"bilinear: the batch dims of {a.show()} and {b.show()} differ")
    return Shape(a.dims[:-1] + (w.dims[0],), a.ranked)


# -- einsum ----------------------------------------------------------------------------------------
def _parse_term(term: str) -> Optional[list]:
    """'b...ij' -> ['b', '...', 'i', 'j']; None when malformed."""
    out = []
    rest = term
    while rest:
        if rest.startswith("..."):
            out.append("...")
            rest = rest[3:]
        elif rest[0].isalpha():
            out.append(rest[0])
            rest = rest[1:]
        else:
            return None
    return out if out.count("...") <= 1 else None


def _einsum_dim(call: RuleCall, sizes: dict, label: str, size, within_operand: bool) -> None:
    """Record a label's size; across operands a size-1 dim broadcasts."""
    seen = sizes.get(label)
    if seen is None:
        sizes[label] = size
        return
    if D.eq(seen, size) is True:
        return
    if not within_operand and D.eq(seen, 1) is True:
        sizes[label] = size
        return
    if not within_operand and D.eq(size, 1) is True:
        return
    if D.eq(seen, size) is False and (within_operand or (D.eq(seen, 1) is False and D.eq(size, 1) is False)):
        call.fail(MATMUL_MISMATCH, f"einsum(): subscript {label} has size {D.show(seen)} and {D.show(size)}")
    call.conditions.append(Condition(SHAPE_CONDITION, f"einsum(): holds only if {label}: {D.show(seen)} = {D.show(size)}"))
    sizes[label] = D.fresh("?")


def _broadcast_ellipsis(call: RuleCall, a: Shape, b: Shape) -> Shape:
    try:
        return broadcast(call, a, b)
    except ShapeError as error:
        raise ShapeError(MATMUL_MISMATCH, f"einsum(): the dims under '...' do not broadcast ({error.message})") from None


@function(
    "torch.einsum",
    signature="equation, *operands",
    examples=[
        ex("bij,bjk->bik", T(2, 3, 4), T(2, 4, 5), out=(2, 3, 5)),
        ex("ij,jk", T(3, 4), T(4, 5), out=(3, 5)),
        ex("...ij,...jk->...ik", T(7, 3, 4), T(2, 1, 4, 5), out=(2, 7, 3, 5)),
        ex("ii->i", T(3, 3), out=(3,)),
        ex("bij,bjk->bik", T(2, 3, 4), T(2, 5, 5), error=MATMUL_MISMATCH),
    ],
)
def einsum(call: RuleCall):
    equation = call.const("equation")
    operands = list(call.value("operands").items)
    if len(operands) == 1 and isinstance(operands[0], (Seq, ListValue)):
        operands = list(operands[0].items)
    if not isinstance(equation, str) or not all(isinstance(o, Tensor) and o.shape.ranked for o in operands):
        raise Unknowable("operands")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = [_parse_term(t) for t in lhs.split(",")]
    output = _parse_term(rhs) if arrow else None
    if any(t is None for t in terms) or (arrow and output is None and rhs) or len(terms) != len(operands):
        raise Unknowable("equation")  # malformed equations are argument errors, not shape errors
    sizes: dict = {}
    ellipsis = Shape.of([])
    for term, operand in zip(terms, operands):
        shape = operand.shape
        named = [label for label in term if label != "..."]
        if len(named) > shape.rank or ("..." not in term and len(named) != shape.rank):
            call.fail(
                MATMUL_MISMATCH,
                f"einsum(): the term '{''.join(term)}' names {len(named)} dims, but the operand is {shape.show()}",
            )
        own: dict = {}
        position = 0
        for label in term:
            if label == "...":
                width = shape.rank - len(named)
                ellipsis = _broadcast_ellipsis(call, ellipsis, Shape.of(shape.dims[position : position + width]))
                position += width
                continue
            _einsum_dim(call, own, label, shape.dims[position], True)
            position += 1
        for label, size in own.items():
            _einsum_dim(call, sizes, label, size, False)
    labels = [label for term in terms for label in term if label != "..."]
    if output is None:
        output = ["..."] + sorted(label for label in set(labels) if labels.count(label) == 1)
    named_out = [label for label in output if label != "..."]
    if len(set(named_out)) != len(named_out) or any(label not in sizes for label in named_out):
        raise Unknowable("equation")
    dims: list = []
    for label in output:
        dims.extend(ellipsis.dims if label == "..." else [sizes[label]])
    return Shape.of(dims)

