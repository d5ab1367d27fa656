"""`import autograd` in a directory that also holds HIPS autograd's files (the other PyPI
`autograd`, installed over or under this one) fails with an ImportError that says what
happened and how to fix it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograd

PACKAGE = Path(autograd.__file__).parent


def _import_from(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import autograd; print(autograd.__file__)"],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": ""},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "autograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_a_clean_copy_imports(copied: Path):
    result = _import_from(copied)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(copied / "autograd" / "__init__.py")


@pytest.mark.parametrize("hips_file", ["tracer.py", "wrap_util.py", "numpy/__init__.py"])
def test_a_file_of_hips_autograd_beside_ours_is_an_import_error_saying_how_to_fix_it(
        copied: Path, hips_file: str):
    fake = copied / "autograd" / hips_file
    fake.parent.mkdir(exist_ok=True)
    fake.write_text("# a file of HIPS autograd\n")
    result = _import_from(copied)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: autograd: ")
    assert "holds files of HIPS autograd (PyPI 'autograd': " + hips_file.split("/")[0] in last
    assert "virtual environment" in last and "pip uninstall autograd" in last
