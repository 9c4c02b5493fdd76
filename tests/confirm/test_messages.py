"""Error texts: one form across devices (pure functions, no torch)."""

from shapels.confirm import messages


def test_meta_matmul_becomes_eager_form():
    meta = "a and b must have same reduction dim, but got [1, 5120] X [1024, 128]."
    assert messages.normalise(meta) == "mat1 and mat2 shapes cannot be multiplied (1x5120 and 1024x128)"


def test_eager_text_is_kept():
    eager = "mat1 and mat2 shapes cannot be multiplied (1x5120 and 1024x128)"
    assert messages.normalise(eager) == eager
    view = "shape '[1, 20, 32, 32]' is invalid for input of size 81920"
    assert messages.normalise(view) == view


def test_meta_broadcast():
    meta = ("Attempting to broadcast a dimension of length 4 at -1! Mismatching argument at index 1 had "
            "torch.Size([4]); but expected shape should be broadcastable to [3]")
    assert messages.normalise(meta) == "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0"


def test_meta_conv_needs_the_layer():
    assert messages.normalise("Invalid channel dimensions") == "Invalid channel dimensions"
    layer = {"type": "torch.nn.Conv2d", "input": [1, 4, 8, 8], "weight": [16, 3, 3, 3], "groups": 1}
    assert messages.normalise("Invalid channel dimensions", layer) == (
        "Given groups=1, weight of size [16, 3, 3, 3], expected input[1, 4, 8, 8] to have 3 channels, "
        "but got 4 channels instead")


def test_out_of_memory_detection():
    cpu = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4294967296 bytes. Error code 12"
    assert messages.is_out_of_memory("RuntimeError", cpu)
    assert messages.allocation_detail(cpu) == "an allocation of 4096 MB failed"
    assert messages.is_out_of_memory("OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB")
    assert messages.is_out_of_memory("MemoryError", "")
    assert not messages.is_out_of_memory("RuntimeError", "mat1 and mat2 shapes cannot be multiplied")
    assert messages.memory_message(512) == "exceeded the memory cap of 512 MB"
