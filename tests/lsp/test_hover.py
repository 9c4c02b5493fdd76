"""Hover: the shape of a name in forward (checked against what torch really gives), and a layer's
input → output on its attribute and on its constructor line. Markdown or plain text per client."""

from __future__ import annotations

import re

import pytest
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

from tests.lsp.conftest import TORCH_EXAMPLES, copy_example

NAMES = [p.name for p in TORCH_EXAMPLES]
ASSIGN_X = re.compile(r"^(\s*)x\s*=")


async def hover(client, uri, line0: int, character: int):
    return await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri),
                          position=types.Position(line=line0, character=character))
    )


@pytest.mark.parametrize("name", NAMES)
async def test_hover_shows_the_real_shape(client, tmp_path, name, real_shapes):
    path = copy_example(tmp_path, name)
    lines = path.read_text().splitlines()
    uri, _ = await client.open(path)
    checked = 0
    for line, dims in sorted(real_shapes[name].items()):
        match = ASSIGN_X.match(lines[line - 1])
        if not match:
            continue
        result = await hover(client, uri, line - 1, len(match.group(1)))
        assert result is not None, f"no hover on x at line {line}"
        assert f"x: Tensor[{', '.join(map(str, dims))}]" in result.contents.value, (line, result.contents.value)
        checked += 1
    assert checked >= 2


async def test_hover_before_the_faulty_call(client, tmp_path):
    """The issue's example: seed000_ex3.py line 14, just before fc1 fails, x is (1, 5120)."""
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, _ = await client.open(path)
    result = await hover(client, uri, 13, 4)
    value = result.contents.value
    assert "x: Tensor[1, 5120]" in value
    assert "view (1, 5120)" in value  # where the shape came from
    assert result.range.start == types.Position(line=13, character=4)
    assert result.contents.kind == types.MarkupKind.Markdown  # both profiles prefer Markdown
    # The read of x on the same line shows the value before the view.
    result = await hover(client, uri, 13, 8)
    assert "x: Tensor[1, 10, 512]" in result.contents.value


async def test_hover_on_layer_attribute_and_constructor(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, _ = await client.open(path)
    lines = path.read_text().splitlines()
    col = lines[14].index("fc1")  # x = torch.relu(self.fc1(x))
    on_call = (await hover(client, uri, 14, col)).contents.value
    assert "fc1: nn.Linear(in_features=1024, out_features=128" in on_call
    assert "input (1, 5120)" in on_call
    on_ctor = (await hover(client, uri, 8, lines[8].index("fc1"))).contents.value
    assert on_ctor == on_call
    embedding = (await hover(client, uri, 7, 10)).contents.value
    assert "embedding_dim=512" in embedding  # resolved from the driver's EmbeddingMismatchModel(512)
    assert "input (1, 10) → output (1, 10, 512)" in embedding


async def test_hover_nothing_outside_forward(client, tmp_path):
    path = copy_example(tmp_path, "seed000_ex3.py")
    uri, _ = await client.open(path)
    assert await hover(client, uri, 0, 3) is None


@pytest.mark.parametrize("profile_formats", [[types.MarkupKind.PlainText]])
async def test_hover_plaintext_when_asked(tmp_path, profile_formats):
    """A client that asks for plain text gets no Markdown fences."""
    from pytest_lsp import client_capabilities

    from tests.lsp.conftest import SERVER

    lsp_client = await SERVER.start()
    try:
        caps = client_capabilities("neovim")
        caps.text_document.hover.content_format = profile_formats
        await lsp_client.initialize_session(types.InitializeParams(capabilities=caps,
                                                                   initialization_options={"shapels": {"debounceMs": 0}}))
        path = copy_example(tmp_path, "seed000_ex3.py")
        uri, _ = await lsp_client.open(path)
        result = await hover(lsp_client, uri, 13, 4)
        assert result.contents.kind == types.MarkupKind.PlainText
        assert result.contents.value.startswith("x: Tensor[1, 5120]")
        assert "```" not in result.contents.value
    finally:
        await lsp_client.shutdown_session()
        await lsp_client.stop()


async def test_hover_inside_a_nested_blocks_forward(client, tmp_path):
    """A multi-module model (examples/resnet_blocks.py): inside BasicBlock.forward, which TinyResNet
    calls through _make_layer-built Sequentials, hover shows the shapes that flow there."""
    import shutil

    from tests.conftest import ROOT

    path = tmp_path / "resnet_blocks.py"
    shutil.copy(ROOT / "examples" / "resnet_blocks.py", path)
    lines = path.read_text().splitlines()
    uri, _ = await client.open(path)
    line0 = next(i for i, text in enumerate(lines) if text.strip() == "out = self.relu(self.bn1(self.conv1(x)))")
    result = await hover(client, uri, line0, lines[line0].index("out"))
    assert result is not None
    assert "out: Tensor[2, 32, 24, 24]" in result.contents.value, result.contents.value


LOOP = '''import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
loader = DataLoader(TensorDataset(torch.randn(40, 3, 4), torch.randint(0, 5, (40,))), batch_size=8)
for images, labels in loader:
    logits = model(images)
    loss = nn.functional.cross_entropy(logits, labels)
'''


async def test_hover_in_a_training_loop_shows_the_batch_torch_gives(client, tmp_path):
    torch = pytest.importorskip("torch")
    scope: dict = {}
    exec(LOOP, scope)
    path = tmp_path / "train.py"
    path.write_text(LOOP)
    uri, _ = await client.open(path)
    for line0, character, name in ((6, 4, "images"), (6, 12, "labels"), (7, 4, "logits")):
        result = await hover(client, uri, line0, character)
        assert result is not None, name
        dims = ", ".join(map(str, scope[name].shape))
        assert f"{name}: Tensor[{dims}]" in result.contents.value, result.contents.value
    assert isinstance(scope["logits"], torch.Tensor)


OPTIONS = '''import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument('--imageSize', type=int, default=64)
parser.add_argument('--lr', type=float, default=0.0002)
opt = parser.parse_args()


def main():
    args = parser.parse_args()
    net = nn.Linear(args.imageSize, 10)
    return net(torch.randn(2, opt.imageSize))


out = main()
'''


async def test_hover_on_an_option_shows_the_value_the_script_runs_with(client, tmp_path, monkeypatch):
    import sys

    monkeypatch.setattr(sys, "argv", ["train.py"])
    scope: dict = {"__name__": "__main__"}
    exec(OPTIONS, scope)
    path = tmp_path / "train.py"
    path.write_text(OPTIONS)
    uri, _ = await client.open(path)
    lines = OPTIONS.splitlines()
    for line_text, name, expected in (("    net = nn.Linear(args.imageSize, 10)", "args.imageSize", scope["opt"].imageSize),
                                      ("    return net(torch.randn(2, opt.imageSize))", "opt.imageSize",
                                       scope["opt"].imageSize)):
        line0 = lines.index(line_text)
        result = await hover(client, uri, line0, line_text.index(name) + len(name) - 2)
        assert result is not None, name
        assert f"{name}: int = {expected}" in result.contents.value, result.contents.value
