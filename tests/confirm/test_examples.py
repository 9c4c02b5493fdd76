"""Confirm on the six seed examples reproduces expected.json, and agrees with the static shapes."""

from __future__ import annotations

import pytest

from shapels.confirm.api import confirm_file
from shapels.confirm.report import AGREED, STATIC_MISSED, STATIC_WRONG
from tests.confirm.conftest import TORCH_EXAMPLES, expected_for

IDS = [p.name for p in TORCH_EXAMPLES]


def check_against_expected(report, path) -> None:
    expected = expected_for(path)
    if expected["runs"]:
        assert report.ok, report.error
        assert report.error is None
        assert report.output_shape == expected["output_shape"]
    else:
        assert not report.ok
        assert report.error.kind == "exception"
        assert report.error.type == "RuntimeError"
        assert report.error.message == expected["error"]
        assert report.error.line == expected["call_line"]
        layer_flags = [f for f in expected["flags"] if f["layer"].startswith("nn.")]
        if layer_flags:
            # the failing layer is mapped back to the line that built it
            assert report.error.constructor_line == layer_flags[0]["line"]
        else:
            assert report.error.constructor_line is None


@pytest.mark.parametrize("path", TORCH_EXAMPLES, ids=IDS)
def test_example_matches_expected(pool, path):
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.device == "cpu"
    check_against_expected(report, path)


@pytest.mark.parametrize("path", TORCH_EXAMPLES, ids=IDS)
def test_example_agrees_with_static(pool, path):
    report = confirm_file(str(path), device="cpu", pool=pool)
    bad = [v for v in report.verdicts if v.verdict in (STATIC_WRONG, STATIC_MISSED)]
    assert not bad, [v.message for v in bad]
    assert report.agreed
    # wherever the static engine claims a layer shape, the run saw the same
    agreed_lines = {v.line for v in report.verdicts if v.verdict == AGREED}
    assert {l.line for l in report.layers} <= agreed_lines
    if not expected_for(path)["runs"]:
        # the static engine flagged the error the run hit
        assert any(v.verdict == AGREED and "flagged" in v.message for v in report.verdicts)


@pytest.mark.parametrize("path", TORCH_EXAMPLES, ids=IDS)
def test_example_on_meta(pool, path):
    """The meta device gives the same results, with torch's meta error texts normalised."""
    report = confirm_file(str(path), device="meta", pool=pool)
    assert report.device == "meta"
    check_against_expected(report, path)
    assert report.agreed


def test_layers_keyed_by_constructor_line(pool):
    path = next(p for p in TORCH_EXAMPLES if p.name == "seed000_ex1.py")
    report = confirm_file(str(path), device="cpu", pool=pool)
    table = {l.line: (l.name, l.type, l.input, l.output) for l in report.layers}
    assert table[8] == ("conv1", "torch.nn.Conv2d", [1, 3, 64, 64], [1, 16, 64, 64])
    assert table[12] == ("fc1", "torch.nn.Linear", [1, 8192], [1, 128])
    assert report.model == "IncorrectFlattenModel" and report.model_line == 23
    assert report.model_input == [1, 3, 64, 64]
    assert 23 not in table  # the model itself is the model, not one of its layers


def test_failing_layer_has_no_output(pool):
    path = next(p for p in TORCH_EXAMPLES if p.name == "seed000_ex3.py")
    report = confirm_file(str(path), device="cpu", pool=pool)
    fc1 = next(l for l in report.layers if l.line == 9)
    assert fc1.status == "raised" and fc1.output is None and fc1.input == [1, 5120]
    assert report.error.layer == "fc1" and report.error.layer_type == "torch.nn.Linear"
    assert 10 not in {l.line for l in report.layers}  # fc2 never ran


def test_unsaved_text_runs_instead_of_the_file(pool, tmp_path):
    path = next(p for p in TORCH_EXAMPLES if p.name == "seed000_ex3.py")
    target = tmp_path / path.name
    target.write_text(path.read_text())
    fixed = path.read_text().replace("nn.Linear(1024, 128)", "nn.Linear(5120, 128)")
    report = confirm_file(str(target), device="cpu", pool=pool, text=fixed)
    assert report.ok and report.output_shape == [1, 10]
    assert report.agreed


def test_file_without_a_driver_runs_as_the_static_engine_did(pool, script):
    """No top-level call: confirm builds the class and feeds it the inputs of the `# shapels: input`
    comment, as the static engine did; an Embedding input gets integer ids."""
    path = script("""
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(100, 8)
                self.fc = nn.Linear(8 * 5, 3)

            # shapels: input x=(2, 5)
            def forward(self, x):
                return self.fc(self.embed(x).flatten(1))
    """)
    report = confirm_file(str(path), device="cpu", pool=pool)
    assert report.ok, report.error
    assert report.model == "Net" and report.output_shape == [2, 3]
    assert any("built Net()" in n for n in report.notes)
    assert report.agreed and {v.verdict for v in report.verdicts} == {AGREED}


def test_report_json_round_trip(pool):
    import json

    path = next(p for p in TORCH_EXAMPLES if p.name == "seed004_ex2.py")
    data = json.loads(confirm_file(str(path), device="cpu", pool=pool).to_json())
    assert data["error"]["row"] == 17 and data["error"]["constructor_row"] is None
    assert data["device"] == "cpu" and data["ok"] is False
    assert [l["row"] for l in data["layers"]] == [8, 9]
