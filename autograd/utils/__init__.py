"""Utilities beside the engine (PyTorch's `torch.utils`): `autograd.utils.data`."""

from . import data
