"""init="popularity": the softmax by users starts its item biases at log popularity."""

import numpy as np
import pandas as pd
import pytest

from skncf import NCFRecommender
from skncf.datasets import make_interactions

# a learning rate so small that one epoch leaves the start where it was
FROZEN = {"epochs": 1, "learning_rate": 1e-9, "random_state": 0}


def item_biases(rec):
    return rec.model_.get_layer("item_bias").get_weights()[0][:, 0]


def expected_start(rec, X):
    counts = pd.Series(np.asarray(X)[:, 1]).value_counts()
    bias = 0.5 * np.log1p(counts.reindex(rec.items_).to_numpy(dtype=float))
    return bias - bias.mean()


@pytest.fixture(scope="module")
def X():
    X, _ = make_interactions(n_users=60, n_items=30, random_state=0)
    return X


@pytest.mark.parametrize("architecture", ["gmf", "seed", "mlp", "neumf"])
def test_the_biases_start_at_half_the_log_count_centred(X, architecture):
    rec = NCFRecommender(architecture=architecture, n_negatives="all", **FROZEN).fit(X)
    np.testing.assert_allclose(item_biases(rec), expected_start(rec, X), atol=1e-5)
    assert np.ptp(item_biases(rec)) > 0.1  # the counts differ: the start is not flat


def test_the_popularity_start_ranks_by_popularity_before_training(X):
    rec = NCFRecommender(**FROZEN).fit(X)
    counts = pd.Series(X[:, 1]).value_counts().reindex(rec.items_).to_numpy()
    order = np.argsort(-item_biases(rec), kind="stable")
    assert np.all(np.diff(counts[order]) <= 0)


def test_the_default_takes_fewer_epochs_than_a_random_start(X):
    assert NCFRecommender(random_state=0).fit(X).epochs_ == 14
    assert NCFRecommender(init="random", random_state=0).fit(X).epochs_ == 20
    assert NCFRecommender(epochs=3, random_state=0).fit(X).epochs_ == 3


@pytest.mark.parametrize(
    ("settings", "has_biases", "auto_epochs"),
    [
        ({"init": "random"}, True, 20),
        ({"n_negatives": 8}, True, 10),  # the per-positive sampled softmax
        ({"loss": "log", "n_negatives": "all"}, False, 20),  # no biases to start
    ],
    ids=["random", "per positive", "log loss"],
)
def test_other_paths_start_random(X, settings, has_biases, auto_epochs):
    rec = NCFRecommender(**settings, **FROZEN).fit(X)
    assert ("item_bias" in {layer.name for layer in rec.model_.layers}) == has_biases
    if has_biases:
        np.testing.assert_allclose(item_biases(rec), 0.0, atol=1e-5)
    assert NCFRecommender(**settings, random_state=0).fit(X).epochs_ == auto_epochs


def test_items_known_by_features_alone_keep_zero_biases(X):
    items = np.unique(X[:, 1])
    features = pd.DataFrame({"kind": items % 3}, index=items)
    rec = NCFRecommender(id_embeddings=False, item_features=features, **FROZEN)
    rec.set_params(epochs="auto").fit(X)
    assert rec.epochs_ == 20  # no start: the random start's epochs
    np.testing.assert_array_equal(item_biases(rec), 0.0)


def test_continued_fits_keep_their_trained_biases(X):
    rec = NCFRecommender(epochs=2, random_state=0).fit(X)
    before = item_biases(rec).copy()
    rec.set_params(**FROZEN, warm_start=True).fit(X)
    np.testing.assert_allclose(item_biases(rec), before, atol=1e-5)
    rec.partial_fit(X)
    np.testing.assert_allclose(item_biases(rec), before, atol=1e-5)
