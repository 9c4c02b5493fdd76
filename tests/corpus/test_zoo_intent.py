"""The intent operators on the torchvision corpus (corpus/zoo_intent.py), on resnet18 only (seconds).

The operators must change only the driver's input, once each, leaving code that parses; the fake-torchvision
worker must label the unmutated program as running with every module call recorded; and the judgement of a
fix against that run (intent_mutants.judge) must be right on hand-made edits of resnet18's driver. The
figures are not asserted here: `.venv/bin/python corpus/zoo_intent.py` reports them in
corpus/ZOO_INTENT_RESULTS.md. Skips without the torchvision sources (`bash corpus/fetch_zoo.sh`) or torch.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import libcst as cst
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "corpus"))

import intent_mutants as im  # noqa: E402
import zoo  # noqa: E402
import zoo_intent  # noqa: E402

pytestmark = pytest.mark.skipif(not zoo.sources_present(),
                                reason="torchvision model sources missing: run `bash corpus/fetch_zoo.sh`")
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="labelling runs the models with torch")

BUILDER = "resnet18"


@pytest.fixture(scope="module")
def torchvision():
    return zoo_intent.Torchvision()


@pytest.fixture(scope="module")
def resnet(torchvision):
    return torchvision.program(BUILDER)


@pytest.fixture(scope="module")
def labeller(torchvision):
    lab = zoo_intent.labeller(torchvision, cache=None)  # no cache: the test labels what is on disk now
    yield lab
    lab.close()


def _edit_driver(text: str, new_sizes: str) -> str:
    return text.replace("torch.randn(1, 3, 224, 224)", f"torch.randn({new_sizes})")


def test_operators_change_only_the_driver_input(resnet):
    text = resnet.text
    assert text.count("torch.randn(1, 3, 224, 224)") == 1
    found = zoo_intent.mutants(resnet)
    ops = [m.operator for m in found]
    assert ops.count("drop_batch") == 1 and ops.count("channels_last") == 1
    sizes = sorted(int(m.new.split(", ")[2]) for m in found if m.operator == "image_size")
    assert sizes == [s for s in zoo_intent.MISTAKEN_SIZES if s != 224]
    last = len(text.splitlines())
    for m in found:
        assert m.line == last, m  # `output = model(torch.randn(...))`, the driver's last line
        mutated = m.apply(text)
        cst.parse_module(mutated)
        assert mutated.splitlines()[:last - 1] == text.splitlines()[:last - 1]
    by_op = {m.operator: m for m in found}
    assert by_op["drop_batch"].new == "3, 224, 224" and by_op["drop_batch"].intended(text) == text
    assert by_op["channels_last"].new == "1, 224, 224, 3"


def test_inception_keeps_its_own_size_out(torchvision):
    inception = torchvision.program("inception_v3")
    sizes = {int(m.new.split(", ")[2]) for m in zoo_intent.mutants(inception, ["image_size"])}
    assert 299 not in sizes and 224 in sizes


@needs_torch
def test_worker_labels_and_judges_resnet18(resnet, labeller):
    path, text = resnet.path, resnet.text
    base = labeller.label(text, str(path))
    assert base["runs"], base["error"]
    modules = {c["module"] for c in base["calls"]}
    assert {"model", "model.conv1", "model.layer4.1.conv2", "model.fc"} <= modules
    assert [c["out"] for c in base["calls"] if c["module"] == "model"] == [[1, 1000]]

    dropped = labeller.label(_edit_driver(text, "3, 224, 224"), str(path))
    assert not dropped["runs"] and dropped["error_line"] is not None
    # the edits a fix might make, judged against the unmutated run
    assert im.judge(base, labeller.label(_edit_driver(text, "3, 224, 224).unsqueeze(0"), str(path))) == "restores"
    assert im.judge(base, labeller.label(_edit_driver(text, "2, 3, 224, 224"), str(path))) == "batch merged"
    assert im.judge(base, labeller.label(_edit_driver(text, "1, 3, 192, 192"), str(path))) == "shapes differ"
    assert im.judge(base, dropped) == "fails"


@needs_torch
def test_resnet18_unmutated_and_running_sizes_get_no_error(torchvision, resnet, labeller):
    """No false alarm: the unmutated program, and the image sizes resnet18 runs at (adaptive pooling)."""
    path, text = resnet.path, resnet.text
    options = torchvision.options()
    assert im.shapels_errors(text, str(path), options) == {"errors": [], "partial": False, "crash": None}
    for side in (32, 96):
        mutated = _edit_driver(text, f"1, 3, {side}, {side}")
        assert labeller.label(mutated, str(path))["runs"]
        static = im.shapels_errors(mutated, str(path), options)
        assert not static["errors"] and static["crash"] is None, (side, static)


TIMM_SRC = ROOT / ".tools" / "timm" / f"src-{zoo_intent.TIMM_VERSION}"


@pytest.mark.skipif(not (TIMM_SRC / "timm").is_dir(),
                    reason="timm's sources missing: `.venv/bin/python corpus/zoo_intent.py --library timm` fetches them")
def test_timm_driver_is_the_only_place_mutated():
    """timm's programs are the file defining the class with corpus/timm_mutants.py's driver: the operators
    change that driver's input, never a factory of the model file."""
    timm = zoo_intent.Timm()
    for name in ("ResNet-18", "Inception-v3"):
        program = timm.program(name)
        found = zoo_intent.mutants(program)
        last = len(program.text.splitlines())
        assert found and all(m.line == last for m in found), name
        assert sorted(m.operator for m in found).count("image_size") == len(zoo_intent.MISTAKEN_SIZES) - 1
        assert {int(m.new.split(", ")[2]) for m in found if m.operator == "image_size"}.isdisjoint({program.side})
