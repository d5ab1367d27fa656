"""See the graph: SVG drawings of the computation graph that explain training.

    svg = ag.viz.to_svg(loss, "step.svg", params=model, show_grads=True)
    ag.viz.draw_graph(loss, params=model)  # a graphviz.Digraph; in Jupyter it shows as SVG

Rendering needs no system Graphviz: `dot` is used when on PATH, else the `graphviz-pure`
executable installed with the package. Fill colours show each tensor's gradient norm relative
to the loss's (grey and dashed: a parameter with no gradient by construction, as a bias before
BatchNorm), borders mark saturated or dead activations and the first NaN/Inf, and ops are
grouped into one box per module (`trace_modules` makes the boxes exact).

The submodules load on first use, so `import autograd` does not pay for `graphviz`.
"""

import importlib
from typing import Any

_HOMES = {"draw_graph": "draw", "to_svg": "draw", "trace_modules": "graph",
          "Graph": "rendering", "find_renderer": "rendering", "render": "rendering"}

__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
