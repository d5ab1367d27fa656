"""Run the benchmarks: every section, or those named (`python -m bench engine activations`)."""

import argparse
import importlib

from bench.common import THREADS, load_torch

SECTIONS = ["engine", "activations", "mlp", "loaded", "loops", "viz", "distributed"]


def section(name: str) -> str:
    if name not in SECTIONS:
        raise argparse.ArgumentTypeError(
            f"no section {name!r}; the sections are {', '.join(SECTIONS)}")
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__,
        epilog="Each section is a module, bench/SECTION.py; its docstring says what it measures.")
    parser.add_argument("sections", nargs="*", type=section, metavar="SECTION",
                        help=f"one of {', '.join(SECTIONS)} (default: all, in this order)")
    chosen = parser.parse_args(argv).sections or SECTIONS
    torch = load_torch()
    print(f"threads: {THREADS}; PyTorch: "
          + (torch.__version__ if torch else "not installed (torch columns show '-')"))
    for name in chosen:
        importlib.import_module(f"bench.{name}").run()


if __name__ == "__main__":
    main()
