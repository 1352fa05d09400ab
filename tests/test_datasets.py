"""The synthetic generator."""

import numpy as np
import pytest

from skncf.datasets import make_interactions


def test_seeded_and_shaped():
    X1, y1 = make_interactions(n_users=40, n_items=30, ratings=True, random_state=3)
    X2, y2 = make_interactions(n_users=40, n_items=30, ratings=True, random_state=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape[1] == 2 and len(y1) == len(X1)
    assert X1[:, 0].max() < 40 and X1[:, 1].max() < 30
    assert len(np.unique(X1[:, 0] * 30 + X1[:, 1])) == len(X1)  # no repeated pair
    assert make_interactions(n_users=5, n_items=5, random_state=0)[1] is None


def test_affinity_and_popularity_are_planted():
    X, _, users, items = make_interactions(
        n_users=300,
        n_items=400,
        n_groups=4,
        affinity=0.8,
        popularity_skew=0.0,
        return_groups=True,
        random_state=0,
    )
    in_group = np.mean(users[X[:, 0]] == items[X[:, 1]])
    assert 0.75 < in_group < 0.85
    X, _ = make_interactions(n_users=300, n_items=100, popularity_skew=1.0, random_state=0)
    counts = np.sort(np.bincount(X[:, 1], minlength=100))
    assert counts[-10:].sum() > 3 * counts[:10].sum()
    X1, _, users1, items1 = make_interactions(
        n_users=100, n_items=50, affinity=1.0, return_groups=True, random_state=0
    )
    assert np.all(users1[X1[:, 0]] == items1[X1[:, 1]])


def test_ratings_follow_group_match():
    X, y, users, items = make_interactions(
        n_users=200, n_items=80, ratings=True, return_groups=True, random_state=0
    )
    match = users[X[:, 0]] == items[X[:, 1]]
    assert y.min() >= 1 and y.max() <= 5
    assert y[match].mean() > y[~match].mean() + 1


@pytest.mark.parametrize(
    "kwargs", [dict(n_users=0), dict(n_items=1), dict(affinity=0), dict(n_groups=9, n_items=5)]
)
def test_bad_parameters(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[-1]):
        make_interactions(**kwargs)
