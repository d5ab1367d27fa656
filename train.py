"""Train an MLP on scikit-learn's handwritten digits (bundled, so it works offline).

    python train.py                        # BatchNorm + Dropout MLP, Adam, cosine schedule
    python train.py --optimizer momentum --lr 0.05 --activation tanh --init xavier
    python train.py --init zeros           # see the symmetry problem: accuracy stays low

It prints the test accuracy and writes, under --out (default runs/): model.npz (the state
dict, via nn.save; `np.load(path, allow_pickle=False)` reads it), graph.svg (the graph of one
training step with parameter names and gradient norms) and curves.png (loss and accuracy per
epoch).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import autograd as ag
import nn
import optim
from nn import functional as F
from nn import init
from optim import lr_scheduler

OPTIMIZERS: dict[str, tuple[Callable[..., optim.Optimizer], float]] = {
    # name: (constructor taking (params, lr), default learning rate)
    "sgd": (lambda params, lr: optim.SGD(params, lr=lr), 0.1),
    "momentum": (lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True), 0.05),
    "rmsprop": (lambda params, lr: optim.RMSprop(params, lr=lr), 1e-3),
    "adam": (lambda params, lr: optim.Adam(params, lr=lr), 3e-3),
    "adamw": (lambda params, lr: optim.AdamW(params, lr=lr, weight_decay=1e-2), 3e-3),
    "adagrad": (lambda params, lr: optim.Adagrad(params, lr=lr), 0.05),
}
ACTIVATIONS: dict[str, tuple[Callable[[], nn.Module], str, float | None]] = {
    # name: (module, nonlinearity for nn.init's gain, its parameter)
    "relu": (nn.ReLU, "relu", None),
    "leaky_relu": (nn.LeakyReLU, "leaky_relu", 0.01),
    "elu": (nn.ELU, "relu", None),  # no gain is defined for ELU; ReLU's is the usual stand-in
    "tanh": (nn.Tanh, "tanh", None),
    "sigmoid": (nn.Sigmoid, "sigmoid", None),
}
INITS = ("default", "kaiming", "xavier", "normal", "zeros")
SCHEDULES = ("cosine", "step", "plateau", "none")


def load_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """8x8 digit images as 64 standardised float32 features; a fixed stratified 80/20 split."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    images, labels = sklearn_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, stratify=labels, random_state=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0  # constant border pixels
    x_train, x_test = ((x - mean) / std for x in (x_train, x_test))
    return (x_train.astype(np.float32), y_train.astype(np.int64),
            x_test.astype(np.float32), y_test.astype(np.int64))


def build_model(sizes: Sequence[int], activation: str = "relu", dropout: float = 0.3,
                batchnorm: bool = True) -> nn.Sequential:
    """Linear -> [BatchNorm1d] -> activation -> [Dropout] for each hidden layer, then Linear."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers.append(nn.Linear(fan_in, fan_out))
        if batchnorm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(ACTIVATIONS[activation][0]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def initialise(model: nn.Module, scheme: str, activation: str) -> None:
    """Re-initialise every Linear layer: 'default' keeps PyTorch's; 'kaiming' (He) and
    'xavier' (Glorot) use the activation's gain; 'normal' is N(0, 1) (far too large: the
    variance grows with every layer); 'zeros' shows the symmetry problem."""
    if scheme == "default":
        return
    _, nonlinearity, param = ACTIVATIONS[activation]
    for module in model.modules():
        if not isinstance(module, nn.Linear):
            continue
        if scheme == "kaiming":
            init.kaiming_normal_(module.weight, a=param or 0, nonlinearity=nonlinearity)
        elif scheme == "xavier":
            init.xavier_uniform_(module.weight, gain=init.calculate_gain(nonlinearity, param))
        elif scheme == "normal":
            init.normal_(module.weight, 0.0, 1.0)
        else:
            init.zeros_(module.weight)
        if module.bias is not None:
            init.zeros_(module.bias)


def make_schedule(name: str, optimizer: optim.Optimizer, epochs: int) -> Any:
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.3)
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.3, patience=2)
    return None


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval mode, without recording a graph."""
    model.eval()
    with ag.no_grad():
        logits = model(ag.tensor(x))
        loss = F.cross_entropy(logits, y).item()
    return loss, float(np.mean(logits.data.argmax(axis=1) == y))


class _Bar:
    """A minimal progress bar for when tqdm is not installed."""

    def __init__(self, total: int, disable: bool = False, **_: Any):
        self.total, self.count, self.disable, self.text = total, 0, disable, ""

    def update(self, n: int = 1) -> None:
        self.count += n
        if not self.disable:
            filled = int(30 * self.count / max(self.total, 1))
            print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} "
                  f"{self.text}", end="", file=sys.stderr, flush=True)

    def set_postfix_str(self, text: str) -> None:
        self.text = text
        self.update(0)

    def close(self) -> None:
        if not self.disable:
            print(file=sys.stderr)


def progress_bar(total: int, disable: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return _Bar(total, disable=disable)
    return tqdm(total=total, disable=disable, unit="step", leave=False, dynamic_ncols=True)


def trace(model: nn.Module, first_step: bool) -> Any:
    """On the drawn step, tag every op with the module that recorded it (module boxes)."""
    viz = getattr(ag, "viz", None)
    if first_step and viz is not None:
        return viz.trace_modules(model)
    return contextlib.nullcontext()


def write_graph(loss: ag.Tensor, model: nn.Module, path: str) -> str | None:
    """The graph of one training step as SVG, drawn before backward frees its saved values, so
    that it shows the gradient norm at every tensor (viz runs its own gradient pass)."""
    viz = getattr(ag, "viz", None)
    if viz is None:
        return "skipped graph.svg: autograd.viz is not available"
    viz.to_svg(loss, path, params=model, show_grads=True)
    return None


def plot_curves(history: dict[str, list[float]], path: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    fig = Figure(figsize=(10, 4), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for split in ("train", "test"):
        loss_ax.plot(epochs, history[f"{split}_loss"], marker=".", label=split)
        acc_ax.plot(epochs, history[f"{split}_acc"], marker=".", label=split)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=120)


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterable[np.ndarray]:
    """Shuffled index batches; a last batch of one sample is dropped (BatchNorm needs two)."""
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        if len(index) > 1:
            yield index


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: a good one for the optimizer)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    parser.add_argument("--init", choices=INITS, default="default")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=str, default="256,128",
                        help="hidden layer widths, comma-separated")
    parser.add_argument("--dropout", type=float, default=0.3, help="probability of zeroing")
    parser.add_argument("--no-batchnorm", action="store_true")
    parser.add_argument("--schedule", choices=SCHEDULES, default="cosine")
    parser.add_argument("--out", type=str, default="runs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, print the test accuracy, write model.npz, graph.svg and curves.png under --out.
    Returns the final test accuracy, the per-epoch history and the paths written."""
    args = parse_args(argv)
    start = time.perf_counter()
    ag.manual_seed(args.seed)
    rng = np.random.default_rng((args.seed, 1))  # shuffling: a stream apart from the init's
    x_train, y_train, x_test, y_test = load_digits()
    sizes = [x_train.shape[1], *(int(h) for h in args.hidden.split(",") if h), 10]
    model = build_model(sizes, args.activation, args.dropout, not args.no_batchnorm)
    initialise(model, args.init, args.activation)
    make_optimizer, default_lr = OPTIMIZERS[args.optimizer]
    optimizer = make_optimizer(model.parameters(), args.lr or default_lr)
    schedule = make_schedule(args.schedule, optimizer, args.epochs)
    os.makedirs(args.out, exist_ok=True)
    paths = {name: os.path.join(args.out, name)
             for name in ("model.npz", "graph.svg", "curves.png")}

    history: dict[str, list[float]] = {k: [] for k in
                                       ("train_loss", "train_acc", "test_loss", "test_acc")}
    steps_per_epoch = sum(1 for _ in batches(len(x_train), args.batch_size, rng))
    bar = progress_bar(args.epochs * steps_per_epoch, disable=args.quiet)
    note = None
    for epoch in range(args.epochs):
        model.train()
        loss_sum = correct = seen = 0
        for index in batches(len(x_train), args.batch_size, rng):
            first_step = epoch == 0 and seen == 0
            with trace(model, first_step):
                logits = model(ag.tensor(x_train[index]))
            loss = F.cross_entropy(logits, y_train[index])
            optimizer.zero_grad()
            if first_step:
                note = write_graph(loss, model, paths["graph.svg"])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += int(np.sum(logits.data.argmax(axis=1) == y_train[index]))
            seen += len(index)
            bar.update(1)
        test_loss, test_acc = evaluate(model, x_test, y_test)
        for key, value in zip(history, (loss_sum / seen, correct / seen, test_loss, test_acc),
                              strict=True):
            history[key].append(value)
        if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
            schedule.step(history["train_loss"][-1])
        elif schedule is not None:
            schedule.step()
        bar.set_postfix_str(f"epoch {epoch + 1} loss {history['train_loss'][-1]:.3f} "
                            f"test acc {test_acc:.3f}")
    bar.close()

    nn.save(model.state_dict(), paths["model.npz"])
    plot_curves(history, paths["curves.png"])
    if note:
        print(note)
        del paths["graph.svg"]
    elapsed = time.perf_counter() - start
    print(f"{args.optimizer} lr={args.lr or default_lr:g} {args.activation} init={args.init}: "
          f"test accuracy {history['test_acc'][-1]:.4f} after {args.epochs} epochs "
          f"({elapsed:.1f} s); wrote {', '.join(paths.values())}")
    return {"test_accuracy": history["test_acc"][-1], "history": history, "paths": paths,
            "seconds": elapsed}


if __name__ == "__main__":
    main()
