import contextlib
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import skncf
from skncf import NCFRecommender
from skncf._graph.graphs import ARCHITECTURES, GraphLayout, build_graph

from .conftest import FAST

SKNCF = pathlib.Path(__file__).parent.parent / "skncf"


def _graph(architecture, biases):
    return build_graph(
        architecture, n_users=5, n_items=7, latent_dim=4, mlp_layers=(6, 3), dropout=0.0,
        l2=0.0, seeds=iter(range(100)), biases=biases,
    )  # fmt: skip


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layout_finds_every_weight_of_the_graph(architecture, biases):
    graph = _graph(architecture, biases)
    layout = GraphLayout.of(graph)
    found = [table for pair in layout.tables() for table in pair] + layout.dense_layers()
    assert {layer.name for layer in found} == {
        layer.name for layer in graph.layers if layer.weights
    }
    assert (layout.gmf is not None) == (architecture != "mlp")
    assert (layout.tower is not None) == (architecture in ("mlp", "neumf"))
    assert (layout.seed_dense is not None) == (architecture == "seed")
    assert (layout.biases is not None) == biases
    assert [t.input_dim for t in layout.embeddings("item")] == [7] * len(layout.embeddings("user"))


def test_layer_names_are_known_to_the_graph_module_only():
    names = {layer.name for layer in _graph("neumf", True).layers} | {"seed_dense"}
    # the inputs, and layers named after their architecture, are words every module uses
    names -= {"user", "item", *ARCHITECTURES}
    pattern = re.compile(r"[\"']({})[\"'_]".format("|".join(sorted(names))))
    found = {
        path.name: pattern.findall(path.read_text())
        for path in SKNCF.rglob("*.py")
        if path.relative_to(SKNCF).as_posix() != "_graph/graphs.py"
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


@contextlib.contextmanager
def keras_global_dtype(policy):
    """Keras' global float type and dtype policy set to ``policy`` (as a user's
    ``keras.config.set_floatx`` before building anything would), then restored."""
    floatx, previous = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(policy.removeprefix("mixed_"))
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(previous)


def _fit_and_use(X, y, settings, path):
    """``(used, dtypes, rec)``: what a fitted model gives (its scores, top items, a folded-in
    user's and its file's scores), the dtypes of its weights, and the model."""
    rec = NCFRecommender(**{**FAST, **settings}).fit(X, y)
    path.mkdir()
    history = X[X[:, 0] == X[0, 0]]
    used = [rec.predict(X), rec.recommend(X[:5, 0], k=3)]
    if rec.feedback == "implicit":
        used.append(rec.fold_in(history).recommend(history[:1, 0], k=3))
    used.append(skncf.load(rec.save(path / "model.skncf")).predict(X))
    return used, [weights.dtype for weights in rec.model_.get_weights()], rec


SETTINGS = {
    "by-users": {},
    "per-positive": {"architecture": "neumf", "loss": "log"},
    "explicit": {"feedback": "explicit"},
}


@pytest.fixture(scope="module", params=list(SETTINGS))
def at_float32(request, interactions, ratings, tmp_path_factory):
    """``(settings, X, y, uses)``: a setting, its data and its uses at Keras' default
    float32, computed once for all the policies compared with it."""
    settings = SETTINGS[request.param]
    X, y = ratings if settings.get("feedback") == "explicit" else (interactions, None)
    uses, _, _ = _fit_and_use(X, y, settings, tmp_path_factory.mktemp(request.param) / "f32")
    return settings, X, y, uses


@pytest.mark.parametrize("policy", ["float64", "float16", "mixed_float16"])
def test_a_global_keras_dtype_leaves_models_float32(at_float32, policy, tmp_path):
    settings, X, y, expected = at_float32
    with keras_global_dtype(policy):
        found, dtypes, rec = _fit_and_use(X, y, settings, tmp_path / policy)
        served = tf.saved_model.load(rec.export(tmp_path / "served")).signatures
    assert set(dtypes) == {np.dtype("float32")}
    for there, here in zip(expected, found, strict=True):
        np.testing.assert_array_equal(here, there)
    # the export serves float32 scores too: predict's, up to float32 rounding (a batch of
    # another shape may round otherwise)
    score = served["serving_default"](user=tf.constant(X[:, 0]), item=tf.constant(X[:, 1]))
    np.testing.assert_allclose(score["score"].numpy(), expected[0], rtol=1e-6)
