"""recommend(approximate=...): faiss' inverted-file index against the exact top k."""

import pickle
import sys

import numpy as np
import pytest

from skncf import NCFRecommender
from skncf._serving.approximate import ItemIndex
from skncf.datasets import make_interactions

from .conftest import FAST, in_threads, seen_items


@pytest.fixture(scope="module")
def catalog():
    X, _ = make_interactions(
        n_users=300, n_items=3000, n_groups=10, interactions_per_user=20, random_state=0
    )
    # the per-positive full softmax at 32 factors: an index test, not a training one
    rec = NCFRecommender(
        architecture="gmf", latent_dim=32, n_negatives=3000, epochs=3, random_state=0
    )
    return X, rec.fit(X)


def _recall(found, exact):
    return np.mean([np.isin(e, f).mean() for f, e in zip(found, exact)])


@pytest.mark.slow
def test_recall_against_the_exact_top_k_grows_with_the_lists_probed(catalog):
    X, rec = catalog
    users = rec.users_
    exact = rec.recommend(users, k=10)
    few = rec.recommend(users, k=10, approximate={"n_probe": 1})
    some = rec.recommend(users, k=10, approximate={"n_probe": 16})
    n_lists = rec._item_index.n_lists
    assert 40 <= n_lists <= 60  # sqrt(3000): 16 probes score about 30% of the items
    every = rec.recommend(users, k=10, approximate={"n_probe": n_lists})
    assert _recall(few, exact) < 0.5  # measured 0.10
    assert _recall(some, exact) >= 0.9  # measured 0.98
    # probing every list scores every item: the exact answer
    np.testing.assert_array_equal(every, exact)


def test_approximate_lists_are_valid_recommendations(catalog):
    X, rec = catalog
    users = rec.users_[:50]
    items, scores = rec.recommend(users, k=10, approximate={"n_probe": 2}, return_scores=True)
    pairs = np.column_stack([np.repeat(users, 10), items.ravel()])
    # scores are exact, and sorted best first
    np.testing.assert_allclose(scores.ravel(), rec.predict(pairs), rtol=1e-6)
    assert (np.diff(scores, axis=1) <= 0).all()
    for user, row in zip(users, items):
        assert len(set(row.tolist())) == 10
        assert not set(row.tolist()) & seen_items(X, user)
    with_seen = rec.recommend(users, k=10, exclude_seen=False, approximate=True)
    exact_with_seen = rec.recommend(users, k=10, exclude_seen=False)
    assert _recall(with_seen, exact_with_seen) >= 0.9


def test_users_with_too_few_candidates_are_ranked_exactly(interactions):
    # 40 items: one k-means list, so n_probe is moot; k = every unseen item of a user
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions)
    user = interactions[0, 0]
    k = 40 - len(seen_items(interactions, user))
    np.testing.assert_array_equal(
        rec.recommend([user], k=k, approximate=True), rec.recommend([user], k=k)
    )


@pytest.mark.parametrize(
    "settings", [dict(architecture="seed"), dict(architecture="gmf", feedback="explicit")]
)
def test_seed_and_explicit_graphs_are_dot_products_too(ratings, settings):
    X, y = ratings
    rec = NCFRecommender(**FAST, **settings).fit(X, y)
    users = np.unique(X[:, 0])
    # one list: the index scores every item, so the lists must be the exact ones
    approximate = rec.recommend(users, k=5, approximate={"n_lists": 1})
    np.testing.assert_array_equal(approximate, rec.recommend(users, k=5))


@pytest.mark.parametrize("model", ["mlp", "neumf"])
def test_towers_are_refused(interactions, model):
    rec = NCFRecommender(architecture=model, **FAST).fit(interactions)
    with pytest.raises(ValueError, match="dot product.*architecture='gmf' or 'seed'"):
        rec.recommend([interactions[0, 0]], approximate=True)


@pytest.mark.parametrize(
    "value,error,message",
    [
        ("yes", TypeError, "approximate must be a bool or a dict"),
        ({"nprobe": 4}, ValueError, "unknown options.*nprobe"),
        ({"n_probe": 0}, ValueError, "n_probe.*at least 1"),
        ({"n_lists": 2.5}, TypeError, "n_lists.*int"),
    ],
)
def test_bad_options_are_named(fitted_gmf, interactions, value, error, message):
    before = fitted_gmf._item_index
    with pytest.raises(error, match=message):
        fitted_gmf.recommend([interactions[0, 0]], approximate=value)
    assert fitted_gmf._item_index is before


def test_the_index_follows_the_fitted_model_and_is_not_pickled(catalog):
    X, rec = catalog
    rec.recommend(rec.users_[:2], approximate=True)
    assert rec._item_index is not None
    restored = pickle.loads(pickle.dumps(rec))
    assert restored._item_index is None
    np.testing.assert_array_equal(
        restored.recommend(rec.users_[:20], approximate=True),
        rec.recommend(rec.users_[:20], approximate=True),
    )
    refit = pickle.loads(pickle.dumps(rec)).set_params(epochs=1)
    refit.recommend(rec.users_[:2], approximate=True)
    refit.fit(X[:2000])
    assert refit._item_index is None  # a new fit, a new index when next asked


def test_a_missing_faiss_gets_an_install_hint(fitted_gmf, interactions, monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    fresh = pickle.loads(pickle.dumps(fitted_gmf))
    with pytest.raises(ImportError, match=r"skncf\[ann\]"):
        fresh.recommend([interactions[0, 0]], approximate=True)


def test_threads_searching_with_different_probes_get_their_own_answers(catalog):
    X, rec = catalog
    users = rec.users_[:100]
    settings = [{"n_probe": 1}, {"n_probe": 1000}]
    serial = [rec.recommend(users, k=10, approximate=s) for s in settings]
    assert not np.array_equal(serial[0], serial[1])
    results = in_threads(lambda n: rec.recommend(users, k=10, approximate=settings[n % 2]))
    for n, answers in enumerate(results):
        for answer in answers:
            np.testing.assert_array_equal(answer, serial[n % 2])


def test_users_are_searched_in_blocks_sized_by_the_widest_history(catalog, monkeypatch):
    X, rec = catalog
    users = rec.users_[:50]
    whole = rec.recommend(users, k=10, approximate={"n_probe": 4})
    widest = int(np.diff(rec.seen_.indptr).max()) + 10
    monkeypatch.setattr("skncf._recommending.CHUNK_FLOATS", 4 * widest * 7)  # 7 users a block
    np.testing.assert_array_equal(rec.recommend(users, k=10, approximate={"n_probe": 4}), whole)


def test_folded_users_search_the_same_index_with_their_own_rows(catalog):
    X, rec = catalog
    # fitted users 100-119's histories under new ids: their folded rows are rows 0-19 of
    # the folded table, so a search by the fitted users' codes 0-19 would answer wrongly
    old = rec.users_[100:120]
    history = X[np.isin(X[:, 0], old)]
    history[:, 0] += 10_000
    new = rec.fold_in(history)
    users = new.users_
    exact, exact_scores = new.recommend(users, k=10, return_scores=True)
    n_lists = ItemIndex(rec._scorer).n_lists
    every = new.recommend(users, k=10, approximate={"n_probe": n_lists})
    np.testing.assert_array_equal(every, exact)  # every list probed: every item scored
    items, scores = new.recommend(users, k=10, approximate={"n_probe": 2}, return_scores=True)
    pairs = np.column_stack([np.repeat(users, 10), items.ravel()])
    np.testing.assert_allclose(scores.ravel(), new.predict(pairs), rtol=1e-6)
    for user, row in zip(users, items):
        assert not set(row.tolist()) & seen_items(history, user)
    assert _recall(new.recommend(users, k=10, approximate={"n_probe": 16}), exact) >= 0.9
    assert rec._item_index is not None  # one index for the estimator and its folded users
