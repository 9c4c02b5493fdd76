"""Idioms of timm, the library most model code borrows from, checked against torch.

Each was found by analysing timm 1.0's sources: a false alarm (a sequence argument of unknown length
read as one size), or a shape lost (DropPath's new_empty/bernoulli_, `'deep' in stem_type`,
get_norm_layer's isinstance tests, to_2tuple's itertools.repeat, a package __init__ that rebinds a
submodule's name), or a recursion that branched both ways at every level (is_static_pad).
"""

from __future__ import annotations

import textwrap

import pytest

from conftest import torch_error
from shapels.analysis import interpreter
from shapels.analysis.engine import Options, analyze
from shapels.imports import FileLoader


def _errors(source: str, path: str = "m.py", options: Options | None = None) -> list:
    return [f.code for f in analyze(source, path, options or Options()).findings if f.severity == "error"]


def _output(source: str, name: str = "Net", path: str = "m.py", options: Options | None = None):
    [net] = [m for m in analyze(source, path, options or Options()).modules if m.name == name]
    return net.output.shape.show() if hasattr(net.output, "shape") else None


def _torch_output(source: str) -> str:
    scope = {"__name__": "__main__"}
    exec(compile(source, "<model>", "exec"), scope)
    return str(tuple(scope["out"].shape)).replace(",)", ")")


def torch_error_any(source: str):
    """torch's error for a program (a RuntimeError or, for layer arguments, a ValueError), or None."""
    try:
        exec(compile(source, "<model>", "exec"), {"__name__": "__main__"})
    except (RuntimeError, ValueError) as error:
        return str(error)
    return None


# -- a sequence of unknown length is not one size ---------------------------------------------------
UNKNOWN_SIZES = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def forward(self, x, shape):
        y = x.{call}
        return y.transpose(1, 2)
"""


@pytest.mark.parametrize("call", ["view(shape)", "reshape(shape)", "expand(shape)", "new_zeros(shape)",
                                  "permute(shape)", "repeat(shape)"])
def test_an_unknown_size_argument_may_be_a_tuple_of_any_length(call):
    assert _errors(UNKNOWN_SIZES.format(call=call)) == []


def test_one_known_int_is_still_one_size():
    """The twin that must fail: view(6) is 1-D, so transpose(1, 2) is out of range (torch agrees)."""
    source = UNKNOWN_SIZES.format(call="view(6)") + "\nout = Net()(torch.randn(2, 3), None)\n"
    with pytest.raises(IndexError):
        exec(compile(source, "<model>", "exec"), {"__name__": "__main__"})
    assert _errors(source) == ["dim-out-of-range"]


PATCH_DROPOUT = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def forward(self, x: torch.Tensor):
        prefix, x = x[:, :1], x[:, 1:]
        keep = torch.argsort(torch.randn(x.shape[0], x.shape[1]), dim=-1)[:, :3]
        x = x.gather(1, keep.unsqueeze(-1).expand((-1, -1) + x.shape[2:]))
        return torch.cat((prefix, x), dim=1)
"""


def test_patch_dropout_expand_with_a_shape_tail_is_no_error():
    assert _errors(PATCH_DROPOUT) == []
    driven = PATCH_DROPOUT + "\nout = Net()(torch.randn(2, 10, 8))\n"
    assert _torch_output(driven) == "(2, 4, 8)"  # the program is valid, so any error would be false
    assert _errors(driven) == []


# -- DropPath: new_empty(shape).bernoulli_(p) -----------------------------------------------------
DROP_PATH = """
import torch
import torch.nn as nn

def drop_path(x, drop_prob: float = 0., training: bool = False, scale_by_keep: bool = True):
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor

class DropPath(nn.Module):
    def __init__(self, drop_prob: float = 0.):
        super().__init__()
        self.drop_prob = drop_prob
    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

class Net(nn.Module):
    def __init__(self, dim, head_in):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.drop = DropPath(0.1)
        self.head = nn.Linear(head_in, 10)
    def forward(self, x):
        x = x + self.drop(self.norm(x))
        return self.head(x)

model = Net(64, {head_in})
model.{mode}()
out = model(torch.randn(2, 10, 64))
"""


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_drop_path_keeps_the_shape_so_the_head_is_checked(mode):
    good = DROP_PATH.format(head_in=64, mode=mode)
    assert _errors(good) == [] and torch_error(good) is None
    assert _output(good) == _torch_output(good) == "(2, 10, 10)"
    bad = DROP_PATH.format(head_in=128, mode=mode)
    assert torch_error(bad) is not None
    assert _errors(bad) == ["linear-in-features"]


# -- config tests model code makes --------------------------------------------------------------
STEM = """
import functools
import itertools
import torch
import torch.nn as nn

def to_2tuple(x):
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return tuple(itertools.repeat(x, 2))

def get_norm_layer(norm_layer):
    assert isinstance(norm_layer, (type, str, functools.partial))
    kwargs = {{}}
    if isinstance(norm_layer, functools.partial):
        kwargs.update(norm_layer.keywords)
        norm_layer = norm_layer.func
    if isinstance(norm_layer, str):
        norm_layer = nn.BatchNorm2d if norm_layer == "batchnorm" else nn.GroupNorm
    if kwargs:
        norm_layer = functools.partial(norm_layer, **kwargs)
    return norm_layer

class Net(nn.Module):
    def __init__(self, stem_type: str = {stem_type!r}, norm_layer=nn.BatchNorm2d, kernel=3):
        super().__init__()
        deep = 'deep' in stem_type
        width = 32 if deep else 16
        norm_layer = get_norm_layer(norm_layer)
        k = to_2tuple(kernel)
        self.conv = nn.Conv2d(3, width, k, padding=(k[0] // 2, k[1] // 2))
        self.norm = norm_layer(width)
        self.fc = nn.Linear({fc_in}, 10)
    def forward(self, x):
        x = self.norm(self.conv(x))
        return self.fc(x.mean((2, 3)))

out = Net()(torch.randn(2, 3, 8, 8))
"""


@pytest.mark.parametrize("stem_type", ["", "deep", "deep_tiered", "tiered"])
def test_substring_tests_isinstance_of_classes_and_repeat_keep_the_widths(stem_type):
    width = 32 if "deep" in stem_type else 16
    good = STEM.format(stem_type=stem_type, fc_in=width)
    assert torch_error(good) is None
    assert _errors(good) == []
    assert _output(good) == _torch_output(good) == "(2, 10)"
    bad = STEM.format(stem_type=stem_type, fc_in=48 - width)  # the other stem's width
    assert torch_error(bad) is not None
    assert _errors(bad) == ["linear-in-features"]


@pytest.mark.parametrize("norm", ["functools.partial(nn.BatchNorm2d, eps=1e-3)", "'batchnorm'"])
def test_norm_layer_given_as_a_partial_or_a_name(norm):
    source = STEM.format(stem_type="", fc_in=16).replace("out = Net()(", f"out = Net(norm_layer={norm})(")
    assert torch_error(source) is None
    assert _output(source) == _torch_output(source) == "(2, 10)"


# -- from pkg import name, where pkg/__init__.py rebinds a submodule's name -------------------------
def test_a_package_attribute_shadows_the_submodule_of_that_name(tmp_path):
    layers = tmp_path / "lib" / "layers"
    layers.mkdir(parents=True)
    (tmp_path / "lib" / "__init__.py").write_text("")
    (layers / "__init__.py").write_text("from .create_head import create_head\nfrom .other import *\n")
    (layers / "create_head.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        def create_head(features, classes):
            return nn.Linear(features, classes)
    """))
    (layers / "other.py").write_text("WIDTH = 8\n")
    model = tmp_path / "net.py"
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn
        from lib.layers import create_head

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.head = create_head({features}, 10)
            def forward(self, x):
                return self.head(self.conv(x).mean((2, 3)))

        out = Net()(torch.randn(2, 3, 8, 8))
    """)
    options = Options(loader=FileLoader(roots=[tmp_path]))
    model.write_text(source.format(features=8))
    assert _output(model.read_text(), path=str(model), options=options) == "(2, 10)"
    model.write_text(source.format(features=16))
    assert _errors(model.read_text(), path=str(model), options=options) == ["linear-in-features"]


# -- any / all, recursion --------------------------------------------------------------------------
IS_STATIC_PAD = """
import torch
import torch.nn as nn

def to_2tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)

def is_static_pad(kernel_size, stride=1, dilation=1):
    if any([isinstance(v, (tuple, list)) for v in [kernel_size, stride, dilation]]):
        kernel_size, stride, dilation = to_2tuple(kernel_size), to_2tuple(stride), to_2tuple(dilation)
        return all([is_static_pad(*a) for a in zip(kernel_size, stride, dilation)])
    return stride == 1 and (dilation * (kernel_size - 1)) % 2 == 0

class Net(nn.Module):
    def __init__(self, kernel, fc_in):
        super().__init__()
        width = 8 if is_static_pad(kernel) else 4
        self.conv = nn.Conv2d(3, width, kernel)
        self.fc = nn.Linear(fc_in, 10)
    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))

out = Net({kernel}, {fc_in})(torch.randn(1, 3, 8, 8))
"""


@pytest.mark.parametrize("kernel, width", [(3, 8), (2, 4), ((3, 5), 8), ((3, 4), 4)])
def test_any_and_all_of_known_items_decide(kernel, width):
    good = IS_STATIC_PAD.format(kernel=kernel, fc_in=width)
    assert torch_error(good) is None and _errors(good) == []
    assert _output(good) == _torch_output(good) == "(1, 10)"
    bad = IS_STATIC_PAD.format(kernel=kernel, fc_in=12 - width)
    assert torch_error(bad) is not None and _errors(bad) == ["linear-in-features"]


FAN_OUT = """
import os
import torch
import torch.nn as nn

def grow(k, n):
    if n == 0:
        return k
    if k > 2:  # undecided: k is not known
        return grow(k, n - 1) + grow(k, n - 1)
    return grow(k, n - 1)

class Net(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.size = grow(k, 30)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
    def forward(self, x):
        return self.conv(x)

out = Net(int(os.environ.get("K", "3")))(torch.randn(1, 3, 8, 8))
"""


def test_recursion_under_an_undecided_condition_stays_bounded(monkeypatch):
    """Each level runs both branches and two calls: unbounded, that is 2^30 calls."""
    calls = []
    original = interpreter.Interpreter._invoke
    monkeypatch.setattr(interpreter.Interpreter, "_invoke", lambda self, *a: calls.append(1) or original(self, *a))
    result = analyze(FAN_OUT, "m.py", Options(budget_seconds=None))
    assert not result.partial and len(calls) < 200
    [net] = result.modules
    assert net.output.shape.show() == "(1, 8, 8, 8)"


UNET = """
import torch
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, channels, depth):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.inner = Block(channels, depth - 1) if depth > 1 else None
    def forward(self, x):
        x = self.conv(x)
        if self.inner is not None:
            x = torch.cat([x, self.inner(x)], dim=1)[:, :x.shape[1]]
        return x

out = Block(4, 6)(torch.randn(1, 4, 8, 8))
"""


def test_a_certain_recursion_still_runs_to_the_bottom():
    """A block nesting itself (pix2pix's U-Net) recurses on a decided condition: no limit but MAX_DEPTH."""
    assert _output(UNET, name="Block") == _torch_output(UNET) == "(1, 4, 8, 8)"


# -- sets of layer types, string splits (timm's create_norm_act / create_act) -----------------------
LAYER_SETS = """
import torch
import torch.nn as nn

class BatchNormAct(nn.BatchNorm1d):
    pass

class GroupNormAct(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.norm = nn.GroupNorm(2, num_features)
    def forward(self, x):
        return self.norm(x)

def helper():
    pass

_NORM_ACT_MAP = dict(batchnorm=BatchNormAct, groupnorm=GroupNormAct)
_NORM_ACT_TYPES = {m for n, m in _NORM_ACT_MAP.items()}
_REQUIRES_ARG = {BatchNormAct, helper}
_NAMES = {'batchnorm', 'groupnorm'}

def get_norm_layer(name):
    layer_name = name.replace('_', '').lower().split('-')[0]
    layer = _NORM_ACT_MAP[layer_name]
    width = @WIDTH@ if layer in _REQUIRES_ARG and layer in _NORM_ACT_TYPES else 6
    head, _, tail = 'fc-@CLASSES@'.partition('-')
    return layer(width), nn.Linear(len(layer_name), int(tail)) if layer_name in _NAMES else None

class Net(nn.Module):
    def __init__(self, name):
        super().__init__()
        self.norm, self.head = get_norm_layer(name)
        self.proj = nn.Linear(8, len(_NAMES) + 7)
    def forward(self, x):
        return self.head(self.proj(self.norm(x)))

out = Net('@NAME@')(torch.randn(4, 8))
"""


def _layer_sets(width: int, classes: int, name: str) -> str:
    return LAYER_SETS.replace("@WIDTH@", str(width)).replace("@CLASSES@", str(classes)).replace("@NAME@", name)


def test_sets_of_classes_and_string_splits_against_torch():
    source = _layer_sets(8, 3, "Batch_Norm-2d")
    assert _torch_output(source) == "(4, 3)"
    assert _errors(source) == []
    assert _output(source) == "(4, 3)"  # every size known: the set tests, len(set), split, partition


def test_a_set_membership_that_picks_the_wrong_width_is_found():
    source = _layer_sets(7, 3, "batchnorm")
    assert "running_mean should contain 8" in (torch_error_any(source) or "")
    assert _errors(source) == ["norm-num-features"]


def test_a_class_outside_the_set_takes_the_other_branch():
    """groupnorm is in _NORM_ACT_TYPES but not in _REQUIRES_ARG: width 6, which GroupNorm(2, 6) fed
    (4, 8) rejects, in torch and here."""
    source = _layer_sets(8, 3, "groupnorm")
    assert torch_error_any(source) is not None
    assert _errors(source) == ["groupnorm-groups"]


SET_MUTATED = """
import torch
import torch.nn as nn

class A(nn.Module):
    pass

class B(nn.Module):
    pass

KINDS = {A}
ALIAS = KINDS
@MUTATION@

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8) if B in KINDS else nn.Linear(5, 8)
    def forward(self, x):
        return self.fc(x)

out = Net()(torch.randn(2, 4))
"""


@pytest.mark.parametrize("mutation", ["ALIAS |= {B}", "ALIAS.update([B])", "ALIAS.add(B)"])
def test_a_set_changed_through_an_alias_is_not_trusted(mutation):
    """`ALIAS |= {B}` changes KINDS too; read as {A}, `B in KINDS` would pick Linear(5, 8): a false alarm."""
    source = SET_MUTATED.replace("@MUTATION@", mutation)
    assert _torch_output(source) == "(2, 8)"
    assert _errors(source) == []


LIBRARY_SUBCLASS = """
import torch
import torch.nn as nn

class Wide(nn.Linear):
    pass

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = Wide({in_features}, 12)
    def forward(self, x):
        return self.fc(x)

out = Net()(torch.randn(2, 4))
"""


def test_a_library_layer_subclass_without_init_builds_the_layer():
    good = LIBRARY_SUBCLASS.format(in_features=4)
    assert _torch_output(good) == "(2, 12)"
    assert _errors(good) == [] and _output(good) == "(2, 12)"
    bad = LIBRARY_SUBCLASS.format(in_features=5)
    assert torch_error_any(bad) is not None
    [finding] = [f for f in analyze(bad, "m.py", Options()).findings if f.severity == "error"]
    assert finding.code == "linear-in-features" and finding.fix.content == "4"
    assert finding.span.start_line == bad.splitlines().index("        self.fc = Wide(5, 12)") + 1


# -- one of several modules: `DropPath(p) if p > 0. else nn.Identity()` with p unknown ----------------
IDIOM_PROGRAMS = {
    "drop path or identity, rate unknown": """
import torch
import torch.nn as nn

class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p
    def forward(self, x):
        return x

class Block(nn.Module):
    def __init__(self, dim, drop):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.drop_path = DropPath(drop) if drop > 0. else nn.Identity()
    def forward(self, x):
        return x + self.drop_path(self.fc(x))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        rates = [r.item() for r in torch.linspace(0.1, 0.2, 3)]  # values the analysis does not follow
        self.blocks = nn.Sequential(*[Block(8, rates[i]) for i in range(3)])
        self.head = nn.Linear(8, 10)
    def forward(self, x):
        return self.head(self.blocks(x))

out = Net()(torch.randn(2, 8))
""",
    "an empty Sequential is false": """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.extra = nn.Sequential()
        self.wrong = nn.Linear(5, 3)
        self.head = nn.Linear(4, 3)
    def forward(self, x):
        if self.extra:
            x = self.wrong(x)  # never runs: an empty Sequential has len 0
        return self.head(x)

out = Net()(torch.randn(2, 4))
""",
    "a partial is true, dict splats, a torch class's __name__, int of a string": """
import torch
import torch.nn as nn
from functools import partial

_NORMS = dict(batchnorm2d=nn.BatchNorm2d, groupnorm=nn.GroupNorm)

class ConvNorm(nn.Module):
    def __init__(self, cin, cout, norm_layer=nn.BatchNorm2d, conv_kwargs=None, device=None):
        super().__init__()
        dd = {'device': device}
        conv_kwargs = {**dd, **(conv_kwargs or {})}
        self.conv = nn.Conv2d(cin, cout, **conv_kwargs)
        name = norm_layer.__name__.lower()
        self.norm = _NORMS[name](cout) if norm_layer in {nn.BatchNorm2d, nn.LayerNorm} else nn.Identity()
    def forward(self, x):
        return self.norm(self.conv(x))

class Net(nn.Module):
    def __init__(self, conv_block=None, width='12'):
        super().__init__()
        conv_block = conv_block or ConvNorm
        self.body = conv_block(3, int(width))
        self.head = nn.Linear(int(width), 10)
    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))

out = Net(partial(ConvNorm, conv_kwargs=dict(kernel_size=3, padding=1)))(torch.randn(2, 3, 8, 8))
""",
}


IDIOM_PROGRAMS["sets of ints grow with add, iterate in order, sort"] = """
import torch
import torch.nn as nn

seen = set([1])
seen.add(2)
widths = {3, 1, 2, 1}

class Net(nn.Module):
    def __init__(self, flag):
        super().__init__()
        maybe = {5}
        if flag > -1.0:
            maybe.add(7)  # runs, though the analysis cannot tell: 7 in maybe is unknown, not False
        self.fc = nn.Linear(4, 8 if 2 in seen else 5)
        self.fc2 = nn.Linear(8, len(widths) + sorted(widths)[-1] + len(set()) + sorted(widths, reverse=True)[0])
        self.fc3 = nn.Linear(9, 3) if 7 in maybe else nn.Linear(@OTHER@, 3)
    def forward(self, x):
        return self.fc3(self.fc2(self.fc(x)))

out = Net(torch.rand(1).item())(torch.randn(2, 4))
"""


IDIOM_PROGRAMS["membership in ranges, lists and tuples; tuple equality"] = """
import torch
import torch.nn as nn

STAGES = [64, 128]

class Net(nn.Module):
    def __init__(self, kernel=(3, 3)):
        super().__init__()
        width = 8 if 2 in range(4) and 128 in STAGES and 5 not in (1, 2) else 9
        width += 1 if kernel == (3, 3) and kernel != [3, 3] and (1, 2) != (1, 2, 3) else 0
        self.fc = nn.Linear(4, width)
        self.head = nn.Linear(9, 2)
    def forward(self, x):
        return self.head(self.fc(x))

out = Net()(torch.randn(2, 4))
"""

IDIOM_PROGRAMS["sets of ints grow with add, iterate in order, sort"] = IDIOM_PROGRAMS[
    "sets of ints grow with add, iterate in order, sort"].replace("@OTHER@", "9")

IDIOM_PROGRAMS["membership in dicts: the dict's own key equality, a comprehension filtering on a table"] = """
import torch
import torch.nn as nn

TABLE = {f"key{i}": i for i in range(200)}
TABLE.update({1.0: "one", None: 0, True: "flag"})

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        kept = {k: v for k, v in TABLE.items() if k in TABLE and k not in {"key3": 0}}
        width = 8 if 1 in TABLE and 1.0 in {1: 0} and None in TABLE and "key199" in kept else 9
        width += 1 if "key3" in kept or 2 in TABLE or "1" in TABLE else 0
        self.fc = nn.Linear(4, width)
    def forward(self, x):
        return self.fc(x)

out = Net()(torch.randn(2, 4))
"""


def test_a_set_added_to_on_a_path_that_may_not_run_is_not_trusted():
    """torch adds 7 (the analysis cannot tell the flag) and builds Linear(9, 3); read as {5}, the set
    would pick Linear(10, 3): a false alarm."""
    source = IDIOM_PROGRAMS["sets of ints grow with add, iterate in order, sort"].replace(
        "nn.Linear(9, 3) if 7 in maybe else nn.Linear(9, 3)", "nn.Linear(9, 3) if 7 in maybe else nn.Linear(10, 3)")
    assert "Linear(10, 3)" in source
    assert _torch_output(source) == "(2, 3)"
    assert _errors(source) == []


IDIOM_PROGRAMS["a Sequential subclass registers a module chosen by an unknown rate"] = """
import torch
import torch.nn as nn

class Block(nn.Sequential):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.fc = nn.Linear(cin, cout)
        self.proj = nn.Linear(cout, 6) if p > 0 else nn.Linear(cout, 6, bias=False)  # a member either way
        self.extra = nn.Linear(6, 3)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        rates = [r.item() for r in torch.linspace(0.1, 0.2, 2)]
        self.block = Block(4, 8, rates[0])
    def forward(self, x):
        return self.block(x)

out = Net()(torch.randn(2, 4))
"""


IDIOM_PROGRAMS["RegNet stages from a config (timm): replace, unique counts, dict(zip), children"] = """
import math
from dataclasses import dataclass, replace
import torch
import torch.nn as nn

@dataclass
class Cfg:
    depth: int = 13
    w0: int = 24
    wa: float = 36.44
    wm: float = 2.49

def generate(wa, w0, wm, depth, quant=8):
    widths_cont = torch.arange(depth, device='cpu', dtype=torch.float32) * wa + w0
    exps = torch.round(torch.log(widths_cont / w0) / math.log(wm))
    widths = torch.round((w0 * torch.pow(wm, exps)) / quant) * quant
    num_stages, max_stage = len(torch.unique(widths)), int(exps.max().item()) + 1
    groups = torch.tensor([8 for _ in range(num_stages)], device='cpu', dtype=torch.int32)
    return widths.int().tolist(), num_stages, groups.tolist()

class Stage(nn.Module):
    def __init__(self, cin, cout, depth, rates):
        super().__init__()
        self.grad_checkpointing = False
        for i in range(depth):
            self.add_module("b{}".format(i + 1), nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1))
        self.rates = rates
    def forward(self, x):
        for block in self.children():
            x = block(x)
        return x

class Net(nn.Module):
    def __init__(self, cfg, **kwargs):
        super().__init__()
        cfg = replace(cfg, **kwargs)
        widths, num_stages, groups = generate(cfg.wa, cfg.w0, cfg.wm, cfg.depth)
        stage_widths, stage_depths = torch.unique(torch.tensor(widths, device='cpu'), return_counts=True)
        stage_widths, stage_depths = stage_widths.tolist(), stage_depths.tolist()
        rates = [x.tolist() for x in torch.linspace(0, 0.1, sum(stage_depths)).split(stage_depths)]
        names = ['out_chs', 'depth', 'rates']
        per_stage = [dict(zip(names, params)) for params in zip(stage_widths, stage_depths, rates)]
        prev = 3
        for i, args in enumerate(per_stage):
            self.add_module("s{}".format(i + 1), Stage(prev, args['out_chs'], args['depth'], args['rates']))
            prev = args['out_chs']
        self.head = nn.Linear(368, 10)
    def forward(self, x):
        for stage in [self.s1, self.s2, self.s3, self.s4]:
            x = stage(x)
        return self.head(x.mean((2, 3)))

out = Net(Cfg(), depth=13)(torch.randn(1, 3, 8, 8))
"""


def test_a_regnet_head_after_stages_from_values_gets_its_fix():
    """The head's in_features must be the last stage's width, which only the values give (368)."""
    bad = IDIOM_PROGRAMS["RegNet stages from a config (timm): replace, unique counts, dict(zip), children"].replace(
        "nn.Linear(368, 10)", "nn.Linear(300, 10)")
    assert torch_error_any(bad) is not None
    [finding] = [f for f in analyze(bad, "m.py", Options()).findings if f.severity == "error"]
    assert (finding.code, finding.fix.content) == ("linear-in-features", "368")


CHILDREN = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, extra):
        super().__init__()
        self.a = nn.Linear(4, 5)
        self.scale = 2
        if extra:
            self.b = nn.Linear(7, 2)  # only with extra, and then torch fails: 5 features reach it
    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x
"""


def test_children_of_a_module_with_a_member_that_may_not_exist_are_unknown():
    """Whether `b` is a child depends on `extra`: looping over children() must not claim a mismatch
    (Net(False) runs) nor miss it once `extra` is known to be true."""
    assert _errors(CHILDREN) == []
    assert torch_error_any(CHILDREN + "out = Net(False)(torch.randn(2, 4))\n") is None
    driven = CHILDREN + "out = Net(True)(torch.randn(2, 4))\n"
    assert torch_error_any(driven) is not None
    assert _errors(driven) == ["linear-in-features"]


def test_named_children_in_registration_order_match_torch():
    """A name assigned again keeps its place (nn.Module's OrderedDict), a plain attribute is no child."""
    source = CHILDREN.replace("for m in self.children():", "for name, m in self.named_children():").replace(
        "        self.scale = 2\n", "        self.c = nn.Linear(5, 6)\n        self.scale = 2\n        self.a = nn.Linear(4, 5)\n"
    ) + "out = Net(False)(torch.randn(2, 4))\n"
    assert _torch_output(source) == "(2, 6)"
    assert _errors(source) == [] and _output(source) == "(2, 6)"


def test_a_plain_attribute_that_becomes_a_module_is_the_last_child():
    """`self.head = None` first, a module later: nn.Module registers it then, after `body`. Taking
    the first assignment's place would run head before body: a false mismatch."""
    source = CHILDREN.replace("        self.a = nn.Linear(4, 5)\n", "        self.head = None\n        self.a = nn.Linear(4, 5)\n"
                              "        self.head = nn.Linear(5, 3)\n") + "out = Net(False)(torch.randn(2, 4))\n"
    assert _torch_output(source) == "(2, 3)"
    assert _errors(source) == [] and _output(source) == "(2, 3)"


IDIOM_PROGRAMS["subclasses of library layers calling F.conv2d / F.layer_norm with their own weights"] = """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Conv2dSame(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv2dSame(3, 16, 3, padding=1)
        self.dw = Conv2dSame(16, 16, 3, stride=2, groups=4)
        self.norm = LayerNorm2d(16)
        self.bn = nn.BatchNorm2d(16, affine=False)
        self.head = nn.Linear(16 * 3 * 3, 10)
    def forward(self, x):
        x = self.norm(self.dw(self.conv(x)))
        if self.bn.weight is None and self.norm.weight.shape[0] == 16:
            x = self.bn(x)
        return self.head(x.flatten(1))

out = Net()(torch.randn(2, 3, 8, 8))
"""


@pytest.mark.parametrize("wrong, fix", [("Conv2dSame(3, 16, 3, padding=1)", "Conv2dSame(4, 16, 3, padding=1)"),
                                        ("Conv2dSame(16, 16, 3, stride=2, groups=4)", "Conv2dSame(8, 16, 3, stride=2, groups=4)")])
def test_f_conv2d_with_a_layers_own_weight_blames_its_in_channels(wrong, fix):
    source = IDIOM_PROGRAMS["subclasses of library layers calling F.conv2d / F.layer_norm with their own weights"]
    bad = source.replace(wrong, fix)
    assert torch_error_any(bad) is not None
    [finding] = [f for f in analyze(bad, "m.py", Options()).findings if f.severity == "error"]
    assert finding.code == "conv-in-channels" and finding.fix is not None
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if fix in text)
    assert finding.span.start_line == line and finding.fix.content == wrong.split("(")[1].split(",")[0]


def test_f_layer_norm_with_a_layers_own_normalized_shape_is_checked():
    source = IDIOM_PROGRAMS["subclasses of library layers calling F.conv2d / F.layer_norm with their own weights"]
    bad = source.replace("LayerNorm2d(16)", "LayerNorm2d(32)")
    assert torch_error_any(bad) is not None
    assert "layernorm-shape" in _errors(bad)


def test_a_norm_subclass_in_another_file_is_blamed_at_its_constructor_here(tmp_path):
    """timm's LayerNorm2d lives in timm/layers/norm.py and calls F.layer_norm with its own
    normalized_shape: a mismatch is reported where this file builds it, with the fix."""
    (tmp_path / "norms.py").write_text(
        "import torch.nn as nn\nimport torch.nn.functional as F\n\n"
        "class LayerNorm2d(nn.LayerNorm):\n    def __init__(self, num_channels, eps=1e-6):\n"
        "        super().__init__(num_channels, eps=eps)\n\n    def forward(self, x):\n"
        "        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)\n"
        "        return x.permute(0, 3, 1, 2)\n")
    model = ("import torch\nimport torch.nn as nn\nfrom norms import LayerNorm2d\n\n"
             "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "        self.conv = nn.Conv2d(3, 16, 3)\n        self.norm = LayerNorm2d(32)\n\n"
             "    def forward(self, x):\n        return self.norm(self.conv(x))\n\n"
             "out = Net()(torch.randn(1, 3, 8, 8))\n")
    path = tmp_path / "model.py"
    path.write_text(model)
    import subprocess
    import sys

    ran = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode != 0 and "normalized_shape" in ran.stderr
    result = analyze(model, str(path), Options(loader=FileLoader(roots=[tmp_path])))
    [finding] = [f for f in result.findings if f.severity == "error"]
    assert finding.code == "layernorm-shape" and finding.span.start_line == 9
    assert finding.fix is not None and finding.fix.content == "16"


@pytest.mark.parametrize("name", list(IDIOM_PROGRAMS))
def test_idiom_programs_match_torch(name):
    source = IDIOM_PROGRAMS[name]
    expected = _torch_output(source)
    assert _errors(source) == []
    assert _output(source) == expected


def test_a_mismatch_in_only_one_alternative_is_no_error():
    """Which module runs depends on a rate shapels cannot compute: a mismatch in one of them is at most
    a note (torch, with the real rate, runs)."""
    source = IDIOM_PROGRAMS["drop path or identity, rate unknown"].replace(
        "self.drop_path = DropPath(drop) if drop > 0. else nn.Identity()",
        "self.drop_path = DropPath(drop) if drop > 0. else nn.Linear(9, 8)")
    assert _torch_output(source) == "(2, 10)"
    findings = analyze(source, "m.py", Options()).findings
    assert [f.code for f in findings if f.severity in ("error", "warning")] == []
    assert any(f.code == "linear-in-features" and f.severity == "information" for f in findings)


def test_a_mismatch_after_every_alternative_is_still_found():
    """Both modules keep the width 8, so the head's in_features=6 fails whichever runs."""
    source = IDIOM_PROGRAMS["drop path or identity, rate unknown"].replace(
        "self.head = nn.Linear(8, 10)", "self.head = nn.Linear(6, 10)")
    with pytest.raises(RuntimeError):
        _torch_output(source)
    [finding] = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    assert finding.code == "linear-in-features" and finding.fix.content == "8"


# -- enums: timm's Format(str, Enum) picks a layout ----------------------------------------------------
ENUM_PROGRAM = """
import torch
import torch.nn as nn
from enum import Enum

class Format(str, Enum):
    NCHW = 'NCHW'
    NHWC = 'NHWC'
    NLC = 'NLC'

class Mode(Enum):
    WIDE = 1
    NARROW = 2

def nchw_to(x, fmt):
    if fmt == Format.NHWC:
        x = x.permute(0, 2, 3, 1)
    elif fmt == Format.NLC:
        x = x.flatten(2).transpose(1, 2)
    return x

class Net(nn.Module):
    def __init__(self, output_fmt='@FMT@', mode=Mode.@MODE@):
        super().__init__()
        self.output_fmt = Format(output_fmt)
        width = 16 if mode is Mode.WIDE else 8
        self.conv = nn.Conv2d(3, width if mode.value != 1 or mode.name == 'WIDE' else 1, 3, padding=1)
        self.head = nn.Linear(@HEAD@, 5)
        self.flat = self.output_fmt in (Format.NCHW, 'NCHW') or Mode.WIDE == 1
    def forward(self, x):
        x = nchw_to(self.conv(x), self.output_fmt)
        if self.flat:
            x = x.flatten(1)
        return self.head(x)

out = Net()(torch.randn(2, 3, 4, 4))
"""


def _enum_program(fmt: str, mode: str, head: int) -> str:
    return ENUM_PROGRAM.replace("@FMT@", fmt).replace("@MODE@", mode).replace("@HEAD@", str(head))


@pytest.mark.parametrize("fmt, mode, head", [("NHWC", "WIDE", 16), ("NLC", "NARROW", 8), ("NCHW", "NARROW", 128)])
def test_enum_members_pick_the_layout_as_torch_does(fmt, mode, head):
    source = _enum_program(fmt, mode, head)
    expected = _torch_output(source)
    assert _errors(source) == []
    assert _output(source) == expected


def test_an_enum_picked_width_mismatch_is_found():
    source = _enum_program("NHWC", "NARROW", 16)  # NARROW gives 8 channels, last after the permute
    with pytest.raises(RuntimeError):
        _torch_output(source)
    [finding] = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    assert finding.code == "linear-in-features" and finding.fix.content == "8"


# -- attributes torch builds from a constructor argument: bias tensors, conv tuples ------------------
BUILT_ATTRIBUTES = """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.plain = nn.Linear(4, 6, bias=False)
        self.conv = nn.Conv2d(3, 8, 3)
        k = 5 if self.conv.kernel_size == 3 else self.conv.kernel_size[0]  # (3, 3) == 3 is False
        extra = 1 if self.plain.bias is None else 0
        self.head = nn.Linear(6 + k + extra, 2)
    def forward(self, x, img):
        y = F.linear(x, self.fc.weight, @BIAS@)
        z = self.conv(img).mean((1, 2))[:, :4]
        return self.head(torch.cat([y, z], 1))

out = Net()(torch.randn(2, 4), torch.randn(2, 3, 6, 6))
"""


def test_layer_bias_and_conv_tuples_read_as_torch_builds_them():
    source = BUILT_ATTRIBUTES.replace("@BIAS@", "self.fc.bias")
    assert _torch_output(source) == "(2, 2)"
    assert _errors(source) == []
    [net] = [m for m in analyze(source, "m.py", Options()).modules if m.name == "Net"]
    head = next(layer for layer in net.layers if layer.name == "head")
    assert head.args["in_features"].value == 10 and head.input.show() == "(2, 10)"  # k = 3, extra = 1


def test_a_bias_of_the_wrong_layer_is_found():
    source = BUILT_ATTRIBUTES.replace("@BIAS@", "self.conv.bias")  # 8 values for 6 outputs
    assert torch_error_any(source) is not None
    assert _errors(source) == ["broadcast-mismatch"]


# -- einops in a model: rearrange, reduce, repeat and the layers -------------------------------------
EINOPS_MODEL = """
import torch
import torch.nn as nn
from einops import rearrange, reduce, repeat
from einops.layers.torch import Rearrange

class PatchEmbed(nn.Module):
    def __init__(self, patch=4, dim=32):
        super().__init__()
        self.to_patches = Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=patch, p2=patch)
        self.proj = nn.Linear(@IN@, dim)
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
    def forward(self, x):
        x = self.proj(self.to_patches(x))
        cls = repeat(self.cls, '1 n d -> b n d', b=x.shape[0])
        x = torch.cat([cls, x], dim=1)
        q = rearrange(x, 'b n (h d) -> b h n d', h=4)
        return reduce(q, 'b h n d -> b (h d)', 'mean')

out = PatchEmbed()(torch.randn(2, 3, 16, 16))
"""


def test_einops_patterns_in_a_model_match_torch():
    source = EINOPS_MODEL.replace("@IN@", "48")
    assert _torch_output(source) == "(2, 32)"
    assert _errors(source) == []
    assert _output(source, name="PatchEmbed") == "(2, 32)"


def test_a_linear_after_rearrange_gets_the_patch_size_fix():
    source = EINOPS_MODEL.replace("@IN@", "64")
    assert torch_error_any(source) is not None
    [finding] = [f for f in analyze(source, "m.py", Options()).findings if f.severity == "error"]
    assert finding.code == "linear-in-features" and finding.fix.content == "48"
    assert "to_patches" in finding.message  # the chain names the Rearrange layer


def test_an_unknown_attribute_of_a_sequential_subclass_makes_its_members_unknown():
    """`self.x = <unknown>` may register a module (then a member, in order) or not: the Sequential's
    members are unknown, so nothing downstream is claimed (it was skipped, and a wrong width followed)."""
    source = IDIOM_PROGRAMS["a Sequential subclass registers a module chosen by an unknown rate"].replace(
        "nn.Linear(cout, 6) if p > 0 else nn.Linear(cout, 6, bias=False)", "torch.hub.load('x', 'y')")
    findings = analyze(source, "m.py", Options()).findings
    assert [f.code for f in findings if f.severity in ("error", "warning")] == []


# -- a list appended to in a loop of unknown length (transformers' grounding_dino) -------------------
UNKNOWN_LOOP_LISTS = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)
    def forward(self, feats, x):
        shapes = []
        outs = [x]
        for f in feats:  # how many: unknown to the analysis
            shapes.append((f.shape[2], f.shape[3]))
            outs.append(x)
        table = torch.as_tensor(shapes, dtype=torch.long)
        starts = table.prod(1).cumsum(0)
        y = torch.cat(outs, 1)
        return self.fc(y.view(2, 8)), starts

feats = [t for t in torch.randn(1, 2, 3, 4, 4)]  # iterating a tensor: not followed
out, _ = Net()(feats, torch.randn(2, 4))
"""


def test_a_list_grown_in_a_loop_of_unknown_length_is_not_read_as_its_first_items():
    """`torch.as_tensor(shapes)` was read as the empty list (shape (0,), then `.prod(1)` out of range)
    and `torch.cat(outs, 1)` as `x` alone (then a false view error): two false alarms."""
    scope = {"__name__": "__main__"}
    exec(compile(UNKNOWN_LOOP_LISTS, "<model>", "exec"), scope)
    assert tuple(scope["out"].shape) == (2, 3)
    assert _errors(UNKNOWN_LOOP_LISTS) == []
    assert [f.code for f in analyze(UNKNOWN_LOOP_LISTS, "m.py", Options()).findings if f.severity == "warning"] == []


ENUM_IDENTITY = """
import torch
import torch.nn as nn
from enum import Enum

class A(str, Enum):
    X = 'x'
    Y = 'y'
    Z = 'x'  # an alias of X

class B(str, Enum):
    X = 'x'

class P(Enum):
    ONE = 1
    UNO = 1  # an alias of ONE
    TWO = 2

checks = [A.Z is A.X, A.X == B.X, P.UNO is P.ONE, P.ONE == P.TWO, A.Y == 'y', P.ONE == 1, A('x') is A.X,
          P(2) is P.TWO, P.TWO.value == 2, A.Y.name == 'Y']

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1 + len([c for c in checks if c]))
    def forward(self, x):
        return self.fc(x)

out = Net()(torch.randn(2, 4))
"""


def test_enum_aliases_and_mixin_equality_as_python_decides_them():
    """An alias is the member it repeats; str-mixin members equal as strings across classes; a plain
    member equals no number."""
    assert _torch_output(ENUM_IDENTITY) == "(2, 9)"
    assert _output(ENUM_IDENTITY) == "(2, 9)"
