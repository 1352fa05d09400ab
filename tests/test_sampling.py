"""Negative sampling never returns a known positive."""

import numpy as np
import pytest
import scipy.sparse as sp

from skncf._data.sampling import SeenPairs


def _seen(dense, bitmap=True):
    matrix = sp.csr_array(np.asarray(dense, dtype=np.float32))
    matrix.sort_indices()
    return SeenPairs(matrix, bitmap=bitmap)


def test_negatives_are_never_seen_and_cover_unseen_items_uniformly():
    rng = np.random.default_rng(0)
    dense = rng.random((30, 20)) < 0.6
    dense[:, 0] = True
    seen = _seen(dense)
    users = np.repeat(np.arange(30), 50)
    neg_users, neg_items = seen.draw_negatives(users, 4, rng)
    assert len(neg_users) == 4 * len(users)
    assert not dense[neg_users, neg_items].any()
    counts = np.bincount(neg_items[neg_users == 3], minlength=20)
    unseen = ~dense[3]
    assert set(np.flatnonzero(counts)) == set(np.flatnonzero(unseen))
    expected = 200 / unseen.sum()
    assert np.all(np.abs(counts[unseen] - expected) < 5 * np.sqrt(expected))


def test_users_who_saw_almost_everything_and_everything():
    dense = np.ones((3, 50), dtype=bool)
    dense[1, 17] = False  # user 1 has one unseen item; user 0 and 2 none
    seen = _seen(dense)
    neg_users, neg_items = seen.draw_negatives(np.array([0, 1, 2, 1]), 3, np.random.default_rng(0))
    assert neg_users.tolist() == [1] * 6 and neg_items.tolist() == [17] * 6


@pytest.mark.parametrize("bitmap", [True, False], ids=["bitmap", "binary search"])
def test_contains_matches_dense_lookup(bitmap):
    rng = np.random.default_rng(1)
    dense = rng.random((10, 13)) < 0.3
    users, items = rng.integers(0, 10, 500), rng.integers(0, 13, 500)
    seen = _seen(dense, bitmap)
    assert (seen.bitmap is not None) == bitmap
    np.testing.assert_array_equal(seen.contains(users, items), dense[users, items])
    every_cell = np.unravel_index(np.arange(dense.size), dense.shape)
    np.testing.assert_array_equal(seen.contains(*every_cell), dense.ravel())
    assert not _seen(np.zeros((2, 2)), bitmap).contains(np.array([0, 1]), np.array([1, 0])).any()
    last = np.zeros((3, 3), dtype=bool)
    last[2, 2] = True  # the grid's last cell, in a byte of its own
    found = _seen(last, bitmap).contains(*np.nonzero(np.ones((3, 3))))
    np.testing.assert_array_equal(found, last.ravel())


def test_grids_too_large_for_a_bitmap_use_the_binary_search(monkeypatch):
    monkeypatch.setattr("skncf._data.sampling.BITMAP_MAX_CELLS", 11)
    assert _seen(np.eye(3, 4)).bitmap is None  # 12 cells
    assert _seen(np.eye(3, 3)).bitmap is not None
