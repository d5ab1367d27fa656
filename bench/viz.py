"""Drawing the graph: a training step of a 20-layer MLP (64 -> 20 x [Linear 128, ReLU] -> 10,
batch 64, cross-entropy), drawn with gradient norms and activation statistics.

`python -m bench viz`. Rows: the step itself (forward + backward, for scale); `draw_graph`
(the walk, one extra gradient pass, statistics, DOT source) expanded and collapsed to one node
per module; rendering that source to SVG with the renderer `to_svg` finds (`dot` on PATH, else
graphviz-pure); and `to_svg` end to end. The torch column would be torchviz's `make_dot`
(no gradient norms, no statistics) when it is installed; the numpy column is unused.
"""

from __future__ import annotations

import numpy as np

from bench.common import Table, load_torch, median_seconds

DEPTH, WIDTH, BATCH, IN, OUT = 20, 128, 64, 64, 10


def _model_and_loss():
    import autograd as ag
    import nn
    from autograd import viz
    from nn import functional as F

    ag.manual_seed(0)
    layers: list = []
    for i in range(DEPTH):
        layers += [nn.Linear(WIDTH if i else IN, WIDTH), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, OUT))
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((BATCH, IN), dtype=np.float32))
    y = rng.integers(0, OUT, BATCH)

    def step(retain: bool = False):
        with viz.trace_modules(model):
            loss = F.cross_entropy(model(x), y)
        loss.backward(retain_graph=retain)
        model.zero_grad()
        return loss

    return model, step, (x, y)


def _torchviz_seconds(torch) -> float | None:
    try:
        from torchviz import make_dot
    except ImportError:
        return None
    layers: list = []
    for i in range(DEPTH):
        layers += [torch.nn.Linear(WIDTH if i else IN, WIDTH), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(WIDTH, OUT))
    x = torch.randn(BATCH, IN)
    loss = torch.nn.functional.cross_entropy(model(x), torch.randint(0, OUT, (BATCH,)))
    return median_seconds(lambda: make_dot(loss, dict(model.named_parameters())).source)


def run() -> None:
    from autograd import viz

    model, step, _ = _model_and_loss()
    loss = step(retain=True)
    expanded = viz.draw_graph(loss, params=model, show_grads=True)
    collapsed = viz.draw_graph(loss, params=model, show_grads=True, collapse=True)
    n_expanded = expanded.source.count("label=<") - 1  # minus the legend
    n_collapsed = collapsed.source.count("label=<") - 1
    torch = load_torch()
    table = Table(f"viz: graph of a {DEPTH}-layer MLP step ({n_expanded} nodes, "
                  f"{n_collapsed} collapsed; renderer {viz.find_renderer()})", "ms", 1e3)
    table.add("training step (for scale)", median_seconds(step), None, None)
    table.add("draw_graph, expanded",
              median_seconds(lambda: viz.draw_graph(loss, params=model, show_grads=True)),
              _torchviz_seconds(torch) if torch else None, None)
    table.add("draw_graph, collapsed", median_seconds(
        lambda: viz.draw_graph(loss, params=model, show_grads=True, collapse=True)), None, None)
    table.add("render SVG, expanded",
              median_seconds(lambda: viz.render(expanded.source), repeat=5, warmup=1), None, None)
    table.add("render SVG, collapsed",
              median_seconds(lambda: viz.render(collapsed.source), repeat=5, warmup=1),
              None, None)
    table.add("to_svg, expanded (end to end)", median_seconds(
        lambda: viz.to_svg(loss, params=model, show_grads=True), repeat=5, warmup=1), None, None)
    table.print()
