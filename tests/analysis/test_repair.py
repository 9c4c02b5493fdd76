"""Blame by verified repair (shapels/analysis/repair.py): which argument a mismatch is put on, and
whether its fix, applied to the file, really makes the model run under torch."""

from __future__ import annotations

import itertools
import textwrap
import time

import pytest

from shapels.analysis import repair
from shapels.analysis.engine import Options, analyze

from producer_models import CONV_PRODUCER_BUG as STEM
from program_runs import apply_fix, torch_error

torch = pytest.importorskip("torch")


run, apply = torch_error, apply_fix  # (the names this file's tests use)


def errors(source: str, **options):
    return [f for f in analyze(source, "model.py", Options(**options)).findings if f.severity == "error"]


def line_of(source: str, fragment: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if fragment in line)




def test_blame_moves_to_the_producer_when_only_its_fix_works():
    assert run(STEM) is not None  # torch fails, at bn1
    (finding,) = errors(STEM)
    assert finding.span.start_line == line_of(STEM, "self.conv1 =")
    assert finding.param == "out_channels"
    assert finding.fix.content == "width"  # bn1's own expression, valid where conv1 is built
    assert "the mismatch starts at conv1's out_channels: with out_channels=width" in finding.message
    # bn1's `width` is Net's parameter: a number there (128) would fit Net(width=64) only; `width * 2` is tried
    assert "setting bn1's num_features instead fails at line" in finding.message and not finding.alternatives
    consumer = finding.related[0]
    assert (consumer.span.start_line, consumer.message) == (line_of(STEM, "self.bn1 ="),
                                                            "bn1 expects num_features=64 here")
    assert run(apply(STEM, finding.fix)) is None


def test_blame_stays_on_the_consumer_when_both_fixes_work():
    # One producer, one consumer: torch's choice (the consumer) stands, the producer is an alternative.
    source = STEM.replace("self.block = Block(width)", "self.block = nn.Identity()")
    (finding,) = errors(source)
    assert finding.span.start_line == line_of(source, "self.bn1 =")
    # Both written in Net's names (`width` is its parameter): a number (128, 64) would fit Net(width=64) only
    assert finding.fix.content == "width * 2"
    assert [(a.span.start_line, a.content) for a in finding.alternatives] == [(line_of(source, "self.conv1 ="), "width")]
    assert (line_of(source, "self.conv1 ="), "or set conv1's out_channels to width") in [
        (r.span.start_line, r.message) for r in finding.related]
    assert run(apply(source, finding.fix)) is None
    assert run(apply(source, finding.alternatives[0])) is None


# STEM with the block gone: bn1 (the consumer) keeps the blame and conv1's change is a checked alternative.
BOTH_FIXES_RUN = STEM.replace("self.block = Block(width)", "self.block = nn.Identity()")


def offered(source: str) -> list:
    """(line, preferred fix, alternatives) of each error, analysed without a time budget."""
    return [(f.span.start_line, f.fix.content if f.fix else None, [a.content for a in f.alternatives])
            for f in errors(source, budget_seconds=None)]


def test_a_trials_cost_is_its_interpreter_steps_the_same_every_time():
    fixed = BOTH_FIXES_RUN.replace("nn.BatchNorm2d(width)", "nn.BatchNorm2d(width * 2)")
    steps = [analyze(fixed, "model.py", Options(budget_seconds=None, verify_fixes=False)).steps for _ in range(2)]
    assert steps[0] > 0 and steps[0] == steps[1]
    # the main analysis's count leaves out its fix trials, which count their own
    assert analyze(BOTH_FIXES_RUN, "model.py", Options(budget_seconds=None)).steps == \
        analyze(BOTH_FIXES_RUN, "model.py", Options(budget_seconds=None, verify_fixes=False)).steps


def test_the_fixes_offered_do_not_depend_on_the_clock(monkeypatch):
    """Whether a file's re-analyses cost too much for checked alternatives is counted in work: a machine
    whose every clock reading is 10 s after the last (the slowest, busiest there is) gets the same fixes.
    (Counted in CPU seconds, the same file lost its alternatives on a slower or loaded machine.)"""
    normal = offered(BOTH_FIXES_RUN)
    assert normal == [(line_of(BOTH_FIXES_RUN, "self.bn1 ="), "width * 2", ["width"])]
    for clock in ("thread_time", "process_time", "perf_counter", "monotonic"):
        readings = itertools.count(start=1000.0, step=10.0)
        monkeypatch.setattr(time, clock, lambda readings=readings: next(readings))
    assert offered(BOTH_FIXES_RUN) == normal


def test_a_file_whose_trials_do_more_work_than_the_cut_off_gets_no_checked_alternatives():
    """Above EXPENSIVE_TRIAL_STEPS per re-analysis only the preferred fix is checked, so the alternative
    beside it is not offered; the same model called a few times keeps it."""
    call = "out = model(torch.randn(1, 3, 8, 8))\n"
    fixed = BOTH_FIXES_RUN.replace("nn.BatchNorm2d(width)", "nn.BatchNorm2d(width * 2)")

    def trial_steps(source: str) -> int:
        return analyze(source, "model.py", Options(budget_seconds=None, verify_fixes=False)).steps

    per_call = trial_steps(fixed + call) - trial_steps(fixed)
    calls = repair.EXPENSIVE_TRIAL_STEPS // per_call + 1
    small, large = BOTH_FIXES_RUN + call * 3, BOTH_FIXES_RUN + call * calls
    assert trial_steps(fixed + call * 3) <= repair.EXPENSIVE_TRIAL_STEPS < trial_steps(fixed + call * calls)
    line = line_of(BOTH_FIXES_RUN, "self.bn1 =")
    assert offered(small) == [(line, "width * 2", ["width"])]
    assert offered(large) == [(line, "width * 2", [])]


# A helper builds every block's first conv; one in_channels was doubled. A literal 64 would suit
# only the first block: the fix is the variable that holds the right size in each.
BLOCKS = textwrap.dedent("""
    import torch
    import torch.nn as nn


    def conv3x3(in_planes, out_planes):
        return nn.Conv2d(in_planes * 2, out_planes, 3, padding=1)


    class Block(nn.Module):
        def __init__(self, inplanes, planes):
            super().__init__()
            self.conv = conv3x3(inplanes, planes)

        def forward(self, x):
            return torch.relu(self.conv(x))


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(Block(64, 64), Block(64, 128), Block(128, 256))

        def forward(self, x):
            return self.layers(x)


    model = Net()
    out = model(torch.randn(1, 64, 8, 8))
""")


def test_a_literal_that_suits_one_instance_gives_way_to_a_variable():
    (finding,) = errors(BLOCKS)
    assert finding.span.start_line == line_of(BLOCKS, "nn.Conv2d(in_planes * 2")
    assert finding.fix.content == "in_planes"
    assert run(apply(BLOCKS, finding.fix)) is None


def test_a_fix_that_makes_the_size_unknown_is_not_taken():
    # `dims[i]` copied into fc1 would leave `i` undefined there: the analysis would go silent, which
    # is no proof. The fix offered must still make the file run.
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 4)
                dims = [2, 8, 8]
                self.mlp = nn.ModuleList([nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1)])

            def forward(self, x):
                x = self.fc1(x)
                for layer in self.mlp:
                    x = torch.relu(layer(x))
                return x


        model = Net()
        out = model(torch.randn(1, 64))
    """)
    (finding,) = errors(source)
    assert "dims[i]" not in finding.fix.content
    assert run(apply(source, finding.fix)) is None


def test_functional_linear_with_a_layers_weight_blames_its_in_features():
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class Attention(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.qkv = nn.Linear(dim * 2, dim * 3)

            def forward(self, x):
                return F.linear(x, self.qkv.weight, self.qkv.bias)


        model = Attention(16)
        out = model(torch.randn(2, 5, 16))
    """)
    assert run(source) is not None
    (finding,) = errors(source)
    assert finding.span.start_line == line_of(source, "self.qkv =")
    assert finding.param == "in_features"
    assert "F.linear with qkv.weight" in finding.message
    assert not any("LazyLinear" in a.content for a in finding.alternatives)  # its weight is read directly
    assert run(apply(source, finding.fix)) is None


def test_an_ignore_comment_on_the_producer_line_silences_the_moved_diagnostic():
    source = STEM.replace("width * 2, 3, padding=1)", "width * 2, 3, padding=1)  # shapels: ignore")
    assert errors(source) == []


def test_without_verification_the_consumer_keeps_the_blame():
    (finding,) = errors(STEM, verify_fixes=False)
    assert finding.span.start_line == line_of(STEM, "self.bn1 =")


def test_no_time_left_offers_no_unchecked_fix(monkeypatch):
    # Every trial finds the budget spent: the diagnosis stands where torch fails, nothing half-changed,
    # and a fix that no re-analysis confirmed is not offered.
    from shapels.analysis import engine

    monkeypatch.setattr(engine, "_trial", lambda *args: None)
    (finding,) = errors(STEM)
    assert finding.span.start_line == line_of(STEM, "self.bn1 =")
    assert "num_features" in finding.message
    assert finding.fix is None and finding.alternatives == []
    # and it says why there is no fix, rather than look like an error no fix can mend
    assert finding.message.endswith("(no fix offered: the time budget ran out before shapels could check one by "
                                    "re-analysis; budgetSeconds / budget_seconds raises it)")


def test_a_trial_cut_short_by_an_internal_error_is_not_called_out_of_time(monkeypatch):
    from shapels.analysis import engine

    real = engine._trial

    def broken(*args):
        result = real(*args)
        if result is not None:
            result.partial = True  # as an internal error in the variant leaves it: no budget note
        return result

    monkeypatch.setattr(engine, "_trial", broken)
    (finding,) = errors(STEM)
    assert finding.fix is None and "time budget" not in finding.message


def test_two_classes_each_get_their_own_producer_blame():
    # No driver: each class gets its own symbolic run, so each mismatch is an error of its own. The
    # second is decided against the first as it was reported before any blame moved.
    body = STEM.split("model = Net()")[0]
    source = body + body.split("import torch.nn as nn", 1)[1].replace("class Block", "class Block2").replace(
        "Block(width)", "Block2(width)").replace("class Net", "class Net2")
    found = errors(source)
    assert [f.param for f in found] == ["out_channels", "out_channels"]
    assert [f.fix.content for f in found] == ["width", "width"]
    conv1_lines = [i for i, line in enumerate(source.splitlines(), 1) if "self.conv1 =" in line]
    assert [f.span.start_line for f in found] == conv1_lines


def test_two_independent_errors_each_get_a_checked_fix():
    # fc1 and head are both wrong and neither fix clears the other: each fix still adds no problem, so
    # each is offered (the second error is a warning until the first is fixed).
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(100, 64)
                self.act = nn.ReLU()
                self.fc2 = nn.Linear(64, 32)
                self.head = nn.Linear(16, 10)

            def forward(self, x):
                return self.head(self.fc2(self.act(self.fc1(x))))


        y = Net()(torch.randn(4, 784))
    """)
    found = [f for f in analyze(source, "model.py").findings if f.severity in ("error", "warning")]
    assert [(f.severity, f.fix.content if f.fix else None) for f in found] == [("error", "784"), ("warning", None)]
    fixed = apply(source, found[0].fix)
    (second,) = [f for f in analyze(fixed, "model.py").findings if f.severity == "error"]
    assert second.fix.content == "32"
    assert run(apply(fixed, second.fix)) is None


INITIALIZED = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(32, 16)
            self.fc2 = nn.Linear(20, 10)
            self.apply(self.init_weight)

        @staticmethod
        def init_weight(m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)

        def forward(self, x):
            return self.fc2(self.fc1(x))


    out = Head()(torch.randn(2, 32))
''')


def test_no_lazy_stand_in_where_the_program_initializes_its_layers_weights():
    (finding,) = [f for f in analyze(INITIALIZED, "model.py").findings if f.severity == "error"]
    assert finding.fix is not None and run(apply(INITIALIZED, finding.fix)) is None
    assert not any("Lazy" in a.content for a in finding.alternatives)
    lazy = INITIALIZED.replace("nn.Linear(20, 10)", "nn.LazyLinear(10)")
    assert "uninitialized parameter" in str(run(lazy))  # what the stand-in would have done
    uninitialized = INITIALIZED.replace("nn.init.trunc_normal_(m.weight, std=.02)", "pass")
    (finding,) = [f for f in analyze(uninitialized, "model.py").findings if f.severity == "error"]
    assert any("LazyLinear" in a.content for a in finding.alternatives)


# The class sizes its first conv from its parameter through a local name; the driver's input has 3
# channels and the model is built with channels=4.
PARAMETER_THROUGH_A_NAME = textwrap.dedent("""
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self, dim, channels=3, self_condition=False):
            super().__init__()
            input_channels = {input_channels}
            self.init_conv = nn.Conv1d(input_channels, dim, 7, padding=3)

        def forward(self, x):
            return self.init_conv(x)


    model = Net(16, channels=4)
    y = model(torch.randn(2, 3, 32))
""")


def test_a_renamed_parameter_is_fixed_where_the_caller_wrote_it():
    source = PARAMETER_THROUGH_A_NAME.format(input_channels="channels")
    assert run(source) is not None
    (finding,) = errors(source)
    assert finding.span.start_line == line_of(source, "model = Net(")
    assert finding.fix.content == "3" and finding.fix.span.start_line == line_of(source, "model = Net(")
    fixed = apply(source, finding.fix)
    assert "input_channels = channels" in fixed and run(fixed) is None


@pytest.mark.parametrize("computed", ["channels * (2 if self_condition else 1)", "channels * 1"])
def test_no_number_is_written_over_a_size_computed_from_parameters(computed):
    """`nn.Conv1d(3, ...)` in place of `input_channels` would run for Net(16, channels=4) and break
    Net(16, channels=3), the class's default: every fix offered keeps the class as written."""
    source = PARAMETER_THROUGH_A_NAME.format(input_channels=computed)
    assert run(source) is not None
    (finding,) = errors(source)
    class_line = line_of(source, "self.init_conv =")
    for fix in [finding.fix, *finding.alternatives]:
        if fix is not None:
            assert fix.span.start_line != class_line
            assert run(apply(source, fix)) is None
    assert finding.fix is None or finding.fix.content == "torch.randn(2, 4, 32)"


def test_no_number_is_written_over_a_helpers_parameter():
    source = textwrap.dedent("""
        import torch
        from torch import nn


        def block(channels, dim):
            width = channels * 1
            return nn.Conv1d(width, dim, 3, padding=1)


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = block(4, 8)

            def forward(self, x):
                return self.conv(x)


        y = Net()(torch.randn(2, 3, 32))
    """)
    assert run(source) is not None
    (finding,) = errors(source)
    assert finding.span.start_line == line_of(source, "return nn.Conv1d(")  # torch's place, not hidden
    assert finding.fix is None or finding.fix.span.start_line != line_of(source, "return nn.Conv1d(")


def test_a_name_passed_on_through_a_user_class_is_verified_as_the_fix():
    """The producer's out_channels reaches nn.Conv2d through ConvNorm's own parameter: the fix trial sees the
    name's value where ConvNorm is called, so `width` (every instance) is verified, not only a number."""
    source = textwrap.dedent("""
        import torch
        from torch import nn


        class ConvNorm(nn.Sequential):
            def __init__(self, in_channels, out_channels):
                super().__init__(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels))


        class Stem(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.stem = nn.Sequential(
                    ConvNorm(3, width * 2),
                    ConvNorm(width, width),
                )

            def forward(self, x):
                return self.stem(x)


        def build():
            return Stem(width=16)


        out = build()(torch.randn(1, 3, 8, 8))
    """)
    assert run(source) is not None
    (finding,) = errors(source)
    assert finding.span.start_line == line_of(source, "ConvNorm(3, width * 2)")
    assert finding.fix.content == "width"
    assert run(apply(source, finding.fix)) is None


def test_a_size_a_parameter_makes_is_fixed_in_its_terms():
    """The head after a bidirectional LSTM: 512 would fit SeqClassifier(hidden=256) only; `hidden * 2` fits
    every hidden size."""
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn


        class SeqClassifier(nn.Module):
            def __init__(self, vocab=500, embed=16, hidden=32, classes=4):
                super().__init__()
                self.embed = nn.Embedding(vocab, embed)
                self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
                self.head = nn.Linear(hidden, classes)

            def forward(self, tokens):
                out, _ = self.lstm(self.embed(tokens))
                return self.head(out[:, -1, :])


        logits = SeqClassifier()(torch.randint(0, 500, (2, 7)))
        other = SeqClassifier(hidden=8)(torch.randint(0, 500, (2, 7)))
    """)
    assert run(source) is not None
    (finding,) = [f for f in errors(source) if f.fix is not None]
    assert finding.fix.content == "hidden * 2"
    assert run(apply(source, finding.fix)) is None  # both instances


# A model whose first layer's size is its own parameter's multiple, fed data of another channel count: the
# data is what the file got wrong. `channels * 2` (or `patch_dim * 2`) would make this run and change the
# model: every instance built for 3 channels would then want 6.
SIGNAL_OF_SIX = """
    import torch
    import torch.nn as nn


    class Denoiser(nn.Module):
        def __init__(self, dim=16, channels=3, self_condition=False):
            super().__init__()
            input_channels = channels * (2 if self_condition else 1)
            self.init_conv = nn.Conv1d(input_channels, dim, 7, padding=3)
            self.out = nn.Conv1d(dim, channels, 1)

        def forward(self, x):
            return self.out(self.init_conv(x))


    model = Denoiser(dim=16, channels=3)
    seq = torch.randn(1, 6, 32)
    out = model(seq)
"""

PATCHES_OF_SIX = """
    import torch
    import torch.nn as nn
    from einops.layers.torch import Rearrange


    class PatchViT(nn.Module):
        def __init__(self, image_size=32, patch_size=8, dim=64, channels=3, classes=10):
            super().__init__()
            patch_dim = channels * patch_size * patch_size
            self.to_patches = nn.Sequential(
                Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_size, p2=patch_size),
                nn.Linear(patch_dim, dim),
            )
            self.head = nn.Linear(dim, classes)

        def forward(self, img):
            return self.head(self.to_patches(img).mean(dim=1))


    model = PatchViT()
    img = torch.randn(1, 6, 32, 32)
    out = model(img)
"""


@pytest.mark.parametrize("program, made, meant", [
    (SIGNAL_OF_SIX, "torch.randn(1, 6, 32)", "torch.randn(1, 3, 32)"),
    (PATCHES_OF_SIX, "torch.randn(1, 6, 32, 32)", "torch.randn(1, 3, 32, 32)"),
])
def test_data_of_another_channel_count_is_fixed_in_the_data_not_by_a_multiple(program, made, meant):
    """The size the first layer disagrees with came from the driver's data unchanged (re-laid by a
    Rearrange at most): the input is blamed and given the channels the model was built for; no multiple of
    the model's own sizes is offered, as a fix or an alternative."""
    pytest.importorskip("einops")
    source = textwrap.dedent(program)
    assert run(source) is not None
    findings = errors(source)
    assert findings, "the mismatch is reported"
    first = findings[0]
    assert first.span.start_line == line_of(source, made)
    assert first.fix.content == meant
    assert not any(" * " in fix.content for f in findings for fix in [f.fix, *f.alternatives] if fix is not None)
    assert run(apply(source, first.fix)) is None


# Attention as vit-pytorch writes it: to_qkv's width is chunked into q, k and v, split into heads by einops and
# merged back before to_out. Two instances of other widths: a fix must suit both.
ATTENTION = """
    import torch
    import torch.nn as nn
    from einops import rearrange


    class Attention(nn.Module):
        def __init__(self, dim, heads=4, dim_head=16):
            super().__init__()
            inner_dim = dim_head * heads
            self.heads = heads
            self.scale = dim_head ** -0.5
            self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
            self.to_out = nn.Linear(inner_dim, dim)

        def forward(self, x):
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), (q, k, v))
            attn = (q @ k.transpose(-1, -2) * self.scale).softmax(dim=-1)
            return self.to_out(rearrange(attn @ v, "b h n d -> b n (h d)"))


    model = nn.Sequential(Attention(32), Attention(32, heads=2, dim_head=8))
    out = model(torch.randn(2, 10, 32))
"""

# A U-Net's upsampler (a 1x1 conv to factor² times the channels, then a pixel shuffle) whose output is joined
# with the skip before the next conv, as denoising-diffusion-pytorch's UViT writes it.
UPSAMPLER = """
    import torch
    import torch.nn as nn


    class Upsample(nn.Module):
        def __init__(self, dim, dim_out, factor=2):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(dim, dim_out * factor ** 2, 1), nn.SiLU(), nn.PixelShuffle(factor))

        def forward(self, x):
            return self.net(x)


    class Net(nn.Module):
        def __init__(self, dim=8):
            super().__init__()
            self.down = nn.Conv2d(3, dim, 3, stride=2, padding=1)
            self.mid = nn.Conv2d(dim, dim * 2, 3, stride=2, padding=1)
            self.up = Upsample(dim * 2, dim)
            self.out = nn.Conv2d(dim * 2, 3, 3, padding=1)

        def forward(self, x):
            skip = self.down(x)
            up = self.up(self.mid(skip))
            return self.out(torch.cat((up, skip), dim=1))


    out = Net()(torch.randn(1, 3, 16, 16))
    other = Net(dim=4)(torch.randn(1, 3, 16, 16))
"""


@pytest.mark.parametrize("program, written, mutated, meant", [
    (ATTENTION, "nn.Linear(dim, inner_dim * 3, bias=False)", "nn.Linear(dim, (inner_dim * 3) * 2, bias=False)",
     "inner_dim * 3"),
    (UPSAMPLER, "nn.Conv2d(dim, dim_out * factor ** 2, 1)", "nn.Conv2d(dim, (dim_out * factor ** 2) * 2, 1)",
     "dim_out * factor ** 2"),
])
def test_a_factor_the_producer_wrote_is_taken_off_rather_than_one_made_up_for_the_consumer(
        program, written, mutated, meant):
    """The producer's width doubled, and the doubled width reaches the consumer through a chunk and einops
    rearranges (or a pixel shuffle and a cat). Widening the consumer (`inner_dim * 2`, a multiple the repair
    would make up) also runs and gives the output its shape, but every head would be twice as wide: the
    producer's own expression without the factor is what the author wrote, and is preferred; the consumer's
    multiple stays an alternative."""
    pytest.importorskip("einops")
    original = textwrap.dedent(program)
    source = original.replace(written, mutated)
    assert run(original) is None and run(source) is not None
    (finding, *_) = errors(source)
    assert finding.span.start_line == line_of(source, mutated)
    assert finding.fix.content == meant
    assert "the mismatch starts at" in finding.message
    fixed = apply(source, finding.fix)
    assert fixed == original  # what the author wrote: the output's shape and every call's with it
    assert run(fixed) is None
    (consumer, *_) = finding.alternatives
    assert " * " in consumer.content and run(apply(source, consumer)) is None  # it runs, and stays offered


def test_a_consumer_that_doubled_its_own_width_is_the_one_fixed():
    """The mirror: to_out's in_features doubled. The consumer's own name is the fix; to_qkv keeps its width."""
    pytest.importorskip("einops")
    original = textwrap.dedent(ATTENTION)
    source = original.replace("nn.Linear(inner_dim, dim)", "nn.Linear(inner_dim * 2, dim)")
    assert run(source) is not None
    (finding, *_) = errors(source)
    assert finding.span.start_line == line_of(source, "self.to_out =")
    assert finding.fix.content == "inner_dim"
    assert apply(source, finding.fix) == original


def test_a_bidirectional_doubling_is_the_layers_and_the_consumer_is_fixed():
    """An LSTM of `hidden * 2` units in both directions makes hidden * 4 features; the head written for
    hidden * 2 forgot the directions. Taking the `* 2` off the LSTM would run too, but would halve a layer the
    author sized on purpose: the doubling the consumer lacks is the layer's own (bidirectional), so the
    consumer is fixed, in the class's terms."""
    source = textwrap.dedent("""
        import torch
        import torch.nn as nn


        class SeqClassifier(nn.Module):
            def __init__(self, vocab=500, embed=16, hidden=8, classes=4):
                super().__init__()
                self.embed = nn.Embedding(vocab, embed)
                self.lstm = nn.LSTM(embed, hidden * 2, batch_first=True, bidirectional=True)
                self.head = nn.Linear(hidden * 2, classes)

            def forward(self, tokens):
                out, _ = self.lstm(self.embed(tokens))
                return self.head(out[:, -1, :])


        logits = SeqClassifier()(torch.randint(0, 500, (2, 7)))
        other = SeqClassifier(hidden=4)(torch.randint(0, 500, (2, 7)))
    """)
    assert run(source) is not None
    (finding, *_) = errors(source)
    assert finding.span.start_line == line_of(source, "self.head =")
    assert finding.fix.content == "hidden * 4"
    assert run(apply(source, finding.fix)) is None


# MaxViT's attention: heads from dim // dim_head, to_out = nn.Linear(dim, dim), stages of two widths.
STAGED_ATTENTION = """
    import torch
    import torch.nn as nn
    from einops import rearrange


    class Attention(nn.Module):
        def __init__(self, dim, dim_head=16):
            super().__init__()
            self.heads = dim // dim_head
            self.scale = dim_head ** -0.5
            self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
            self.to_out = nn.Linear(dim, dim, bias=False)

        def forward(self, x):
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), (q, k, v))
            attn = (q @ k.transpose(-1, -2) * self.scale).softmax(dim=-1)
            return self.to_out(rearrange(attn @ v, "b h n d -> b n (h d)"))


    class Net(nn.Module):
        def __init__(self, dims=(32, 64)):
            super().__init__()
            self.stages = nn.ModuleList([])
            for dim_in, dim_out in zip(dims, dims[1:] + (dims[-1],)):
                self.stages.append(nn.ModuleList([Attention(dim_in), nn.Linear(dim_in, dim_out)]))

        def forward(self, x):
            for attn, proj in self.stages:
                x = proj(x + attn(x))
            return x


    out = Net()(torch.randn(2, 10, 32))
"""


def test_a_factor_the_producer_wrote_is_taken_off_where_nothing_at_the_consumer_runs():
    """to_qkv's width doubled, and to_out's in_features is the data's own width (32 from the driver's
    input): no size written for to_out runs clean, and the producer's expression without its factor does."""
    pytest.importorskip("einops")
    original = textwrap.dedent(STAGED_ATTENTION)
    source = original.replace("nn.Linear(dim, dim * 3, bias=False)", "nn.Linear(dim, (dim * 3) * 2, bias=False)")
    assert run(original) is None and run(source) is not None
    (finding, *_) = errors(source)
    assert finding.span.start_line == line_of(source, "self.to_qkv =")
    assert finding.fix.content == "dim * 3"
    assert finding.related[0].message == "to_out expects in_features=32 here"
    assert apply(source, finding.fix) == original and run(original) is None
