"""Read back the nodes of an `ag.viz` drawing from its SVG, so that notebook 08 can check what
the picture says against the engine's numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"


def drawn_nodes(svg: str) -> list[dict]:
    """The drawing's nodes as {'name', 'text', 'fill', 'border', 'width'} (the legend left out)."""
    nodes = []
    for group in ET.fromstring(svg).iter(SVG_NS + "g"):
        if group.get("class") != "node" or group.find(SVG_NS + "title").text == "legend":
            continue
        shape = next(e for e in group.iter()
                     if e.tag[len(SVG_NS):] in ("ellipse", "path", "polygon"))
        lines = [t.text.strip() for t in group.iter(SVG_NS + "text") if t.text]
        nodes.append({"name": lines[0], "text": " ".join(lines), "fill": shape.get("fill"),
                      "border": shape.get("stroke"),
                      "width": float(shape.get("stroke-width", 1))})
    return nodes


def node_named(nodes: list[dict], name: str) -> dict:
    """The one drawn node whose first line (a parameter, op or module name) is `name`."""
    found = [n for n in nodes if n["name"] == name]
    assert len(found) == 1, (name, [n["text"] for n in found])
    return found[0]


def grad_of(node: dict) -> float:
    """The 'grad ...' number a node shows (for a module box: the gradient of its output)."""
    return float(node["text"].split("grad ")[1].split()[0])
