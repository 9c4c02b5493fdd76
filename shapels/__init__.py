"""shapels: find tensor-shape bugs in PyTorch models without running them."""

__version__ = "0.1.0"
