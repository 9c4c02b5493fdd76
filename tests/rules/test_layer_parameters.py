"""What each layer's registry entry declares about the layer, against real torch (CPU).

- Parameters and buffers (shapels/rules/parameters.py): every layer that declares any is built with
  the constructor arguments of its examples (and a few more below); each declared shape must be
  torch's (`layer.weight.shape`), None where torch's attribute is None, and the layer must have no
  parameter or buffer of its own that is not declared.
- Each dim's source argument: the argument is changed (doubled) and rebuilt; exactly the dims
  declared to come from it must change in torch, and the declared shapes must follow. Each flag in
  `present_if`, set false, must make torch's attribute None; a grouped dim's divisor must divide it.
- Stored tuples: torch's attribute (`conv.kernel_size`) equals the declared items.
- `functional`: registered, and where its attributes are declared, the call with the layer's own
  attributes gives the layer's output shape.
- `alternatives`: registered layers that take the other arguments and, run on an example's input,
  build the parameters the original declares, with the same output shape.
- Containers: torch module classes whose declared kind (keyed, chained, built from) is torch's.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from shapels.rules import parameters as P
from shapels.rules import vision_models as VM
from shapels.rules.base import MISSING
from shapels.rules.registry import CONTAINERS, REGISTRY, Example, Rule, T

from harnesses import load  # tests/ is on sys.path: pytest's rootdir import mode

H = load("_core_harness")

# Constructor arguments beyond the examples': grouped and non-square convolutions, flags turned off.
EXTRA = {
    "torch.nn.Conv2d": [dict(in_channels=8, out_channels=12, kernel_size=(3, 5), groups=2, bias=False)],
    "torch.nn.Conv1d": [dict(in_channels=6, out_channels=4, kernel_size=(3,), groups=2)],
    "torch.nn.ConvTranspose2d": [dict(in_channels=8, out_channels=12, kernel_size=(3, 5), groups=2),
                                 dict(in_channels=4, out_channels=6, kernel_size=2, stride=2, bias=False)],
    "torch.nn.Linear": [dict(in_features=7, out_features=3, bias=False)],
    "torch.nn.Bilinear": [dict(in1_features=3, in2_features=5, out_features=2, bias=False)],
    "torch.nn.BatchNorm2d": [dict(num_features=6, affine=False), dict(num_features=6, track_running_stats=False),
                             dict(num_features=6, bias=False)],
    "torch.nn.InstanceNorm1d": [dict(num_features=5, affine=True, track_running_stats=True)],
    "torch.nn.LayerNorm": [dict(normalized_shape=[3, 4], bias=False), dict(normalized_shape=8, elementwise_affine=False)],
    "torch.nn.RMSNorm": [dict(normalized_shape=(2, 3)), dict(normalized_shape=4, elementwise_affine=False)],
    "torch.nn.GroupNorm": [dict(num_groups=2, num_channels=8, affine=False), dict(num_groups=2, num_channels=8, bias=False)],
    "torch.nn.Embedding": [dict(num_embeddings=5, embedding_dim=2, padding_idx=0)],
}


def _layers() -> list:
    seen, rules = set(), []
    for rule in REGISTRY.values():
        if id(rule) not in seen and rule.is_layer:
            seen.add(id(rule))
            rules.append(rule)
    return rules


def _keywords(rule: Rule, init: tuple, init_kwargs: dict) -> dict:
    """An example's constructor arguments, all by keyword."""
    names = [p.name for p in rule.init_signature.params if not (p.keyword_only or p.var_positional or p.var_keyword)]
    return dict(zip(names, init)) | dict(init_kwargs)


def _build(qualname: str, kwargs: dict):
    """The torch module, or None when torch's constructor refuses the arguments."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return H.resolve(qualname)(**H.to_torch(kwargs))
        except (RuntimeError, ValueError, AssertionError):
            return None


def _bound(rule: Rule, kwargs: dict) -> dict:
    return rule.init_signature.bind([], {k: H.to_value(v) for k, v in kwargs.items()})


def _cases() -> list:
    cases = []
    for rule in _layers():
        if not (rule.parameters or rule.stored_tuples):
            continue
        seen = set()
        constructions = [_keywords(rule, e.init, e.init_kwargs) for e in rule.examples] + EXTRA.get(rule.name, [])
        for kwargs in constructions:
            if repr(kwargs) not in seen:
                seen.add(repr(kwargs))
                cases.append(pytest.param(rule, kwargs, id=f"{rule.name.rsplit('.', 1)[-1]}-{len(seen)}"))
    return cases


CASES = _cases()


def _declared(rule: Rule, parameter: P.Parameter, kwargs: dict):
    """The declared shape as a tuple of ints, or None for an absent parameter."""
    found = P.shape(parameter, _bound(rule, kwargs))
    assert found is not None, f"{rule.name}.{parameter.name}: unknown for the concrete arguments {kwargs}"
    return None if found == P.ABSENT else tuple(int(d) for d in found)


def _torch_shape(module, name: str):
    value = getattr(module, name)
    return None if value is None else tuple(value.shape)


def test_layers_declare_parameters():
    declaring = {rule.name for rule, _ in (case.values for case in CASES)}
    for name in ("torch.nn.Linear", "torch.nn.Conv2d", "torch.nn.ConvTranspose3d", "torch.nn.BatchNorm1d",
                 "torch.nn.LayerNorm", "torch.nn.Embedding", "torch.nn.GroupNorm"):
        assert name in declaring
    assert len(CASES) > 40


def test_declarations_name_constructor_arguments():
    for rule in _layers():
        names = {p.name for p in rule.init_signature.params}
        for parameter in rule.parameters:
            used = set(parameter.present_if) | ({parameter.given_by} - {None})
            for spec in parameter.dims:
                used |= {spec.arg} | ({getattr(spec, "divided_by", None)} - {None})
            assert used <= names, f"{rule.name}.{parameter.name} names {sorted(used - names)}, not constructor arguments"
        for stored in rule.stored_tuples:
            assert stored.arg in names, f"{rule.name} stores {stored.arg}, not a constructor argument"


@pytest.mark.parametrize("rule, kwargs", CASES)
def test_parameter_shapes_are_torchs(rule, kwargs):
    module = _build(rule.name, kwargs)
    if module is None:
        pytest.skip("torch's constructor refuses these arguments (an error example)")
    for parameter in rule.parameters:
        assert _declared(rule, parameter, kwargs) == _torch_shape(module, parameter.name), (rule.name, parameter.name)
    own = {n for n, _ in module.named_parameters(recurse=False)} | {n for n, _ in module.named_buffers(recurse=False)}
    declared = {p.name for p in rule.parameters}
    assert own <= declared, f"{rule.name} has {sorted(own - declared)}, which its entry does not declare"


def _doubled(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value * 2
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return type(value)(v * 2 for v in value)
    return None


def _with_defaults(rule: Rule, kwargs: dict) -> dict:
    """The arguments with the defaults filled in, so that a defaulted source argument can be changed."""
    full = {p.name: p.default for p in rule.init_signature.params
            if not (p.var_positional or p.var_keyword) and p.default is not MISSING}
    return full | kwargs


@pytest.mark.parametrize("rule, kwargs", CASES)
def test_each_dim_comes_from_its_declared_argument(rule, kwargs):
    module = _build(rule.name, kwargs)
    if module is None:
        pytest.skip("torch's constructor refuses these arguments (an error example)")
    full = _with_defaults(rule, kwargs)
    checked = 0
    for parameter in rule.parameters:
        before = _torch_shape(module, parameter.name)
        if before is None or parameter.given_by is not None and full.get(parameter.given_by) is not None:
            continue
        sources = P.sources(parameter, _bound(rule, kwargs))
        assert sources is not None and len(sources) == len(before), (rule.name, parameter.name, sources, before)
        for arg in sorted(set(sources)):
            changed = _doubled(full[arg])
            assert changed is not None, f"{rule.name}: {arg} is not an int or a tuple of ints"
            other = _build(rule.name, full | {arg: changed})
            assert other is not None, f"{rule.name}: torch refuses {arg}={changed}"
            after = _torch_shape(other, parameter.name)
            assert after is not None and len(after) == len(before)
            moved = {i for i, (a, b) in enumerate(zip(before, after)) if a != b}
            assert moved == {i for i, s in enumerate(sources) if s == arg}, (rule.name, parameter.name, arg, before, after)
            assert _declared(rule, parameter, full | {arg: changed}) == after
            checked += 1
    if any(_torch_shape(module, p.name) for p in rule.parameters if not p.given_by):
        assert checked, f"{rule.name}: no source argument was checked"


@pytest.mark.parametrize("rule, kwargs", CASES)
def test_flags_and_divisors_are_torchs(rule, kwargs):
    if _build(rule.name, kwargs) is None:
        pytest.skip("torch's constructor refuses these arguments (an error example)")
    full = _with_defaults(rule, kwargs)
    for parameter in rule.parameters:
        for flag in parameter.present_if:
            for value in (False, True):
                module = _build(rule.name, full | {flag: value})
                declared = _declared(rule, parameter, full | {flag: value})
                assert declared == _torch_shape(module, parameter.name), (rule.name, parameter.name, flag, value)
                if not value:
                    assert declared is None
        for spec in parameter.dims:
            divisor = getattr(spec, "divided_by", None)
            if divisor is None:
                continue
            changed = full[divisor] * 2
            module = _build(rule.name, full | {divisor: changed})
            if module is not None:  # torch checks that the new divisor divides both channel counts
                assert _declared(rule, parameter, full | {divisor: changed}) == _torch_shape(module, parameter.name)


def test_a_given_weight_is_the_parameter():
    for rule in _layers():
        for parameter in rule.parameters:
            if parameter.given_by is None:
                continue
            example = next(e for e in rule.examples if e.error is None)
            kwargs = _keywords(rule, example.init, example.init_kwargs)
            shape = _declared(rule, parameter, kwargs)
            given = torch.randn(shape)
            module = H.resolve(rule.name)(**kwargs, **{parameter.given_by: given})
            assert torch.equal(getattr(module, parameter.name), given), (rule.name, parameter.name)


@pytest.mark.parametrize("rule, kwargs", CASES)
def test_stored_tuples_are_torchs(rule, kwargs):
    module = _build(rule.name, kwargs)
    if module is None:
        pytest.skip("torch's constructor refuses these arguments (an error example)")
    bound = _bound(rule, kwargs)
    for stored in rule.stored_tuples:
        items = P.stored_items(stored, bound)
        actual = getattr(module, stored.arg)
        if items is None:  # not an int or a sequence (padding="same"): torch keeps it as given
            assert actual == _with_defaults(rule, kwargs)[stored.arg]
        else:
            assert tuple(int(H.rule_output(i)) for i in items) == tuple(actual), (rule.name, stored.arg)


def _runs(rule: Rule) -> list:
    """(constructor keywords, example) of the examples that run in torch."""
    return [(_keywords(rule, e.init, e.init_kwargs), e) for e in rule.examples if e.error is None and not e.kwargs]


def test_functionals_are_registered_and_are_the_forward():
    with_functional = [rule for rule in _layers() if rule.functional is not None]
    assert {"torch.nn.Linear", "torch.nn.Conv2d", "torch.nn.LayerNorm", "torch.nn.Embedding"} <= \
        {rule.name for rule in with_functional}
    for rule in with_functional:
        functional = REGISTRY.get(rule.functional.qualname)
        assert functional is not None and not functional.is_layer, rule.functional.qualname
        H.resolve(rule.functional.qualname)
        for kwargs, example in _runs(rule) if rule.functional.attributes else ():
            module = H.resolve(rule.name)(**kwargs)
            x = H.to_torch(example.args[0])
            attributes = [getattr(module, a) for a in rule.functional.attributes]
            assert H.torch_output(H.resolve(rule.functional.qualname)(x, *attributes)) == H.torch_output(module(x))


def test_alternatives_infer_what_they_drop():
    alternatives = [(rule, a) for rule in _layers() for a in rule.alternatives]
    assert ("torch.nn.Linear", "torch.nn.LazyLinear") in {(r.name, a.qualname) for r, a in alternatives}
    for rule, alternative in alternatives:
        stand_in = REGISTRY.get(alternative.qualname)
        assert stand_in is not None and stand_in.is_layer, alternative.qualname
        own, theirs = {p.name for p in rule.init_signature.params}, {p.name for p in stand_in.init_signature.params}
        assert set(alternative.infers) <= own - theirs
        for kwargs, example in _runs(rule):
            original = H.resolve(rule.name)(**kwargs)
            replacement = H.resolve(alternative.qualname)(**{k: v for k, v in kwargs.items() if k in theirs})
            x = H.to_torch(example.args[0])
            assert H.torch_output(replacement(x)) == H.torch_output(original(x))
            for parameter in rule.parameters:
                assert _torch_shape(replacement, parameter.name) == _torch_shape(original, parameter.name)


def test_containers_are_torchs():
    assert {"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"} <= set(CONTAINERS)
    # torchvision's ResNet and blocks are registered as containers of their members (shapels/rules/
    # vision_models.py): a modelling of classes with constructors of their own, compared with torchvision's
    # built models in tests/rules/test_vision_models.py where torchvision imports (scripts/vision-venv.sh)
    modelled = {q for q in CONTAINERS if q.startswith("torchvision.")}
    assert modelled <= {VM.RESNET, VM.BASIC_BLOCK, VM.BOTTLENECK}
    for qualname, spec in CONTAINERS.items():
        if qualname in modelled:
            continue
        cls = H.resolve(qualname)
        assert issubclass(cls, torch.nn.Module)
        assert spec.keyed == hasattr(cls, "keys"), qualname
        assert spec.chained == (cls.forward is not torch.nn.Module.forward and "forward" in vars(cls)), qualname
        a, b = torch.nn.Linear(2, 3), torch.nn.Linear(3, 4)
        built = {"members": lambda: cls(a, b), "iterable": lambda: cls([a, b]),
                 "mapping": lambda: cls({"a": a, "b": b})}[spec.built_from]()
        assert list(built.children()) == [a, b], qualname
        if spec.chained:
            assert tuple(built(torch.randn(5, 2)).shape) == (5, 4)



def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    return next((t for t in map(_first_tensor, out) if t is not None), None) if isinstance(out, (tuple, list)) else None


def _scaled(value, old: int):
    """An example's input with every dim equal to `old` doubled (the width a layer's input must share)."""
    if isinstance(value, T):
        return T(*(d * 2 if d == old else d for d in value.dims), dtype=value.dtype)
    if isinstance(value, (tuple, list)):
        return type(value)(_scaled(v, old) for v in value)
    return value


def _call(module, args: tuple, kwargs: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _first_tensor(module(*H.to_torch(args), **H.to_torch(kwargs)))
        except (RuntimeError, ValueError, AssertionError):
            return None


# Calls beyond the examples' (constructor keywords, forward arguments): the examples of these show
# only a width that another argument changes (a bidirectional GRU's is twice hidden_size).
WIDTH_EXTRA = {"torch.nn.GRU": [(dict(input_size=4, hidden_size=6), (T(5, 3, 4),))]}


def test_makes_width_sizes_the_output():
    """The declared argument is the output's channel (dim 1) or feature (last) size, in some example;
    doubled, that dim doubles (the inputs widened with it where the layer's input shares the width:
    attention's embed_dim)."""
    # torch's layers here, against torch; Keras's (Dense's units) in test_keras_makes_width_sizes_the_output
    declaring = [rule for rule in _layers() if rule.makes_width is not None and rule.name.startswith("torch.")]
    assert {"torch.nn.Linear", "torch.nn.Conv2d", "torch.nn.Embedding", "torch.nn.LSTM",
            "torch.nn.MultiheadAttention"} <= {rule.name for rule in declaring}
    for rule in declaring:
        arg = rule.makes_width
        assert arg in {p.name for p in rule.init_signature.params}, rule.name
        shown = 0
        extra = [Example(args, init_kwargs=kwargs) for kwargs, args in WIDTH_EXTRA.get(rule.name, [])]
        for example in list(rule.examples) + extra:
            if example.error is not None:
                continue
            full = _with_defaults(rule, _keywords(rule, example.init, example.init_kwargs))
            module = _build(rule.name, full)
            out = _call(module, example.args, example.kwargs) if module is not None else None
            value = full[arg]
            places = [p for p in (1, out.ndim - 1) if 0 <= p < out.ndim and out.shape[p] == value] if out is not None else []
            if not places:
                continue  # the width is another here (a bidirectional RNN, an LSTM's proj_size)
            wider = _build(rule.name, full | {arg: value * 2})
            after = _call(wider, example.args, example.kwargs)
            if after is None:
                after = _call(wider, _scaled(example.args, value), _scaled(example.kwargs, value))
            assert after is not None, (rule.name, example)
            assert any(after.shape[p] == value * 2 for p in places), (rule.name, example, tuple(after.shape))
            shown += 1
        assert shown, f"{rule.name}: no example shows {arg} sizing the output"


def test_keras_makes_width_sizes_the_output():
    """A Keras layer's declared width argument, doubled, doubles its output's last axis, in Keras."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    import numpy as np

    declaring = [rule for rule in _layers() if rule.makes_width is not None and rule.name.startswith("keras.")]
    assert "keras.layers.Dense" in {rule.name for rule in declaring}
    import inspect

    for rule in declaring:
        name = rule.name.rsplit(".", 1)[-1]
        layer_class = getattr(keras.layers, name)
        takes = inspect.signature(layer_class).parameters
        # a convolution's kernel (1) and its map's rank (Conv2D: (2, 5, 5, 7)), an Embedding's vocabulary
        others = {"kernel_size": 1} if "kernel_size" in takes else {"input_dim": 10} if "input_dim" in takes else {}
        spatial = next((int(c) for c in "123" if f"{c}D" in name), 1)
        data = np.zeros((2, 5), "int32") if "input_dim" in others else np.zeros((2,) + (5,) * spatial + (7,), "float32")
        narrow = layer_class(**{rule.makes_width: 3}, **others)(data)
        wide = layer_class(**{rule.makes_width: 6}, **others)(data)
        assert tuple(narrow.shape)[-1] * 2 == tuple(wide.shape)[-1] == 6, rule.name
