"""What a drawing shows, gathered from a recorded graph: its nodes in forward order, every
tensor's gradient norm, activation statistics, the first NaN/Inf, and module membership.

Nothing here changes the graph or any `.grad`: gradients of intermediate tensors come from
one extra `ag.grad` pass over the graph's saved values (which needs them: draw before
`backward()`, or after `backward(retain_graph=True)`).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ops
from ..engine import grad as autograd_grad
from ..function import Node, _SavedOutput, _Unrecorded
from ..ops import activations, elementwise
from ..tensor import Tensor

# A unit is saturated where its local derivative is below this share of the derivative's
# maximum: sigmoid y(1 - y) < 0.0125, tanh 1 - y^2 < 0.05, ELU y + alpha < 0.05.
FLAT_SHARE = 0.05


@dataclass(eq=False)
class Item:
    """One drawable thing: an operation (a `Node`) or a leaf tensor."""

    key: Any  # the Node, or the leaf Tensor
    name: str  # op name, or the leaf's parameter name ("" when unnamed)
    outputs: list[tuple[tuple[int, ...], np.dtype]]  # (shape, dtype) of each output
    inputs: list[Any] = field(default_factory=list)  # keys of the producers, in edge order
    grad_norm: float | None = None  # norm of the gradient of the output(s)
    grad_finite: bool = True
    value_finite: bool | None = None  # None: the forward value is unknown (not kept)
    stats: str = ""  # e.g. "saturated 63%" on activations
    alert: bool = False  # an activation mostly saturated or dead
    cancelled: bool = False  # a parameter whose gradient is zero by construction
    module: str | None = None  # dotted module path ("" or None: outside every module)

    @property
    def is_leaf(self) -> bool:
        return not isinstance(self.key, Node)


@dataclass
class Facts:
    """Everything `draw_graph` needs, in forward (topological) order: root last."""

    items: list[Item]
    root: Item
    grads: str  # "graph" (all tensors), "leaves" (.grad of leaves only), or "none"
    first_nan: Item | None = None  # first tensor whose forward value is NaN/Inf
    first_nan_grad: Item | None = None  # first (from the loss) whose gradient is NaN/Inf
    module_types: dict[str, str] = field(default_factory=dict)  # module path -> class name


# ---- the walk ---------------------------------------------------------------------------


def walk(root: Tensor) -> list[Item]:
    """The nodes and leaves `root` depends on, producers before consumers (iterative)."""
    start = root.grad_fn if root.grad_fn is not None else root
    items: dict[Any, Item] = {}
    outputs: dict[Node, dict[int, tuple]] = {}  # shapes seen on edges into consumers
    order: list[Any] = []
    stack: list[tuple[Any, bool]] = [(start, False)]
    visited = {start}
    while stack:
        key, expanded = stack.pop()
        if expanded:
            order.append(key)
            continue
        stack.append((key, True))
        if not isinstance(key, Node):
            continue
        for edge in reversed([e for e in key.edges if e is not None]):
            target, output_nr, shape, dtype = edge
            if isinstance(target, Node):
                outputs.setdefault(target, {})[output_nr] = (tuple(shape), np.dtype(dtype))
            if target not in visited:
                visited.add(target)
                stack.append((target, False))
    for key in order:
        if isinstance(key, Node):
            if key.outputs_meta:
                outs = [(tuple(s), np.dtype(d)) for s, d in key.outputs_meta]
            elif key is root.grad_fn:
                outs = [(root.shape, root.dtype)]
            else:
                outs = [outputs[key][0]]
            inputs = [e[0] for e in key.edges if e is not None]
            items[key] = Item(key, key.name, outs, inputs)
        else:
            items[key] = Item(key, "", [(key.shape, key.dtype)])
    return [items[key] for key in order]


# ---- gradients --------------------------------------------------------------------------


def gradient_norms(root: Tensor, items: list[Item]) -> str:
    """Set each item's gradient norm; returns which gradients were available.

    A live graph gets one `ag.grad` pass capturing every node's output gradient and every
    leaf's (hooks on tensors run again; no `.grad` changes, not even a retain_grad() one's).
    A freed graph only has the leaves' `.grad` (which may hold several backward passes' sum).
    """
    live = all(not item.key.freed for item in items if not item.is_leaf)
    if live and root.requires_grad:
        probes, owners = [], []
        for item in items:
            if item.is_leaf:
                probes.append(item.key)
                owners.append(item)
            else:
                for nr in range(len(item.outputs)):
                    # A stand-in tensor naming (node, output): `grad` captures its gradient.
                    probes.append(Tensor._make(np.empty(0), True, item.key, nr))
                    owners.append(item)
        seed = None if root.data.size == 1 else np.ones_like(root.data)
        # ag.grad fills the .grad of tensors that called retain_grad(): unhook them meanwhile.
        retained = [(item.key, item.key.retained) for item in items
                    if not item.is_leaf and item.key.retained]
        for node, _ in retained:
            node.retained = None
        try:
            grads = autograd_grad(root, probes, grad_outputs=seed, retain_graph=True,
                                  allow_unused=True)
        except RuntimeError:  # part of the graph was freed after all
            grads = None
        finally:
            for node, kept in retained:
                node.retained = kept
        if grads is not None:
            squares: dict[int, list[float]] = {}
            for owner, g in zip(owners, grads):
                if g is not None:
                    squares.setdefault(id(owner), []).append(_sum_squares(g.data))
            for item in items:
                if id(item) in squares:
                    _set_norm(item, float(np.sqrt(sum(squares[id(item)]))))
            return "graph"
    found = False
    for item in items:
        if item.is_leaf and item.key.grad is not None:
            _set_norm(item, float(np.sqrt(_sum_squares(item.key.grad.data))))
            found = True
    return "leaves" if found else "none"


def _sum_squares(array: np.ndarray) -> float:
    array = np.asarray(array, dtype=np.float64)
    return float(np.vdot(array, array))


def _set_norm(item: Item, norm: float) -> None:
    item.grad_norm = norm
    item.grad_finite = bool(np.isfinite(norm))


# ---- forward values: activations and NaN ------------------------------------------------


def forward_values(items: list[Item], root: Tensor) -> dict[tuple[Any, int], np.ndarray]:
    """The forward values the drawing can know: the leaves, the root, whatever a node saved
    (its own output, or its inputs, which are other nodes' outputs), and the output of each
    elementwise op recomputed from the values of its inputs. A node keeps only what its
    inputs' gradients read (target * log(p) with a constant target keeps the target alone,
    as in PyTorch), so a log's -inf is found by recomputing it from the p that Log kept."""
    values: dict[tuple[Any, int], np.ndarray] = {}
    for item in items:
        if item.is_leaf:
            values[(item.key, 0)] = item.key.data
            continue
        for _, saved, _ in item.key._checks or ():  # the saved inputs and outputs
            if isinstance(saved, _SavedOutput):
                values[(item.key, saved.output_nr)] = saved.data
            elif isinstance(saved, Tensor):
                values[(saved.grad_fn or saved, saved._output_nr)] = saved.data
    values[(root.grad_fn or root, root._output_nr)] = root.data
    for item in items:  # in forward order, so that a recomputed value feeds the next op
        if not item.is_leaf and (item.key, 0) not in values:
            _recompute(item.key, values)
    return values


# The modules whose ops' forwards are pure functions of their arguments (no side effect).
_ELEMENTWISE = {elementwise.__name__, activations.__name__}


def _recompute(node: Node, values: dict[tuple[Any, int], np.ndarray]) -> None:
    """The output of an elementwise op whose arguments are all inputs of known value."""
    if node.freed or node.fn.__module__ not in _ELEMENTWISE or None in node.edges:
        return  # an argument that needs no gradient is not kept (a constant): unknown
    inputs = [values.get((target, output_nr)) for target, output_nr, _, _ in node.edges]
    if any(v is None for v in inputs):
        return
    ctx = _Unrecorded()
    ctx.needs_input_grad = (False,) * len(inputs)
    with np.errstate(all="ignore"):  # the value is what is looked for, warnings are not
        values[(node, 0)] = np.asarray(node.fn.forward(ctx, *inputs))


def activation_stats(item: Item, values: dict) -> None:
    """Saturated share (sigmoid, tanh, ELU), zeros and dead units (ReLU), negative inputs
    (leaky ReLU), from the values the node saved for its backward."""
    node = item.key
    fn = node.fn
    if fn is ops.LeakyReLU:
        x = _saved_input(node)
        if x is not None and x.size:
            item.stats = f"negative in {_percent(np.mean(x < 0))}"
        return
    y = values.get((node, 0))
    if y is None or not y.size or fn not in (ops.Sigmoid, ops.Tanh, ops.ReLU, ops.ELU):
        return
    if fn is ops.ReLU:
        zero = y <= 0
        item.stats = f"zeros {_percent(np.mean(zero))}"
        if y.ndim >= 2:
            dead = np.all(zero.reshape(-1, y.shape[-1]), axis=0)
            item.stats += f", dead units {int(dead.sum())}/{y.shape[-1]}"
            item.alert = bool(np.mean(dead) >= ALERT_SHARE)
        else:
            item.alert = bool(np.mean(zero) >= 1.0)
        return
    if fn is ops.Sigmoid:
        flat = y * (1 - y) < FLAT_SHARE * 0.25
    elif fn is ops.Tanh:
        flat = 1 - y * y < FLAT_SHARE
    else:
        alpha = getattr(node, "alpha", 1.0)
        flat = (y <= 0) & (y + alpha < FLAT_SHARE * max(alpha, 1e-12))
    share = float(np.mean(flat))
    item.stats = f"saturated {_percent(share)}"
    item.alert = share >= ALERT_SHARE


# Highlight an activation when at least this share of its outputs is saturated (or, for
# ReLU, of its units dead for the whole batch).
ALERT_SHARE = 0.25


def _saved_input(node: Node) -> np.ndarray | None:
    for _, saved, _ in node._checks or ():
        if isinstance(saved, Tensor):
            return saved.data
    return None


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%" if share >= 0.01 or share == 0 else f"{100 * share:.1g}%"


def mark_non_finite(facts: Facts, values: dict) -> None:
    """The first tensor (in forward order) whose value is NaN/Inf: no earlier one is. And the
    first from the loss whose gradient is: the VJP of one of its consumers produced it."""
    for item in facts.items:
        known = [values[(item.key, nr)] for nr in range(len(item.outputs))
                 if (item.key, nr) in values]
        if known:
            item.value_finite = all(_finite(v) for v in known)
        if item.value_finite is False and facts.first_nan is None:
            facts.first_nan = item
    for item in reversed(facts.items):
        if not item.grad_finite:
            facts.first_nan_grad = item
            break


def _finite(array: np.ndarray) -> bool:
    return array.dtype.kind != "f" or bool(np.isfinite(array).all())


# ---- modules ----------------------------------------------------------------------------

# Node -> (module path, class name), filled by `trace_modules` while a forward runs.
_TRACED: weakref.WeakKeyDictionary[Node, tuple[str, str]] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def trace_modules(model: Any) -> Iterator[Any]:
    """Within this block, each operation a module's forward records is tagged with that
    module's dotted name (the innermost module wins), so `draw_graph` puts every op, also
    parameter-free ones like activations and BatchNorm's arithmetic, in its module's box.

    >>> import nn, autograd as ag
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    >>> with ag.viz.trace_modules(model):
    ...     y = model(ag.ones(2, 3)).sum()
    """
    wrapped = []
    for name, module in model.named_modules():
        own = module.__dict__.get("forward")
        object.__setattr__(module, "forward", _tagging(module.forward, name, type(module)))
        wrapped.append((module, own))
    try:
        yield model
    finally:
        for module, own in wrapped:
            if own is None:
                object.__delattr__(module, "forward")
            else:
                object.__setattr__(module, "forward", own)


def _tagging(forward: Any, name: str, cls: type) -> Any:
    def tagged(*args: Any, **kwargs: Any) -> Any:
        result = forward(*args, **kwargs)
        stops = {a.grad_fn for a in (*args, *kwargs.values())
                 if isinstance(a, Tensor) and a.grad_fn is not None}
        outputs = result if isinstance(result, (tuple, list)) else (result,)
        stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
        seen = set(stack)
        while stack:  # back from the outputs to the inputs: what this call recorded
            node = stack.pop()
            if node in stops:
                continue
            tag = _TRACED.get(node)
            if tag is None:
                _TRACED[node] = (name, cls.__name__)
            elif not _inside(tag[0], name):
                continue  # recorded by an unrelated module: not ours
            for edge in node.edges:
                if edge is not None and isinstance(edge[0], Node) and edge[0] not in seen:
                    seen.add(edge[0])
                    stack.append(edge[0])
        return result

    return tagged


def _inside(path: str, prefix: str) -> bool:
    return prefix == "" or path == prefix or path.startswith(prefix + ".")


def assign_modules(items: list[Item], names: dict[int, str]) -> None:
    """Module of each item. Traced ops keep their tag. Otherwise a parameter belongs to the
    module in its name ('layers.0.weight' -> 'layers.0'), and an op to the module whose
    parameters it consumes, directly or through a reshape or transpose of one; other untraced
    ops (activations, BatchNorm's arithmetic on its input) belong to no module."""
    param_side: set[int] = set()  # items computed from parameters alone
    by_key = {id(item.key): item for item in items}
    for item in items:
        if item.is_leaf:
            name = names.get(id(item.key), "")
            item.name = name
            item.module = name.rpartition(".")[0] if name else None
            if name:
                param_side.add(id(item))
            continue
        tag = _TRACED.get(item.key)
        if tag is not None:
            item.module = tag[0]
            continue
        sources = [by_key[id(k)] for k in item.inputs]
        owners = {s.module for s in sources if id(s) in param_side and s.module is not None}
        if owners:
            item.module = _common_prefix(owners)
            if item.name in _SHAPE_OPS and len(sources) == 1:
                param_side.add(id(item))


# Ops that only rearrange their one input: applied to a parameter, they are part of its module.
_SHAPE_OPS = {"Transpose", "Reshape", "BroadcastTo", "AsType", "GetItem"}


def _common_prefix(paths: set[str]) -> str:
    parts = [p.split(".") for p in paths]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common)


def traced_types(items: list[Item]) -> dict[str, str]:
    types = {}
    for item in items:
        tag = None if item.is_leaf else _TRACED.get(item.key)
        if tag is not None:
            types[tag[0]] = tag[1]
    return types


# ---- parameters with no gradient by construction ----------------------------------------

# A parameter's gradient is cancelled when it is below this share of the gradient arriving at
# the op it feeds: an exact cancellation leaves only rounding (float32: about 1e-7).
CANCELLED_SHARE = 1e-4


def mark_cancelled(items: list[Item], root: Item) -> None:
    """Mark the leaves whose gradient is zero by construction: a bias before BatchNorm.

    Both a structural and a numerical test must hold. Structure: every path from the leaf to
    the root passes an op that subtracts a mean of its own input (BatchNorm's x - mean(x)),
    which cancels any shift along the averaged axis. Numbers: the leaf's gradient is below
    CANCELLED_SHARE of the gradient at the op it feeds, which a healthy one is not (a weight
    before BatchNorm passes the first test and fails this one). Structure alone would mark
    such weights, numbers alone a gradient that vanished for any other reason.
    """
    consumers: dict[int, list[Item]] = {}
    by_key = {id(item.key): item for item in items}
    for item in items:
        for key in item.inputs:
            consumers.setdefault(id(key), []).append(item)
    centring = {id(item) for item in items if _subtracts_own_mean(item, by_key)}
    for item in items:
        if not item.is_leaf or item.grad_norm is None or id(item.key) not in consumers:
            continue
        arriving = [c.grad_norm for c in consumers[id(item.key)] if c.grad_norm is not None]
        if not arriving or item.grad_norm > CANCELLED_SHARE * max(arriving):
            continue
        stack, seen, reaches_root = [item], {id(item)}, False
        while stack and not reaches_root:  # forward from the leaf, stopping at mean removal
            current = stack.pop()
            reaches_root = current is root
            for after in consumers.get(id(current.key), ()):
                if id(after) not in seen and id(after) not in centring:
                    seen.add(id(after))
                    stack.append(after)
        item.cancelled = not reaches_root


def _subtracts_own_mean(item: Item, by_key: dict[int, Item]) -> bool:
    """A fused BatchNorm op, or Sub(x, m) with m = Sum(x) / n (or * 1/n) or Mean(x)."""
    if "batchnorm" in item.name.lower().replace("_", ""):
        return True
    if item.name != "Sub" or len(item.inputs) != 2:
        return False
    x, m = item.inputs
    mean = by_key[id(m)]
    if mean.name in ("Div", "Mul") and len(mean.inputs) == 1:  # a sum divided by a constant
        mean = by_key[id(mean.inputs[0])]
        if mean.name != "Sum":
            return False
    elif mean.name != "Mean":
        return False
    return len(mean.inputs) == 1 and mean.inputs[0] is x


# ---- everything -------------------------------------------------------------------------


def gather(root: Tensor, names: dict[int, str], show_grads: bool) -> Facts:
    """Walk the graph of `root` and collect what a drawing shows."""
    items = walk(root)
    facts = Facts(items, items[-1], "none")
    if show_grads:
        facts.grads = gradient_norms(root, items)
        mark_cancelled(items, facts.root)
    values = forward_values(items, root)
    for item in items:
        if not item.is_leaf:
            activation_stats(item, values)
    mark_non_finite(facts, values)
    assign_modules(items, names)
    facts.module_types = traced_types(items)
    return facts
