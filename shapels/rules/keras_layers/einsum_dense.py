"""EinsumDense: an einsum of the input with a kernel (`"abc,cd->abd"`); its output shape is the
`output_shape` argument (without the batch), with the input's elided axes (`...`) kept and the
input's sizes where output_shape says None. Keras's _analyze_einsum_string, which checks the equation
and the sizes the input and the output share, read with Keras's None dims."""

from __future__ import annotations

import re

from shapels.codes import UNDEFINED_DIM
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.keras_layers.spec import (BAD_ARGUMENT, RANK, is_none, is_none_dim, keras_dim, keras_layer, none_dim,
                                             require_defined)
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq

_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), False),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), True),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), False),
)


def _partial_output(call: RuleCall) -> list:
    value = call.value("output_shape")
    single = to_dim(value)
    if single is not None:
        return [single]
    if not isinstance(value, (Seq, ListValue)):
        raise Unknowable("output_shape")
    dims = []
    for item in value.items:
        if is_none(item):
            dims.append(None)
        elif to_dim(item) is not None:
            dims.append(to_dim(item))
        else:
            raise Unknowable("output_shape")
    return dims


def _differs(output, given) -> bool:
    """Keras's check of a shared axis: output_shape's size, where given, must be the input's (a None
    in the input matches no size)."""
    if output is None or is_none_dim(output):
        return False
    return is_none_dim(given) or D.eq(output, given) is False


@keras_layer(
    "EinsumDense",
    init="equation, output_shape, activation=None, bias_axes=None, kernel_initializer='glorot_uniform', "
         "bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, "
         "bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None, "
         "quantization_config=None",
    examples=[
        ex(T(2, 32), init=("ab,bc->ac", 64), out=(2, 64)),
        ex(T(None, 10, 32), init=("abc,cd->abd", (10, 64)), init_kwargs={"bias_axes": "d"}, out=(None, 10, 64)),
        ex(T(2, 10, 32), init=("abc,cde->abde", (10, 4, 8)), out=(2, 10, 4, 8)),
        ex(T(2, 10, 32), init=("...b,bc->...c", 16), out=(2, 10, 16)),
        ex(T(2, 32, 5, 3), init=("ab...,bc->ac...", 64), out=(2, 64, 5, 3)),
        ex(T(None, 10, 32), init=("abc,cd->abd", (None, 64)), out=(None, None, 64)),
        ex(T(2, 10, 32), init=("abc,cd->abd", (12, 64)), error=BAD_ARGUMENT),
        ex(T(2, 10, 32), init=("abc,cd->abe", (10, 64)), error=BAD_ARGUMENT),
        ex(T(2, 32), init=("ab,bc->ac", 64), init_kwargs={"bias_axes": "x"}, error=BAD_ARGUMENT),
        ex(T(2, 32), init=("ab,bc", 64), error=BAD_ARGUMENT),
        ex(T(2, None), init=("ab,bc->ac", 64), error=UNDEFINED_DIM),
        ex(T(2, 32), init=("abc,cd->abd", (4, 64)), error=RANK),
    ],
)
def einsum_dense(call: RuleCall):
    equation = call.const("equation")
    bias_axes = call.const("bias_axes")
    if not isinstance(equation, str) or not (bias_axes is None or isinstance(bias_axes, str)):
        raise Unknowable("equation")
    partial = _partial_output(call)
    shape = call.shape("inputs")
    if not shape.ranked or not shape.dims:
        raise Unknowable("inputs")
    name = layer_name(call)
    dotted = equation.replace("...", "0")
    found = next(((match, left_elided) for pattern, left_elided in _FORMS if (match := pattern.match(dotted))), None)
    if found is None:
        call.fail(BAD_ARGUMENT, f"{name}: invalid equation {equation!r}; Keras takes '[X],[Y]->[Z]', "
                  f"'...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...'", param="equation")
    match, left_elided = found
    input_spec, weight_spec, output_spec = match.groups()
    dims = list(shape.dims)
    elided = len(dims) - len(input_spec)
    if elided < 0:
        call.fail(RANK, f"{name}: its input {shape.show()} has fewer axes than {input_spec!r} in {equation!r}",
                  input_name="inputs")
    if elided > 0 and "0" not in dotted:
        raise Unknowable("inputs")  # the einsum itself then fails on the input's rank: not modelled here
    # output_shape names the output's axes but the batch; with a leading `...` the batch is among the elided
    if len(partial) > len(output_spec) - (0 if left_elided else 1) or (left_elided and elided > 2):
        # Keras's symbolic shape then differs from the one its einsum gives (an axis too many; the
        # elided axes in reverse order)
        raise Unknowable("output_shape")
    output = [dims[0], *partial]
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output.insert(1, dims[i])
    elif elided > 0:
        output.extend(dims[len(dims) - elided:])
    if left_elided:
        input_map = {d: i + elided - len(dims) for i, d in enumerate(input_spec)}
        output_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_map = {d: i for i, d in enumerate(input_spec)}
        output_map = {d: i for i, d in enumerate(output_spec)}
    if any(not -len(output) <= i < len(output) for i in output_map.values()):
        call.fail(BAD_ARGUMENT, f"{name}: output_shape {tuple(D.show(d) if d is not None else None for d in partial)} "
                  f"has fewer axes than the output {output_spec!r} names (besides the batch)", param="output_shape")
    for d in input_spec:
        if d in output_map and _differs(output[output_map[d]], dims[input_map[d]]):
            call.fail(BAD_ARGUMENT, f"{name}: axis {d!r} is {D.show(dims[input_map[d]])} in its input {shape.show()} "
                      f"but {D.show(output[output_map[d]])} in output_shape", param="output_shape", input_name="inputs")
    for d in output_spec:
        if d not in input_spec and d not in weight_spec:
            call.fail(BAD_ARGUMENT, f"{name}: output axis {d!r} of {equation!r} is in neither the input nor the weight",
                      param="equation")
    for d in weight_spec:
        if d not in output_map and d not in input_map:
            call.fail(BAD_ARGUMENT, f"{name}: weight axis {d!r} of {equation!r} is in neither the input nor the output",
                      param="equation")
    for d in bias_axes or "":
        if d not in output_spec:
            call.fail(BAD_ARGUMENT, f"{name}: bias axis {d!r} is not an axis of the output {output_spec!r}",
                      param="bias_axes")
    for d in weight_spec:  # the kernel's axes, each sized from the output (first) or the input
        if d in output_map:
            size = output[output_map[d]]
            if size is None or is_none_dim(size):
                call.fail(UNDEFINED_DIM, f"{name} sizes its kernel's axis {d!r} from the output, where it is None",
                          param="output_shape")
        else:
            require_defined(call, shape, input_map[d], f"its kernel's axis {d!r}")
    # output_shape's None stays None in Keras's symbolic shape (the einsum gives the input's size there)
    return Shape.of([none_dim() if d is None else keras_dim(d) for d in output])
