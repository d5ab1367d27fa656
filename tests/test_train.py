"""The main job, small: train.py's main() for two epochs into a temporary directory."""

import numpy as np

import nn
import train


def test_main_trains_and_writes_model_curves_and_graph(tmp_path, capsys):
    result = train.main(["--epochs", "2", "--hidden", "64", "--out", str(tmp_path), "--quiet"])
    assert result["test_accuracy"] > 0.85  # chance is 0.1
    for name in ("model.npz", "curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "test accuracy" in capsys.readouterr().out
    svg = tmp_path / "graph.svg"
    if "graph.svg" in result["paths"]:
        assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        assert "0.weight" in archive.files and "1.running_var" in archive.files


def test_saved_model_reloads_to_the_same_accuracy(tmp_path):
    result = train.main(["--epochs", "1", "--hidden", "32", "--out", str(tmp_path), "--quiet",
                         "--optimizer", "momentum", "--activation", "tanh", "--init", "xavier"])
    model = train.build_model([64, 32, 10], activation="tanh")
    model.load_state_dict(nn.load(tmp_path / "model.npz"))
    _, _, x_test, y_test = train.load_digits()
    _, accuracy = train.evaluate(model, x_test, y_test)
    assert accuracy == result["test_accuracy"]


def test_zero_init_is_stuck_near_chance(tmp_path):
    result = train.main(["--epochs", "2", "--init", "zeros", "--no-batchnorm", "--dropout", "0",
                         "--out", str(tmp_path), "--quiet", "--schedule", "none"])
    assert result["test_accuracy"] < 0.3


def test_compiled_training_gives_the_same_numbers(tmp_path):
    flags = ["--epochs", "2", "--hidden", "32,16", "--quiet", "--schedule", "step"]
    eager = train.main(flags + ["--out", str(tmp_path / "eager")])
    compiled = train.main(flags + ["--out", str(tmp_path / "compiled"), "--compile"])
    assert compiled["history"] == eager["history"]
