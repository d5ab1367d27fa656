"""The examples in the docstrings of nn and optim run."""

import doctest
import importlib

import pytest

MODULES = ["nn.module", "nn.layers", "nn.functional", "nn.init", "nn.loss", "nn.serialization",
           "optim.optimizer", "optim.sgd", "optim.rmsprop", "optim.adam", "optim.adagrad",
           "optim.lr_scheduler"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
