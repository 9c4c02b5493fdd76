"""Assertions on sizes (`assert x.shape[-1] == self.dim`, `torch._assert(h == self.image_size, ...)`):
certainly false for the inputs in play is Python's AssertionError, reported where it is raised and
checked against running the same program; a driver input of another size gets the asserted size."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from program_runs import torch_error
from shapels.analysis.engine import analyze

torch = pytest.importorskip("torch")

PROGRAM = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Patches(nn.Module):
        def __init__(self, image_size={size}, dim={dim}):
            super().__init__()
            self.image_size, self.dim = image_size, dim

        def forward(self, x):
            n, c, h, w = x.shape
            {check}
            return x.flatten(2)


    y = Patches()(torch.randn({shape}))
''')


def _run(text: str):
    try:
        exec(compile(text, "model.py", "exec"), {"__name__": "__main__"})
    except AssertionError:
        return "AssertionError"
    return None


def _asserts(text: str) -> list:
    return [f for f in analyze(text, "model.py").findings if f.code == "assert-fails" or f.code == "input-shape"]


CHECKS = [
    "assert h == self.image_size",
    "torch._assert(w == self.image_size, 'Wrong image width!')",
    "assert h % 8 == 0 and w % 8 == 0, 'divisible by 8'",
    "assert not (c != 3)",
    "assert c * h * w == self.dim",
    "assert x.shape[1:] == (3, self.image_size, self.image_size)",
    "assert tuple(x.shape[-2:]) != (h, h + 1)",
]


@settings(max_examples=40, deadline=None)
@given(check=st.sampled_from(CHECKS), size=st.sampled_from([16, 24, 32]), dim=st.sampled_from([768, 1024, 3072]),
       shape=st.tuples(st.integers(1, 3), st.sampled_from([1, 3]), st.sampled_from([16, 20, 24, 32]),
                       st.sampled_from([16, 24, 32])))
def test_a_finding_exactly_where_python_raises(check, size, dim, shape):
    text = PROGRAM.format(size=size, dim=dim, check=check, shape=", ".join(map(str, shape)))
    assert bool(_asserts(text)) == (_run(text) == "AssertionError"), text


def test_assertions_not_on_sizes_are_not_claimed():
    text = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                          check="assert isinstance(x, torch.Tensor) and not self.training")
    assert _asserts(text) == []  # false in training mode, but not an assertion on sizes: not claimed


def test_the_input_gets_the_asserted_size():
    program = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                             check="torch._assert(h == self.image_size, 'Wrong image height!')")
    mutant = program.replace("torch.randn(2, 3, 32, 32)", "torch.randn(2, 3, 28, 28)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(2, 3, 32, 32)"
    assert "Wrong image height!" in finding.message


@pytest.mark.parametrize("shape", ["2, 3, 28, 28", "2, 32, 32, 3", "2, 3, 32, 28", "2, 6, 32, 32"])
def test_an_input_that_fails_a_size_tuple_assertion_gets_the_asserted_shape(shape):
    program = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                             check="assert x.shape[1:] == (3, self.image_size, self.image_size)")
    mutant = program.replace("torch.randn(2, 3, 32, 32)", f"torch.randn({shape})")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(2, 3, 32, 32)", finding
    assert _run(mutant) == "AssertionError" and _run(program) is None


def test_a_channels_last_image_that_fails_a_width_assertion_gets_the_channels_first_layout():
    program = PROGRAM.format(size=32, dim=3072, shape="2, 3, 32, 32",
                             check="torch._assert(w == self.image_size, 'Wrong image width!')")
    mutant = program.replace("torch.randn(2, 3, 32, 32)", "torch.randn(2, 32, 32, 3)")
    (finding,) = [f for f in analyze(mutant, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(2, 3, 32, 32)"
    assert _run(mutant) == "AssertionError" and _run(program) is None


# An assert in a constructor states the class's contract on its arguments; the call's arguments break it.
CONSTRUCTOR = textwrap.dedent('''
    import torch
    import torch.nn as nn


    def pair(t):
        return t if isinstance(t, tuple) else (t, t)


    def divisible_by(num, den):
        return (num % den) == 0


    class Attention(nn.Module):
        def __init__(self, dim, dim_head=16):
            super().__init__()
            assert dim % dim_head == 0, 'dimension should be divisible by dimension per head'
            self.heads = dim // dim_head


    class ViT(nn.Module):
        def __init__(self, image_size, patch_size, dim, dim_head=16, channels=3):
            super().__init__()
            {check}
            self.attn = Attention(dim, dim_head=dim_head)
            self.proj = nn.Linear(channels * patch_size * patch_size, dim)

        def forward(self, x):
            return x


    model = ViT({arguments})
''')

CONSTRUCTOR_CHECKS = [
    "assert image_size % patch_size == 0, 'Image dimensions must be divisible by the patch size.'",
    "image_height, image_width = pair(image_size)\n        patch_height, patch_width = pair(patch_size)\n"
    "        assert image_height % patch_height == 0 and image_width % patch_width == 0",
    "self.num_patches = (image_size // patch_size) ** 2\n        self.patch = patch_size\n"
    "        assert self.num_patches * self.patch ** 2 == image_size ** 2",
    "self.patch_size = patch_height, patch_width = pair(patch_size)\n"
    "        assert divisible_by(image_size, patch_height) and image_size % patch_width == 0",
]


def _driver_line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("model = "))


@settings(max_examples=40, deadline=None)
@given(check=st.sampled_from(CONSTRUCTOR_CHECKS), image_size=st.sampled_from([28, 30, 32]),
       patch_size=st.sampled_from([4, 6, 8]), dim=st.sampled_from([31, 32, 64]))
def test_a_constructor_assert_broken_by_the_arguments_is_shown_at_the_call(check, image_size, patch_size, dim):
    text = CONSTRUCTOR.format(check=check, arguments=f"image_size={image_size}, patch_size={patch_size}, dim={dim}")
    errors = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    raised = _run(text) == "AssertionError"
    assert bool(errors) == raised, text
    if raised:
        (finding,) = errors  # Python stops at the first assert that fails
        assert finding.code == "assert-fails" and finding.span.start_line == _driver_line(text), finding
        assert finding.fix is None  # which argument was meant is not said
        asserted = finding.related[0].span.start_line
        assert text.splitlines()[asserted - 1].lstrip().startswith("assert"), finding.related


def test_the_arguments_the_assert_reads_are_named_and_the_call_is_where_they_are_written():
    text = CONSTRUCTOR.format(check=CONSTRUCTOR_CHECKS[1], arguments="image_size=32, patch_size=6, dim=64")
    (finding,) = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    assert "image_size=32, patch_size=6" in finding.message and "dim=" not in finding.message
    line = text.splitlines()[finding.span.start_line - 1]
    assert line[finding.span.start_col:finding.span.end_col] == "ViT(image_size=32, patch_size=6, dim=64)"


def test_an_argument_passed_on_to_an_inner_constructor_is_blamed_where_the_caller_wrote_it():
    text = CONSTRUCTOR.format(check="pass", arguments="image_size=32, patch_size=8, dim=31")
    (finding,) = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    line = text.splitlines()[finding.span.start_line - 1]
    assert line[finding.span.start_col:finding.span.end_col] == "31"  # dim_head is not written: its default stays
    assert "dim=31" in finding.message and _run(text) == "AssertionError"


def test_an_assert_that_reads_what_the_arguments_do_not_set_stays_where_it_is():
    text = textwrap.dedent('''
        import torch.nn as nn


        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.stride = 3


        class Net(Base):
            def __init__(self, size):
                super().__init__()
                assert size % self.stride == 0
                self.fc = nn.Linear(size, 2)


        net = Net(32)
    ''')
    (finding,) = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    asserted = text.splitlines()[finding.span.start_line - 1].strip()
    assert asserted == "assert size % self.stride == 0" and _run(text) == "AssertionError"  # the base's stride


def test_an_assert_on_defaults_the_caller_did_not_write_stays_where_it_is():
    text = CONSTRUCTOR.format(check="assert dim_head * 4 <= 32", arguments="image_size=32, patch_size=8, dim=64")
    (finding,) = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    asserted = text.splitlines()[finding.span.start_line - 1].strip()
    assert asserted == "assert dim_head * 4 <= 32" and _run(text) == "AssertionError"


RAISING = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Segmenter(nn.Module):
        def __init__(self, output_stride=32):
            super().__init__()
            self.output_stride = output_stride
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def check_input_shape(self, x):
            h, w = x.shape[-2:]
            if h % self.output_stride != 0 or w % self.output_stride != 0:
                new_h = (h // self.output_stride + 1) * self.output_stride
                raise RuntimeError(f"Wrong input shape height={{h}}, width={{w}}; pad to {{new_h}}")

        def forward(self, x):
            self.check_input_shape(x)
            return self.conv(x)


    out = Segmenter({stride})(torch.randn({shape}))
''')


@settings(max_examples=30, deadline=None)
@given(stride=st.sampled_from([8, 16, 32]), h=st.sampled_from([24, 32, 48, 64]), w=st.sampled_from([32, 40, 64]))
def test_a_size_check_that_raises_is_found_exactly_where_torch_code_raises(stride, h, w):
    text = RAISING.format(stride=stride, shape=f"1, 3, {h}, {w}")
    raised = isinstance(torch_error(text), RuntimeError)
    errors = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    assert bool(errors) == raised, text
    if raised:
        assert "RuntimeError (Wrong input shape" in errors[0].message or errors[0].code == "input-shape"


def test_an_input_a_size_check_refuses_gets_the_nearest_size_it_passes_padded_up():
    text = RAISING.format(stride=32, shape="1, 3, 48, 48")
    (finding,) = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    assert finding.code == "input-shape" and finding.fix.content == "torch.randn(1, 3, 64, 64)"
    fixed = text.replace("torch.randn(1, 3, 48, 48)", finding.fix.content)
    assert torch_error(fixed) is None


def test_an_argument_computed_from_the_enclosing_constructors_parameters_is_blamed_at_its_author():
    text = textwrap.dedent('''
        import torch.nn as nn


        class Attention(nn.Module):
            def __init__(self, dim, dim_head=16):
                super().__init__()
                assert dim % dim_head == 0, 'dimension should be divisible by dimension per head'


        class Net(nn.Module):
            def __init__(self, dim, depth):
                super().__init__()
                dims = tuple(map(lambda i: (2 ** i) * dim, range(depth)))
                self.layers = nn.ModuleList([Attention(dim=layer_dim) for layer_dim in dims])


        net = Net(dim=24, depth=2)
    ''')
    (finding,) = [f for f in analyze(text, "model.py").findings if f.severity == "error"]
    line = text.splitlines()[finding.span.start_line - 1]
    assert line.startswith("net = Net(") and "dim=24" in finding.message and _run(text) == "AssertionError"


def test_an_assert_on_defaults_of_a_class_no_program_builds_is_not_claimed():
    # shapels builds the class with its defaults to check it; `out_features` must be passed by its users
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn


        class Aligner(nn.Module):
            def __init__(self, dim: int, out_features: int = 0, ws: int = 1):
                super().__init__()
                assert out_features > 0, 'pass out_features'
                assert ws != 1
                self.proj = nn.Linear(dim, out_features)

            def forward(self, x):
                return self.proj(x)
    ''')
    assert [f for f in analyze(text, "model.py").findings if f.severity == "error"] == []
    built = text + "\n\nout = Aligner(16)(torch.randn(2, 16))\n"
    (finding,) = [f for f in analyze(built, "model.py").findings if f.severity == "error"]
    assert finding.code == "assert-fails" and _run(built) == "AssertionError"  # a program builds it so: certain
