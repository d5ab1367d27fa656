"""The backward pass: walk the graph from the outputs in topological order, calling each
node's VJP once with its gradients summed, and deliver gradients to the leaves."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from .compile import CompileError, _backward_label, _capture  # ag.compile's hooks
from .function import Node
from .grad_mode import _mode
from .tensor import Tensor

# id(leaf) -> hooks called with it once backward() has accumulated its .grad (registered by
# Tensor.register_post_accumulate_grad_hook; DistributedDataParallel averages gradients so).
_post_accumulate_hooks: dict[int, list] = {}


def backward(roots: Sequence[Tensor], gradients: Sequence[Any] | None,
             retain_graph: bool = False, create_graph: bool = False,
             inputs: Tensor | Iterable[Tensor] | None = None) -> None:
    """Accumulate the gradients of `roots` (weighted by `gradients`) into leaves' `.grad`, or
    only into the `.grad` of `inputs` (leaves or not), running only the graph leading to them."""
    seeds = _root_gradients(roots, gradients, "backward")
    if inputs is None:
        _run(roots, seeds, retain_graph, create_graph)
        return
    if _capture.recorder is not None:
        raise CompileError("ag.compile: backward(inputs=...) cannot be captured; call "
                           "backward() without inputs in the step, or run it eagerly")
    inputs = tuple({_key(t): t for t in _checked_inputs(inputs, "backward")}.values())
    captured = _run(roots, seeds, retain_graph, create_graph, capture=inputs, retained=True)
    stored = {id(seed.data) for seed in seeds}
    for t, g in zip(inputs, captured):
        if g is not None:
            _store(t, g if create_graph else g.data, create_graph, stored)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, returned instead of accumulated
    into `.grad`. With `create_graph` they are recorded, so they can be differentiated again."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = _checked_inputs(inputs, "grad")
    if isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,)
    keep = create_graph if retain_graph is None else retain_graph
    distinct = {_key(t): t for t in inputs}  # an input named twice is captured once
    captured = _run(outputs, _root_gradients(outputs, grad_outputs, "grad"), keep, create_graph,
                    capture=tuple(distinct.values()))
    found = dict(zip(distinct, captured))
    captured = [found[_key(t)] for t in inputs]
    for i, g in enumerate(captured):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {inputs[i].shape}) was not used to "
                               "compute the outputs; pass allow_unused=True to get None for it")
    return tuple(captured)


def _checked_inputs(inputs: Tensor | Iterable[Tensor], caller: str) -> tuple[Tensor, ...]:
    """The tensors to differentiate with respect to, as a tuple: none, a value that is not a
    tensor, or one that does not require grad is an error (as in PyTorch)."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError(f"{caller}: `inputs` cannot be empty (they are the tensors to "
                           "differentiate with respect to)")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise RuntimeError(f"{caller}: input {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"{caller}: input {i} (shape {t.shape}) does not require grad")
    return inputs


def _root_gradients(roots: Sequence[Tensor], gradients: Sequence[Any] | None,
                    caller: str) -> list[Tensor]:
    if gradients is None:
        gradients = [None] * len(roots)
    if len(gradients) != len(roots):
        raise ValueError(f"{caller}: got {len(gradients)} gradients for {len(roots)} outputs")
    seeds = []
    for root, g in zip(roots, gradients):
        if not root._requires_grad:
            raise RuntimeError(f"{caller}: the tensor of shape {root.shape} does not require "
                               "grad and has no grad_fn (nothing recorded it)")
        if g is None:
            if root.data.size != 1:
                raise RuntimeError(f"{caller}: the output has shape {root.shape}; gradient can "
                                   "be implied only for a scalar, pass `gradient=`")
            ones = np.empty(root.data.shape, root.data.dtype)  # np.ones without its wrapper
            ones.fill(1)
            if _capture.recorder is not None:  # ag.compile: the same on every replay
                _capture.recorder.constant(ones)
            seeds.append(Tensor._make(ones, False, None, 0))
            continue
        if not isinstance(g, Tensor):  # a copy: a .grad must not alias the caller's array
            try:
                g = Tensor._make(np.array(g, root.dtype), False, None, 0)
            except (TypeError, ValueError):
                raise TypeError(f"{caller}: gradient must be a tensor or an array of numbers "
                                f"like the output (shape {root.shape}), got "
                                f"{type(g).__name__} {g!r:.40}") from None
        if g.shape != root.shape:
            raise ValueError(f"{caller}: gradient of shape {g.shape} does not match the output "
                             f"shape {root.shape}")
        seeds.append(g)
    return seeds


def _run(roots: Sequence[Tensor], seeds: list[Tensor], keep_graph: bool, create_graph: bool,
         capture: Sequence[Tensor] | None = None, retained: bool = False) -> list[Tensor | None]:
    """Run the nodes that the roots' gradients reach, latest-made first: a node is made after
    every node it feeds a gradient, so when it runs its gradients are complete. Leaves collect
    their gradients at the end. With `capture`, only the graph that leads to those tensors runs
    and their gradients are returned instead of accumulated (`retained`: tensors that
    retain_grad() still get theirs).

    Gradients travel as arrays, or as tensors (recorded) under create_graph."""
    if _capture.recorder is not None:  # ag.compile is capturing a step: its recording walk
        return _capture.recorder.backward(roots, seeds, keep_graph, create_graph, capture)
    pending: dict[Node, Any] = {}  # node -> its output's gradient so far (a list if several)
    ready: list[tuple[int, Node]] = []  # a heap of (-sequence_nr, node): the latest node first
    leaf_grads: dict[Tensor, Any] = {}
    wanted = {} if capture is None else {_key(t): i for i, t in enumerate(capture)}
    captured: list[Tensor | None] = [None] * len(wanted)
    leading = None if capture is None else _leading_to(roots, capture)

    for root, seed in zip(roots, seeds):
        seed = seed if create_graph else seed.data  # a recorded seed stays connected
        if leading is None or (root.grad_fn or root) in leading:
            _deliver(root.grad_fn or root, root._output_nr, seed, pending, ready, leaf_grads)

    naming = _capture.tape  # ag.compile: what a rule records is named after its node's Function
    previous, _mode.enabled = _mode.enabled, create_graph  # rules record only under create_graph
    try:
        while ready:
            node = heappop(ready)[1]
            grad = pending.pop(node)
            if naming is not None:
                naming.op = _backward_label(node.fn)
            edges = node.edges
            if node._general or wanted:  # several outputs, hooks, a user's Function
                input_grads = _call_backward(node, grad, create_graph, wanted, captured,
                                             retained or not wanted)
                if leading is not None:  # only towards the tensors captured
                    input_grads = [g if edge is not None and edge[0] in leading else None
                                   for g, edge in zip(input_grads, edges)]
            else:  # the common case, inline
                input_grads = node.fn.backward(node, grad)
                if type(input_grads) is not tuple or len(input_grads) != len(edges):
                    input_grads = _checked_count(node, input_grads)
            if naming is not None:
                naming.op = "backward"
            if not keep_graph:  # release the saved values
                node._saved = node._checks = None
            for edge, g in zip(edges, input_grads):
                if g is None or edge is None:
                    continue
                target, output_nr, shape, dtype = edge
                if type(g) is not np.ndarray and not create_graph and isinstance(g, np.generic):
                    g = np.asarray(g)  # a rule on 0-d arrays gives NumPy scalars
                if create_graph or not isinstance(g, np.ndarray) or g.shape != shape \
                        or g.dtype is not dtype:  # (isinstance: ag.compile's traced arrays)
                    g = _fit(g, shape, dtype, node, create_graph)
                if type(target) is not Node or target._general:  # a leaf, several outputs
                    _deliver(target, output_nr, g, pending, ready, leaf_grads)
                elif target in pending:  # _deliver's usual case, inline
                    pending[target] = pending[target] + g
                else:
                    pending[target] = g
                    heappush(ready, (-target.sequence_nr, target))
        if leaf_grads:
            _accumulate_leaves(leaf_grads, seeds, create_graph, wanted, captured, capture)
    finally:
        _mode.enabled = previous
    return captured


def _accumulate_leaves(leaf_grads: dict, seeds: list, create_graph: bool, wanted: dict,
                       captured: list, capture: Sequence[Tensor] | None) -> None:
    """Run the leaves' hooks, then add each gradient into its `.grad` (or capture it for
    `grad()`), then run the post-accumulate hooks."""
    # Arrays that a leaf's .grad must not alias: the seeds (the caller's), and those already
    # given to another leaf in this pass.
    stored = {id(seed.data) for seed in seeds}
    for leaf, g in leaf_grads.items():
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, leaf)
        if capture is not None:
            if (leaf, 0) in wanted:
                captured[wanted[(leaf, 0)]] = _as_tensor(g)
            continue
        _store(leaf, g, create_graph, stored)


def _store(t: Tensor, g: Any, create_graph: bool, stored: set[int]) -> None:
    """Add a gradient (an array, or a tensor under create_graph) into `t.grad`, then run the
    post-accumulate hooks."""
    with _accumulation_lock:  # concurrent backward passes may share leaves
        if create_graph:
            g = _as_tensor(g)
            t._grad = g if t._grad is None else t._grad + g
        else:
            t._grad = _accumulated(t._grad, g, stored)
    if _post_accumulate_hooks:
        for hook in list(_post_accumulate_hooks.get(id(t), ())):
            hook(t)


_accumulation_lock = threading.Lock()


def _leading_to(roots: Sequence[Tensor], capture: Sequence[Tensor]) -> set:
    """The places in the graph (nodes and leaves) from which the roots' gradients lead to a
    tensor of `capture`: the rest does not run (as PyTorch's engine prunes), so its rules, and
    the saved values and hooks they would meet, are not reached."""
    targets = {t.grad_fn or t for t in capture}
    nodes: dict[Node, None] = {}
    stack = [root.grad_fn for root in roots if root.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node not in nodes:
            nodes[node] = None
            stack.extend(e[0] for e in node.edges if e is not None and type(e[0]) is Node)
    leading = {t for t in targets if type(t) is not Node}  # the leaves captured
    for node in sorted(nodes, key=lambda n: n.sequence_nr):  # a node after those it feeds
        if node in targets or any(e is not None and e[0] in leading for e in node.edges):
            leading.add(node)
    return leading


def _key(t: Tensor) -> tuple[Any, int]:
    return (t.grad_fn or t, t._output_nr)


def _deliver(target: Any, output_nr: int, g: Any, pending: dict, ready: list,
             leaf_grads: dict) -> None:
    """Add `g` to what has reached output `output_nr` of `target` (a node or a leaf); a node
    reached for the first time joins the heap of nodes to run."""
    if type(target) is not Node:
        previous = leaf_grads.get(target)
        leaf_grads[target] = g if previous is None else previous + g
    elif target.outputs_meta:  # several outputs: a slot each
        slots = pending.get(target)
        if slots is None:
            pending[target] = slots = [None] * len(target.outputs_meta)
            heappush(ready, (-target.sequence_nr, target))
        slots[output_nr] = g if slots[output_nr] is None else slots[output_nr] + g
    elif target in pending:
        pending[target] = pending[target] + g
    else:
        pending[target] = g
        heappush(ready, (-target.sequence_nr, target))


def _observe_output_gradients(node: Node, grads: list, wanted: dict, captured: list,
                              retained: bool) -> None:
    """Run the hooks on the node's output gradients (which may replace them), keep retained
    gradients (if `retained`), and capture those asked for."""
    for nr, g in enumerate(grads):
        if g is None:
            continue
        if node.hooks and nr in node.hooks:
            grads[nr] = g = _run_hooks(node.hooks[nr], g, node)
        # (grad() leaves .grad alone; backward's inputs get theirs after the walk)
        if node.retained and nr in node.retained and retained and (node, nr) not in wanted:
            tensor = node.retained[nr]()
            if tensor is not None:
                with _accumulation_lock:
                    tensor._grad = _as_tensor(g) if tensor._grad is None \
                        else tensor._grad + _as_tensor(g)
        if (node, nr) in wanted:
            captured[wanted[(node, nr)]] = _as_tensor(g)


def _call_backward(node: Node, grads: Any, create_graph: bool, wanted: dict,
                   captured: list, retained: bool) -> tuple:
    """Run the node's VJP in the general case: output hooks, retained or captured gradients,
    several outputs (an unused one gets zeros), a user's `Function` (which gets and returns
    tensors: in an ordinary backward its gradients are wrapped, unrecorded, for it)."""
    grads = grads if type(grads) is list else [grads]
    if node.hooks or node.retained or wanted:
        _observe_output_gradients(node, grads, wanted, captured, retained)
    fn = node.fn
    if len(grads) > 1:
        for nr, g in enumerate(grads):
            if g is None:  # an unused output of a multi-output op
                zeros = np.zeros(*node.outputs_meta[nr])
                grads[nr] = Tensor._make(zeros, False, None, 0) if create_graph else zeros
    if fn._takes_arrays or create_graph:
        result = fn.backward(node, *grads)
    else:
        result = fn.backward(node, *[Tensor._make(g, False, None, 0) for g in grads])
    return _checked_count(node, result)


def _checked_count(node: Node, result: Any) -> tuple:
    """A VJP's result as a tuple of one gradient per input, or an error naming the op."""
    if type(result) is not tuple:
        result = (result,)
    if len(result) != len(node.edges):
        raise RuntimeError(f"{node.name}.backward returned {len(result)} gradients for "
                           f"{len(node.edges)} inputs (one per forward argument, None allowed)")
    return result


def _fit(g: Any, shape: tuple, dtype: np.dtype, node: Node, create_graph: bool) -> Any:
    """Sum a gradient back over broadcast axes to its input's shape and cast to its dtype."""
    if create_graph:
        g = g if isinstance(g, Tensor) else Tensor(np.asarray(g))
    elif type(g) is not np.ndarray:
        g = g.data if isinstance(g, Tensor) else np.asanyarray(g)  # asany: ag.compile
    if g.shape != shape:
        lead = g.ndim - len(shape)
        kept = g.shape[lead:]
        if lead < 0 or (kept != shape and any(n != 1 and n != m for n, m in zip(shape, kept))):
            raise RuntimeError(f"{node.name}.backward returned a gradient of shape {g.shape} "
                               f"for an input of shape {shape}")
        if kept == shape:  # only leading axes: the sum is fresh, not a view a leaf would copy
            g = g.sum(tuple(range(lead)))
            if not create_graph and type(g) is not np.ndarray:
                g = np.asanyarray(g)  # a 0-d sum is a NumPy scalar
        else:
            axes = tuple(range(lead)) + tuple(
                lead + i for i, n in enumerate(shape) if n == 1 and kept[i] != 1)
            g = g.sum(axes, keepdims=True).reshape(shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


def _as_tensor(g: Any) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor._make(np.asanyarray(g), False, None, 0)


def _run_hooks(hooks: list, g: Any, owner: Any) -> Any:
    """Call each hook with the gradient (a tensor); a hook's return value, if not None,
    replaces it and must be a tensor of the same shape. Returns an array for an array."""
    as_array = not isinstance(g, Tensor)
    g = _as_tensor(g)
    for hook in hooks:
        replacement = hook(g)
        if replacement is None:
            continue
        where = (f"a hook on {owner.name}'s output" if isinstance(owner, Node)
                 else "a hook on a leaf")
        if not isinstance(replacement, Tensor):
            raise TypeError(f"{where}: hook returned {type(replacement).__name__}; expected "
                            f"None or a Tensor of shape {g.shape}")
        if replacement.shape != g.shape:
            raise RuntimeError(f"{where}: hook returned a gradient of shape "
                               f"{replacement.shape} for a tensor of shape {g.shape}")
        g = replacement if replacement.dtype == g.dtype else replacement.astype(g.dtype)
    return g.data if as_array else g


def _accumulated(previous: Tensor | None, g: np.ndarray, stored: set[int]) -> Tensor:
    """previous + g, out of place. Rules pass gradients through by reference, so a first
    gradient that is a view, or that another leaf got too, is stored as a copy: changing one
    `.grad` must not change another."""
    if previous is not None:
        g = np.asanyarray(previous.data + g)  # asany: a 0-d sum is a NumPy scalar
    elif g.base is not None or id(g) in stored:
        g = g.copy()
    stored.add(id(g))
    return Tensor._make(g, False, None, 0)
