"""torchvision datasets and transforms (shapels/rules/vision_data.py) in a training script.

The analysis side runs everywhere. The facts themselves are checked against torchvision where it
imports: torchvision does not import beside this project's CPU torch 2.13, so `bash scripts/vision-venv.sh`
makes `.tools/vision-venv` (torch 2.14.1 and torchvision 0.29.1) and runs this file there; without
torchvision those tests are skipped.
"""

from __future__ import annotations

import struct
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapels.analysis.engine import analyze
from shapels.rules import vision_data as V
from shapels.symbolic import dims as D

SCRIPT = textwrap.dedent('''
    import torch
    import torch.nn as nn
    from torchvision import datasets, transforms


    class Probe(nn.Module):
        def forward(self, images, labels):
            return images


    train_set = datasets.{dataset}
    loader = torch.utils.data.DataLoader(train_set, batch_size=8{drop_last})
    for images, labels in loader:
        Probe()(images, labels)
''')


def _batch(dataset: str, drop_last: bool = False) -> dict:
    text = SCRIPT.format(dataset=dataset, drop_last=", drop_last=True" if drop_last else "")
    (probe,) = [m for m in analyze(text, "train.py").modules if m.name == "Probe"]
    return {name: None if shape is None or not shape.ranked else
            [D.as_int(d) if D.is_concrete(d) else str(d) for d in shape.dims]
            for name, shape in probe.inputs.items()}


def test_a_loop_over_mnist_sees_its_batches():
    batch = _batch('MNIST("data", train=True, download=True, transform=transforms.ToTensor())')
    assert batch["images"] == [8, 1, 28, 28] and batch["labels"] == [8]  # 60000 samples: every batch full
    test_batch = _batch('FashionMNIST("data", train=False, transform=transforms.ToTensor())')
    assert test_batch["images"] == [8, 1, 28, 28]  # 10000 as well
    fake = _batch('FakeData(size=100, image_size=(3, 20, 24), transform=transforms.ToTensor())')
    assert fake["images"] == [8, 3, 20, 24]  # 100 % 8: a last, smaller batch, but the first (analysed) is full


def test_the_transforms_size_the_images():
    batch = _batch('CIFAR10("data", train=False, transform=transforms.Compose([transforms.Resize(64), '
                   'transforms.CenterCrop(56), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))',
                   drop_last=True)
    assert batch["images"] == [8, 3, 56, 56]


def test_without_to_tensor_or_with_a_lambda_nothing_is_claimed():
    for dataset in ('MNIST("data")', 'MNIST("data", transform=transforms.Resize(32))',
                    'MNIST("data", transform=transforms.Compose([transforms.Lambda(lambda x: x), transforms.ToTensor()]))'):
        batch = _batch(dataset)
        assert batch["images"] is None or all(isinstance(d, str) for d in batch["images"]), dataset


def test_a_transform_size_is_offered_where_the_model_was_built_for_another():
    text = textwrap.dedent('''
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torchvision import datasets, transforms


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 8, 3)
                self.fc = nn.Linear(8 * 13 * 13, 10)

            def forward(self, x):
                return self.fc(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1))


        data = datasets.MNIST("data", transform=transforms.Compose([transforms.Resize(32), transforms.ToTensor()]))
        for images, labels in torch.utils.data.DataLoader(data, batch_size=16):
            loss = F.cross_entropy(Net()(images), labels)
    ''')
    (finding,) = [f for f in analyze(text, "train.py").findings if f.severity == "error"]
    lines = text.splitlines()
    edits = [(lines[a.span.start_line - 1], a.content) for a in [finding.fix] + finding.alternatives]
    assert any("transforms.Resize(32)" in line and content == "28" for line, content in edits), edits


def _real_transforms():
    tv = pytest.importorskip("torchvision")
    return tv


_STEPS = st.one_of(
    st.integers(8, 40).map(lambda s: ("Resize", {"size": s})),
    st.tuples(st.integers(8, 40), st.integers(8, 40)).map(lambda s: ("Resize", {"size": s})),
    st.integers(4, 40).map(lambda s: ("CenterCrop", {"size": s})),
    st.tuples(st.integers(4, 24), st.integers(0, 4)).map(lambda s: ("RandomCrop", {"size": s[0], "padding": s[1]})),
    st.integers(0, 5).map(lambda p: ("Pad", {"padding": p})),
    st.sampled_from([1, 3]).map(lambda c: ("Grayscale", {"num_output_channels": c})),
    st.just(("RandomHorizontalFlip", {})),
)


@settings(max_examples=60, deadline=None)
@given(image=st.tuples(st.sampled_from([1, 3]), st.integers(8, 48), st.integers(8, 48)),
       steps=st.lists(_STEPS, max_size=4))
def test_transform_facts_agree_with_torchvision(image, steps):
    """FakeData's sample through the transforms, then ToTensor: torchvision's shape, or its error where
    vision_data says it cannot tell."""
    tv = _real_transforms()
    from torchvision import transforms as T

    chain = [getattr(T, name)(**args) for name, args in steps] + [T.ToTensor()]
    data = tv.datasets.FakeData(size=2, image_size=image, transform=T.Compose(chain))
    expected = V.Image(*image)
    for name, args in steps + [("ToTensor", {})]:
        expected = V.transform(name, args, expected)
    try:
        real = tuple(data[0][0].shape)
    except ValueError:
        assert expected is None  # a crop larger than the image: torchvision refuses, nothing is claimed
        return
    if expected is not None:
        assert (expected.channels, expected.height, expected.width) == real


def _write_fake_mnist(root, n: int = 3) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, count in (("train", n), ("t10k", n)):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, count, 28, 28) + bytes(count * 784))
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, count) +
                                                          bytes(i % 10 for i in range(count)))


def test_mnist_sample_agrees_with_torchvision(tmp_path):
    tv = _real_transforms()
    _write_fake_mnist(tmp_path)
    real = tv.datasets.MNIST(str(tmp_path), train=True, transform=tv.transforms.ToTensor())[0][0]
    image = V.transform("ToTensor", {}, V.dataset_image("torchvision.datasets.MNIST"))
    assert (image.channels, image.height, image.width) == tuple(real.shape)


FOLDER_DATASET = textwrap.dedent('''
    import os
    import torch
    import torch.nn as nn
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import CenterCrop, Compose, Resize, ToTensor


    class Folder(Dataset):
        def __init__(self, root, transform=None):
            self.files = [os.path.join(root, f) for f in os.listdir(root)]
            self.transform = transform

        def __getitem__(self, i):
            image = Image.open(self.files[i]).convert({mode!r})
            y, *_ = image.split()
            low, high = y.copy(), y
            if self.transform:
                low = self.transform(low)
            return low, {high}

        def __len__(self):
            return len(self.files)


    class Probe(nn.Module):
        def forward(self, low, high):
            return low


    loader = DataLoader(Folder({root!r}, transform={transform}), batch_size=4)
    for low, high in loader:
        Probe()(low, high)
''')


def _folder_batch(root: str, mode: str, transform: str, high: str) -> dict:
    text = FOLDER_DATASET.format(root=root, mode=mode, transform=transform, high=high)
    (probe,) = [m for m in analyze(text, "train.py").modules if m.name == "Probe"]
    return {name: None if shape is None or not shape.ranked else
            [D.as_int(d) if D.is_concrete(d) else str(d) for d in shape.dims]
            for name, shape in probe.inputs.items()}, text


def test_a_dataset_reading_image_files_is_sized_by_its_transforms():
    """The files' sizes are not known; a CenterCrop then Resize sizes the sample, ToTensor makes it a tensor of
    the converted mode's bands; the loader's batch dim is a named `batch` (the folder's length is not known)."""
    batch, _ = _folder_batch("images", "YCbCr", "Compose([CenterCrop(60), Resize(20), ToTensor()])",
                             "ToTensor()(high.resize((30, 40)))")
    assert batch["low"] == ["batch", 1, 20, 20] and batch["high"] == ["batch", 1, 40, 30]
    unsized, _ = _folder_batch("images", "RGB", "Compose([Resize(20), ToTensor()])", "ToTensor()(high)")
    assert unsized["low"] is None or any(isinstance(d, str) and d != "batch" for d in unsized["low"][2:])


@pytest.mark.parametrize("mode", ["YCbCr", "RGB", "L", "RGBA"])
def test_a_folder_dataset_agrees_with_torchvision(tmp_path, mode):
    """The same dataset run by torch and torchvision on a folder of fake images of several sizes."""
    _real_transforms()
    import torch
    from PIL import Image

    for i, size in enumerate([(50, 70), (90, 64), (64, 64)]):
        Image.new("RGB", size, (i * 40, 90, 160)).save(tmp_path / f"{i}.png")
    transform, high = "Compose([CenterCrop(60), Resize(20), ToTensor()])", "ToTensor()(high.resize((30, 40)))"
    batch, text = _folder_batch(str(tmp_path), mode, transform, high)
    namespace = {"__name__": "shapels_test"}
    exec(compile(text.split("\nclass Probe")[0], "data.py", "exec"), namespace)
    low, real_high = next(iter(torch.utils.data.DataLoader(
        namespace["Folder"](str(tmp_path), transform=eval(transform, namespace)), batch_size=4)))
    assert batch["low"][1:] == list(low.shape[1:]) and batch["high"][1:] == list(real_high.shape[1:])
    assert low.shape[0] == 3  # the folder's length, where shapels says `batch`


@pytest.mark.parametrize("mode", sorted(V.PIL_MODE_BANDS))
def test_pil_mode_bands_agree_with_to_tensor(mode):
    tv = _real_transforms()
    from PIL import Image

    tensor = tv.transforms.ToTensor()(Image.new("RGB", (5, 7)).convert(mode))
    assert tuple(tensor.shape) == (V.PIL_MODE_BANDS[mode], 7, 5) and str(tensor.dtype) == "torch.float32"


PAIRS = textwrap.dedent('''
    import random
    import numpy as np
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, Dataset
    from torchvision import datasets


    class Pairs(Dataset):
        def __init__(self, root):
            self.dataset = datasets.MNIST(root, train=True)
            self.data = self.dataset.data.unsqueeze(1).clone()
            targets = np.array(self.dataset.targets.clone())
            self.grouped = {}
            for i in range(0, 10):
                self.grouped[i] = np.where((targets == i))[0]

        def __len__(self):
            return self.data.shape[0]

        def __getitem__(self, index):
            chosen = random.randint(0, 9)
            picked = self.grouped[chosen][random.randint(0, self.grouped[chosen].shape[0] - 1)]
            return self.data[picked].clone().float(), torch.tensor(1, dtype=torch.float)


    class Probe(nn.Module):
        def forward(self, images, same):
            return images


    for images, same in DataLoader(Pairs(ROOT), batch_size=2):
        Probe()(images, same)
''')


def test_a_dataset_indexing_mnist_by_its_labels_is_followed(tmp_path):
    """siamese_network's pairs: MNIST's `.data` and `.targets` (tensors held whole), index arrays from
    np.where per label, one picked at random: the sample is one image (1, 28, 28); where torchvision
    imports, the same dataset run on fake MNIST files gives the same batch."""
    text = PAIRS.replace("ROOT", repr(str(tmp_path)))
    (probe,) = [m for m in analyze(text, "pairs.py").modules if m.name == "Probe"]
    dims = {name: [int(d) for d in shape.dims] for name, shape in probe.inputs.items()}
    assert dims == {"images": [2, 1, 28, 28], "same": [2]}, dims
    tv = _real_transforms()
    import torch

    _write_fake_mnist(tmp_path, n=20)
    mnist = tv.datasets.MNIST(str(tmp_path), train=True)
    assert list(mnist.data.shape) == [20, 28, 28] and mnist.data.dtype == torch.uint8
    assert list(mnist.targets.shape) == [20] and mnist.targets.dtype == torch.int64
    namespace = {"__name__": "shapels_test"}
    exec(compile(text.split("\nclass Probe")[0], "pairs.py", "exec"), namespace)
    images, same = next(iter(torch.utils.data.DataLoader(namespace["Pairs"](str(tmp_path)), batch_size=2)))
    assert list(images.shape) == dims["images"] and list(same.shape) == dims["same"]
