"""See the graph: SVG drawings of the computation graph that explain training.

    svg = ag.viz.to_svg(loss, "step.svg", params=model, show_grads=True)
    ag.viz.draw_graph(loss, params=model)  # a graphviz.Digraph; in Jupyter it shows as SVG

Rendering needs no system Graphviz: `dot` is used when on PATH, else the `graphviz-pure`
executable installed with the package. Fill colours show each tensor's gradient norm relative
to the loss's, borders mark saturated or dead activations and the first NaN/Inf, and ops are
grouped into one box per module (`trace_modules` makes the boxes exact).
"""

from .draw import draw_graph, to_svg
from .graph import trace_modules
from .render import Graph, find_renderer, render

__all__ = ["draw_graph", "to_svg", "trace_modules", "Graph", "find_renderer", "render"]
