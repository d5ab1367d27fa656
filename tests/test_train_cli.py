"""train.py as a newcomer meets it: bad flags, --help, the extra, the printed lines, the drawing."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import train
from nn import functional as F

TRAIN = Path(train.__file__).resolve()

# Run train.py as `python train.py ...` would, with scikit-learn made unimportable: an argument
# error must come before the data (and the `train` extra) are touched.
WITHOUT_SKLEARN = ("import runpy, sys; sys.modules['sklearn'] = None; "
                   "sys.argv = ['train.py', *sys.argv[1:]]; "
                   f"runpy.run_path({str(TRAIN)!r}, run_name='__main__')")


def run_train(tmp_path, *args):
    return subprocess.run([sys.executable, "-c", WITHOUT_SKLEARN, *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--epochs", "2.5"], "argument --epochs: expected a whole number >= 1, got '2.5'"),
    (["--batch-size", "1"], "argument --batch-size: must be >= 2 with BatchNorm"),
    (["--batch-size", "0", "--no-batchnorm"], "argument --batch-size: must be >= 1, got 0"),
    (["--hidden", "abc"], "argument --hidden: expected comma-separated hidden widths >= 1"),
    (["--hidden", ""], "argument --hidden: expected comma-separated hidden widths >= 1"),
    (["--hidden", "256,0"], "argument --hidden: expected comma-separated hidden widths >= 1"),
    (["--lr", "0"], "argument --lr: a learning rate must be in (0, inf), got 0"),
    (["--lr=-1e-3"], "argument --lr: a learning rate must be in (0, inf), got -1e-3"),
    (["--lr", "nan"], "argument --lr: a learning rate must be in (0, inf), got nan"),
    (["--lr", "fast"], "argument --lr: expected a learning rate, got 'fast'"),
    (["--dropout", "-0.5"], "argument --dropout: a probability must be in [0, 1), got -0.5"),
    (["--dropout", "1"], "argument --dropout: a probability must be in [0, 1), got 1"),
    (["--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["--optimizer", "adamm"], "argument --optimizer: invalid choice: 'adamm'"),
])
def test_a_bad_flag_exits_2_with_usage_and_the_allowed_range(tmp_path, args, message):
    done = run_train(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("usage: train.py")
    assert message in done.stderr
    assert list(tmp_path.iterdir()) == []  # no runs/


def test_out_that_is_a_file_is_an_argument_error(tmp_path):
    (tmp_path / "runs").write_text("not a directory")
    done = run_train(tmp_path, "--out", "runs")
    assert done.returncode == 2
    assert "argument --out: 'runs' exists and is not a directory" in done.stderr


def test_without_the_train_extra_the_message_names_it(tmp_path):
    done = run_train(tmp_path, "--epochs", "1")
    assert done.returncode == 1
    assert 'train.py needs sklearn (the `train` extra): python -m pip install -e ".[train]"' \
        in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_shows_every_default(tmp_path):
    done = run_train(tmp_path, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # argparse wraps lines
    for shown in ("--epochs EPOCHS passes over the training set (default: 30)",
                  "(default: 256,128)", "(default: 0.3)", "(default: adam)",
                  "(default: cosine)", "(default: modules)", "(default: runs)",
                  "adam 0.003", "sgd 0.1"):
        assert shown in text
    assert "None" not in text


def test_zero_init_prints_epochs_symmetry_and_everything_that_shapes_the_run(tmp_path, capsys):
    result = train.main(["--epochs", "2", "--hidden", "16,8", "--init", "zeros", "--lr", "0.01",
                         "--seed", "3", "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    # stdout is not a terminal under pytest: one line per epoch, no bar
    assert [line.split(" loss")[0] for line in lines[:2]] == ["epoch 1/2", "epoch 2/2"]
    assert result["distinct_units"] == [(1, 16), (1, 8)]
    assert "layer 1: 1 distinct unit of 16; layer 2: 1 distinct unit of 8" in lines[2]
    assert lines[3].startswith("adam lr=0.01 schedule=cosine, 64-16-8-10 relu init=zeros, "
                               "BatchNorm on, dropout 0.3, batch 64, 2 epochs, seed 3: "
                               "test accuracy ")
    assert len(lines) == 4


def test_default_init_has_as_many_distinct_units_as_units():
    model = train.build_model([64, 16, 8, 10])
    assert train.distinct_units(model) == [(16, 16), (8, 8)]


@pytest.mark.parametrize("detail", ["modules", "full"])
def test_graph_is_drawn_one_node_per_layer_unless_full_detail(tmp_path, detail):
    ag.manual_seed(0)
    model = train.build_model([4, 6, 3])
    model.train()
    with train.trace(model, first_step=True):
        logits = model(ag.randn(5, 4))
    loss = F.cross_entropy(logits, np.arange(5) % 3)
    train.write_graph(loss, model, tmp_path / "graph.svg", detail)
    svg = (tmp_path / "graph.svg").read_text()
    assert ("13 ops, 2 parameters" in svg) == (detail == "modules")  # BatchNorm folded
    assert (">Sum<" in svg) == (detail == "full")  # BatchNorm's mean, drawn as an op
