"""The scorer and the ranking helpers agree with Keras and with brute force."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.exceptions import NotFittedError

from skncf import NCFRecommender
from skncf._serving.ranking import full_ranks, top_k
from skncf._serving.scoring import TRACE_AFTER_CALLS

from .conftest import FAST


def test_served_scores_match_the_keras_graph(fitted, interactions):
    users = np.repeat(np.arange(20), 40)
    items = np.tile(np.arange(40), 20)
    keras_out = fitted.model_.predict([users[:, None], items[:, None]], verbose=0).ravel()
    np.testing.assert_allclose(
        fitted.predict(np.column_stack([users, items])), keras_out, atol=1e-6
    )
    rows = np.vstack([logits for _, logits in fitted.catalog_logits(np.arange(20))])
    np.testing.assert_allclose(rows.ravel(), fitted.pair_logits(users, items), atol=1e-5)


def test_pairs_score_the_same_once_traced(fitted):
    scorer = fitted._scorer.__class__(fitted.model_)  # a new scorer: its calls counted
    users, items = np.arange(20), np.arange(20)[::-1]
    op_by_op = scorer.pairs(users, items)
    for _ in range(TRACE_AFTER_CALLS):
        scorer.pairs(users[:1], items[:1])
    assert scorer._traced_pairs is not None
    np.testing.assert_allclose(scorer.pairs(users, items), op_by_op, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("architecture", ["gmf", "neumf"])
def test_pairs_are_scored_in_chunks_that_bound_every_row_they_hold(
    interactions, monkeypatch, architecture
):
    # GMF's chunks once counted one float a pair: scoring all pairs of 3,000 users and
    # 3,600 items held (10.8 million, latent_dim) arrays and ran out of memory
    import skncf._serving.scoring as scoring

    rec = NCFRecommender(architecture, **FAST).fit(interactions)  # latent_dim 8
    users, items = np.repeat(np.arange(30), 40), np.tile(np.arange(40), 30)
    expected = rec.pair_logits(users, items)
    monkeypatch.setattr(scoring, "CHUNK_FLOATS", 2048)
    scorer = scoring.Scorer(rec.model_)
    chunks = []
    pairs = scorer._pairs_logits
    monkeypatch.setattr(scorer, "_pairs_logits", lambda u, i: chunks.append(len(u)) or pairs(u, i))
    np.testing.assert_allclose(scorer.pairs(users, items), expected, rtol=1e-6, atol=1e-7)
    rows = 2 * 8 if architecture == "gmf" else 4 * 8 + 16  # both sides' rows, the tower
    assert len(chunks) > 1 and max(chunks) * rows <= 2048


def test_seed_graph_is_the_notebook_graph(interactions):
    # With the notebook's loss; the softmax loss adds per-user and per-item biases.
    rec = NCFRecommender(architecture="seed", loss="log", **FAST).fit(interactions)
    layers = {layer.name: layer for layer in rec.model_.layers}
    kinds = [type(layer).__name__ for layer in rec.model_.layers]
    assert (
        kinds.count("Dropout") == 3 and kinds.count("Multiply") == 1 and kinds.count("Flatten") == 2
    )
    assert layers["seed_dense"].units == 50 and layers["seed_dense"].activation.__name__ == "linear"
    assert layers["prediction"].activation.__name__ == "sigmoid"
    assert type(layers["prediction"].kernel_initializer).__name__ == "LecunUniform"
    init = layers["user_embedding"].embeddings_initializer
    assert type(init).__name__ == "RandomUniform" and (init.minval, init.maxval) == (-0.05, 0.05)
    rates = [layer.rate for layer in rec.model_.layers if type(layer).__name__ == "Dropout"]
    assert rates == [0.5, 0.5, 0.5]


def test_neumf_concatenates_gmf_and_mlp(fitted):
    names = {layer.name for layer in fitted.model_.layers}
    expected = {
        "seed": {"seed_dense", "gmf"},
        "gmf": {"gmf"},
        "mlp": {"mlp_input", "mlp_dense_0", "mlp_dense_1"},
        "neumf": {"gmf", "mlp_input", "neumf"},
    }[fitted.architecture]
    assert expected <= names
    if fitted.architecture in ("gmf", "mlp"):
        assert "neumf" not in names


def _brute_force_ranks(scorer, seen, users, items, held_out=None):
    dense = seen.toarray() > 0
    held_out = np.ones(len(users), dtype=bool) if held_out is None else held_out
    ranks = []
    for u, i in zip(users, items):
        scores = scorer.pairs(np.full(scorer.n_items, u), np.arange(scorer.n_items))
        relevant = set(items[(users == u) & held_out].tolist())  # they do not compete
        others = [j for j in range(scorer.n_items)
                  if j != i and not dense[u, j] and j not in relevant]  # fmt: skip
        ranks.append(sum(scores[j] >= scores[i] for j in others))
    return np.array(ranks)


def test_full_ranks_match_brute_force(fitted, interactions):
    rng = np.random.default_rng(1)
    users = rng.integers(0, 60, size=50)
    items = rng.integers(0, 40, size=50)
    got = full_ranks(fitted._scorer, fitted.seen_, users, items)
    np.testing.assert_array_equal(
        got, _brute_force_ranks(fitted._scorer, fitted.seen_, users, items)
    )


def test_ties_count_against_the_target():
    class Flat:
        n_items = 5

        def rows(self, users, vectors=None):
            yield 0, np.zeros((len(users), 5), dtype=np.float32)

    import scipy.sparse as sp

    seen = sp.csr_array(np.array([[1, 0, 0, 0, 0]], dtype=np.float32))
    # Item 3 ties with the 3 other unseen items: rank 3. Seen item 0 ties with 4 unseen.
    assert full_ranks(Flat(), seen, np.array([0]), np.array([3])).tolist() == [3]
    assert full_ranks(Flat(), seen, np.array([0]), np.array([0])).tolist() == [4]
    # held out together, item 3 is relevant and does not push item 0 down; one that is
    # not held out (y == 0 in score) does
    both = np.array([0, 0]), np.array([3, 0])
    assert full_ranks(Flat(), seen, *both).tolist() == [3, 3]
    assert full_ranks(Flat(), seen, *both, held_out=np.array([False, True])).tolist() == [3, 4]


def test_top_k_is_sorted_and_exact():
    logits = np.random.default_rng(0).normal(size=(30, 50)).astype(np.float32)
    for k in (1, 5, 50):
        np.testing.assert_array_equal(top_k(logits, k), np.argsort(-logits, axis=1)[:, :k])


def test_top_k_breaks_ties_by_the_lower_index_at_the_cut_too():
    # few distinct values: most cuts fall inside a run of equal entries, where a
    # partition may pick any of them; the lowest indices are TensorFlow's top_k's choice
    rng = np.random.default_rng(1)
    logits = rng.integers(0, 4, size=(200, 30)).astype(np.float32)
    logits[:20, 25:] = -np.inf  # masked entries tie too
    stable = np.argsort(-logits, axis=1, kind="stable")
    for k in (1, 3, 7, 26, 30):
        np.testing.assert_array_equal(top_k(logits, k), stable[:, :k])
        np.testing.assert_array_equal(top_k(logits, k), tf.math.top_k(logits, k).indices)
    assert top_k(np.array([[1.0, 2.0, 2.0, 2.0, 0.0]]), 2).tolist() == [[1, 2]]


def test_implicit_score_is_ndcg_at_10(interactions):
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions)
    rng = np.random.default_rng(2)
    pairs = np.column_stack([rng.integers(0, 60, 30), rng.integers(0, 40, 30)])
    ranks = _brute_force_ranks(rec._scorer, rec.seen_, pairs[:, 0], pairs[:, 1])
    expected = np.mean(np.where(ranks < 10, 1 / np.log2(ranks + 2), 0))
    assert rec.score(pairs) == pytest.approx(expected)
    y = np.arange(30) % 2  # y == 0: no interaction, left out, and not relevant
    ranks = _brute_force_ranks(rec._scorer, rec.seen_, pairs[:, 0], pairs[:, 1], y > 0)
    expected_half = np.mean(np.where(ranks < 10, 1 / np.log2(ranks + 2), 0)[y > 0])
    assert rec.score(pairs, y) == pytest.approx(expected_half)


def test_score_ranks_each_held_out_item_among_the_items_not_held_out():
    # a user's other held-out items are relevant too: a model that ranks all of them
    # first scores 1, not the mean of 1 / log2(rank + 2) over ranks 0, 1, 2, ...
    X = np.array([(u, (u + t) % 30) for u in range(40) for t in range(10)])
    rec = NCFRecommender(architecture="gmf", **FAST).fit(X)
    users = np.repeat([0, 1, 2], 5)
    best = rec.recommend([0, 1, 2], k=5).ravel()
    assert rec.score(np.column_stack([users, best])) == pytest.approx(1.0)
    # an item held out with y == 0 is no interaction: it competes as any other
    y = np.ones(15)
    y[0] = 0  # user 0's best item
    assert rec.score(np.column_stack([users, best]), y) < 1.0


@pytest.mark.parametrize("model", ["seed", "mlp", "neumf"])
def test_explicit_graphs_with_biases_match_keras(ratings, model):
    X, y = ratings
    rec = NCFRecommender(architecture=model, feedback="explicit", **FAST).fit(X, y)
    assert {"user_bias", "item_bias"} <= {layer.name for layer in rec.model_.layers}
    keras_out = rec.model_.predict([X[:, :1], X[:, 1:]], verbose=0).ravel()
    expected = y.min() + (y.max() - y.min()) * keras_out
    np.testing.assert_allclose(rec.predict(X), expected, atol=1e-4)
    rows = np.vstack([logits for _, logits in rec._scorer.rows(np.arange(5))])
    np.testing.assert_allclose(
        rows.ravel(),
        rec._scorer.pairs(
            np.repeat(np.arange(5), len(rec.items_)), np.tile(np.arange(len(rec.items_)), 5)
        ),
        atol=1e-5,
    )


def test_the_evaluation_interface_encodes_and_scores_by_code(fitted, interactions):
    X = np.vstack([interactions[:5], [[interactions[0, 0], 999], [999, interactions[0, 1]]]])
    codes = fitted.encode_pairs(X)
    known = codes.user_known & codes.item_known
    assert known.tolist() == [True] * 5 + [False, False]
    assert codes.item_known[5] == False and codes.user_known[6] == False  # noqa: E712
    np.testing.assert_array_equal(fitted.users_[codes.users[:5]], X[:5, 0])
    np.testing.assert_array_equal(fitted.items_[codes.items[:5]], X[:5, 1])
    logits = fitted.pair_logits(codes.users[known], codes.items[known])
    np.testing.assert_allclose(fitted.predict(X[:5]), 1 / (1 + np.exp(-logits)), rtol=1e-5)
    blocks = list(fitted.catalog_logits(codes.users[known]))
    assert [start for start, _ in blocks][0] == 0
    rows = np.vstack([block for _, block in blocks])
    assert rows.shape == (5, len(fitted.items_))
    np.testing.assert_allclose(rows[np.arange(5), codes.items[:5]], logits, atol=1e-5)
    assert fitted.seen_.shape == (len(fitted.users_), len(fitted.items_))
    assert fitted.seen_[codes.users[:5], codes.items[:5]].tolist() == [1] * 5
    # the ids as read tell apart the unknown ids that share code 0
    same, user_ids, item_ids = fitted.encode_pairs(X, return_ids=True)
    np.testing.assert_array_equal(same.users, codes.users)
    assert user_ids.tolist() == X[:, 0].tolist() and item_ids.tolist() == X[:, 1].tolist()
    with pytest.raises(TypeError, match="return_ids must be True or False"):
        fitted.encode_pairs(X, return_ids="yes")


def test_the_evaluation_interface_rejects_bad_codes(fitted_gmf):
    n_users = len(fitted_gmf.users_)
    with pytest.raises(ValueError, match=rf"users codes must lie in \[0, {n_users}\)"):
        fitted_gmf.pair_logits([0, n_users], [0, 1])
    with pytest.raises(ValueError, match="users codes must lie"):
        fitted_gmf.catalog_logits([-1])
    with pytest.raises(TypeError, match="items must be a 1-d array of integer codes"):
        fitted_gmf.pair_logits([0], [0.5])
    with pytest.raises(ValueError, match="users has 2 codes but items has 1"):
        fitted_gmf.pair_logits([0, 1], [0])
    with pytest.raises(NotFittedError):
        NCFRecommender().encode_pairs([[0, 1]])
