"""`shapes` shows every call of a layer and tuple outputs in full, and says where the run stopped at an
error; each shown shape is the one torch gives (the calls recorded with forward hooks)."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import run_shapels

torch = pytest.importorskip("torch")

REUSED = textwrap.dedent("""
    import torch
    import torch.nn as nn


    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(10, 4)
            self.lstm = nn.LSTM(4, 8, batch_first=True)

        def forward(self, a, b):
            ea = self.encoder(a)
            eb = self.encoder(b[:, :10])
            out, (h, c) = self.lstm(torch.stack([ea, eb], dim=1))
            return out


    y = Siamese()(torch.randn(3, 10), torch.randn(3, 12))
""")


def _torch_calls(source: str) -> list:
    """(module name, input shape, output shapes) for every module call, as torch runs the program."""
    seen = []

    def shapes(value):
        if isinstance(value, torch.Tensor):
            return list(value.shape)
        return [shapes(v) for v in value] if isinstance(value, (tuple, list)) else None

    def hook(module, args, output):
        seen.append((type(module).__name__, list(args[0].shape), shapes(output)))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        exec(compile(source, "<model>", "exec"), {"__name__": "__main__"})
    finally:
        handle.remove()
    return [s for s in seen if s[0] != "Siamese"]


def test_every_call_and_tuple_outputs_as_torch_gives_them(tmp_path):
    path = tmp_path / "siamese.py"
    path.write_text(REUSED)
    doc = json.loads(run_shapels("shapes", "--format", "json", str(path)).stdout)
    [module] = doc["modules"]
    static = [(layer["type"].rsplit(".", 1)[-1], call["input"], call["output"])
              for layer in module["layers"] for call in layer["calls"]]
    assert sorted(static, key=str) == sorted(_torch_calls(REUSED), key=str)
    encoder = next(layer for layer in module["layers"] if layer["name"] == "encoder")
    assert [call["row"] for call in encoder["calls"]] == [13, 14]
    text = run_shapels("shapes", str(path)).stdout
    assert "encoder (call 2, line 14)" in text
    assert "((3, 2, 8), ((1, 3, 8), (1, 3, 8)))" in text


def test_the_table_says_where_the_run_stopped(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(REUSED.replace("nn.LSTM(4, 8,", "nn.LSTM(5, 8,"))
    text = run_shapels("shapes", str(path)).stdout
    assert "torch stops at the error reported on line 10 (rnn-input-size)" in text


def test_confirm_compares_every_call_and_the_tuple(tmp_path):
    path = tmp_path / "siamese.py"
    path.write_text(REUSED)
    doc = json.loads(run_shapels("confirm", "--format", "json", "--device", "cpu", str(path), timeout=240).stdout)
    [encoder] = [layer for layer in doc["layers"] if layer["name"] == "encoder"]
    assert [call["row"] for call in encoder["every"]] == [13, 14]
    verdicts = {v["name"]: v["verdict"] for v in doc["verdicts"]}
    assert verdicts["encoder"] == "agreed" and verdicts["encoder (call 2, line 14)"] == "agreed"
    assert verdicts["lstm"] == "agreed"  # the whole (out, (h, c)) tuple, not only out
    lstm = next(v for v in doc["verdicts"] if v["name"] == "lstm")
    assert lstm["static"]["output"] == [[3, 2, 8], [[1, 3, 8], [1, 3, 8]]]


def test_confirm_catches_a_later_call_shapels_got_wrong(tmp_path, monkeypatch):
    # The comparison is real: a static claim for the second call that differs from the run is reported.
    from shapels.confirm import compare
    from shapels.confirm.report import ConfirmReport, LayerRun
    from shapels.analysis.engine import analyze

    static = analyze(REUSED, str(tmp_path / "siamese.py"))
    run = LayerRun(line=9, name="encoder", type="torch.nn.Linear", inputs=[[3, 10]], output=[3, 4], input=[3, 10],
                   calls=2, every=[{"row": 13, "input": [3, 10], "output": [3, 4], "status": "ok"},
                                   {"row": 14, "input": [3, 10], "output": [3, 5], "status": "ok"}])
    verdicts = compare.compare(static, ConfirmReport(path="siamese.py", device="cpu", ok=True, layers=[run]))
    second = [v for v in verdicts if v.name == "encoder (call 2, line 14)"]
    assert [v.verdict for v in second] == ["static-wrong"]
