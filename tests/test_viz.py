"""autograd.viz: the SVG a graph must produce (parsed as XML), and rendering without `dot`."""

import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import viz
from autograd.viz import draw, rendering
from nn import functional as F

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> dict:
    """{'nodes': title -> node, 'clusters': title -> cluster, 'edges': [(a, b)]}; a node or
    cluster is {'texts': [...], 'fill', 'stroke', 'width', 'shapes', 'box'}."""
    tree = ET.fromstring(svg)
    found = {"nodes": {}, "clusters": {}, "edges": []}
    for group in tree.iter(SVG + "g"):
        kind = group.get("class")
        if kind not in ("node", "cluster", "edge"):
            continue
        title = group.find(SVG + "title").text
        if kind == "edge":
            found["edges"].append(tuple(title.split("->")))
            continue
        shapes = [el for el in group.iter()
                  if el.tag in (SVG + "polygon", SVG + "path", SVG + "ellipse")]
        first = shapes[0] if shapes else None
        found[kind + "s"][title] = {
            "texts": [t.text or "" for t in group.iter(SVG + "text")],
            "fill": first.get("fill") if first is not None else None,
            "stroke": first.get("stroke") if first is not None else None,
            "width": first.get("stroke-width") if first is not None else None,
            "shapes": shapes,
            "box": _bbox(group),
        }
    return found


def _bbox(group) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for el in group.iter():
        numbers = []
        if el.get("points"):
            numbers = re.findall(r"-?[\d.]+", el.get("points"))
        elif el.get("d"):
            numbers = re.findall(r"-?[\d.]+", el.get("d"))
        elif el.tag == SVG + "ellipse":
            cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
            xs += [cx - rx, cx + rx]
            ys += [cy - ry, cy + ry]
        xs += [float(v) for v in numbers[0::2]]
        ys += [float(v) for v in numbers[1::2]]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else (0, 0, 0, 0)


def inside(inner, outer) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2]
            and inner[3] <= outer[3])


def by_first_text(nodes: dict, text: str) -> list[dict]:
    return [n for n in nodes.values() if n["texts"] and n["texts"][0] == text]


def graph_nodes(found: dict) -> dict:
    return {k: v for k, v in found["nodes"].items() if k != "legend"}


def small_graph():
    w = ag.tensor(np.array([1.0, -2.0, 3.0], dtype=np.float32), requires_grad=True)
    x = ag.tensor(np.array([0.5, 0.5, 2.0], dtype=np.float32))
    return w, (x * w).sum()


# ---- what a node shows ------------------------------------------------------------------


def test_one_node_per_op_and_leaf_with_shapes_names_and_data_flow_edges():
    w, loss = small_graph()
    found = parse(viz.to_svg(loss, params={"w": w}))
    nodes = graph_nodes(found)
    assert sorted(n["texts"][0] for n in nodes.values()) == ["Mul", "Sum", "w"]
    (leaf,), (mul,), (total,) = (by_first_text(nodes, t) for t in ("w", "Mul", "Sum"))
    assert leaf["texts"][1] == "(3,) float32" and leaf["shapes"][0].tag == SVG + "ellipse"
    assert mul["texts"][1] == "(3,) float32"
    assert total["texts"][1] == "scalar float32"
    assert len(total["shapes"]) == 2  # the output: double border
    title = {id(v): k for k, v in nodes.items()}
    assert set(found["edges"]) == {(title[id(leaf)], title[id(mul)]),
                                   (title[id(mul)], title[id(total)])}


def test_parameter_names_from_named_parameters_and_from_the_module():
    model = nn.Sequential(nn.Linear(3, 2))
    loss = model(ag.ones(4, 3)).sum()
    for params in (model.named_parameters(), model):
        texts = {n["texts"][0] for n in graph_nodes(parse(viz.to_svg(loss, params=params)))
                 .values()}
        assert {"0.weight", "0.bias"} <= texts


def test_gradient_norms_of_every_tensor_without_touching_grad():
    w, loss = small_graph()
    seen = []
    w.register_hook(lambda g: seen.append(g))
    nodes = graph_nodes(parse(viz.to_svg(loss, params={"w": w}, show_grads=True)))
    assert w.grad is None  # draw_graph ran its own ag.grad
    (leaf,) = by_first_text(nodes, "w")
    (mul,) = by_first_text(nodes, "Mul")
    assert leaf["texts"][2] == f"grad {np.linalg.norm([0.5, 0.5, 2.0]):.2e}"
    assert mul["texts"][2] == f"grad {np.sqrt(3):.2e}"  # d sum / d (x * w) = ones
    loss.backward()  # the graph still works after the drawing
    np.testing.assert_allclose(w.grad.data, [0.5, 0.5, 2.0])


def test_show_grads_leaves_retained_gradients_alone():
    w = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    h = w * 2
    h.retain_grad()
    loss = (h * h).sum()
    viz.draw_graph(loss, show_grads=True)
    assert h.grad is None
    loss.backward()
    np.testing.assert_allclose(h.grad.data, [4.0, 4.0, 4.0])  # still retained


def test_after_plain_backward_leaf_grads_only_and_the_legend_says_so():
    w, loss = small_graph()
    loss.backward()
    found = parse(viz.to_svg(loss, params={"w": w}, show_grads=True))
    (leaf,) = by_first_text(found["nodes"], "w")
    (mul,) = by_first_text(found["nodes"], "Mul")
    assert leaf["texts"][2].startswith("grad ")
    assert not any(t.startswith("grad") for t in mul["texts"])
    assert mul["fill"] == "#ffffff"  # no gradient available
    assert any("freed by backward()" in t for t in found["nodes"]["legend"]["texts"])


def test_after_backward_with_retain_graph_every_tensor_has_its_norm():
    w, loss = small_graph()
    loss.backward(retain_graph=True)
    nodes = graph_nodes(parse(viz.to_svg(loss, params={"w": w}, show_grads=True)))
    assert all(any(t.startswith("grad ") for t in n["texts"]) for n in nodes.values())


# ---- diagnostics --------------------------------------------------------------------------


def fill_of(band_text: str) -> str:
    return next(fill for _, fill, _, text in draw.GRAD_BANDS if text == band_text)


def test_colours_show_vanishing_gradients_in_a_deep_sigmoid_chain():
    x = ag.tensor(np.full((2, 4), 0.5, dtype=np.float32), requires_grad=True)
    h = x
    for _ in range(30):  # sigmoid' <= 1/4: the gradient shrinks at least 4x per layer
        h = h.sigmoid()
    loss = h.sum()
    found = parse(viz.to_svg(loss, params={"x": x}, show_grads=True))
    (leaf,) = by_first_text(found["nodes"], "x")
    (root,) = by_first_text(found["nodes"], "Sum")
    assert leaf["fill"] == fill_of("< 1e-7 vanished")
    assert root["fill"] == fill_of("1e-3 .. 1e2 healthy")
    legend = found["nodes"]["legend"]
    assert "< 1e-7 vanished" in legend["texts"]
    assert fill_of("< 1e-7 vanished") in [s.get("fill") for s in legend["shapes"]]


def test_exploding_gradients_are_coloured():
    x = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    loss = (x * 1e5).sum()
    nodes = parse(viz.to_svg(loss, params={"x": x}, show_grads=True))["nodes"]
    (leaf,) = by_first_text(nodes, "x")
    assert leaf["fill"] == fill_of("> 1e4 exploding")


def test_saturated_sigmoid_and_dead_relu_are_highlighted_healthy_ones_not():
    x = ag.tensor(np.array([[-20.0, 30.0, 0.1, 25.0]], dtype=np.float32), requires_grad=True)
    loss = x.sigmoid().sum() + x.tanh().sum() * 0 + (x * 1e-3).sigmoid().sum()
    nodes = parse(viz.to_svg(loss))["nodes"]
    saturated, gentle = sorted(by_first_text(nodes, "Sigmoid"), key=lambda n: n["texts"][-1],
                               reverse=True)
    assert saturated["texts"][-1] == "saturated 75%" and saturated["stroke"] == draw.ALERT_COLOUR
    assert gentle["texts"][-1] == "saturated 0%" and gentle["stroke"] == "black"
    (tanh,) = by_first_text(nodes, "Tanh")
    assert tanh["texts"][-1] == "saturated 75%"
    z = ag.tensor(np.array([[-1.0, 2.0, -3.0], [-1.0, 1.0, -2.0]], dtype=np.float32),
                  requires_grad=True)
    (relu,) = by_first_text(parse(viz.to_svg(z.relu().sum()))["nodes"], "ReLU")
    assert relu["texts"][-1] == "zeros 67%, dead units 2/3"
    assert relu["stroke"] == draw.ALERT_COLOUR


def test_the_first_node_that_produced_nan_is_marked():
    x = ag.tensor(np.array([1.0, -1.0], dtype=np.float32), requires_grad=True)
    with np.errstate(invalid="ignore"):
        loss = ((x * 2).log() * x).exp().sum()  # Mul saves Log's output: it is known
    nodes = parse(viz.to_svg(loss, params={"x": x}))["nodes"]
    marked = [n["texts"][0] for n in nodes.values() if "first NaN/Inf (forward)" in n["texts"]]
    assert marked == ["Log"]
    (log,) = by_first_text(nodes, "Log")
    assert log["stroke"] == draw.NAN_COLOUR


def test_a_value_no_op_kept_is_recomputed_to_find_the_first_nan():
    # target * log(p) keeps only the constant target (the log's gradient reads nothing
    # else), so the log's -inf is known only by recomputing it from p, which Log kept
    logits = ag.tensor(np.array([[120.0, 0.0, -30.0]], dtype=np.float32), requires_grad=True)
    probs = (logits - logits.max(axis=1, keepdims=True)).exp()
    probs = probs / probs.sum(axis=1, keepdims=True)  # probs[0, 2] = exp(-150) = 0
    target = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = -(target * probs.log()).sum()
    nodes = parse(viz.to_svg(loss, params={"logits": logits}))["nodes"]
    marked = [n["texts"][0] for n in nodes.values() if "first NaN/Inf (forward)" in n["texts"]]
    assert marked == ["Log"]


def test_nan_gradient_is_marked_where_it_first_appears():
    x = ag.tensor(np.array([0.0, 1.0], dtype=np.float32), requires_grad=True)
    loss = (x.sqrt() * 1.0).sum()  # d sqrt(x) at 0 is inf
    with np.errstate(divide="ignore", invalid="ignore"):
        nodes = parse(viz.to_svg(loss, params={"x": x}, show_grads=True))["nodes"]
    (leaf,) = by_first_text(nodes, "x")
    assert "first NaN/Inf gradient" in leaf["texts"]
    assert leaf["fill"] == draw.NAN_FILL[0]


# ---- modules and big graphs ---------------------------------------------------------------


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x).tanh()


def mlp_step(traced: bool):
    ag.manual_seed(0)
    model = nn.Sequential(Block(), Block(), nn.Linear(3, 2))
    x = ag.ones(4, 3)
    if traced:
        with viz.trace_modules(model):
            out = model(x)
    else:
        out = model(x)
    return model, F.cross_entropy(out, np.array([0, 1, 0, 1]))


def cluster_members(found: dict, cluster: str) -> set[str]:
    box = found["clusters"]["cluster_" + cluster]["box"]
    return {n["texts"][0] for k, n in found["nodes"].items()
            if k != "legend" and inside(n["box"], box)}


def test_untraced_ops_go_to_the_module_whose_parameters_they_use():
    model, loss = mlp_step(traced=False)
    found = parse(viz.to_svg(loss, params=model))
    assert {"cluster_0", "cluster_0.fc", "cluster_1", "cluster_1.fc", "cluster_2"} == set(
        found["clusters"])
    assert found["clusters"]["cluster_0.fc"]["texts"] == ["0.fc : Linear"]
    assert {"0.fc.weight", "0.fc.bias"} <= cluster_members(found, "0.fc")
    assert "Tanh" not in cluster_members(found, "0")  # no parameter: outside


def test_traced_ops_go_to_their_module():
    model, loss = mlp_step(traced=True)
    found = parse(viz.to_svg(loss, params=model))
    assert "Tanh" in cluster_members(found, "0") - cluster_members(found, "0.fc")
    assert "Tanh" not in cluster_members(found, "2")
    assert model[0].forward.__func__ is Block.forward  # the tracing wrappers are gone


def test_collapse_draws_one_node_per_module():
    model, loss = mlp_step(traced=True)
    found = parse(viz.to_svg(loss, params=model, collapse=True, show_grads=True))
    names = [n["texts"][0] for n in graph_nodes(found).values()]
    assert {"0.fc", "1.fc", "2"} <= set(names) and names.count("Tanh") == 2
    assert len(names) == 6  # + the loss
    assert set(found["clusters"]) == {"cluster_0", "cluster_1"}  # the innermost folded
    assert cluster_members(found, "0") == {"0.fc", "Tanh"}
    (head,) = by_first_text(found["nodes"], "2")
    assert head["texts"][1:4] == [" : Linear", "1 op, 2 parameters", "(4, 2) float32"]
    assert any(t.startswith("param grad ") for t in head["texts"])
    drawn = {}
    for collapse in (("0", "1"), 1):
        whole = parse(viz.to_svg(loss, params=model, collapse=collapse))
        drawn[collapse] = names = [n["texts"][0] for n in graph_nodes(whole).values()]
        assert {"0", "1"} <= set(names) and "Tanh" not in names
        assert not whole["clusters"].keys() & {"cluster_0", "cluster_1"}
    assert "2.weight" in drawn[("0", "1")]  # "2" stays expanded
    assert "2" in drawn[1] and "2.weight" not in drawn[1]  # 1: every child of the model
    with pytest.raises(ValueError, match="collapse depth"):
        viz.draw_graph(loss, params=model, collapse=0)


def test_node_cap_keeps_the_nodes_nearest_the_output_and_says_so():
    x = ag.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    h = x
    for _ in range(30):
        h = h * 1.0
    found = parse(viz.to_svg(h.sum(), max_nodes=10))
    assert len(graph_nodes(found)) == 10
    assert by_first_text(found["nodes"], "Sum")
    assert any("22 of 32 nodes not drawn (max_nodes=10)" in t
               for t in found["nodes"]["legend"]["texts"])
    bare = parse(viz.to_svg(h.sum(), max_nodes=10, legend=False))["nodes"]["legend"]["texts"]
    assert len(bare) == 1 and "22 of 32 nodes not drawn" in bare[0]  # the note stays
    assert "legend" not in parse(viz.to_svg(h.sum(), legend=False))["nodes"]


# ---- rendering ----------------------------------------------------------------------------


def test_fallback_renderer_next_to_the_interpreter_without_dot_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot, no graphviz-pure on PATH
    found = viz.find_renderer()
    assert Path(found).parent == Path(sys.executable).parent
    assert Path(found).name.startswith("graphviz-pure")
    _, loss = small_graph()
    path = tmp_path / "graph.svg"
    svg = viz.to_svg(loss, path)
    assert path.read_text(encoding="utf-8") == svg
    assert "graphviz-pure" in svg  # the renderer's comment
    assert {"Mul", "Sum"} <= {n["texts"][0] for n in parse(svg)["nodes"].values()}


def test_system_dot_is_preferred_when_on_path(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    assert viz.find_renderer() == str(fake)


def test_no_renderer_error_names_both_options(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(rendering.sysconfig, "get_path", lambda *name: str(tmp_path))
    with pytest.raises(RuntimeError, match=r"`dot` is on PATH.*pip install graphviz-pure"):
        viz.find_renderer()


def test_digraph_shows_as_svg_in_jupyter_without_system_graphviz():
    _, loss = small_graph()
    graph = viz.draw_graph(loss)
    assert type(graph).__mro__[1].__name__ == "Digraph"
    bundle = graph._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert graph.pipe(format="png")[:4] == b"\x89PNG"


def test_graph_render_writes_files_without_system_graphviz(tmp_path):
    _, loss = small_graph()
    graph = viz.draw_graph(loss)
    out = graph.render(tmp_path / "step")
    assert out == str(tmp_path / "step.svg") and (tmp_path / "step").exists()
    assert "<svg" in Path(out).read_text(encoding="utf-8")
    png = graph.render(outfile=tmp_path / "step.png")
    assert Path(png).read_bytes()[:4] == b"\x89PNG"


def test_bad_arguments_raise():
    _, loss = small_graph()
    with pytest.raises(TypeError, match="root must be a Tensor"):
        viz.draw_graph(np.ones(2))
    with pytest.raises(TypeError, match=r"params\['w'\]"):
        viz.draw_graph(loss, params={"w": np.ones(3)})
    with pytest.raises(ValueError, match="max_nodes"):
        viz.draw_graph(loss, max_nodes=0)


def test_a_module_box_with_a_saturated_activation_is_highlighted():
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1), nn.Tanh())
    nn.init.constant_(model[0].weight, 10.0)
    with viz.trace_modules(model):
        loss = model(ag.ones(2, 3)).sum()
    clusters = parse(viz.to_svg(loss, params=model))["clusters"]
    assert clusters["cluster_1"]["stroke"] == draw.ALERT_COLOUR
    assert clusters["cluster_0"]["stroke"] != draw.ALERT_COLOUR
