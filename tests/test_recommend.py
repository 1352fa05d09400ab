"""recommend, similar_items, similar_users and the handle_unknown fallbacks."""

import numpy as np
import pandas as pd
import pytest

from skncf import NCFRecommender

from .conftest import FAST, seen_items


def test_recommend_shapes_order_and_no_seen_items(fitted, interactions):
    users = np.unique(interactions[:, 0])
    items, scores = fitted.recommend(users, k=7, return_scores=True)
    assert items.shape == scores.shape == (len(users), 7)
    assert np.all(np.diff(scores, axis=1) <= 0)
    for user, row in zip(users, items):
        assert len(set(row)) == 7
        assert not set(row) & seen_items(interactions, user)


def test_recommend_scores_are_the_predictions_of_the_same_pairs(fitted, interactions):
    users = np.unique(interactions[:, 0])[:10]
    items, scores = fitted.recommend(users, k=5, return_scores=True)
    pairs = np.column_stack([np.repeat(users, 5), items.ravel()])
    np.testing.assert_allclose(fitted.predict(pairs), scores.ravel(), rtol=1e-5, atol=1e-6)


def test_recommend_is_the_top_of_all_predictions(fitted_gmf, interactions):
    user = interactions[0, 0]
    all_items = fitted_gmf.items_
    predictions = fitted_gmf.predict(np.column_stack([np.full(len(all_items), user), all_items]))
    unseen = np.array([item not in seen_items(interactions, user) for item in all_items])
    best = all_items[unseen][np.argsort(-predictions[unseen], kind="stable")][:5]
    np.testing.assert_array_equal(fitted_gmf.recommend(user, k=5)[0], best)


def test_exclude_seen_false_ranks_the_whole_catalog(fitted_gmf):
    items = fitted_gmf.recommend(
        fitted_gmf.users_[:3], k=len(fitted_gmf.items_), exclude_seen=False
    )
    for row in items:
        assert sorted(row) == sorted(fitted_gmf.items_)


def test_single_user_id_gives_one_row(fitted_gmf):
    assert fitted_gmf.recommend(fitted_gmf.users_[0], k=3).shape == (1, 3)


def test_unknown_ids_with_ignore_fall_back(interactions):
    rec = NCFRecommender(architecture="gmf", handle_unknown="ignore", **FAST).fit(interactions)
    counts = np.bincount(interactions[:, 1], minlength=40)
    most_popular = np.argsort(-counts, kind="stable")[:3]
    items, scores = rec.recommend([interactions[0, 0], 10**6], k=3, return_scores=True)
    np.testing.assert_array_equal(items[1], most_popular)
    np.testing.assert_array_equal(scores[1], 0.0)
    assert np.all(scores[0] > 0)
    np.testing.assert_array_equal(rec.predict([[999, 0], [0, 999]]), [0.0, 0.0])
    assert rec.similar_items([12345], k=2).shape == (1, 2)


def test_explicit_unknown_pairs_get_the_mean_rating(ratings):
    X, y = ratings
    rec = NCFRecommender(architecture="gmf", feedback="explicit", handle_unknown="ignore", **FAST)
    rec.fit(X, y)
    assert rec.predict([[10**6, X[0, 1]]])[0] == pytest.approx(y.mean())


def test_similar_items_exclude_the_item_itself(fitted):
    items = fitted.items_[:10]
    neighbours, sims = fitted.similar_items(items, k=4, return_scores=True)
    assert neighbours.shape == (10, 4)
    assert not np.any(neighbours == items[:, None])
    assert np.all(np.diff(sims, axis=1) <= 1e-7) and np.all(np.abs(sims) <= 1 + 1e-6)


def test_similar_users_are_the_nearest_user_embeddings(fitted_gmf, interactions):
    vectors = fitted_gmf.model_.get_layer("user_embedding").get_weights()[0]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = unit[:10] @ unit.T
    cosines[np.arange(10), np.arange(10)] = -np.inf  # never one's own neighbour
    users = fitted_gmf.users_[:10]
    neighbours, sims = fitted_gmf.similar_users(users, k=4, return_scores=True)
    np.testing.assert_array_equal(neighbours, fitted_gmf.users_[np.argsort(-cosines)[:, :4]])
    np.testing.assert_allclose(sims, -np.sort(-cosines)[:, :4], rtol=1e-5, atol=1e-6)

    with pytest.raises(ValueError, match="users contains 1 id"):
        fitted_gmf.similar_users([10**6])
    n = len(fitted_gmf.users_)
    with pytest.raises(ValueError, match=f"k={n} exceeds the {n - 1} other users"):
        fitted_gmf.similar_users(users, k=n)
    rec = NCFRecommender(architecture="gmf", handle_unknown="ignore", **FAST).fit(interactions)
    active = np.argsort(-np.bincount(interactions[:, 0]), kind="stable")[:3]
    np.testing.assert_array_equal(rec.similar_users([10**6], k=3)[0], rec.users_[active])


def test_lists_of_mixed_tuples_keep_their_types():
    games = [(1, "Doom"), (1, "Quake"), (2, "Doom"), (2, "Myst"), (3, "Quake")]
    rec = NCFRecommender(architecture="gmf", **FAST).fit(games)
    assert rec.users_.dtype.kind == "i" and rec.items_.dtype.kind == "U"
    assert rec.recommend([1], k=1)[0, 0] == "Myst"
    with pytest.raises(TypeError, match="users mix id types"):
        rec.recommend([1, "x"])


def test_pandas_series_as_query_ids_and_filters(fitted_gmf):
    users = fitted_gmf.users_[:3]
    items = fitted_gmf.items_[:12]
    expected = fitted_gmf.recommend(users, k=2, allow=items)
    for series in (pd.Series(users), pd.Series(users).astype("category")):
        np.testing.assert_array_equal(
            fitted_gmf.recommend(series, k=2, allow=pd.Series(items, dtype="Int64")), expected
        )
    neighbours = fitted_gmf.similar_items(pd.Series(items[:2]), k=3)
    np.testing.assert_array_equal(neighbours, fitted_gmf.similar_items(items[:2], k=3))


def constant_per_row(matrix, expected):
    """Whether ``matrix - expected`` is one constant per row (logits up to a user's bias)."""
    gap = matrix - expected
    return np.allclose(gap - gap[:, :1], 0, atol=1e-4)


@pytest.mark.parametrize("architecture", ["gmf", "seed"])
@pytest.mark.parametrize("feedback", ["implicit", "explicit"])
def test_retrieval_vectors_give_the_logits_up_to_a_users_constant(architecture, feedback, ratings):
    X, y = ratings
    features = pd.DataFrame({"group": X[:, 1] % 3}, index=X[:, 1]).groupby(level=0).first()
    rec = NCFRecommender(architecture, feedback=feedback, item_features=features, **FAST)
    rec.fit(X, y if feedback == "explicit" else None)
    users, items = rec.retrieval_vectors()
    assert users.dtype == items.dtype == np.float32
    assert users.shape == (len(rec.users_), items.shape[1]) and len(items) == len(rec.items_)
    logits = np.vstack([block for _, block in rec.catalog_logits(np.arange(len(rec.users_)))])
    assert constant_per_row(users @ items.T, logits)
    some, _ = rec.retrieval_vectors(rec.users_[[5, 2]])  # a subset, in the order asked
    np.testing.assert_allclose(some, users[[5, 2]], rtol=1e-5, atol=1e-7)


def test_folded_users_retrieval_vectors_rank_as_their_recommend(fitted_gmf, interactions):
    history = [("a", item) for item in interactions[:6, 1].tolist()]
    history.append(("b", int(interactions[40, 1])))
    folded = fitted_gmf.fold_in(history)
    users, items = folded.retrieval_vectors()
    scores = users @ items.T
    scores[folded.seen_.toarray() > 0] = -np.inf
    top = fitted_gmf.items_[np.argsort(-scores, axis=1, kind="stable")[:, :5]]
    np.testing.assert_array_equal(top, folded.recommend(folded.users_, k=5))
    np.testing.assert_allclose(folded.retrieval_vectors("b")[0], users[1:], rtol=1e-5, atol=1e-7)


def test_retrieval_vectors_refuse_towers_and_unknown_users(fitted, fitted_gmf):
    if fitted.architecture in ("neumf", "mlp"):
        with pytest.raises(ValueError, match="retrieval_vectors need scores that are a dot"):
            fitted.retrieval_vectors()
    with pytest.raises(ValueError, match=r"users contains 1 id\(s\) not seen in fit.*fold_in"):
        fitted_gmf.retrieval_vectors([fitted_gmf.users_[0], -7])
    folded = fitted_gmf.fold_in([[-1, fitted_gmf.items_[0]]])
    with pytest.raises(ValueError, match="not among the folded-in users: 5"):
        folded.retrieval_vectors([5])
