"""Verdicts from a static result and a (synthetic) run: no worker needed."""

from __future__ import annotations

import textwrap

from shapels.analysis.engine import analyze
from shapels.confirm.compare import agrees, compare
from producer_models import LINEAR_PRODUCER_BUG as PRODUCER_BUG
from shapels.confirm.report import (AGREED, RUNTIME_ONLY, STATIC_MISSED, STATIC_WRONG, ConfirmReport, LayerRun,
                                    RunError)

SOURCE = textwrap.dedent("""\
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 4)
            self.fc2 = nn.Linear(4, 2)

        def forward(self, x):
            x = self.fc1(x)
            return self.fc2(x)

    model = Net()
    out = model(torch.randn(3, 8))
""")


def static():
    return analyze(SOURCE, "/tmp/net.py")


def run(**kw) -> ConfirmReport:
    layers = kw.pop("layers", [LayerRun(7, "fc1", "torch.nn.Linear", [[3, 8]], [3, 4], input=[3, 8]),
                               LayerRun(8, "fc2", "torch.nn.Linear", [[3, 4]], [3, 2], input=[3, 4])])
    base = dict(path="/tmp/net.py", device="cpu", ok=True, output_shape=[3, 2], model="Net", model_line=14,
                model_input=[3, 8], layers=layers)
    base.update(kw)
    return ConfirmReport(**base)


def test_all_agreed():
    verdicts = compare(static(), run())
    assert {v.verdict for v in verdicts} == {AGREED}
    assert {v.line for v in verdicts} == {4, 7, 8}  # the model's output on its class line, and each layer


def test_static_wrong_shows_both_values():
    wrong = run(layers=[LayerRun(7, "fc1", "torch.nn.Linear", [[3, 8]], [3, 5], input=[3, 8])])
    verdicts = compare(static(), wrong)
    bad = [v for v in verdicts if v.verdict == STATIC_WRONG]
    assert len(bad) == 1
    assert "(3, 8) → (3, 4)" in bad[0].message and "(3, 8) → (3, 5)" in bad[0].message
    assert "bug in shapels" in bad[0].message
    assert bad[0].static["output"] == [3, 4] and bad[0].runtime["output"] == [3, 5]


def test_wrong_model_output():
    verdicts = compare(static(), run(output_shape=[3, 7]))
    assert any(v.verdict == STATIC_WRONG and v.name == "Net output" for v in verdicts)


def test_runtime_only_for_a_line_static_does_not_know():
    extra = run(layers=[LayerRun(15, "", "torch.nn.ReLU", [[3, 2]], [3, 2], input=[3, 2])])
    verdicts = compare(static(), extra)
    assert any(v.verdict == RUNTIME_ONLY and v.line == 15 for v in verdicts)


def test_static_missed_a_runtime_error():
    failed = run(ok=False, output_shape=None, error=RunError(kind="exception", type="RuntimeError", message="boom",
                                                            line=11, constructor_line=7, layer="fc1"))
    verdicts = compare(static(), failed)
    missed = [v for v in verdicts if v.verdict == STATIC_MISSED]
    assert len(missed) == 1 and missed[0].line == 7 and "boom" in missed[0].message


def test_static_error_on_a_layer_the_run_went_through():
    text = SOURCE.replace("nn.Linear(4, 2)", "nn.Linear(6, 2)")
    result = analyze(text, "/tmp/net.py")
    assert any(f.severity == "error" for f in result.findings)
    verdicts = compare(result, run())  # pretend the run went through fc2
    assert any(v.verdict == STATIC_WRONG and v.line == 8 for v in verdicts)


def test_symbolic_and_rank_unknown_dims_claim_only_what_they_know():
    assert agrees(["B", 4], [3, 4]) is True
    assert agrees(["B", 4], [3, 5]) is False
    assert agrees(["...", 4], [2, 3, 4]) is True
    assert agrees(["...", 4], [2, 3, 5]) is False
    assert agrees([1, 4], [1, 4, 1]) is False
    assert agrees(None, [1]) is None
    assert agrees([[1, 2], None], [[1, 2], [3]]) is True




def test_a_producer_blame_agrees_with_the_consumers_runtime_error():
    # fc1's 8 features feed fc2 and fc3, which both expect 4: shapels blames fc1's out_features (line 7);
    # torch raises at fc2 (line 8), which the finding names as related information. The run confirms
    # it, and fc1 going through is no contradiction.
    result = analyze(PRODUCER_BUG, "/tmp/net.py")
    [error] = [f for f in result.findings if f.severity == "error"]
    assert (error.span.start_line, error.fix.content) == (7, "4")
    failed = run(ok=False, output_shape=None,
                 layers=[LayerRun(7, "fc1", "torch.nn.Linear", [[3, 8]], [3, 8], input=[3, 8])],
                 error=RunError(kind="exception", type="RuntimeError", message="mat1 and mat2 shapes cannot be "
                                "multiplied (3x8 and 4x2)", line=13, constructor_line=8, layer="fc2"))
    verdicts = compare(result, failed)
    assert STATIC_WRONG not in {v.verdict for v in verdicts}
    assert any(v.verdict == AGREED and v.line == 8 for v in verdicts)
