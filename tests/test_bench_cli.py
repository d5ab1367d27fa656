"""`python -m bench`'s command line: --help and a mistyped section list the sections."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_help_lists_the_sections():
    done = run_bench("--help")
    assert done.returncode == 0
    assert "usage: python -m bench [-h] [SECTION ...]" in done.stdout
    from bench.__main__ import SECTIONS
    assert f"one of {', '.join(SECTIONS)}" in " ".join(done.stdout.split())
    assert {"engine", "activations", "mlp", "viz"} <= set(SECTIONS)


def test_a_mistyped_section_is_an_argument_error_listing_the_sections():
    done = run_bench("engine", "egine")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: python -m bench")
    assert "argument SECTION: no section 'egine'; the sections are engine, activations" \
        in done.stderr
    assert done.stdout == ""  # nothing ran
