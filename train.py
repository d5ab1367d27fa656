"""Train an MLP on scikit-learn's handwritten digits (bundled, so it works offline).

    python train.py                        # BatchNorm + Dropout MLP, Adam, cosine schedule
    python train.py --optimizer momentum --lr 0.05 --activation tanh --init xavier
    python train.py --init zeros           # see the symmetry problem: accuracy stays low
    mpiexec -n 2 python train.py           # data-parallel: 2 ranks, each half of every batch

It prints the test accuracy and writes, under --out (default runs/): model.npz (the state
dict, via nn.save; `np.load(path, allow_pickle=False)` reads it), graph.svg (the graph of one
training step with parameter names and gradient norms: one node per layer, or every operation
with --graph-detail full) and curves.png (loss and accuracy per epoch). Under `mpiexec -n K`
each rank trains on its shard of every epoch (--batch-size / K rows a step) with the gradients
averaged over ranks, and rank 0 prints, draws and saves.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autograd as ag
import autograd.distributed as dist
import nn
import optim
from autograd.utils.data import DataLoader, DistributedSampler, TensorDataset
from nn import functional as F
from nn import init
from nn.parallel import DistributedDataParallel
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


class _EpochLines:
    """Progress as one line per epoch, where a bar's carriage returns would pile up on one
    line (stdout or stderr is a file or a pipe), or nothing with --quiet."""

    def __init__(self, show: bool):
        self.show = show

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        if self.show:
            print(text, flush=True)

    def close(self) -> None:
        pass


def progress_bar(total: int, quiet: bool) -> Any:
    """A tqdm bar over `total` steps on a terminal; one line per epoch otherwise."""
    if quiet or not (sys.stdout.isatty() and sys.stderr.isatty()):
        return _EpochLines(show=not quiet)
    from tqdm import tqdm

    return tqdm(total=total, unit="step", leave=False, dynamic_ncols=True)


def trace(model: nn.Module, first_step: bool) -> Any:
    """On the drawn step, tag every op with the module that recorded it (module boxes)."""
    return ag.viz.trace_modules(model) if first_step else contextlib.nullcontext()


def write_graph(loss: ag.Tensor, model: nn.Module, path: str | None, detail: str) -> None:
    """The graph of one training step as SVG, drawn before backward frees its saved values, so
    that it shows the gradient norm at every tensor (viz runs its own gradient pass). Detail
    'modules' draws one node per layer, 'full' every operation (BatchNorm alone is 13). With
    no path (ranks other than 0) only the gradient pass runs: SyncBatchNorm's is collective."""
    options = {"params": model, "show_grads": True, "collapse": detail == "modules"}
    if path is None:
        ag.viz.draw_graph(loss, **options)
    else:
        ag.viz.to_svg(loss, path, **options)


def training_step(forward: Callable, model: nn.Module, optimizer: optim.Optimizer,
                  draw: bool = False, graph_path: str | None = None,
                  graph_detail: str = "modules") -> Callable[[ag.Tensor, ag.Tensor], Any]:
    """One step: forward, cross-entropy, backward, update; returns (loss, logits). With
    `draw`, the step's graph is drawn (to `graph_path`) before backward frees it."""
    def step(x: ag.Tensor, y: ag.Tensor) -> tuple[ag.Tensor, ag.Tensor]:
        with trace(model, draw):
            logits = forward(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        if draw:
            write_graph(loss, model, graph_path, graph_detail)
        loss.backward()
        optimizer.step()
        return loss, logits
    return step


def plot_curves(history: dict[str, list[float]], path: str, classes: int = 10) -> None:
    """Loss (log scale) and accuracy per epoch. The loss axis spans at least a decade and
    reaches chance (ln(classes), dashed); the accuracy axis runs from the lowest value rounded
    down to a tenth up to 1: noise around chance does not look like large swings."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    fig = Figure(figsize=(10, 4), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for split in ("train", "test"):
        loss_ax.plot(epochs, history[f"{split}_loss"], marker=".", label=split)
        acc_ax.plot(epochs, history[f"{split}_acc"], marker=".", label=split)
    chance_loss, chance_acc = math.log(classes), 1 / classes
    losses = [v for k in ("train_loss", "test_loss") for v in history[k] if 0 < v < math.inf]
    accuracies = history["train_acc"] + history["test_acc"]
    low = min(min(losses, default=chance_loss), chance_loss / 10)
    high = max(max(losses, default=chance_loss), chance_loss)
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy (log scale)", yscale="log",
                title="loss", ylim=(low / 1.3, high * 1.3))
    loss_ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    loss_ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))  # 0.5, 1, 2: no 2.3x10^0
    loss_ax.yaxis.set_minor_formatter(NullFormatter())
    bottom = math.floor(10 * min(accuracies)) / 10 - 0.02
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(bottom, 1.02))
    loss_ax.axhline(chance_loss, color="grey", linestyle="--", linewidth=1,
                    label=f"chance: ln {classes} = {chance_loss:.2f}")
    if chance_acc > bottom:
        acc_ax.axhline(chance_acc, color="grey", linestyle="--", linewidth=1,
                       label=f"chance: 1/{classes}")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=120)


TRAIN_EXTRA = ("sklearn", "matplotlib", "tqdm")  # the `train` extra in pyproject.toml


def require_train_extra() -> None:
    """Exit with the install command when a package of the `train` extra is missing."""
    missing = []
    for name in TRAIN_EXTRA:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        sys.exit(f"train.py needs {', '.join(missing)} (the `train` extra): "
                 'python -m pip install -e ".[train]"')


def describe(args: argparse.Namespace, sizes: Sequence[int], lr: float, ranks: int = 1) -> str:
    """Everything that shapes the run, in one line."""
    split = f" ({ranks} ranks x {args.batch_size // ranks})" if ranks > 1 else ""
    batchnorm = "off" if args.no_batchnorm else "on, synced" if args.sync_bn else "on"
    return (f"{args.optimizer} lr={lr:g} schedule={args.schedule}, "
            f"{'-'.join(map(str, sizes))} {args.activation} init={args.init}, "
            f"BatchNorm {batchnorm}, dropout {args.dropout:g}, batch {args.batch_size}{split}, "
            f"{args.epochs} epoch{'' if args.epochs == 1 else 's'}, seed {args.seed}")


def distinct_units(model: nn.Module) -> list[tuple[int, int]]:
    """(distinct, total) units of each hidden layer. A unit is its Linear row and bias, and the
    scale and shift of the BatchNorm after it: two units with equal values compute the same
    function and get the same gradient, so training never tells them apart (symmetry)."""
    layers = list(model.children())
    counts = []
    for index, layer in enumerate(layers[:-1]):
        if not isinstance(layer, nn.Linear):
            continue
        columns = [layer.weight.data, *([layer.bias.data[:, None]] if layer.bias is not None
                                        else [])]
        after = layers[index + 1]
        if isinstance(after, nn.BatchNorm1d) and after.weight is not None:
            columns += [after.weight.data[:, None], after.bias.data[:, None]]
        units = np.hstack(columns).astype(np.float64)
        scale = np.abs(units).max() or 1.0
        # Equal up to rounding: the same arithmetic in a different SIMD lane may differ in ulps.
        counts.append((len(np.unique(np.round(units / scale, 5), axis=0)), len(units)))
    return counts


def _whole_number(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def _number(name: str, low: float, high: float, high_open: bool = False,
            low_open: bool = False) -> Callable[[str], float]:
    """A float in [low, high] (an open end excluded), e.g. "a probability in [0, 1)"."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}") from None
        inside = ((low < value if low_open else low <= value)
                  and (value < high if high_open else value <= high))
        if not inside:
            raise argparse.ArgumentTypeError(f"{name} must be in {interval}, got {text}")
        return value

    return parse


def _widths(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated hidden widths >= 1 (at least one), e.g. 256,128; got "
            f"{text!r}")
    return tuple(int(p) for p in parts)


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default (when it has one) and the module docstring as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags, each value checked here: a bad one exits with argparse's usage line and a
    message naming the flag and its range (exit code 2), before any data is loaded."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_Help)
    add = parser.add_argument
    add("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="update rule")
    add("--lr", type=_number("a learning rate", 0, math.inf, low_open=True, high_open=True),
        help="learning rate (default: per optimizer, "
             + ", ".join(f"{name} {lr:g}" for name, (_, lr) in OPTIMIZERS.items()) + ")")
    add("--epochs", type=_whole_number(1), default=30, help="passes over the training set")
    add("--activation", choices=sorted(ACTIVATIONS), default="relu", help="hidden activation")
    add("--init", choices=INITS, default="default",
        help="initialisation of the Linear layers (zeros: the symmetry problem)")
    add("--batch-size", type=_whole_number(1), default=64,
        help="samples per step (at least 2 with BatchNorm)")
    add("--seed", type=_whole_number(0), default=0, help="seeds initialisation, dropout, shuffling")
    add("--hidden", type=_widths, default="256,128", help="hidden layer widths, comma-separated")
    add("--dropout", type=_number("a probability", 0, 1, high_open=True), default=0.3,
        help="probability of zeroing a hidden unit (0: no Dropout layers)")
    add("--no-batchnorm", action="store_true", help="no BatchNorm1d after each hidden Linear")
    add("--sync-bn", action=argparse.BooleanOptionalAction,
        help="under mpiexec, BatchNorm statistics over every rank's rows (default: on when "
             "there are 2 ranks or more)")
    add("--schedule", choices=SCHEDULES, default="cosine", help="learning-rate schedule")
    add("--graph-detail", choices=("modules", "full"), default="modules",
        help="graph.svg: one node per layer, or every operation")
    add("--out", default="runs", help="directory for model.npz, graph.svg, curves.png")
    add("--quiet", action="store_true", help="no progress output")
    add("--compile", action="store_true",
        help="capture the training step once and replay it (ag.compile): the same numbers, "
             "less time")
    args = parser.parse_args(argv)
    if args.batch_size < 2 and not args.no_batchnorm:
        parser.error(f"argument --batch-size: must be >= 2 with BatchNorm (it normalises by the "
                     f"batch's variance, which one sample does not have), got "
                     f"{args.batch_size}; or add --no-batchnorm")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"argument --out: {args.out!r} exists and is not a directory")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train, print the test accuracy, write model.npz, graph.svg and curves.png under --out.
    Returns the final test accuracy, the per-epoch history and the paths written."""
    args = parse_args(argv)
    require_train_extra()
    start = time.perf_counter()
    if not dist.is_initialized():
        dist.init_process_group()  # alone: a world of one; under `mpiexec -n K`: K ranks
    rank, ranks = dist.get_rank(), dist.get_world_size()
    args.sync_bn = ranks > 1 and not args.no_batchnorm and args.sync_bn is not False
    local_batch = args.batch_size // ranks
    if local_batch < (1 if args.sync_bn or args.no_batchnorm else 2):
        sys.exit(f"train.py: --batch-size {args.batch_size} over {ranks} ranks leaves "
                 f"{local_batch} rows a rank; BatchNorm needs 2 (or --sync-bn)")
    ag.manual_seed(args.seed)
    rng = np.random.default_rng((args.seed, 1))  # shuffling: a stream apart from the init's
    x_train, y_train, x_test, y_test = load_digits()
    sizes = [x_train.shape[1], *args.hidden, 10]
    model = build_model(sizes, args.activation, args.dropout, not args.no_batchnorm)
    initialise(model, args.init, args.activation)
    if args.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    forward = DistributedDataParallel(model) if ranks > 1 else model  # rank 0's weights
    make_optimizer, default_lr = OPTIMIZERS[args.optimizer]
    lr = default_lr if args.lr is None else args.lr
    optimizer = make_optimizer(model.parameters(), lr)
    schedule = make_schedule(args.schedule, optimizer, args.epochs)
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
    paths = {name: os.path.join(args.out, name)
             for name in ("model.npz", "graph.svg", "curves.png")}

    history: dict[str, list[float]] = {k: [] for k in
                                       ("train_loss", "train_acc", "test_loss", "test_acc")}
    dataset = TensorDataset(x_train, y_train)
    # Under mpiexec each rank its shard (equal sizes, a new order every epoch).
    sampler = DistributedSampler(dataset, seed=args.seed) if ranks > 1 else None
    shard = len(sampler) if sampler else len(dataset)
    # A last batch of one sample is dropped: BatchNorm needs two.
    loader = DataLoader(dataset, local_batch, shuffle=sampler is None, sampler=sampler,
                        drop_last=shard % local_batch == 1, generator=rng)
    bar = progress_bar(args.epochs * len(loader), args.quiet or rank > 0)
    draw_to = paths["graph.svg"] if rank == 0 else None
    first = training_step(forward, model, optimizer, True, draw_to, args.graph_detail)  # eager
    step = training_step(forward, model, optimizer)
    step = ag.compile(step) if args.compile else step
    for epoch in range(args.epochs):
        model.train()
        if sampler:
            sampler.set_epoch(epoch)
        loss_sum = correct = seen = 0
        for xb, yb in loader:
            run = first if epoch == 0 and seen == 0 else step
            loss, logits = run(xb, yb)
            loss_sum += loss.item() * len(yb)
            correct += int(np.sum(logits.data.argmax(axis=1) == yb.data))
            seen += len(yb)
            bar.update(1)
        totals = np.array([loss_sum, correct, seen], dtype=np.float64)
        dist.all_reduce(totals)  # every rank's rows: the same history (and schedule) on all
        loss_sum, correct, seen = totals
        test_loss, test_acc = evaluate(model, x_test, y_test)
        for key, value in zip(history, (loss_sum / seen, correct / seen, test_loss, test_acc),
                              strict=True):
            history[key].append(value)
        if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
            schedule.step(history["train_loss"][-1])
        elif schedule is not None:
            schedule.step()
        bar.set_postfix_str(f"epoch {epoch + 1}/{args.epochs} loss {history['train_loss'][-1]:.3f} "
                            f"test acc {test_acc:.3f}")
    bar.close()

    units = distinct_units(model)
    elapsed = time.perf_counter() - start
    if rank == 0:
        nn.save(model.state_dict(), paths["model.npz"])
        plot_curves(history, paths["curves.png"])
        print("distinct hidden units (a unit that computes what another does counts once): "
              + "; ".join(f"layer {i}: {n} distinct unit{'' if n == 1 else 's'} of {total}"
                          for i, (n, total) in enumerate(units, 1)))
        print(f"{describe(args, sizes, lr, ranks)}: test accuracy "
              f"{history['test_acc'][-1]:.4f} ({elapsed:.1f} s); wrote "
              f"{', '.join(paths.values())}")
    return {"test_accuracy": history["test_acc"][-1], "history": history, "paths": paths,
            "distinct_units": units, "seconds": elapsed}


if __name__ == "__main__":
    main()
