"""`Optimizer`: PyTorch's data model. Parameters come in groups (each a dict holding its
`params` and its hyperparameters, so that groups can have different learning rates), and each
parameter has a state dict (step count, moment estimates) kept in `optimizer.state[p]`.

Subclasses implement `_update` on plain NumPy arrays, the parameter's and its gradient's (no
graph, no tensor machinery), and change their state and the parameter in place (`theta -=
step`, `out=`, or Adam's one compiled pass; never `theta = ...`); Adam replaces the loop over
a group's parameters, `_step_group`, as a whole. `step` then bumps each updated parameter's
version counter once (a graph that saved the old value refuses to backward). State arrays
are C-ordered.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.compile import replayed


class Optimizer:
    """Base class: `param_groups`, `state`, `zero_grad`, `step`, `state_dict`, `load_state_dict`.

    `params` is an iterable of tensors, or of dicts `{'params': [...], 'lr': ...}` whose keys
    override `defaults` for that group. The usual loop:

    >>> import numpy as np, autograd as ag, nn, optim
    >>> model = nn.Linear(2, 1, dtype=np.float64)
    >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    >>> x = ag.tensor(np.array([[1.0, 2.0], [3.0, -1.0]]))
    >>> y = np.array([[1.0], [0.0]])
    >>> for _ in range(100):
    ...     opt.zero_grad()
    ...     loss = nn.MSELoss()(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    >>> loss.item() < 1e-6
    True
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 defaults: dict[str, Any]):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        _check_ordered(params)
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"parameter group {len(self.param_groups)} has no 'params' key "
                             "(a group is a dict {'params': [...], 'lr': ..., ...})")
        group = dict(param_group)
        params = group["params"]
        _check_ordered(params)
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an operation)")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError("a parameter appears twice in one parameter group")
        self.param_groups.append(group)

    @replayed  # ag.compile replays the call: plain NumPy on persistent state
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set `.grad` to None (the default), or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad.data.fill(0)

    @replayed  # ag.compile replays the call: plain NumPy on persistent state
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. `closure`, if given, recomputes the
        loss (zero_grad, forward, backward) and is called first; its loss is returned."""
        loss = None
        if closure is not None:
            with ag.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group, self.state)
        return loss

    def _step_group(self, group: dict[str, Any], state: dict[Tensor, dict[str, Any]]) -> None:
        """Update the group's parameters that have a gradient, each by `_update`, and bump
        each one's version counter (changed in place: a graph that saved it must not run)."""
        for p in group["params"]:
            grad = p._grad
            if grad is not None:
                grad = grad.data
                # A 0-d gradient goes as a NumPy scalar: the rule's arithmetic on it is then
                # scalar arithmetic, the same bits as a ufunc on a 0-d array in a tenth of the
                # time (the course's models of one or two numbers).
                self._update(p.data, grad if grad.ndim else grad[()], state[p], group)
                p._version[0] += 1

    def _update(self, theta: np.ndarray, grad: np.ndarray | np.generic, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Apply this algorithm's rule to one parameter's array `theta`, in place; `grad` is
        read only (a NumPy scalar when theta is 0-d)."""
        raise NotImplementedError

    # ---- saving and resuming ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index, ...]}]}
        with parameters numbered in group order, as in PyTorch; arrays are copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            numbered = {k: v for k, v in group.items() if k != "params"}
            numbered["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(numbered)
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state saved by `state_dict`, so that
        training continues exactly as if it had not stopped."""
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise TypeError(f"load_state_dict: expected a dict with 'state' and 'param_groups' "
                            f"(as state_dict() makes), got {type(state_dict).__name__}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the "
                             f"optimizer has {len(self.param_groups)}")
        params_by_index = {}
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"parameter group {number}: the loaded state dict has "
                                 f"{len(saved['params'])} parameters, the optimizer "
                                 f"{len(group['params'])}")
            params_by_index.update(zip(saved["params"], group["params"], strict=True))
        self.state = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            p = params_by_index[int(index)]
            state = {}
            for name, value in saved_state.items():
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    if value.shape != p.shape:
                        raise ValueError(f"state {name!r} of parameter {index} has shape "
                                         f"{value.shape}, the parameter {p.shape}")
                    value = value.astype(p.dtype, order="C", copy=True)  # as made
                else:
                    value = copy.deepcopy(value)
                state[name] = value
            self.state[p] = state
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            for name, value in saved.items():
                if name != "params":
                    group[name] = copy.deepcopy(value)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _check_ordered(params: Any) -> None:
    """Parameters are numbered in order (state_dict), so a set, whose order varies from run to
    run, is refused as PyTorch does."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be in an ordered collection, but the "
                        "order of a set changes between runs; use a list")


def _check(name: str, value: float, low: float = 0.0, high: float | None = None,
           high_open: bool = False) -> None:
    """Raise a ValueError naming the hyperparameter unless low <= value (< or <=) high."""
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise ValueError(f"invalid {name}: {value!r} (a number expected)")
    too_high = high is not None and (value >= high if high_open else value > high)
    if not value >= low or too_high:
        bound = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
        raise ValueError(f"invalid {name}: {value} (must be >= {low}{bound})")


def _weight_decay(theta: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
    """L2 penalty, g + weight_decay * theta; or, with decoupled_weight_decay (AdamW's way),
    theta <- theta * (1 - lr * weight_decay) in place with g unchanged."""
    decay = group["weight_decay"]
    if decay == 0:
        return grad
    if group.get("decoupled_weight_decay"):
        theta *= 1 - group["lr"] * decay
        return grad
    return grad + decay * theta
