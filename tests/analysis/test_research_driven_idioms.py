"""Idioms the driven research models of corpus/research_mutants.py needed (vit-pytorch's PiT, T2T, CCT, CvT
and ParallelViT, denoising-diffusion-pytorch's U-Nets), each checked against torch: the same program is run
under torch and analysed, and the output shape (or the error) must agree."""

from __future__ import annotations

import textwrap

import pytest
import torch  # noqa: F401 - the programs below run under it

from shapels.analysis import engine
from shapels.analysis.engine import Options, analyze


def _analyze(source: str):
    """The analysis of the program, and the value its top-level `out` got."""
    captured: dict = {}
    run_driver = engine._run_driver

    def capture(interp, module, *rest):
        run_driver(interp, module, *rest)
        captured.update(interp.globals)

    engine._run_driver = capture
    try:
        result = analyze(textwrap.dedent(source), "m.py", Options())
    finally:
        engine._run_driver = run_driver
    return result, captured


def _errors(source: str) -> list:
    return [f.code for f in _analyze(source)[0].findings if f.severity == "error"]


def _shape(source: str, name: str = "out") -> str | None:
    value = _analyze(source)[1].get(name)
    return value.shape.show() if getattr(value, "shape", None) is not None else None


def _torch(source: str, name: str = "out"):
    """What the program gives under torch: the shape of `out`, as shapels prints one, or the error."""
    scope = {"__name__": "__main__"}
    try:
        exec(compile(textwrap.dedent(source), "<model>", "exec"), scope)
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        return f"{type(error).__name__}: {error}"
    return str(tuple(scope[name].shape))


def _agrees(source: str, error_code: str) -> None:
    """torch runs it and shapels gives the same shape with no error, or torch fails and shapels reports
    `error_code` (only)."""
    verdict = _torch(source)
    if verdict.startswith(("RuntimeError", "ValueError", "IndexError")):
        assert _errors(source) == [error_code], verdict
    else:
        assert _errors(source) == [] and _shape(source) == verdict


# -- `if drop_prob <= 0. or not self.training` with drop rates from a linspace (CCT's DropPath) ------------
DROP_PATH = """
import torch
from torch import nn

class DropPath(nn.Module):
    def __init__(self, drop_prob=None):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        batch, drop_prob = x.shape[0], self.drop_prob
        if {condition}:
            return x
        keep_prob = 1 - self.drop_prob
        shape = (batch, *((1,) * (x.ndim - 1)))
        keep_mask = torch.zeros(shape).float().uniform_(0, 1) < keep_prob
        return x.div(keep_prob) * keep_mask.float()

class Net(nn.Module):
    def __init__(self, depth):
        super().__init__()
        dpr = [x.item() for x in torch.linspace(0, 0.1, depth)]
        self.paths = nn.ModuleList([DropPath(p) for p in dpr])
        self.fc = nn.Linear({fc_in}, 4)

    def forward(self, x):
        for path in self.paths:
            x = path(x)
        return self.fc(x)

net = Net(3)
net.{mode}()
out = net(torch.randn(2, 5, 8))
"""


@pytest.mark.parametrize("fc_in", [8, 6])
@pytest.mark.parametrize("condition", ["drop_prob <= 0. or not self.training",
                                       "not (self.training and drop_prob > 0.)"])
def test_a_condition_settled_by_one_side_of_or_and_matches_torch(fc_in, condition):
    source = DROP_PATH.format(condition=condition, fc_in=fc_in, mode="eval")
    _agrees(source, "linear-in-features")


def test_in_training_the_drop_rate_decides_and_an_unknown_one_leaves_the_shape_unknown():
    # the branch that runs depends on each rate, unknown here: x.div(keep_prob) may broadcast
    source = DROP_PATH.format(condition="drop_prob <= 0. or not self.training", fc_in=8, mode="train")
    assert _torch(source) == "(2, 5, 4)"
    assert _errors(source) == [] and _shape(source) in ("(..., 4)", "(2, 5, 4)")


# -- sum() of tensors (ParallelViT's `sum([fn(x) for fn in self.fns])`) ------------------------------------
PARALLEL = """
import torch
from torch import nn

class Parallel(nn.Module):
    def __init__(self, *fns):
        super().__init__()
        self.fns = nn.ModuleList(fns)

    def forward(self, x):
        return sum([fn(x) for fn in self.fns]{start})

out = Parallel(nn.Linear(8, 16), nn.Linear(8, {width}))(torch.randn(2, 8))
"""


@pytest.mark.parametrize("start", ["", ", torch.zeros(16)", ", torch.zeros(3)"])
@pytest.mark.parametrize("width", [16, 1, 12])
def test_sum_of_tensors_broadcasts_like_torch(start, width):
    _agrees(PARALLEL.format(start=start, width=width), "broadcast-mismatch")


# -- locals() filtered by a key prefix (CvT's group_by_key_prefix_and_remove_prefix) ----------------------
LOCALS = """
import torch
from torch import nn

def group_dict_by_key(cond, d):
    return_val = [dict(), dict()]
    for key in d.keys():
        match = bool(cond(key))
        ind = int(not match)
        return_val[ind][key] = d[key]
    return (*return_val,)

def group_by_key_prefix_and_remove_prefix(prefix, d):
    kwargs_with_prefix, kwargs = group_dict_by_key(lambda x: x.startswith(prefix), d)
    kwargs_without_prefix = dict(map(lambda x: (x[0][len(prefix):], x[1]), tuple(kwargs_with_prefix.items())))
    return kwargs_without_prefix, kwargs

class Net(nn.Module):
    def __init__(self, *, s1_dim=16, s1_kernel=3, s2_dim=32, s2_kernel=3, channels=3):
        super().__init__()
        kwargs = dict(locals())
        dim = channels
        layers = []
        for prefix in ('s1', 's2'):
            config, kwargs = group_by_key_prefix_and_remove_prefix(f'{{prefix}}_', kwargs)
            layers.append(nn.Conv2d(dim, config['dim'], config['kernel'], padding=config['kernel'] // 2))
            dim = config['dim']
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear({head_in}, 10)

    def forward(self, x):
        return self.head(self.layers(x).mean(dim=(2, 3)))

out = Net(s2_dim=24)(torch.randn(1, 3, 8, 8))
"""


@pytest.mark.parametrize("head_in", [24, 32])
def test_locals_and_string_slices_give_a_constructors_config_like_torch(head_in):
    _agrees(LOCALS.format(head_in=head_in), "linear-in-features")


def test_locals_holds_the_names_bound_so_far():
    source = """
    import torch

    def f(a, b=2):
        names = dict(locals())
        c = a + b
        return torch.zeros(len(names), names['b'], len(locals()))

    out = f(1)
    """
    assert _torch(source) == "(2, 2, 4)"
    assert _errors(source) == [] and _shape(source) == "(2, 2, 4)"


# -- callable() in lucidrains' default(val, d) ---------------------------------------------------------------
DEFAULT = """
import torch
from torch import nn

def exists(x):
    return x is not None

def default(val, d):
    if exists(val):
        return val
    return d() if callable(d) else d

class Net(nn.Module):
    def __init__(self, dim, init_dim=None):
        super().__init__()
        init_dim = default(init_dim, {fallback})
        self.init_conv = nn.Conv2d(3, init_dim, 7, padding=3)
        self.out = nn.Conv2d({out_in}, 3, 1)

    def forward(self, x):
        return self.out(self.init_conv(x))

out = Net(16)(torch.randn(1, 3, 8, 8))
"""


@pytest.mark.parametrize("fallback", ["dim", "lambda: dim", "nn.Identity"])
@pytest.mark.parametrize("out_in", [16, 8])
def test_callable_decides_lucidrains_default_like_torch(fallback, out_in):
    source = DEFAULT.format(fallback=fallback, out_in=out_in)
    if fallback == "nn.Identity":  # an nn.Module class is callable: default() builds one, not a width
        assert _torch(source).startswith("TypeError")
        assert _errors(source) == []
        return
    _agrees(source, "conv-in-channels")


# -- math.pi and friends (karras_unet's MPFourierEmbedding) ------------------------------------------------
@pytest.mark.parametrize("constant", ["math.pi", "pi", "math.tau", "torch.pi"])
def test_math_constants_are_numbers(constant):
    source = f"""
    import math
    from math import pi
    import torch
    from einops import rearrange
    x = torch.randn(2)
    w = torch.randn(8)
    freqs = rearrange(x, 'b -> b 1') * rearrange(w, 'd -> 1 d') * 2 * {constant}
    out = torch.cat((freqs.sin(), freqs.cos()), dim=-1) * math.sqrt(2)
    """
    assert _torch(source) == "(2, 16)"
    assert _errors(source) == [] and _shape(source) == "(2, 16)"


# -- ModuleList.insert (karras_unet's prepend(self.ups, dec)) and changes not followed --------------------
INSERT = """
import torch
from torch import nn

def prepend(arr, el):
    arr.insert(0, el)

ups = nn.ModuleList([nn.Linear(4, 8)])
prepend(ups, nn.Linear(2, 4))
ups.insert({index}, nn.Linear({width}, {width}))
x = torch.randn(1, 2)
for m in ups:
    x = m(x)
out = x
"""


@pytest.mark.parametrize("index, width", [(2, 8), (1, 4), (1, 8), (0, 4)])
def test_module_list_insert_matches_torch(index, width):
    _agrees(INSERT.format(index=index, width=width), "linear-in-features")


@pytest.mark.parametrize("change, followed", [
    ("del ups[0]", True), ("del ups[-2]", True), ("ups[0] = nn.Linear(2, 4)", True), ("ups[0] = nn.Linear(2, 2)", True),
    ("ups.extend(more)", True), ("ups.pop(0)", False), ("del ups[i]", False), ("del ups[:1]", False),
    ("ups[i] = nn.Identity()", False), ("if i: del ups[0]", False), ("del ups[0], more[0]", True)])
def test_a_module_list_changed_matches_torch_or_is_unknown(change, followed):
    source = f"""
    import torch
    from torch import nn
    more = [nn.Identity()]
    i = int(torch.randint(0, 1, ()).item())
    ups = nn.ModuleList([nn.Linear(3, 2), nn.Linear(2, 4)])
    {change}
    x = torch.randn(1, 2)
    for m in ups:
        x = m(x)
    out = x
    """
    verdict = _torch(source)
    errors = _errors(source)
    if not followed:  # the list is unknown from there, so nothing is reported
        assert errors == []
    elif verdict.startswith("RuntimeError"):
        assert errors == ["linear-in-features"]
    else:
        assert errors == [] and _shape(source) == verdict


# -- nn.Unfold in a model (PiT's and T2T's patch embedding) -------------------------------------------------
UNFOLD = """
import torch
from torch import nn
from einops.layers.torch import Rearrange

patch = nn.Sequential(
    nn.Unfold(kernel_size=8, stride=4),
    Rearrange('b c n -> b n c'),
    nn.Linear({linear_in}, 64),
)
out = patch(torch.randn(1, 3, {size}, {size}))
"""


@pytest.mark.parametrize("linear_in, size", [(192, 32), (192, 30), (3 * 64 * 2, 32), (192, 6)])
def test_unfold_in_a_patch_embedding_matches_torch(linear_in, size):
    source = UNFOLD.format(linear_in=linear_in, size=size)
    verdict = _torch(source)
    if size < 8:
        # torch's error; the causes may name the input as too small for the block (input-shape)
        assert verdict.startswith("RuntimeError") and _errors(source) in (["pool-output-empty"], ["input-shape"])
        return
    _agrees(source, "linear-in-features")


# -- x-transformers' layer construction: flags or'ed with |, iter/next of per-layer kwargs, filter, dict
# comprehensions ----------------------------------------------------------------------------------------
LAYERS = """
import torch
from torch import nn
from functools import partial

def equals(val):
    def inner(x):
        return x == val
    return inner

def groupby_prefix_and_trim(prefix, d):
    with_prefix = {{k: v for k, v in d.items() if k.startswith(prefix)}}
    return {{k[len(prefix):]: v for k, v in with_prefix.items()}}, {{k: v for k, v in d.items() if not k.startswith(prefix)}}

class Layers(nn.Module):
    def __init__(self, dim, depth, **kwargs):
        super().__init__()
        ff_kwargs, kwargs = groupby_prefix_and_trim('ff_', kwargs)
        layer_types = ('a', 'f') * depth
        self.num_ff_layers = len(list(filter(equals('f'), layer_types)))
        ff_iter = iter([{{k: (v[i] if isinstance(v, tuple) else v) for k, v in ff_kwargs.items()}}
                        for i in range(self.num_ff_layers)])
        self.layers = nn.ModuleList([])
        for layer_type in layer_types:
            if layer_type == 'a':
                layer = nn.Linear(dim, dim)
            else:
                mult = next(ff_iter)['mult']
                layer = nn.Sequential(nn.Linear(dim, dim * mult), nn.Linear(dim * mult, dim))
            self.layers.append(layer)
        self.head = nn.Linear({head_in}, 3)

    def forward(self, x, return_hiddens=False, return_attn=False):
        hiddens = return_hiddens | return_attn
        for layer in self.layers:
            x = layer(x)
        return self.head(x) if not hiddens else x

out = Layers(8, 2, ff_mult=(2, 4), ff_other=1)(torch.randn(2, 5, 8))
"""


@pytest.mark.parametrize("head_in", [8, 16])
def test_per_layer_kwargs_through_iter_next_filter_and_dict_comprehensions_match_torch(head_in):
    _agrees(LAYERS.format(head_in=head_in), "linear-in-features")


@pytest.mark.parametrize("expression, expected", [
    ("len(list(filter(None, [0, 1, 2, None, 3])))", 3),
    ("len(list(filter(lambda v: v > 1, (1, 2, 3))))", 2),
    ("next(iter([4, 5]))", 4),
    ("next(iter([]), 6)", 6),
    ("len({k: v for k, v in {'a': 1, 'b': 2}.items() if k != 'a'})", 1),
    ("len([1, 2, 3][::-1][:2])", 2),
    ("(1, 2, 3)[::-1][0]", 3),
    ("len('abcd'[::-2])", 2),
    ("int(True | False) + 1", 2),
    ("int(('batchnorm' is True) or ('x' is not False)) + 1", 2),
])
def test_python_values_model_code_computes_sizes_with(expression, expected):
    source = f"""
    import torch
    out = torch.zeros({expression})
    """
    assert _torch(source) == f"({expected},)"
    assert _errors(source) == [] and _shape(source) == f"({expected},)"


def test_an_iterator_advanced_where_the_code_may_not_run_is_unknown_from_there():
    source = """
    import torch
    from torch import nn
    widths = iter([4, 8])
    if torch.rand(()).item() > 2:
        next(widths)
    fc = nn.Linear(3, next(widths))
    out = nn.Linear(4, 2)(fc(torch.randn(1, 3)))
    """
    assert _torch(source) == "(1, 2)"
    assert _errors(source) == []


def test_a_reversed_list_of_features_keeps_its_items():
    # smp's Unet decoder: features[1:][::-1], head = features[0] (a slice with a negative step was empty)
    source = """
    import torch
    from torch import nn
    features = [torch.randn(1, 3, 32, 32), torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8)]
    features = features[1:][::-1]
    out = nn.Conv2d(16, 4, 1)(features[0])
    """
    assert _torch(source) == "(1, 4, 8, 8)"
    assert _errors(source) == [] and _shape(source) == "(1, 4, 8, 8)"


# -- an error inside an imported file is reported at the analysed file's call that led there ---------------
LIBRARY = """
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, channels=3):
        super().__init__()
        self.conv = nn.Conv2d(channels, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


def build_and_run(x):
    return Block()(x)
"""

USER = """
import torch
from mylib.layers import Block, build_and_run


def run(x):
    y = x * 2
    return build_and_run(y)


model = Block()
img = torch.randn({input})
out = {call}
print(tuple(out.shape))
"""


def _package(tmp_path, source: str):
    pkg = tmp_path / "mylib"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(LIBRARY)
    main = tmp_path / "main.py"
    main.write_text(textwrap.dedent(source))
    return main


def _run_file(path) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, path.name], cwd=path.parent, capture_output=True, text=True, timeout=300)
    return done.stdout.strip() if done.returncode == 0 else done.stderr.strip().splitlines()[-1]


def _findings_of(path):
    from shapels.imports import FileLoader

    return analyze(path.read_text(), str(path), Options(loader=FileLoader(include_site_packages=False))).findings


@pytest.mark.parametrize("call, line", [("model(img)", 13), ("run(img)", 8)])
@pytest.mark.parametrize("size", ["1, 3, 8, 8", "1, 4, 8, 8"])  # (6 channels, which no image has, blame the input)
def test_an_error_in_imported_code_is_reported_at_this_files_innermost_call(tmp_path, call, line, size):
    main = _package(tmp_path, USER.format(input=size, call=call))
    verdict = _run_file(main)
    errors = [f for f in _findings_of(main) if f.severity == "error"]
    if size.startswith("1, 3"):
        assert verdict == "(1, 8, 8, 8)" and errors == []
        return
    assert verdict.startswith("RuntimeError")
    [error] = errors
    assert error.code == "conv-in-channels" and error.span.start_line == line
    assert error.message.startswith("in imported code (Block): ") and error.fix is None


def test_a_channels_last_input_is_blamed_where_it_is_made_even_through_imported_code(tmp_path):
    main = _package(tmp_path, USER.format(input="3, 8, 8", call="model(img)[None]"))
    assert _run_file(main) == "(1, 8, 8, 8)"  # a conv takes an unbatched image
    assert [f for f in _findings_of(main) if f.severity == "error"] == []
    main = _package(tmp_path, USER.format(input="1, 8, 8, 3", call="model(img)"))
    assert _run_file(main).startswith("RuntimeError")
    [error] = [f for f in _findings_of(main) if f.severity == "error"]
    assert error.span.start_line == 12  # `img = torch.randn(1, 8, 8, 3)`, where the fix rewrites the sizes
    assert error.fix is not None and error.fix.content == "torch.randn(1, 3, 8, 8)"


# -- re.split on known strings (timm's block strings: 'ir_r2_k3_s2_e6_c24') --------------------------------
@pytest.mark.parametrize("block", ["ir_r2_k3_s2_e6_c24", "ds_r1_k5_s1_e1_c16"])
def test_a_block_string_decoded_with_re_split_sizes_its_layers_like_torch(block):
    source = f"""
    import re
    import torch
    from torch import nn

    options = {{}}
    for op in '{block}'.split('_')[1:]:
        key, value = re.split(r'(\\d.*)', op)[:2]
        options[key] = value
    layers = [nn.Conv2d(3 if i == 0 else int(options['c']), int(options['c']), int(options['k']),
                        stride=int(options['s']), padding=int(options['k']) // 2) for i in range(int(options['r']))]
    out = nn.Sequential(*layers)(torch.randn(1, 3, 32, 32))
    """
    verdict = _torch(source)
    assert _errors(source) == [] and _shape(source) == verdict


# -- a residual sum whose branch makes another width: blamed at the layer that made it ---------------------
RESIDUAL = """
import torch
from torch import nn

class Block(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, {down_out})

    def forward(self, x):
        return x + self.down(torch.relu(self.up(x)))

out = Block(32, 64)(torch.randn(2, 5, 32))
"""


@pytest.mark.parametrize("down_out, verdict", [("dim", "(2, 5, 32)"), ("dim * 2", "RuntimeError"),
                                               ("hidden", "RuntimeError")])
def test_a_residual_branch_of_another_width_is_blamed_where_its_width_is_made(down_out, verdict):
    source = RESIDUAL.format(down_out=down_out)
    assert _torch(source).startswith(verdict)
    findings = [f for f in _analyze(source)[0].findings if f.severity == "error"]
    if verdict != "RuntimeError":
        assert findings == [] and _shape(source) == verdict
        return
    [error] = findings
    line = textwrap.dedent(source).splitlines().index(f"        self.down = nn.Linear(hidden, {down_out})") + 1
    assert error.span.start_line == line and error.fix.content == "dim"
    fixed = textwrap.dedent(source).replace(f"nn.Linear(hidden, {down_out})", "nn.Linear(hidden, dim)")
    assert _torch(fixed) == "(2, 5, 32)"


def test_a_parameter_made_in_the_constructor_is_not_given_the_inputs_batch():
    # the DDPM Unet's LinearAttention with to_qkv twice as wide: mem_kv = nn.Parameter(torch.randn(2, heads, ...))
    # is no per-call state, and `dim` (the constructor's first argument) is an int: `dim.size(0)` cannot run
    source = """
    import torch
    from torch import nn
    from einops import rearrange, repeat

    class LinearAttention(nn.Module):
        def __init__(self, dim, heads=4, dim_head=32, num_mem_kv=4):
            super().__init__()
            self.heads = heads
            hidden_dim = dim_head * heads
            self.mem_kv = nn.Parameter(torch.randn(2, heads, dim_head, num_mem_kv))
            self.to_qkv = nn.Conv2d(dim, (hidden_dim * 3) * 2, 1, bias=False)
            self.to_out = nn.Conv2d(hidden_dim, dim, 1)

        def forward(self, x):
            b, c, h, w = x.shape
            qkv = self.to_qkv(x).chunk(3, dim=1)
            q, k, v = map(lambda t: rearrange(t, 'b (h c) x y -> b h c (x y)', h=self.heads), qkv)
            mk, mv = map(lambda t: repeat(t, 'h c n -> b h c n', b=b), self.mem_kv)
            k, v = torch.cat((mk, k), dim=-1), torch.cat((mv, v), dim=-1)
            context = torch.einsum('b h d n, b h e n -> b h d e', k, v)
            out = torch.einsum('b h d e, b h d n -> b h e n', context, q)
            out = rearrange(out, 'b h c (x y) -> b (h c) x y', h=self.heads, x=h, y=w)
            return self.to_out(out)

    out = LinearAttention(16)(torch.randn(1, 16, 8, 8))
    """
    assert _torch(source).startswith("RuntimeError")
    errors = [f for f in _analyze(source)[0].findings if f.severity == "error"]
    assert errors and all(f.fix is None or ".size(" not in f.fix.content for f in errors)
