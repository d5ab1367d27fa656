"""Execute every course notebook (notebooks/*.ipynb) top to bottom; a failing cell fails the test.

Each notebook runs in a fresh `python3` kernel with notebooks/ as its working directory, in
memory: the committed file (with its outputs) is read, never rewritten. The notebooks check
their claims with `assert` cells, so executing them is the test.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbclient
import nbclient.exceptions
import nbformat  # nbclient, nbformat and ipykernel come with the dev extra: pip install -e .[dev]
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds per cell


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        # str(error) holds the failing cell's source and its traceback
        pytest.fail(f"{path.name}: a cell failed\n{error}", pytrace=False)
    except nbclient.exceptions.CellTimeoutError as error:
        pytest.fail(f"{path.name}: a cell ran longer than {CELL_TIMEOUT} s\n{error}",
                    pytrace=False)
    print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s")
