"""Layers: Linear, the activations, Softmax, Flatten, BatchNorm1d, Dropout (PyTorch names and
defaults). `inplace=True` is accepted where PyTorch has it; the result is computed out of place."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.ops import check_device

from . import functional as F
from . import init
from .module import Module, Parameter


class Identity(Module):
    """Returns its input (constructor arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class _InPlaceOption(Module):
    """A layer with PyTorch's `inplace` flag, accepted and shown in repr; computed out of place
    (a PyTorch script relying on its input being overwritten must use the result instead)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def _with_inplace(self, text: str) -> str:
        return f"{text}, inplace=True" if self.inplace else text


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features).

    PyTorch's default init: W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a=sqrt(5))
    and b ~ U(-1/sqrt(in), 1/sqrt(in)): Var(w) = 1 / (3 in), a third of what keeps the
    variance through a linear layer; reinitialise with `nn.init` to choose otherwise.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: np.dtype | type = np.float32):
        super().__init__()
        check_device(device, "Linear")
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {size!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(_InPlaceOption):
    """max(x, 0): cheap, no vanishing gradient for x > 0; a unit stuck below 0 never updates."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(_InPlaceOption):
    """x for x > 0, negative_slope * x otherwise: some gradient always flows."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return self._with_inplace(f"negative_slope={self.negative_slope}")


class ELU(_InPlaceOption):
    """x for x > 0, alpha * (exp(x) - 1) otherwise: smooth and roughly zero-centred."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return self._with_inplace(f"alpha={self.alpha}")


class SiLU(_InPlaceOption):
    """x * sigmoid(x) (swish): smooth, non-monotonic just below 0."""

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)): saturates at both ends (vanishing gradients), not zero-centred."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x): zero-centred sigmoid shape, still saturates."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF (exact, through erf, as PyTorch's default);
    approximate='tanh' gives the tanh approximation."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, a smooth relu; linear where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `axis`."""

    @ag.ops.torch_keywords  # nn.Softmax(dim=1), as PyTorch spells it
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """x - logsumexp(x) along `axis`."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, axis=self.axis)


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, d1, d2, ...) -> (N, d1 * d2 * ...) by
    default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        F._check_tensor(x, "Flatten")
        ndim = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim) or start % ndim > end % ndim:
            raise ValueError(f"Flatten: start_dim={start} and end_dim={end} do not select "
                             f"axes of an input of shape {x.shape}")
        shape = x.shape or (1,)
        start, end = start % ndim, end % ndim
        return x.reshape(*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class BatchNorm1d(Module):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta, per feature, over (N, C) or (N, C, L).

    Training: mean and biased variance of the batch normalise, and the running estimates are
    smoothed: running = (1 - momentum) * running + momentum * batch (unbiased variance);
    momentum=None gives the cumulative average over all batches instead. Evaluation: the running
    estimates normalise. gamma (`weight`, ones) and beta (`bias`, zeros) are learned; none with
    `affine=False`. With `track_running_stats=False` batch statistics are used in both modes.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: Any = None, dtype: np.dtype | type = np.float32):
        super().__init__()
        check_device(device, type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", ag.tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", ag.tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", ag.tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        F._check_tensor(x, "BatchNorm1d")
        F._channel_axes(x, self.num_features)  # check the shape before counting the batch
        momentum = self.momentum
        if self.training and self.track_running_stats:
            with ag.no_grad():
                self.num_batches_tracked += 1  # in place on the tensor: a compiled step replays it
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.data)
        return F._batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             self.training or not self.track_running_stats,
                             0.0 if momentum is None else momentum, self.eps,
                             self._statistics())

    def _statistics(self) -> Callable:
        """How batch statistics are computed (SyncBatchNorm's span every rank's batch)."""
        return F._batch_statistics

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class Dropout(_InPlaceOption):
    """Inverted dropout: in training each element is zeroed with probability `p` and the
    survivors are scaled by 1 / (1 - p) (so no rescaling is needed at evaluation); the identity
    in eval mode. Note `p` is the probability of dropping, as in PyTorch (the course's `p` is the
    probability of keeping)."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__(inplace)
        F._check_dropout_p(p, "Dropout")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return self._with_inplace(f"p={self.p}")
