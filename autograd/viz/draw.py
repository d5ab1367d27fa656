"""`draw_graph` and `to_svg`: the graph of a computation as a `graphviz.Digraph` / SVG.

Data flows down: leaves (parameters) at the top, the loss at the bottom. Fill colour is the
gradient norm relative to the loss's (blue: vanishing, orange/red: exploding); a thick
orange border marks a saturated or dead activation, a thick red one the first NaN/Inf.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..tensor import Tensor
from .graph import ALERT_SHARE, FLAT_SHARE, Facts, Item, gather
from .rendering import Graph, render

# (upper bound of log10(|grad| / |grad of the loss|), fill colour, font colour, legend text)
GRAD_BANDS = [
    (-7.0, "#08306b", "white", "< 1e-7 vanished"),
    (-5.0, "#2171b5", "white", "1e-7 .. 1e-5 vanishing"),
    (-3.0, "#9ecae1", "black", "1e-5 .. 1e-3 small"),
    (2.0, "#e5f5e0", "black", "1e-3 .. 1e2 healthy"),
    (4.0, "#fdae6b", "black", "1e2 .. 1e4 large"),
    (math.inf, "#e6550d", "white", "> 1e4 exploding"),
]
NAN_FILL = ("#a50f15", "white", "NaN / Inf")
ZERO_FILL = ("#000000", "white", "exactly 0")
CANCELLED_FILL = ("#d9d9d9", "black", "grey, dashed: no gradient by construction: the parameter "
                  "shifts a tensor whose mean is subtracted next (a bias before BatchNorm), so "
                  "it cannot change the loss and its gradient is 0 up to rounding; harmless "
                  "(bias=False drops it)")
PLAIN_FILL = "#eeeeee"  # no gradient shown
ALERT_COLOUR = "#ff7f00"
NAN_COLOUR = "#d7191c"
# Boxes are sized with graphviz-pure's table of Verdana's widths (for Helvetica it assumes
# Helvetica's, and Linux viewers draw the wider DejaVu Sans: text ran out of the boxes).
# Verdana is the widest common sans, so the text fits whatever font a viewer substitutes.
FONT = "Verdana"
LEGEND_COLUMNS = 120  # characters per legend line


def draw_graph(root: Tensor, params: Any = None, show_grads: bool = False, *,
               collapse: bool | int | Iterable[str] = False, max_nodes: int = 400,
               legend: bool = True) -> Graph:
    """The graph that produced `root` as a `graphviz.Digraph` (shown as SVG in Jupyter).

    One node per operation (its name, output shape and dtype) and per leaf (its name from
    `params`: a dict, `module.named_parameters()`, or the module itself); with `show_grads`
    each tensor's gradient norm, and fill colours comparing it with the loss's; a parameter
    with no gradient by construction (a bias before BatchNorm) is grey and dashed instead.
    Activations show their saturated (sigmoid, tanh, ELU) or zero (ReLU) share. Ops sit in
    one box per module (see `trace_modules` for exact boxes). `collapse` draws boxes as single
    nodes: True the innermost ones, an int n the modules n levels down (1: the model's
    children), or an iterable of module names. Past `max_nodes` nodes, those farthest from
    `root` are left out and a note says so.

    Gradients of intermediate tensors and activation statistics need the graph's saved
    values: draw before `backward()` or after `backward(retain_graph=True)`. Drawing after a
    plain `backward()` shows the leaves' `.grad` only, and the legend says so.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: root must be a Tensor, got {type(root).__name__}")
    if max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be at least 1, got {max_nodes}")
    names, module_types = _parameter_names(params)
    facts = gather(root, names, show_grads)
    facts.module_types = {**module_types, **facts.module_types}
    return _Drawing(facts, root, show_grads, collapse, max_nodes, legend).graph


def to_svg(root: Tensor, path: str | Path | None = None, **kw: Any) -> str:
    """SVG text of `draw_graph(root, **kw)`, also written to `path` when given."""
    svg = render(draw_graph(root, **kw).source, "svg").decode("utf-8")
    if path is not None:
        Path(path).write_text(svg, encoding="utf-8")
    return svg


def _parameter_names(params: Any) -> tuple[dict[int, str], dict[str, str]]:
    """id(tensor) -> name, and module path -> class name when a module was given."""
    if params is None:
        return {}, {}
    module_types = {}
    if hasattr(params, "named_parameters") and hasattr(params, "named_modules"):
        module_types = {name: type(m).__name__ for name, m in params.named_modules() if name}
        params = params.named_parameters()
    pairs = params.items() if isinstance(params, Mapping) else params
    if not isinstance(pairs, Iterable):
        raise TypeError(f"draw_graph: params must be a dict of tensors, named_parameters() or "
                        f"a module, got {type(params).__name__}")
    names = {}
    for name, tensor in pairs:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"draw_graph: params[{name!r}] is a {type(tensor).__name__}, "
                            "not a Tensor")
        names.setdefault(id(tensor), str(name))
    return names, module_types


@dataclass
class _Unit:
    """One drawn node: an item, or a collapsed module's items."""

    uid: str
    items: list[Item]
    module: str | None  # the cluster it sits in
    inputs: list[str] = field(default_factory=list)


class _Drawing:
    def __init__(self, facts: Facts, root: Tensor, show_grads: bool,
                 collapse: bool | int | Iterable[str], max_nodes: int, legend: bool):
        self.facts, self.show_grads = facts, show_grads
        root_norm = facts.root.grad_norm
        if root_norm is None:  # the seed backward() uses: ones
            root_norm = math.sqrt(root.data.size)
        self.root_norm, self.root_size = root_norm, root.data.size
        self.graph = Graph(name="autograd", graph_attr={
            "rankdir": "TB", "fontname": FONT, "nodesep": "0.25", "ranksep": "0.35"},
            node_attr={"fontname": FONT, "fontsize": "10"},
            edge_attr={"color": "#555555", "arrowsize": "0.6"})
        units = self._units(collapse)
        drawn, hidden = self._cap(units, max_nodes)
        self._draw(drawn)
        self._legend(hidden, len(units), max_nodes, legend)

    # ---- which nodes --------------------------------------------------------------------
    def _units(self, collapse: bool | int | Iterable[str]) -> dict[str, _Unit]:
        items = self.facts.items
        modules = {item.module for item in items if item.module}
        if collapse is True:
            folded = {m for m in modules if not any(o.startswith(m + ".") for o in modules)}
        elif collapse is False:
            folded = set()
        elif isinstance(collapse, int):
            if collapse < 1:
                raise ValueError(f"draw_graph: collapse depth must be at least 1, got {collapse}")
            folded = {".".join(m.split(".")[:collapse]) for m in modules}
        else:
            folded = set(collapse)
        units: dict[str, _Unit] = {}
        unit_of: dict[int, str] = {}
        self.leaving: set[int] = set()  # items whose output goes to another drawn node
        for index, item in enumerate(items):
            fold = _fold_of(item.module, folded)
            if fold is None:
                uid = f"n{index}"
                units[uid] = _Unit(uid, [item], item.module or None)
            else:
                uid = "m_" + fold
                if uid not in units:
                    units[uid] = _Unit(uid, [], fold.rpartition(".")[0] or None)
                units[uid].items.append(item)
            unit_of[id(item.key)] = uid
        for uid, unit in units.items():
            for item in unit.items:
                for key in item.inputs:
                    source = unit_of[id(key)]
                    if source != uid:
                        self.leaving.add(id(key))
                        if len(unit.items) == 1 or source not in unit.inputs:
                            unit.inputs.append(source)
        self.root_uid = unit_of[id(self.facts.root.key)]
        return units

    def _cap(self, units: dict[str, _Unit], max_nodes: int) -> tuple[list[_Unit], int]:
        """The `max_nodes` units nearest the root (breadth first against the data flow)."""
        if len(units) <= max_nodes:
            return list(units.values()), 0
        kept, queue = {self.root_uid}, deque([self.root_uid])
        while queue and len(kept) < max_nodes:
            for source in units[queue.popleft()].inputs:
                if source not in kept and len(kept) < max_nodes:
                    kept.add(source)
                    queue.append(source)
        return [u for uid, u in units.items() if uid in kept], len(units) - len(kept)

    # ---- drawing ------------------------------------------------------------------------
    def _draw(self, units: list[_Unit]) -> None:
        drawn = {u.uid for u in units}
        by_cluster: dict[str | None, list[_Unit]] = {}
        for unit in units:
            by_cluster.setdefault(unit.module, []).append(unit)
        paths = {m for m in by_cluster if m}
        for path in list(paths):  # every enclosing module gets a box too
            parts = path.split(".")
            paths.update(".".join(parts[:i]) for i in range(1, len(parts)))
        self._cluster(self.graph, None, paths, by_cluster)
        for unit in units:
            for source in unit.inputs:
                if source in drawn:
                    self.graph.edge(source, unit.uid)

    def _cluster(self, graph: Any, path: str | None, paths: set[str],
                 by_cluster: dict[str | None, list[_Unit]]) -> None:
        for unit in by_cluster.get(path, ()):
            self._node(graph, unit)
        children = sorted((p for p in paths if _parent(p) == path), key=_natural)
        for child in children:
            kind = self.facts.module_types.get(child)
            label = html.escape(child + (f" : {kind}" if kind else ""))
            alert = any(_inside(i.module, child) for i in self.facts.items if i.alert)
            with graph.subgraph(name="cluster_" + child) as sub:
                sub.attr(label=f"<<B>{label}</B>>", labeljust="l", fontsize="11",
                         style="rounded,filled", fillcolor="#f7f7f7",
                         color=ALERT_COLOUR if alert else "#b0b0b0",
                         penwidth="2" if alert else "1")
                self._cluster(sub, child, paths, by_cluster)

    def _node(self, graph: Any, unit: _Unit) -> None:
        lines, tips, attrs = [], [], {"style": "rounded,filled"}
        items = unit.items
        facts = self.facts
        if len(items) > 1 or unit.uid.startswith("m_"):
            name = unit.uid[2:]
            kind = html.escape(facts.module_types.get(name, ""))
            lines.append(f"<B>{html.escape(name)}</B>" + (f" : {kind}" if kind else ""))
            n_ops = sum(not i.is_leaf for i in items)
            n_params = sum(i.is_leaf for i in items)
            lines.append(f"{_count(n_ops, 'op')}, {_count(n_params, 'parameter')}")
            lines.extend(html.escape(_describe(i.outputs)) for i in self._exits(unit))
            attrs["shape"] = "box3d"
            attrs["style"] = "filled"
            norm = self._exit_norm(unit)
            if norm is not None:
                lines.append(f"grad {norm:.2e}")
            param_norms = [i.grad_norm for i in items if i.is_leaf and i.grad_norm is not None]
            if param_norms:
                lines.append(f"param grad {math.sqrt(sum(n * n for n in param_norms)):.2e}")
        else:
            item = items[0]
            norm = item.grad_norm
            if item.is_leaf:
                lines.append(f"<B>{html.escape(item.name)}</B>" if item.name else "<I>leaf</I>")
                attrs.update(shape="ellipse", style="filled")
            else:
                lines.append(f"<B>{html.escape(item.name)}</B>")
                attrs["shape"] = "box"
            lines.append(html.escape(_describe(item.outputs)))
            if norm is not None:
                lines.append(f"grad {norm:.2e}")
        for item in items:
            if item.stats:
                text = (f"{item.name}: " if len(items) > 1 else "") + item.stats
                lines.append(f"<I>{html.escape(text)}</I>")
            if item.module:
                tips.append(f"module {item.module}")
        fill, font = self._fill(norm if self.show_grads else None,
                                all(i.grad_finite for i in items))
        for item in items:
            if not item.cancelled:
                continue
            if len(items) == 1:
                fill, font = CANCELLED_FILL[:2]
                attrs["style"] = "filled,dashed"
                lines.append("<I>no gradient by construction</I>")
            else:
                short = item.name.rpartition(".")[2]
                lines.append(f"<I>{html.escape(short)}: no gradient by construction</I>")
        attrs.update(fillcolor=fill, fontcolor=font)
        if any(i.alert for i in items):
            attrs.update(color=ALERT_COLOUR, penwidth="3")
        if facts.first_nan in items:
            attrs.update(color=NAN_COLOUR, penwidth="4")
            lines.append("<B>first NaN/Inf (forward)</B>")
        if facts.first_nan_grad in items:
            attrs.update(color=NAN_COLOUR, penwidth="4")
            lines.append("<B>first NaN/Inf gradient</B>")
        if facts.root in items:
            attrs["peripheries"] = "2"
        if norm is not None and self.root_norm:
            tips.append(f"grad norm {norm:.4g} = {norm / self.root_norm:.3g} x the loss's")
        attrs["tooltip"] = "; ".join(dict.fromkeys(tips)) or " "
        graph.node(unit.uid, label="<" + "<BR/>".join(lines) + ">", **attrs)

    def _exits(self, unit: _Unit) -> list[Item]:
        """A collapsed module's items whose outputs leave it (or the root)."""
        return [i for i in unit.items if not i.is_leaf
                and (id(i.key) in self.leaving or i is self.facts.root)]

    def _exit_norm(self, unit: _Unit) -> float | None:
        norms = [i.grad_norm for i in self._exits(unit) if i.grad_norm is not None]
        return max(norms) if norms else None

    def _fill(self, norm: float | None, finite: bool) -> tuple[str, str]:
        if not self.show_grads:
            return PLAIN_FILL, "black"
        if not finite:
            return NAN_FILL[:2]
        if norm is None:
            return "#ffffff", "black"
        if norm == 0:
            return ZERO_FILL[:2]
        ratio = math.log10(norm / self.root_norm) if self.root_norm else 0.0
        for upper, fill, font, _ in GRAD_BANDS:
            if ratio < upper:
                return fill, font
        return GRAD_BANDS[-1][1:3]

    # ---- legend -------------------------------------------------------------------------
    def _legend(self, hidden: int, total: int, max_nodes: int, full: bool) -> None:
        """The legend (when `full`), and the note on nodes left out (always)."""
        width = len(GRAD_BANDS) + 3
        rows = self._legend_rows(width) if full else []
        if hidden:
            rows.append([_cell(f"{hidden} of {total} nodes not drawn (max_nodes={max_nodes}): "
                               "those farthest from the output; collapse=True draws one node "
                               "per module", "#ffffff", NAN_COLOUR, width)])
        if not rows:
            return
        body = "".join("<TR>" + "".join(r) + "</TR>" for r in rows)
        label = ("<<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"2\">"
                 + body + "</TABLE>>")
        self.graph.node("legend", label=label, shape="plaintext", fontsize="8")

    def _legend_rows(self, width: int) -> list[list[str]]:
        rows = [[_cell("legend: box = operation (output shape, dtype), ellipse = leaf, "
                       "double border = output", span=width)]]
        if self.show_grads:
            rows.append([_cell("fill: gradient norm / the output's gradient norm", span=width)])
            rows.append([_cell(text, fill, font) for _, fill, font, text in GRAD_BANDS]
                        + [_cell(ZERO_FILL[2], *ZERO_FILL[:2]),
                           _cell(NAN_FILL[2], *NAN_FILL[:2]), _cell("no gradient")])
            if any(i.cancelled for i in self.facts.items):
                rows.append([_cell(CANCELLED_FILL[2], *CANCELLED_FILL[:2], span=width)])
            if self.root_size != 1:
                rows.append([_cell("the output is not a scalar: gradients of its sum",
                                   span=width)])
            if self.facts.grads == "leaves":
                rows.append([_cell("the graph was freed by backward(): leaves' .grad only; "
                                   "draw before backward() or after backward(retain_graph=True) "
                                   "for every tensor's", span=width)])
            elif self.facts.grads == "none":
                rows.append([_cell("no gradients: the graph was freed and no leaf has .grad",
                                   span=width)])
        rows.append([_cell(f"orange border: activation with >= {100 * ALERT_SHARE:.0f}% of its "
                           f"outputs saturated (derivative < {100 * FLAT_SHARE:.0f}% of its "
                           "max) or of its units dead (ReLU 0 on the whole batch)",
                           "#ffffff", ALERT_COLOUR, width)])
        rows.append([_cell("red border: first NaN/Inf (forward value or gradient)",
                           "#ffffff", NAN_COLOUR, width)])
        if any(not i.is_leaf and i.key.freed for i in self.facts.items):
            rows.append([_cell("saved values freed: no activation statistics, no NaN search "
                               "inside the graph", span=width)])
        return rows


def _cell(text: str, fill: str = "#ffffff", font: str = "black", span: int = 1) -> str:
    """A legend cell; long text wraps, so that the legend is no wider than its colour row."""
    lines = "<BR/>".join(html.escape(line) for line in textwrap.wrap(text, LEGEND_COLUMNS))
    return (f"<TD BGCOLOR=\"{fill}\" COLSPAN=\"{span}\"><FONT COLOR=\"{font}\">"
            f"{lines}</FONT></TD>")


def _describe(outputs: list[tuple[tuple[int, ...], Any]]) -> str:
    return ", ".join(f"{tuple(shape) if shape else 'scalar'} {dtype}" for shape, dtype in outputs)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _fold_of(module: str | None, folded: set[str]) -> str | None:
    """The outermost collapsed module containing `module`."""
    if not module:
        return None
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in folded:
            return prefix
    return None


def _inside(module: str | None, path: str) -> bool:
    return bool(module) and (module == path or module.startswith(path + "."))


def _parent(path: str) -> str | None:
    return path.rpartition(".")[0] or None


def _natural(path: str) -> list[Any]:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split(".")]
