"""Descent on a two-parameter loss with the engine's optimizers, drawn on its level lines.

The course's regression on two features (notebook 03), `plot_gd(x_scale, lr, steps, optimizer)`
to draw one optimizer's path, and `animate(...)` to save the paths as an animated GIF. Run
`python gd_animation.py` from notebooks/ to rewrite the GIFs the notebooks show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from course_utils import level_lines, paths
from matplotlib.animation import FuncAnimation, PillowWriter

import autograd as ag
import optim
from optim import lr_scheduler

# 200 objects, x1 and x2 standard normal with correlation 0.5 (tilted ellipses),
# y = x1 + x2 + noise of standard deviation 0.5. x_scale multiplies x1, moving w1* to 1 / x_scale.
_rng = np.random.default_rng(1)
N = 200
X_BASE = _rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=N)
Y = X_BASE @ np.array([1.0, 1.0]) + 0.5 * _rng.standard_normal(N)
W0 = np.array([-0.5, 3.0])  # every descent starts here
W1_GRID = np.linspace(-1.5, 3.0, 111)  # the window: the start and the optima for x_scale >= 0.5
W2_GRID = np.linspace(-0.5, 4.0, 111)

OPTIMIZERS = {  # name -> constructor(params, lr)
    "sgd": lambda params, lr: optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "rmsprop": lambda params, lr: optim.RMSprop(params, lr=lr),
    "adam": lambda params, lr: optim.Adam(params, lr=lr),
}
COLORS = {"sgd": "C3", "momentum": "C1", "rmsprop": "C2", "adam": "C0"}


def features(x_scale: float) -> np.ndarray:
    return X_BASE * np.array([x_scale, 1.0])


def mse(w: ag.Tensor, X: ag.Tensor, y: ag.Tensor) -> ag.Tensor:
    """L(w) = mean over objects of (x1 w1 + x2 w2 - y)^2, as an engine expression."""
    residual = X @ w - y
    return (residual * residual).mean()


def optimum(x_scale: float) -> tuple[np.ndarray, float]:
    """Least squares by the normal equations: w* and L(w*)."""
    X = features(x_scale)
    w_star = np.linalg.solve(X.T @ X, X.T @ Y)
    return w_star, float(np.mean((X @ w_star - Y) ** 2))


def loss_grid(x_scale: float) -> np.ndarray:
    """L over the (w1, w2) window, all points at once with the engine (no gradient needed)."""
    grid = np.stack(np.meshgrid(W1_GRID, W2_GRID), axis=-1).reshape(-1, 2)
    with ag.no_grad():
        residuals = ag.tensor(grid) @ ag.tensor(features(x_scale)).T - ag.tensor(Y)
        return (residuals * residuals).mean(axis=1).numpy().reshape(len(W2_GRID), len(W1_GRID))


def trajectory(loss_fn: Callable[..., ag.Tensor], start, make_optimizer, steps: int,
               schedule=None, target=None, tol: float = 1e-3, draw=None) -> np.ndarray:
    """Minimise loss_fn(w, *draw()) over a 2-vector with an engine optimizer from start;
    return the path (steps + 1, 2). schedule(opt) makes an lr scheduler; with a target, stop
    within tol of it. draw() gives each step's inputs (a mini-batch's rows), if any."""
    w = ag.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = make_optimizer([w])
    scheduler = schedule(opt) if schedule else None

    @ag.compile  # recorded on the first call; later calls replay its NumPy calls
    def step(*inputs):
        loss = loss_fn(w, *inputs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    path = [w.numpy().copy()]
    for _ in range(steps):
        loss = step(*draw()) if draw else step()
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss.item())
        elif scheduler is not None:
            scheduler.step()
        path.append(w.numpy().copy())
        if target is not None and np.linalg.norm(path[-1] - target) < tol:
            break
    return np.array(path)


def descend(x_scale: float, lr: float, steps: int, optimizer: str = "sgd", schedule=None,
            batch_size: int | None = None, seed: int = 0,
            start=W0) -> tuple[np.ndarray, np.ndarray]:
    """The regression from start with one of OPTIMIZERS, on the full batch or on random
    mini-batches; return the path (steps + 1, 2) and the full-batch excess loss
    L(w) - L(w*) after every step (0 at the optimum)."""
    X, y = ag.tensor(features(x_scale)), ag.tensor(Y)
    batches = np.random.default_rng(seed)

    def loss_fn(w: ag.Tensor, rows: np.ndarray | None = None) -> ag.Tensor:
        return mse(w, X, y) if rows is None else mse(w, X[rows], y[rows])

    def draw() -> tuple[np.ndarray]:  # drawn outside the compiled step, passed in
        return (batches.choice(N, batch_size, replace=False),)

    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows on purpose
        path = trajectory(loss_fn, start, lambda p: OPTIMIZERS[optimizer](p, lr), steps, schedule,
                          draw=draw if batch_size else None)
        excess = np.mean((path @ features(x_scale).T - Y) ** 2, axis=1) - optimum(x_scale)[1]
    return path, excess


def steps_to(excess: np.ndarray, tol: float = 1e-3) -> int | None:
    """The first step after which the excess loss stays below tol (None if it never does)."""
    above = np.nonzero(~(excess < tol))[0]
    if len(above) == 0:
        return 0
    return int(above[-1] + 1) if above[-1] + 1 < len(excess) else None


def excess_label(excess: float) -> str:
    return f"{excess:.1e}" if excess < 1e6 else "diverged"


def plot_gd(x_scale: float, lr: float, steps: int, optimizer: str = "sgd", ax=None,
            title: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw `steps` steps of `optimizer` on the MSE level lines; return (path, excess)."""
    path, excess = descend(x_scale, lr, steps, optimizer)
    if ax is None:
        ax = plt.subplots(figsize=(4.2, 3.6))[1]
    level_lines(ax, loss_grid(x_scale), W1_GRID, W2_GRID, optimum=optimum(x_scale)[0])
    paths(ax, path, color=COLORS[optimizer], label=f"{optimizer}, {steps} steps")
    ax.plot(*W0, "ko", markersize=4, label="start")
    ax.set(xlim=(W1_GRID[0], W1_GRID[-1]), ylim=(W2_GRID[0], W2_GRID[-1]))
    ax.set_title(title or f"{optimizer}, x_scale {x_scale:g}, lr {lr:g}: "
                 f"excess loss {excess_label(excess[-1])}")
    ax.legend(loc="upper right")
    return path, excess


class Panel:
    """One picture of an animation: paths (label -> (steps + 1, 2)) over a loss's level lines."""

    def __init__(self, title: str, runs: dict[str, np.ndarray], grid: np.ndarray,
                 w1: np.ndarray, w2: np.ndarray, optimum_at, colors: dict | None = None):
        self.title, self.runs, self.grid, self.w1, self.w2 = title, runs, grid, w1, w2
        self.optimum_at, self.colors = optimum_at, colors or {}


def animate(panels: list[Panel], filename: str | Path, title: str = "", frames: int = 40,
            fps: int = 8, panel_size: tuple[float, float] = (3.4, 3.0)) -> Path:
    """Save the panels' paths growing step by step as an animated GIF (matplotlib's
    PillowWriter), the last frame held for a second; return the file's path."""
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, dpi=60,
                             figsize=(panel_size[0] * columns, panel_size[1] * rows + 0.3))
    lines = []
    for ax, panel in zip(axes.flat, panels):
        level_lines(ax, panel.grid, panel.w1, panel.w2, optimum=panel.optimum_at)
        ax.set(xlim=(panel.w1[0], panel.w1[-1]), ylim=(panel.w2[0], panel.w2[-1]),
               title=panel.title)
        for label, path in panel.runs.items():
            line = ax.plot([], [], ".-", markersize=3, linewidth=1.2, label=label,
                           color=panel.colors.get(label))[0]
            lines.append((line, path))
        ax.legend(loc="upper right")
    longest = max(len(path) for _, path in lines)
    shown_steps = np.unique(np.linspace(0, longest - 1, min(frames, longest)).astype(int))
    counter = fig.suptitle("")

    def draw(frame: int):
        step = shown_steps[min(frame, len(shown_steps) - 1)]  # the last frame is held
        for line, path in lines:
            shown = path[: step + 1]
            shown = shown[np.cumprod(np.all(np.abs(shown) < 1e3, axis=1)).astype(bool)]
            line.set_data(shown[:, 0], shown[:, 1])
        counter.set_text(f"{title}: step {step}")
        return [line for line, _ in lines]

    movie = FuncAnimation(fig, draw, frames=len(shown_steps) + fps)
    movie.save(filename, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return Path(filename)


def animate_gd(filename: str | Path, x_scale: float, lr: float, steps: int,
               optimizers=tuple(OPTIMIZERS)) -> Path:
    """`plot_gd` for several optimizers, one panel each, animated and saved as a GIF."""
    grid, w_star = loss_grid(x_scale), optimum(x_scale)[0]
    panels = [Panel(name, {name: descend(x_scale, lr, steps, name)[0]}, grid, W1_GRID,
                    W2_GRID, w_star, COLORS) for name in optimizers]
    return animate(panels, filename, f"x_scale {x_scale:g}, lr {lr:g}")


def valley(s: float) -> Callable[[ag.Tensor], ag.Tensor]:
    """Notebook 06's narrow valley L_s(w) = (s^2 (w1 - 1)^2 + (w2 - 1)^2) / 2."""
    return lambda w: 0.5 * ((s * (w[0] - 1)) ** 2 + (w[1] - 1) ** 2)


VALLEY_START = (0.5, -2.0)
VALLEY_W1, VALLEY_W2 = np.linspace(0.3, 1.7, 200), np.linspace(-2.4, 2.8, 200)


def animate_adam_valley(filename: str | Path, s: float = 10.0, lrs=(0.05, 1.0),
                        steps: int = 150) -> Path:
    """Adam on the s-valley at a small rate and at 20x it, animated and saved as a GIF."""
    runs = {f"lr {lr:g}": trajectory(valley(s), VALLEY_START,
                                     lambda p, lr=lr: optim.Adam(p, lr=lr), steps)
            for lr in lrs}
    grid = 0.5 * ((s * (VALLEY_W1[None, :] - 1)) ** 2 + (VALLEY_W2[:, None] - 1) ** 2)
    panel = Panel(f"valley s = {s:g}", runs, grid, VALLEY_W1, VALLEY_W2, (1.0, 1.0),
                  dict(zip(runs, ("C0", "C3"))))
    return animate([panel], filename, f"Adam, lr x{lrs[1] / lrs[0]:g}",
                   panel_size=(4.4, 3.8))


GIFS = {  # file name -> how to draw it
    "gd_paths.gif": lambda f: animate_gd(f, x_scale=3.0, lr=0.13, steps=40),
    "adam_valley_lr_x20.gif": animate_adam_valley,
}

if __name__ == "__main__":
    from course_utils import setup_plots

    setup_plots()
    for name, draw in GIFS.items():
        path = draw(Path(__file__).with_name(name))
        print(f"{path.name}: {path.stat().st_size / 1e3:.0f} kB")
