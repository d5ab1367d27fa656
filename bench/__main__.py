"""Run every benchmark section: `python -m bench` (or `python -m bench engine activations`)."""

import importlib
import sys

from bench.common import THREADS, load_torch

SECTIONS = ["engine", "activations", "mlp", "viz"]


def main(argv: list[str]) -> None:
    chosen = argv or SECTIONS
    torch = load_torch()
    print(f"threads: {THREADS}; PyTorch: "
          + (torch.__version__ if torch else "not installed (torch columns show '-')"))
    for name in chosen:
        importlib.import_module(f"bench.{name}").run()


if __name__ == "__main__":
    main(sys.argv[1:])
