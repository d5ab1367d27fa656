"""The examples in the docstrings of nn and optim run."""

import doctest
import importlib

import pytest

MODULES = ["nn.module", "nn.layers", "nn.functional", "nn.init", "nn.loss", "nn.serialization",
           "optim.optimizer", "optim.sgd", "optim.rmsprop", "optim.adam", "optim.adagrad",
           "optim.nadam", "optim.radam", "optim.adamax", "optim.adadelta", "optim.lr_scheduler",
           "optim.lr_scheduler.base", "optim.lr_scheduler.decay", "optim.lr_scheduler.cycles",
           "optim.lr_scheduler.composite", "optim.lr_scheduler.plateau"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
