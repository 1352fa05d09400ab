"""The package ships type information (PEP 561) for its annotated public API."""

import importlib.resources
import inspect
import typing

import skncf
from skncf import NCFRecommender


def test_package_is_marked_typed():
    assert importlib.resources.files("skncf").joinpath("py.typed").is_file()


def test_public_methods_are_annotated():
    methods = ["fit", "partial_fit", "predict", "score", "recommend", "similar_items", "save"]
    methods += ["encode_pairs", "pair_logits", "catalog_logits"]
    for name in methods:
        hints = typing.get_type_hints(getattr(NCFRecommender, name))
        assert "return" in hints, name
    signature = inspect.signature(NCFRecommender.__init__)
    unannotated = [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.annotation is inspect.Parameter.empty
    ]
    assert unannotated == []
    assert typing.get_type_hints(skncf.load)["return"] is NCFRecommender
