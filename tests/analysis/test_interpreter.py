"""The abstract interpreter on the shapes real model code is written in."""

from __future__ import annotations

import textwrap

from shapels.analysis.engine import Options, analyze


def run(src: str, **options):
    result = analyze(textwrap.dedent(src), "m.py", Options(**options))
    return result


def errors(result):
    return [(f.code, f.span.start_line) for f in result.findings if f.severity == "error"]


def line_of(result, text: str) -> int:
    """The 1-based line of the first line containing `text`, so tests don't count lines by hand."""
    return next(i for i, line in enumerate(result.text.splitlines(), 1) if text in line)


def module(result, name):
    return next(m for m in result.modules if m.name == name)


def shape_of(binding_or_layer):
    return binding_or_layer.show() if binding_or_layer is not None else None


HEADER = """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
"""


def test_layers_built_in_loops_helpers_and_lists():
    r = run(HEADER + """
    cfg = [16, "M", 32, "M"]
    class VGGish(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = self._make(cfg)
            self.fc = nn.Linear(32 * 8 * 8, num_classes)
        def _make(self, cfg):
            layers, c = [], 3
            for v in cfg:
                if v == "M":
                    layers += [nn.MaxPool2d(2)]
                else:
                    layers.append(nn.Conv2d(c, v, 3, padding=1))
                    c = v
            return nn.Sequential(*layers)
        def forward(self, x):
            return self.fc(torch.flatten(self.features(x), 1))
    VGGish()(torch.randn(2, 3, 32, 32))
    """)
    assert errors(r) == []
    m = module(r, "VGGish")
    assert m.output.shape.show() == "(2, 10)"
    assert [l.name for l in m.layers][:2] == ["features.0", "features.1"]


def test_wrong_in_features_after_a_loop_built_feature_stack():
    r = run(HEADER + """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1) for i in range(3)])
            self.fc = nn.Linear(2048, 10)
        def forward(self, x):
            for block in self.blocks:
                x = F.relu(block(x))
            x = F.max_pool2d(x, 2)
            return self.fc(x.flatten(1))
    Net()(torch.randn(1, 3, 64, 64))
    """)
    assert errors(r) == [("linear-in-features", line_of(r, "self.fc = "))]
    [f] = [f for f in r.findings if f.severity == "error"]
    assert f.fix.content == str(8 * 32 * 32)


def test_composition_inheritance_and_class_attributes():
    r = run(HEADER + """
    class Block(nn.Module):
        expansion = 4
        def __init__(self, cin, planes):
            super().__init__()
            self.conv = nn.Conv2d(cin, planes * self.expansion, 1)
        def forward(self, x):
            return F.relu(self.conv(x))
    class Base(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.stem = nn.Conv2d(3, width, 3, stride=2, padding=1)
    class Net(Base):
        def __init__(self, width=16):
            super().__init__(width)
            self.block = Block(width, 8)
            self.head = nn.Linear(8 * Block.expansion, 5)
        def forward(self, x):
            x = self.block(self.stem(x))
            x = x.mean(dim=(2, 3)) if False else F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.head(x)
    Net()(torch.randn(2, 3, 32, 32))
    """)
    assert errors(r) == []
    assert module(r, "Net").output.shape.show() == "(2, 5)"
    block = module(r, "Block")
    assert [(b.name, b.shape.show()) for b in block.bindings] == []  # returns directly: no assignment
    assert any(n.name == "x" and n.shape.show() == "(2, 16, 16, 16)" for n in block.names)


def test_unknown_branch_findings_are_not_errors():
    r = run(HEADER + """
    class Net(nn.Module):
        def __init__(self, use_proj):
            super().__init__()
            self.use_proj = use_proj
            self.proj = nn.Linear(7, 4)
        def forward(self, x):
            if self.use_proj:
                x = self.proj(x)
            return x
    Net(flag)(torch.randn(2, 5))
    """)
    assert errors(r) == []
    assert [(f.code, f.severity) for f in r.findings] == [("linear-in-features", "information")]


def test_known_flags_pick_a_branch():
    src = HEADER + """
    class Net(nn.Module):
        def __init__(self, use_proj=False):
            super().__init__()
            self.use_proj = use_proj
            self.proj = nn.Linear(7, 4)
        def forward(self, x):
            if self.use_proj:
                x = self.proj(x)
            return x
    Net({flag})(torch.randn(2, 5))
    """
    r = run(src.format(flag="use_proj=True"))
    assert errors(r) == [("linear-in-features", line_of(r, "self.proj = "))]
    assert run(src.format(flag="")).findings == []


def test_symbolic_dims_give_conditions_not_errors():
    r = run(HEADER + """
    class Net(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.emb = nn.Embedding(100, dim)
            self.fc = nn.Linear(1024, 2)
        # shapels: input x=(B, L)
        def forward(self, x):
            h = self.emb(x)
            return self.fc(h.view(h.size(0), -1))
    """)
    assert errors(r) == []
    notes = [f.message for f in r.findings if f.code == "shape-condition"]
    assert notes == ["fc: holds only if 1024 = L*dim"]


def test_symbolic_mismatch_that_is_certain_is_an_error_with_a_symbolic_fix():
    r = run(HEADER + """
    class Net(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.a = nn.Linear(16, hidden)
            self.b = nn.Linear(hidden * 2, 3)
        def forward(self, x: "Float[Tensor, 'B 16']"):
            return self.b(self.a(x))
    """)
    [f] = [f for f in r.findings if f.severity == "error"]
    assert f.code == "linear-in-features" and f.fix.content == "hidden"


def test_jaxtyping_annotation_inputs():
    r = run(HEADER + """
    from jaxtyping import Float
    from torch import Tensor
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.conv2 = nn.Conv2d(4, 8, 3)
        def forward(self, x: Float[Tensor, "batch 3 H W"]):
            return self.conv2(self.conv(x))
    """)
    assert errors(r) == [("conv-in-channels", line_of(r, "self.conv2 = "))]
    assert module(r, "Net").source == "annotation"


def test_ignore_comment_suppresses_one_code():
    src = HEADER + """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)  # shapels: ignore[{code}]
        def forward(self, x):
            return self.fc(x)
    Net()(torch.randn(2, 5))
    """
    assert errors(run(src.format(code="linear-in-features"))) == []
    r = run(src.format(code="conv-in-channels"))
    assert errors(r) == [("linear-in-features", line_of(r, "self.fc = "))]


def test_unknown_libraries_give_silence():
    r = run(HEADER + """
    import timm, einops
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = timm.create_model("resnet18")
            self.fc = nn.Linear(512, 10)
        def forward(self, x):
            x = einops.rearrange(self.backbone(x), "b c h w -> b (c h w)")
            return self.fc(x)
    Net()(torch.randn(2, 3, 224, 224))
    """)
    assert r.findings == []


def test_partial_factories_checkpoint_and_args_passthrough():
    r = run(HEADER + """
    from functools import partial
    from torch.utils.checkpoint import checkpoint
    Norm = partial(nn.BatchNorm2d, eps=1e-3)
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 2)
            self.layers = nn.ModuleDict({"a": nn.Identity()})
            self.add_module("tail", nn.Linear(2, 3))
            setattr(self, "extra", nn.Linear(4, 4))
        def _body(self, x, *args, **kwargs):
            return self.layers["a"](self.conv(x))
        def forward(self, x, *args, **kwargs):
            x = checkpoint(self._body, x, *args, use_reentrant=False, **kwargs)
            if x is None:
                return x
            x = x.mean((2, 3))
            return self.tail(self.fc(x))
    Net()(torch.randn(2, 3, 8, 8))
    """)
    assert errors(r) == []
    assert module(r, "Net").output.shape.show() == "(2, 3)"


def test_tuple_unpacking_sizes_and_shape_arithmetic():
    r = run(HEADER + """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(48, 6)
        def forward(self, x):
            b, c, h, w = x.shape
            x = x.reshape(b, c * h * w // 2, 2).transpose(1, 2) if False else x.reshape(b, -1)
            n = x.size(-1) // 2
            return self.fc(x), n
    Net()(torch.randn(4, 3, 4, 4))
    """)
    assert errors(r) == []
    out = module(r, "Net").output
    assert out.items[0].shape.show() == "(4, 6)" and int(out.items[1].value) == 24


def test_half_typed_code_and_syntax_errors_never_crash():
    for src in ["class A(nn.Module):\n    def forward(self, x):\n        return self.", "def f(:\n", "x = (", "",
                "\x00", "import torch\nx = torch.randn(2, 3)\ny = x.view(7, -1)\n"]:
        r = run(src)
        assert r.syntax_error is not None or isinstance(r.findings, list)


def test_blame_follows_a_parameter_back_to_the_call_site():
    r = run(HEADER + """
    def head(features, classes):
        return nn.Sequential(nn.Dropout(0.2), nn.Linear(features, classes))
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 24, 3, padding=1)
            self.head = head(16, 10)
        def forward(self, x):
            return self.head(self.conv(x).mean((2, 3)))
    Net()(torch.randn(2, 3, 8, 8))
    """)
    [f] = [f for f in r.findings if f.severity == "error"]
    line = line_of(r, "self.head = head(16, 10)")
    assert (f.code, f.span.start_line, f.fix.content) == ("linear-in-features", line, "24")
    assert r.text.splitlines()[line - 1][f.span.start_col:f.span.end_col] == "16"



def test_a_negative_power_of_two_ints_is_the_float_python_computes():
    # `2 ** -1` is 0.5, so the view is (-1, 8): torch runs the first model call and fails the second on its
    # Linear(8, 4). The power used to be taken as the int 0, a view of (-1, 0) and a false alarm.
    result = run("""
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.scale = 2 ** -1
                self.fc = nn.Linear(width, 4)

            def forward(self, x):
                n = int(16 * self.scale)
                return self.fc(x.view(-1, n))

        y = Net(8)(torch.randn(2, 8))
        wrong = Net(6)(torch.randn(2, 8))
    """)
    assert errors(result) == [("linear-in-features", line_of(result, "wrong = Net(6)"))]
    assert "(2, 8) has 8 features" in next(f.message for f in result.findings if f.severity == "error")
