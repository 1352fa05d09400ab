"""Property-based tests (hypothesis) over random valid interaction sets.

Any id kind (ints of any size, strings, floats), duplicated rows, users or items with one
interaction, one user, one item: fit, predict and recommend never raise unexpectedly,
and recommend keeps its promises (no seen items, no duplicates, scores sorted, shapes).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skncf import NCFRecommender

TINY = dict(latent_dim=4, mlp_layers=(4,), epochs=1, batch_size=64, random_state=0)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

int_ids = st.integers(min_value=-(2**70), max_value=2**70)
str_ids = st.text(min_size=1, max_size=6)
float_ids = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def interactions(draw, max_rows=40):
    """Rows of (user, item) ids, one id kind per column, duplicates allowed."""
    user_pool = draw(
        st.lists(
            draw(st.sampled_from([int_ids, str_ids, float_ids])),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    item_pool = draw(
        st.lists(draw(st.sampled_from([int_ids, str_ids])), min_size=1, max_size=8, unique=True)
    )
    n = draw(st.integers(min_value=1, max_value=max_rows))
    users = draw(st.lists(st.sampled_from(user_pool), min_size=n, max_size=n))
    items = draw(st.lists(st.sampled_from(item_pool), min_size=n, max_size=n))
    X = np.empty((n, 2), dtype=object)
    X[:, 0], X[:, 1] = users, items
    return X


def seen_by_user(X):
    seen = {}
    for user, item in X.tolist():
        seen.setdefault(user, set()).add(item)
    return seen


@pytest.mark.slow
@SETTINGS
@given(
    X=interactions(),
    architecture=st.sampled_from(["gmf", "neumf", "seed"]),
    loss=st.sampled_from(["softmax", "log"]),
)
def test_fit_predict_recommend_keep_their_promises(X, architecture, loss):
    rec = NCFRecommender(architecture=architecture, loss=loss, **TINY).fit(X)
    n_items = len(rec.items_)
    assert len(rec.users_) == len(set(X[:, 0].tolist()))
    assert n_items == len(set(X[:, 1].tolist()))

    scores = rec.predict(X)
    assert scores.shape == (len(X),) and np.all((scores >= 0) & (scores <= 1))

    seen = seen_by_user(X)
    for user in list(seen)[:3]:
        unseen = n_items - len(seen[user])
        if unseen == 0:
            with pytest.raises(ValueError, match="exceeds the 0 items that user"):
                rec.recommend([user], k=1)
            continue
        k = unseen  # every unseen item, the largest k that is allowed
        items, item_scores = rec.recommend([user], k=k, return_scores=True)
        assert items.shape == item_scores.shape == (1, k)
        listed = items[0].tolist()
        assert len(set(listed)) == k  # no duplicates
        assert not set(listed) & seen[user]  # no seen items
        assert np.all(np.diff(item_scores[0]) <= 0)  # best first
        with pytest.raises(ValueError, match=f"k={k + 1} exceeds"):
            rec.recommend([user], k=k + 1)
    everything = rec.recommend([list(seen)[0]], k=n_items, exclude_seen=False)
    assert sorted(everything[0].tolist(), key=repr) == sorted(rec.items_.tolist(), key=repr)


@pytest.mark.slow
@SETTINGS
@given(X=interactions(max_rows=25))
def test_scores_of_duplicated_rows_are_the_scores_of_merged_weights(X):
    """Repeating every row is the same positives with doubled weights (scaled to mean 1)."""
    once = NCFRecommender(architecture="gmf", **TINY).fit(X)
    twice = NCFRecommender(architecture="gmf", **TINY).fit(np.vstack([X, X]))
    np.testing.assert_allclose(twice.predict(X), once.predict(X), rtol=1e-5, atol=1e-6)


@SETTINGS
@given(
    users=st.lists(
        st.one_of(st.integers(0, 5), st.text(min_size=1, max_size=3)), min_size=2, max_size=12
    ),
)
def test_mixed_id_kinds_in_one_column_are_rejected_cleanly(users):
    kinds = {type(u) for u in users}
    X = np.empty((len(users), 2), dtype=object)
    X[:, 0], X[:, 1] = users, list(range(len(users)))
    if len(kinds) == 1:
        NCFRecommender(**TINY).fit(X)
    else:
        with pytest.raises(TypeError, match="user ids .*mix id types"):
            NCFRecommender(**TINY).fit(X)


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1, 10]]),  # one interaction
        np.array([[1, 10], [1, 11], [1, 12]]),  # one user
        np.array([[1, 10], [2, 10], [3, 10]]),  # one item: nothing to recommend
        np.array([[2**80, "a"], [2**80 + 1, "b"]], dtype=object),  # ids beyond int64
    ],
    ids=["one interaction", "one user", "one item", "huge int ids"],
)
def test_degenerate_sets_fit_and_answer(X):
    for model in ["gmf", "neumf"]:
        rec = NCFRecommender(architecture=model, **TINY).fit(X)
        assert rec.predict(X).shape == (len(X),)
        assert rec.recommend([X[0, 0]], k=1, exclude_seen=False).shape == (1, 1)


@pytest.mark.slow
@SETTINGS
@given(
    ratings=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=30
    )
)
def test_explicit_ratings_of_any_range_predict_within_it(ratings):
    """Ratings are scaled by the training minimum and range: -50..1000 works like 1..5."""
    n = len(ratings)
    X = np.column_stack([np.arange(n) % 4, np.arange(n) % 5])
    y = np.asarray(ratings)
    rec = NCFRecommender(architecture="gmf", feedback="explicit", **TINY).fit(X, y)
    predicted = rec.predict(X)
    assert np.all(np.isfinite(predicted))
    assert np.all(predicted >= y.min() - 1e-6 * (1 + abs(y.min())))
    assert np.all(predicted <= y.max() + 1e-6 * (1 + abs(y.max())))
