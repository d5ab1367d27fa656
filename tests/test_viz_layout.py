"""autograd.viz as it is read: text inside its boxes with the pure renderer, and parameters
that get no gradient by construction told apart from vanished ones."""

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.viz import rendering
from autograd.viz.graph import gather

SVG = "{http://www.w3.org/2000/svg}"


def text_width(text: str, size: float, bold: bool, italic: bool) -> float:
    """Advance width in DejaVu Sans (what a Linux viewer draws for Helvetica or Verdana)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal",
                          style="italic" if italic else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return width


def extent(shape) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of a polygon, path or ellipse."""
    if shape.tag == SVG + "ellipse":
        cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
        return cx - rx, cx + rx, cy - ry, cy + ry
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?",
                                             shape.get("points") or shape.get("d"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), max(xs), min(ys), max(ys)


def overflowing(svg: str) -> list[str]:
    """Texts of nodes (and legend cells) that reach past the smallest shape around them."""
    bad = []
    for group in ET.fromstring(svg).iter(SVG + "g"):
        if group.get("class") != "node":
            continue
        shapes = [extent(s) for s in group.iter()
                  if s.tag in (SVG + "polygon", SVG + "path", SVG + "ellipse")
                  and s.get("fill") != "none" or s.tag == SVG + "ellipse"]
        for text in group.iter(SVG + "text"):
            size = float(text.get("font-size"))
            width = text_width(text.text or "", size, text.get("font-weight") == "bold",
                               text.get("font-style") == "italic")
            x, y = float(text.get("x")), float(text.get("y"))
            left = {"start": x, "middle": x - width / 2, "end": x - width}[
                text.get("text-anchor", "start")]
            around = [s for s in shapes if s[0] <= x <= s[1] and s[2] <= y <= s[3]]
            if not around:
                bad.append(f"{text.text!r}: outside every shape")
                continue
            l_edge, r_edge, _, _ = min(around, key=lambda s: (s[1] - s[0]) * (s[3] - s[2]))
            if left < l_edge - 0.5 or left + width > r_edge + 0.5:
                bad.append(f"{text.text!r}: {left:.1f}..{left + width:.1f} in "
                           f"{l_edge:.1f}..{r_edge:.1f}")
    return bad


@pytest.fixture
def pure_renderer(monkeypatch):
    """Render with graphviz-pure (estimated font metrics) even where `dot` is installed."""
    which = shutil.which
    monkeypatch.setattr(rendering.shutil, "which",
                        lambda name: None if name == "dot" else which(name))
    assert "graphviz-pure" in rendering.find_renderer()


def test_text_fits_its_node_with_the_pure_renderer(pure_renderer):
    model = nn.Sequential(nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10))
    x = ag.tensor(np.full((64, 64), -1.0, dtype=np.float32))
    with ag.viz.trace_modules(model), np.errstate(invalid="ignore"):
        # log of negatives: the first NaN/Inf (forward), drawn as notebook 08 does
        loss = (model(x).log() * 2).mean()
    for collapse in (False, True):
        svg = ag.viz.to_svg(loss, params=model, show_grads=True, collapse=collapse)
        assert "first NaN/Inf (forward)" in svg
        assert overflowing(svg) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_bias_before_batchnorm_has_no_gradient_by_construction_and_only_it(dtype):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3))
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    for buffer in ("running_mean", "running_var"):
        setattr(model[1], buffer, getattr(model[1], buffer).astype(dtype))
    x = ag.tensor(np.random.default_rng(0).standard_normal((8, 5)).astype(dtype))
    y = model(x)
    loss = (y * ag.tensor(np.arange(3, dtype=dtype))).sum()  # not shift-invariant in y
    names = {id(p): n for n, p in model.named_parameters()}
    cancelled = {i.name: i.cancelled for i in gather(loss, names, show_grads=True).items
                 if i.is_leaf and i.name}
    assert cancelled == {"0.weight": False, "0.bias": True, "1.weight": False,
                         "1.bias": False, "3.weight": False, "3.bias": False}
    source = ag.viz.draw_graph(loss, params=model, show_grads=True).source
    assert "no gradient by construction" in source and "filled,dashed" in source
    model.eval()  # running statistics: the bias shifts the output, its gradient is real
    loss = (model(x) * ag.tensor(np.arange(3, dtype=dtype))).sum()
    assert not any(i.cancelled for i in gather(loss, names, show_grads=True).items)
    assert "no gradient by construction" not in ag.viz.draw_graph(
        loss, params=model, show_grads=True).source


def test_a_bias_whose_gradient_vanished_without_batchnorm_stays_vanished():
    ag.manual_seed(0)
    layers = []
    for _ in range(12):
        layers += [nn.Linear(4, 4), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    loss = model(ag.randn(8, 4) * 10).sum()
    names = {id(p): n for n, p in model.named_parameters()}
    facts = gather(loss, names, show_grads=True)
    first_bias = next(i for i in facts.items if i.name == "0.bias")
    assert first_bias.grad_norm < 1e-5 * facts.root.grad_norm  # vanished indeed
    assert not any(i.cancelled for i in facts.items)
