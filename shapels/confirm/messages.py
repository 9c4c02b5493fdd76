"""One message form for torch's shape errors, whatever the device raised them.

Eager CPU/CUDA and meta (fake) tensors word the same mistake differently; confirm shows the eager
wording everywhere, because that is what users search for and what `expected.json` records.
Pure text functions: no torch here.
"""

from __future__ import annotations

import re
from typing import Optional

NO_TORCH = (
    "torch is not installed for {python}: `shapels confirm` runs the model with PyTorch. "
    "Install the confirm extra: pip install 'shapels[confirm]'"
)

_REDUCTION = re.compile(
    r"a and b must have same reduction dim, but got \[(\d+), (\d+)\] X \[(\d+), (\d+)\]\.?"
)
_BROADCAST = re.compile(
    r"Attempting to broadcast a dimension of length (\d+) at (-?\d+)! Mismatching argument at index \d+ "
    r"had torch\.Size\(\[[^\]]*\]\); but expected shape should be broadcastable to \[([^\]]*)\]"
)


def _dims(text: str) -> list:
    return [int(p) for p in text.replace(" ", "").split(",") if p]


def _x(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def normalise(message: str, layer: Optional[dict] = None) -> str:
    """The eager form of `message`. `layer` describes the failing module when known:
    {"type": "torch.nn.Conv2d", "input": [1, 4, 8, 8], "weight": [16, 3, 3, 3], "groups": 1}.
    Terminal colour codes (Keras bolds the heart of its messages) are dropped."""
    message = _ANSI.sub("", message).strip()
    m = _REDUCTION.search(message)
    if m:
        a, b, c, d = m.groups()
        return f"mat1 and mat2 shapes cannot be multiplied ({a}x{b} and {c}x{d})"
    m = _BROADCAST.search(message)
    if m:
        length, at, expected = int(m.group(1)), int(m.group(2)), _dims(m.group(3))
        index = at + len(expected) if at < 0 else at
        if 0 <= index < len(expected):
            return (f"The size of tensor a ({expected[index]}) must match the size of tensor b ({length}) "
                    f"at non-singleton dimension {index}")
    if message.startswith("Invalid channel dimensions") and layer:
        conv = _conv_message(layer)
        if conv:
            return conv
    return message


def _conv_message(layer: dict) -> Optional[str]:
    weight, shape = layer.get("weight"), layer.get("input")
    if not (isinstance(weight, list) and isinstance(shape, list) and len(weight) >= 2 and len(shape) >= 2):
        return None
    groups = layer.get("groups") or 1
    batched = len(shape) == len(weight)
    channels = shape[1] if batched else shape[0]
    if "Transpose" in str(layer.get("type", "")):
        expected = weight[0]
        return (f"Given transposed=1, weight of size {_x(weight)}, expected input{_x(shape)} to have "
                f"{expected} channels, but got {channels} channels instead")
    return (f"Given groups={groups}, weight of size {_x(weight)}, expected input{_x(shape)} to have "
            f"{weight[1] * groups} channels, but got {channels} channels instead")


def memory_message(cap_mb: int, detail: str = "") -> str:
    return f"exceeded the memory cap of {cap_mb} MB" + (f" ({detail})" if detail else "")


_ALLOC = re.compile(r"you tried to allocate (\d+) bytes")


def allocation_detail(message: str) -> str:
    m = _ALLOC.search(message)
    if m:
        return f"an allocation of {int(m.group(1)) / 2**20:.0f} MB failed"
    return ""


def is_out_of_memory(exc_type: str, message: str) -> bool:
    if exc_type == "MemoryError" or exc_type.endswith("OutOfMemoryError"):
        return True
    return "can't allocate memory" in message or "Cannot allocate memory" in message or "CUDA out of memory" in message


NO_KERAS = (
    "keras is not installed for {python}: `shapels confirm` runs Keras files with Keras 3 on the torch "
    "backend. Install the keras extra: pip install 'shapels[keras]' ({reason})"
)
NO_TENSORFLOW = (
    "{what} needs TensorFlow, which is not installed: confirm runs Keras files with Keras 3 on the torch "
    "backend and stands in for {stood_in} only. To run this file, install TensorFlow: pip install tensorflow-cpu"
)
