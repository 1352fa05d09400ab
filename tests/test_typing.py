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


def test_signatures_read_as_written():
    # help() and a notebook's tooltip print inspect.signature: numpy's ArrayLike, evaluated,
    # is a union of eight types, which made recommend's signature some 2,000 characters
    import skncf.plotting

    public = [skncf.FoldedUsers, NCFRecommender, skncf.plotting]
    callables = [
        member
        for owner in public
        for name, member in inspect.getmembers(owner, callable)
        if not name.startswith("_") and getattr(member, "__module__", "").startswith("skncf")
    ]
    assert len(callables) > 20
    for member in callables:
        assert "_SupportsArray" not in str(inspect.signature(member)), member.__qualname__
    assert "users: 'ArrayLike'" in str(inspect.signature(NCFRecommender.recommend))
