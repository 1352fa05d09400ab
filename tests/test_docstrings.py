"""Every object of the API reference has a complete numpydoc docstring.

The objects are read from ``docs/api.rst``, with the public methods of its classes, so
that a new entry there is checked without editing this file.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest
from numpydoc.validate import validate

API = Path(__file__).resolve().parent.parent / "docs" / "api.rst"
# every parameter documented with a type and a description, and what comes back
CHECKS = {"PR01", "PR02", "PR04", "PR07", "RT01", "RT03", "YD01"}
SKLEARN_METHODS = {"get_params", "set_params", "get_metadata_routing"}


def api_names():
    names = re.findall(r"^   ([\w.]+)$", API.read_text(), flags=re.MULTILINE)
    found = []
    for name in names:
        found.append(f"skncf.{name}")
        module, _, attribute = f"skncf.{name}".rpartition(".")
        obj = getattr(importlib.import_module(module), attribute)
        if inspect.isclass(obj):
            found += [
                f"skncf.{name}.{method}"
                for method, _ in inspect.getmembers(obj, inspect.isfunction)
                if not method.startswith("_")
                and method not in SKLEARN_METHODS
                and not method.startswith("set_")
            ]
    return found


def test_the_api_reference_lists_what_it_should():
    names = api_names()
    assert "skncf.NCFRecommender.recommend" in names and "skncf.metrics.ndcg_at_k" in names


@pytest.mark.parametrize("name", api_names())
def test_docstring_is_complete(name):
    errors = [f"{code}: {text}" for code, text in validate(name)["errors"] if code in CHECKS]
    assert not errors, errors
