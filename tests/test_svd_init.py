"""init="svd": the GMF product starts as a truncated SVD of the interactions."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from skncf import NCFRecommender
from skncf._data.interactions import interaction_matrix
from skncf._graph.graphs import build_graph
from skncf._training.svd_start import start_gmf_from_svd
from skncf.datasets import make_interactions


def gmf_graph(n_users, n_items, latent_dim, architecture="gmf"):
    return build_graph(
        architecture,
        n_users=n_users,
        n_items=n_items,
        latent_dim=latent_dim,
        mlp_layers=(8,),
        dropout=0.0,
        l2=0.0,
        seeds=itertools.count(),
    )


def start(graph, interactions, loss="softmax", n_negatives=4):
    start_gmf_from_svd(graph, interactions, loss=loss, n_negatives=n_negatives, random_state=0)


def tables(graph):
    return [graph.get_layer(name).get_weights()[0] for name in ("user_embedding", "item_embedding")]


@pytest.mark.parametrize("architecture", ["gmf", "neumf"])
def test_the_product_starts_as_the_best_low_rank_approximation(architecture):
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 20)) < 0.3) * rng.integers(1, 4, size=(30, 20))
    graph = gmf_graph(30, 20, 4, architecture)
    (p0, q0) = tables(graph)
    start(graph, sp.csr_array(dense.astype(np.float32)))
    p, q = tables(graph)
    s = np.linalg.svd(dense, compute_uv=False)
    best_error = np.sqrt(np.sum(s[4:] ** 2))  # Eckart-Young: the best rank-4 approximation
    error = np.linalg.norm(dense - (p - p0) @ (q - q0).T)
    assert best_error <= error < 1.01 * best_error, (error, best_error)
    gram_p, gram_q = (p - p0).T @ (p - p0), (q - q0).T @ (q - q0)
    np.testing.assert_allclose(gram_p, gram_q, atol=1e-4)  # U sqrt(S) and V sqrt(S), added
    np.testing.assert_allclose(gram_p, np.diag(np.diag(gram_p)), atol=1e-4)
    kernel = graph.get_layer("prediction").get_weights()[0]
    np.testing.assert_array_equal(kernel[:4], kernel[0, 0])  # a scaled dot product
    assert kernel[0, 0] >= 1.0
    assert len(kernel) == 4 or not np.allclose(kernel[4:], kernel[0, 0])  # NeuMF's tower: as it was


def test_a_latent_dim_above_the_rank_keeps_the_rest_random():
    interactions = sp.csr_array(np.eye(3, 5, dtype=np.float32))
    graph = gmf_graph(3, 5, 8)
    (p0, q0) = tables(graph)
    start(graph, interactions)
    p, q = tables(graph)
    np.testing.assert_array_equal(p[:, 3:], p0[:, 3:])
    np.testing.assert_array_equal(q[:, 3:], q0[:, 3:])
    np.testing.assert_allclose((p - p0) @ (q - q0).T, interactions.toarray(), atol=1e-5)


@pytest.fixture(scope="module")
def grouped():
    return make_interactions(
        n_users=300, n_items=120, n_groups=6, interactions_per_user=10, random_state=0
    )


@pytest.fixture(scope="module")
def grouped_matrix(grouped):
    X, _ = grouped
    return interaction_matrix(X[:, 0], X[:, 1], 300, 120)


def softmax_loss(logits, positives, scale):
    """Mean over positives of the full softmax's loss, logits scaled by ``scale``."""
    rows, columns = positives.nonzero()
    return np.mean(logsumexp(scale * logits[rows], axis=1) - scale * logits[rows, columns])


@pytest.mark.slow
@pytest.mark.parametrize("n_items", [120, 3000])  # all items in the fit's sample; 1,024 of them
def test_the_softmax_starts_at_the_scale_that_fits_it_best(n_items):
    X, _ = make_interactions(
        n_users=300, n_items=n_items, n_groups=6, interactions_per_user=10, random_state=0
    )
    positives = interaction_matrix(X[:, 0], X[:, 1], 300, n_items)
    graph = gmf_graph(300, n_items, 8)
    start(graph, positives)
    p, q = tables(graph)
    kernel = graph.get_layer("prediction").get_weights()[0]
    logits = p @ q.T
    best = minimize_scalar(
        lambda s: softmax_loss(logits, positives, s), bounds=(0.1, 100), method="bounded"
    ).x
    assert best > 2  # the plain dot product (1) is far too flat here
    # fitted on a sample of positives and items: close to, not at, the full loss's minimum
    assert abs(kernel[0, 0] - best) < 0.1 * best, (kernel[0, 0], best)


def test_the_log_loss_starts_at_the_fitted_slope_and_bias(grouped_matrix):
    graph = gmf_graph(300, 120, 8)
    start(graph, grouped_matrix, loss="log", n_negatives=4)
    p, q = tables(graph)
    kernel, bias = graph.get_layer("prediction").get_weights()
    np.testing.assert_array_equal(kernel[:8], kernel[0, 0])
    logits = kernel[0, 0] * (p @ q.T) + bias[0]
    positives = grouped_matrix.toarray() > 0
    # one positive to four random items: a positive's mean probability well above an
    # other item's, and the average over that mix near its base rate of 1 / 5
    probability = 1 / (1 + np.exp(-logits))
    assert probability[positives].mean() > 2 * probability[~positives].mean()
    base_rate = (probability[positives].mean() + 4 * probability.mean()) / 5
    assert abs(base_rate - 0.2) < 0.03, base_rate
    assert bias[0] < 0  # the plain start (bias 0, every pair near 0.5 or above) is not


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["softmax", "log"])
@pytest.mark.parametrize("model", ["gmf", "neumf"])
def test_one_epoch_from_the_svd_ranks_better_than_from_random(grouped, model, loss):
    X, _ = grouped
    held_out = np.random.default_rng(0).random(len(X)) < 0.2
    params = dict(architecture=model, loss=loss, latent_dim=8, epochs=1, random_state=0)
    scores = {
        init: NCFRecommender(init=init, **params).fit(X[~held_out]).score(X[held_out])
        for init in ("random", "svd")
    }
    assert scores["svd"] > scores["random"] + 0.05, scores


@pytest.mark.slow
def test_svd_init_is_repeatable_and_used_by_pretraining(grouped):
    X, _ = grouped
    params = dict(architecture="neumf", init="svd", latent_dim=8, epochs=1, random_state=3)
    first, again = (NCFRecommender(**params).fit(X) for _ in range(2))
    np.testing.assert_array_equal(first.predict(X[:40]), again.predict(X[:40]))
    random_start = NCFRecommender(**{**params, "init": "random"}).fit(X)
    assert not np.allclose(first.predict(X[:40]), random_start.predict(X[:40]))
    pretrained = NCFRecommender(pretrain=True, **params).fit(X)
    plain = NCFRecommender(pretrain=True, **{**params, "init": "random"}).fit(X)
    assert not np.allclose(pretrained.predict(X[:40]), plain.predict(X[:40]))


@pytest.mark.slow
def test_svd_init_reads_only_the_training_positives_and_their_weights(grouped):
    X, _ = grouped
    weights = np.random.default_rng(1).integers(0, 3, size=len(X)).astype(float)
    # per positive (a catalog-wide n_negatives): one epoch of 1e-3 moves predictions
    # less than by users (0.003), so the tolerance below tells the start apart
    params = dict(architecture="gmf", init="svd", latent_dim=8, epochs=1, random_state=0)
    params.update(n_negatives=10**6)
    weighted = NCFRecommender(**params).fit(X, weights)
    kept = NCFRecommender(**params).fit(X[weights > 0], weights[weights > 0])
    # rows of weight 0 change nothing (but float rounding: 4e-5 with init="random" too)
    np.testing.assert_allclose(weighted.predict(X[:40]), kept.predict(X[:40]), atol=1e-3)
    unweighted = NCFRecommender(**params).fit(X[weights > 0])
    # the weights move the start (0.09 here; with init="random", one epoch moves 0.001)
    assert np.abs(weighted.predict(X[:40]) - unweighted.predict(X[:40])).max() > 0.01


@pytest.mark.parametrize("n_negatives,expected", [(8, 8), ("auto", 4), ("all", 4)])
def test_the_log_loss_start_calibrates_against_the_fits_own_negatives(
    grouped, monkeypatch, n_negatives, expected
):
    from skncf import _estimator

    seen = []

    def record(*args, n_negatives, **kwargs):
        seen.append(n_negatives)

    monkeypatch.setattr(_estimator, "start_gmf_from_svd", record)
    params = dict(
        architecture="gmf", init="svd", loss="log", latent_dim=8, epochs=1, random_state=0
    )
    NCFRecommender(**params, n_negatives=n_negatives).fit(grouped[0])
    assert seen == [expected]  # by users ("all"), the paper's 4
