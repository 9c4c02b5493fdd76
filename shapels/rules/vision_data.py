"""torchvision's datasets and transforms as facts about images (issue 23): what sample a dataset gives and
what each transform does to an image's channels, height and width. Pure data and arithmetic, read by
shapels/analysis/data_values.py; tests/rules/test_vision_data.py checks every entry against torchvision itself
where it is installed (the opt-in `scripts/vision-venv.sh`).

An image is a PIL image until ToTensor/PILToTensor makes it a (C, H, W) tensor; transforms that resize or
crop work on either. Anything not modelled here (a Lambda, a transform of unknown arguments) makes the
image unknown, and so the dataset's samples: the loop over its loader stays an unknown loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

TRANSFORM_PREFIXES = ("torchvision.transforms.", "torchvision.transforms.v2.")


@dataclass(frozen=True)
class Image:
    channels: Optional[int]  # None: a file's own mode (PIL.Image.open before .convert)
    height: Optional[int]  # None: sized by the files (an ImageFolder's images)
    width: Optional[int]
    tensor: bool = False  # a (C, H, W) tensor, else a PIL image
    dtype: str = "float32"  # of the tensor


@dataclass(frozen=True)
class DatasetFacts:
    image: Optional[Image]  # the PIL image a sample holds before any transform; None: sized by the files
    length: tuple  # (train, test) sample counts where the dataset's split is `train=`
    split_param: str = "train"


# The datasets people start with: the image each sample holds and how many samples a split has.
DATASETS = {
    "torchvision.datasets.MNIST": DatasetFacts(Image(1, 28, 28), (60000, 10000)),
    "torchvision.datasets.FashionMNIST": DatasetFacts(Image(1, 28, 28), (60000, 10000)),
    "torchvision.datasets.KMNIST": DatasetFacts(Image(1, 28, 28), (60000, 10000)),
    "torchvision.datasets.CIFAR10": DatasetFacts(Image(3, 32, 32), (50000, 10000)),
    "torchvision.datasets.CIFAR100": DatasetFacts(Image(3, 32, 32), (50000, 10000)),
    "torchvision.datasets.ImageFolder": DatasetFacts(Image(3, None, None), ()),  # RGB, of the files' sizes
}
FAKE_DATA = "torchvision.datasets.FakeData"
# The datasets whose images and labels are tensors held whole: `.data`, uint8 (N, H, W), and `.targets`,
# int64 (N,), N the split's length (scripts index them by hand: siamese_network's pairs).
HELD_AS_TENSORS = ("torchvision.datasets.MNIST", "torchvision.datasets.FashionMNIST", "torchvision.datasets.KMNIST")


def dataset_image(name: str, image_size: Optional[tuple] = None) -> Optional[Image]:
    """The image before transforms: the dataset's own, FakeData's `image_size` (C, H, W), or an
    ImageFolder's RGB image of sizes not known here."""
    if name == FAKE_DATA:
        if image_size is None or len(image_size) != 3 or None in image_size:
            return None
        return Image(*image_size)
    facts = DATASETS.get(name)
    return facts.image if facts is not None else None


def transform(name: str, args: dict, image: Optional[Image]) -> Optional[Image]:
    """What the transform `name` (its last component: "Resize") with these known arguments does to
    `image`; None where not known (an unknown image, an argument not known, a transform not modelled).
    `args` holds ints, tuples of ints, floats, bools, strings or None, by parameter name."""
    if image is None:
        return None
    if name in _KEEPS:
        return image
    if name == "ToTensor":
        return replace(image, tensor=True, dtype="float32") if not image.tensor else None
    if name == "PILToTensor":
        return replace(image, tensor=True, dtype="uint8") if not image.tensor else None
    if name == "Grayscale":
        channels = args.get("num_output_channels", 1)
        return replace(image, channels=channels) if channels in (1, 3) else None
    if name == "Resize":
        return _resize(image, args.get("size"), args.get("max_size"))
    if name in ("CenterCrop", "RandomResizedCrop"):
        size = _pair(args.get("size"))
        return replace(image, height=size[0], width=size[1]) if size else None
    if name == "RandomCrop":
        return _random_crop(image, args)
    if name == "Pad":
        return _pad(image, args.get("padding"))
    return None


# Transforms that keep the image's shape (their random choices change values, not sizes).
_KEEPS = ("Normalize", "RandomHorizontalFlip", "RandomVerticalFlip", "ColorJitter", "RandomGrayscale",
          "GaussianBlur", "RandomAutocontrast", "RandomEqualize", "ConvertImageDtype", "RandomInvert",
          "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "AutoAugment", "RandAugment",
          "TrivialAugmentWide", "AugMix")
# Positional parameters, for binding a call's arguments by name.
TRANSFORM_PARAMS = {
    "Compose": ("transforms",), "Lambda": ("lambd",), "Grayscale": ("num_output_channels",),
    "Resize": ("size", "interpolation", "max_size", "antialias"), "CenterCrop": ("size",),
    "RandomResizedCrop": ("size", "scale", "ratio", "interpolation", "antialias"),
    "RandomCrop": ("size", "padding", "pad_if_needed", "fill", "padding_mode"),
    "Pad": ("padding", "fill", "padding_mode"), "Normalize": ("mean", "std", "inplace"),
}
DATASET_PARAMS = ("root", "train", "transform", "target_transform", "download")
FAKE_DATA_PARAMS = ("size", "image_size", "num_classes", "transform", "target_transform", "random_offset")
IMAGE_FOLDER_PARAMS = ("root", "transform", "target_transform", "loader", "is_valid_file", "allow_empty")
TRANSFORMS = ("Compose", "ToTensor", "PILToTensor", "Grayscale", "Resize", "CenterCrop", "RandomResizedCrop",
              "RandomCrop", "Pad", "Lambda") + _KEEPS


# PIL modes by their bands: what `.convert(mode)` gives, so ToTensor's channels (len(img.getbands())); the
# modes of 8-bit bands only ("I" and "F" make int32 and float32 tensors of their own values).
PIL_MODE_BANDS = {"1": 1, "L": 1, "P": 1, "LA": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3,
                  "RGBA": 4, "CMYK": 4}


def pil_resize(image: Image, size) -> Optional[Image]:
    """PIL's `img.resize((width, height))`: the size given, width first."""
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(s, int) and not isinstance(s, bool) for s in size):
        return replace(image, width=size[0], height=size[1])
    return None


def _pair(size) -> Optional[tuple]:
    """(h, w) of a size given as an int or a 1- or 2-sequence of ints."""
    if isinstance(size, int) and not isinstance(size, bool):
        return (size, size)
    if isinstance(size, tuple) and len(size) in (1, 2) and all(isinstance(s, int) for s in size):
        return (size[0], size[-1])
    return None


def _resize(image: Image, size, max_size) -> Optional[Image]:
    if max_size is not None:
        return None  # the longer side's cap: not modelled
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(s, int) for s in size):
        return replace(image, height=size[0], width=size[1])
    if isinstance(size, tuple) and len(size) == 1:
        size = size[0]
    if not isinstance(size, int) or isinstance(size, bool):
        return None
    if image.height is None or image.width is None:
        return replace(image, height=None, width=None)  # the shorter side is `size`; which one is not known
    # The shorter side becomes `size`, the longer one keeps the ratio, truncated (torchvision's
    # _compute_resized_output_size)
    short, long = sorted((image.height, image.width))
    new_short, new_long = size, int(size * long / short)
    if image.height <= image.width:
        return replace(image, height=new_short, width=new_long)
    return replace(image, height=new_long, width=new_short)


def _random_crop(image: Image, args: dict) -> Optional[Image]:
    size = _pair(args.get("size"))
    padding = args.get("padding")
    pad = padding if isinstance(padding, int) and not isinstance(padding, bool) else 0 if padding is None else None
    if size is None or pad is None:
        return None
    if image.height is not None and image.width is not None and not args.get("pad_if_needed", False) and \
            (image.height + 2 * pad < size[0] or image.width + 2 * pad < size[1]):
        return None  # torchvision's ValueError ("Required crop size ... is larger than input image size")
    return replace(image, height=size[0], width=size[1])


def _pad(image: Image, padding) -> Optional[Image]:
    if isinstance(padding, int) and not isinstance(padding, bool):
        left = right = top = bottom = padding
    elif isinstance(padding, tuple) and len(padding) == 2:
        left = right = padding[0]
        top = bottom = padding[1]
    elif isinstance(padding, tuple) and len(padding) == 4:
        left, top, right, bottom = padding
    else:
        return None
    if image.height is None or image.width is None:
        return image
    return replace(image, height=image.height + top + bottom, width=image.width + left + right)
