"""Device choice: auto falls back to the CPU here; CUDA runs where a GPU is present; meta on request."""

from __future__ import annotations

import pytest

from shapels.confirm.api import confirm_file
from tests.confirm.conftest import TORCH_EXAMPLES, expected_for

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()


def test_auto_picks_cuda_if_available_else_cpu(pool):
    path = TORCH_EXAMPLES[0]
    report = confirm_file(str(path), device="auto", pool=pool)
    assert report.device == ("cuda" if CUDA else "cpu")
    assert report.ok


@pytest.mark.skipif(not CUDA, reason="no CUDA device here")
@pytest.mark.parametrize("path", TORCH_EXAMPLES, ids=[p.name for p in TORCH_EXAMPLES])
def test_cuda_reproduces_expected(pool, path):
    report = confirm_file(str(path), device="cuda", pool=pool)
    assert report.device == "cuda"
    expected = expected_for(path)
    if expected["runs"]:
        assert report.ok and report.output_shape == expected["output_shape"]
    else:
        assert report.error.message == expected["error"]
        assert report.error.line == expected["call_line"]
    assert report.agreed


@pytest.mark.skipif(CUDA, reason="CUDA is available, so this is not the no-CUDA message")
def test_cuda_requested_without_a_gpu(pool):
    report = confirm_file(str(TORCH_EXAMPLES[0]), device="cuda", pool=pool)
    assert not report.ok and report.cannot_run
    assert report.error.kind == "device"
    assert "CUDA is not available" in report.error.message


def test_meta_models_too_big_to_run(pool, script):
    """On meta, a model of ~64 GB of weights still gives its shapes, at no memory cost."""
    path = script("""
        import torch, torch.nn as nn
        model = nn.Sequential(nn.Linear(65536, 65536), nn.ReLU(), nn.Linear(65536, 4096))
        x = torch.randn(8, 65536)
        out = model(x)
    """)
    report = confirm_file(str(path), device="meta", memory_mb=1024, pool=pool)
    assert report.ok, report.error
    assert report.device == "meta"
    assert report.output_shape == [8, 4096]
    # all built on one line: the Sequential (called by the driver), then its layers in call order
    assert [(l.type, l.output) for l in report.layers] == [
        ("torch.nn.Sequential", [8, 4096]), ("torch.nn.Linear", [8, 65536]),
        ("torch.nn.ReLU", [8, 65536]), ("torch.nn.Linear", [8, 4096])]
    assert {l.line for l in report.layers} == {3}


def test_meta_conv_error_in_eager_words(pool, script):
    path = script("""
        import torch, torch.nn as nn
        conv = nn.Conv2d(3, 16, 3)
        y = conv(torch.randn(1, 4, 8, 8))
    """)
    cpu = confirm_file(str(path), device="cpu", pool=pool)
    meta = confirm_file(str(path), device="meta", pool=pool)
    assert cpu.error.message == meta.error.message
    assert "expected input[1, 4, 8, 8] to have 3 channels, but got 4 channels instead" in meta.error.message
    assert meta.error.constructor_line == 3 and meta.error.line == 4
    assert meta.error.raw_message == "Invalid channel dimensions"


def test_default_device_restored_between_runs(pool, script):
    meta_run = script("import torch\nx = torch.randn(2)\n", name="m.py")
    check = script("import torch\nassert torch.randn(2).device.type == 'cpu'\n", name="c.py")
    assert confirm_file(str(meta_run), device="meta", pool=pool).ok
    report = confirm_file(str(check), device="cpu", pool=pool)
    assert report.ok, report.error
