"""Neural-network layers, losses and initialisers on the autograd engine (PyTorch's names).

    import nn
    from nn import functional as F, init
"""

from . import functional, init, parallel
from .layers import (
    ELU,
    BatchNorm1d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .parallel import SyncBatchNorm
from .serialization import load, save

__all__ = [
    "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "ELU", "Flatten",
    "Identity", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "SyncBatchNorm", "Tanh",
    "functional", "init", "load", "parallel", "save",
]
