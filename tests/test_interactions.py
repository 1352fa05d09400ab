"""The data stage: one fit's rows become one Interactions object."""

import numpy as np
import pytest

from skncf._data.interactions import (
    explicit_interactions,
    implicit_interactions,
    interaction_matrix,
)


def test_implicit_positives_are_merged_per_pair_with_weights_of_mean_one():
    users = np.array([0, 0, 0, 1, 1, 2])
    items = np.array([1, 1, 2, 0, 2, 2])
    weights = np.array(
        [1.0, 2.0, 1.0, 0.0, 4.0, 2.0]
    )  # (0, 1) twice; (1, 0) not a positive, not seen
    data = implicit_interactions(users, items, weights, (3, 3), fraction=None, rng=None)
    order = np.lexsort((data.items, data.users))
    assert list(zip(data.users[order].tolist(), data.items[order].tolist())) == [
        (0, 1), (0, 2), (1, 2), (2, 2)
    ]  # fmt: skip
    # merged weights 3, 1, 4, 2 over their mean 2.5
    np.testing.assert_allclose(data.weights[order], [1.2, 0.4, 1.6, 0.8])
    assert data.weights.mean() == pytest.approx(1.0)
    assert data.seen.toarray().tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 1]]
    assert data.held_out is None and data.targets is None
    np.testing.assert_allclose(data.matrix.toarray()[0], [0, 1.2, 0.4], rtol=1e-6)


def test_a_fraction_of_users_with_two_positives_lend_one_that_stays_seen():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(40), 3)
    items = np.concatenate([rng.choice(30, 3, replace=False) for _ in range(40)])
    data = implicit_interactions(
        users, items, np.ones(len(users)), (40, 30), fraction=0.5, rng=np.random.default_rng(1)
    )
    held_users, held_items, ratings = data.held_out
    assert len(held_users) == 20 and len(np.unique(held_users)) == 20 and ratings is None
    assert len(data.users) == len(users) - 20
    assert data.seen[held_users, held_items].tolist() == [1] * 20  # still the user's
    training = set(zip(data.users.tolist(), data.items.tolist()))
    assert not training & set(zip(held_users.tolist(), held_items.tolist()))


def test_a_continued_fit_keeps_the_pairs_seen_before_at_their_new_codes():
    old_seen = interaction_matrix(np.array([0]), np.array([0]), 1, 1)
    kept = (old_seen, np.array([1]), np.array([2]))  # old user 0 -> 1, old item 0 -> 2
    data = implicit_interactions(
        np.array([0]), np.array([0]), np.ones(1), (2, 3), fraction=None, rng=None, kept=kept
    )
    assert data.seen.toarray().tolist() == [[1, 0, 0], [0, 0, 1]]


def test_ratings_are_scaled_to_the_unit_interval_and_rows_held_out_at_random():
    ratings = np.array([1.0, 3.0, 5.0, 5.0])
    users, items = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    data = explicit_interactions(users, items, ratings, np.ones(4), (2, 2), fraction=None, rng=None)
    assert data.scalars == (1.0, 4.0, 3.5)
    np.testing.assert_allclose(data.targets, [0.0, 0.5, 1.0, 1.0])
    held = explicit_interactions(
        users, items, ratings, np.ones(4), (2, 2), fraction=0.5, rng=np.random.default_rng(3)
    )
    assert len(held.users) + len(held.held_out[0]) == 4 and len(held.held_out[2]) > 0
    with pytest.raises(ValueError, match="validation_fraction=0.99 leaves no rows"):
        explicit_interactions(
            users, items, ratings, np.ones(4), (2, 2), fraction=0.99,
            rng=np.random.default_rng(0),
        )  # fmt: skip
