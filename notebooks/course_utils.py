"""Plotting helpers shared by the course notebooks (kept small: the engine does the work)."""

import matplotlib as mpl
import numpy as np


def setup_plots(dpi: int = 72) -> None:
    """Modest figure sizes and resolution, so the committed notebooks stay small."""
    mpl.rcParams.update({
        "figure.dpi": dpi, "savefig.dpi": dpi, "figure.figsize": (7.5, 3.2),
        "axes.grid": True, "grid.alpha": 0.3, "font.size": 9, "axes.titlesize": 10,
        "legend.fontsize": 8, "figure.constrained_layout.use": True,
    })


def level_lines(ax, loss_grid: np.ndarray, w1: np.ndarray, w2: np.ndarray,
                optimum=None, levels: int = 12) -> None:
    """Level lines of a loss over a (w1, w2) grid (loss_grid[i, j] at w1[j], w2[i]),
    spaced on a square-root scale so that both the valley and the rim show, optimum marked."""
    lo, hi = float(loss_grid.min()), float(loss_grid.max())
    ax.contour(w1, w2, loss_grid, levels=lo + (hi - lo) * np.linspace(0, 1, levels) ** 2,
               cmap="viridis", linewidths=0.8)
    if optimum is not None:
        ax.plot(*optimum, marker="*", color="crimson", markersize=12, linestyle="none")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")


def paths(ax, trajectory: np.ndarray, label: str | None = None, color=None,
          limit: float = 10.0) -> None:
    """A descent trajectory (steps x 2) drawn as dots joined by lines, up to the first point
    outside [-limit, limit]^2 (a diverging run is drawn until it leaves the picture)."""
    outside = np.nonzero(~np.all(np.abs(trajectory) < limit, axis=1))[0]
    shown = trajectory[: outside[0] + 1] if len(outside) else trajectory
    ax.plot(shown[:, 0], shown[:, 1], ".-", color=color, markersize=3, linewidth=1,
            label=label)


def _shown(value) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def findings_table(findings: dict):
    """A notebook's measured findings as a Markdown table (its closing cell shows it)."""
    from IPython.display import Markdown

    def cell(text: str) -> str:
        return text.replace("|", "\\|")  # a | inside a cell would end it

    rows = ["| finding | measured |", "|:---|:---|"]
    rows += [f"| {cell(key)} | {cell(_shown(value))} |" for key, value in findings.items()]
    return Markdown("\n".join(rows))


def one_thread() -> None:
    """One BLAS thread and one Numba thread: on a 2-core machine the notebooks' small matrices
    run several times faster than with two thread pools competing for the cores."""
    import numba
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    numba.set_num_threads(1)
