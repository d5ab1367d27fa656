"""Rendering DOT source without depending on a system Graphviz.

A system `dot` on PATH is used when there is one; otherwise the `graphviz-pure` executable that
`pip install` puts next to the Python interpreter (a Rust port of Graphviz's dot, so it is found
even when the virtual environment is not activated).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import graphviz

PURE = "graphviz-pure"


def find_renderer() -> str:
    """The path of the executable that will render: `dot` on PATH, else `graphviz-pure` (on
    PATH, or next to the running interpreter, or in its installation's or the user's scripts
    directory: found also when the virtual environment is not activated)."""
    for name in ("dot", PURE):
        found = shutil.which(name)
        if found:
            return found
    suffix = ".exe" if os.name == "nt" else ""
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    if f"{os.name}_user" in sysconfig.get_scheme_names():  # pip install --user
        folders.append(Path(sysconfig.get_path("scripts", f"{os.name}_user")))
    for folder in folders:
        candidate = folder / (PURE + suffix)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError(
        "autograd.viz: no Graphviz renderer found. Either install Graphviz so that `dot` is on "
        f"PATH, or `pip install graphviz-pure` (looked for {PURE} on PATH and in "
        f"{', '.join(str(f) for f in folders)}).")


def render(source: str, fmt: str = "svg", renderer: str | None = None,
           layout: str = "dot") -> bytes:
    """DOT source rendered to `fmt` ('svg', 'png', 'jpg', 'json', ...; graphviz-pure has no
    PDF) by `renderer` (default: `find_renderer()`) with the `layout` engine."""
    executable = renderer or find_renderer()
    done = subprocess.run([executable, f"-K{layout}", f"-T{fmt}"], input=source.encode("utf-8"),
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"autograd.viz: {executable} -T{fmt} failed (exit code "
                           f"{done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` whose `pipe` and `render` (and so Jupyter's inline SVG display)
    run `find_renderer()`: it shows without a system Graphviz. Default format: SVG."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)

    def pipe(self, format: str | None = None, renderer: str | None = None,  # noqa: A002
             formatter: str | None = None, neato_no_op: Any = None, quiet: bool = False, *,
             engine: str | None = None, encoding: str | None = None) -> Any:
        """The rendered bytes (or text, given an `encoding`), like graphviz's `pipe`."""
        fmt = format or self.format
        if renderer:
            fmt += ":" + renderer + (":" + formatter if formatter else "")
        data = render(self.source, fmt, layout=engine or self.engine)
        return data if encoding is None else data.decode(encoding)

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None,  # noqa: A002
               *args: Any, outfile: Any = None, **kwargs: Any) -> str:
        """Save the source and write the rendered file beside it (or to `outfile`); returns
        the output path. `view` and the other graphviz options are not supported."""
        if view:
            raise NotImplementedError("autograd.viz.Graph.render: view=True is not supported")
        fmt = format or (Path(outfile).suffix[1:] if outfile else self.format)
        source_path = Path(self.save(filename, directory=directory))
        target = Path(outfile) if outfile else source_path.with_name(f"{source_path.name}.{fmt}")
        target.write_bytes(self.pipe(format=fmt))
        if cleanup:
            source_path.unlink()
        return str(target)

    def _repr_image_svg_xml(self) -> str:
        return self.pipe(format="svg", encoding="utf-8")
