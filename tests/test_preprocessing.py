import datetime

import numpy as np
import pandas as pd
import pytest

from skncf import NCFRecommender
from skncf.preprocessing import latest_interactions, recency_weights


def brute_force(users, times, boost, half_life):
    age = np.array([np.sum((users == u) & (times > t)) for u, t in zip(users, times)], dtype=float)
    weights = 1 + boost * 0.5 ** (age / half_life)
    return weights / weights.mean()


def test_matches_a_loop_over_rows_with_ties():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 20, size=500)
    times = rng.integers(0, 30, size=500)  # many ties within a user
    np.testing.assert_allclose(
        recency_weights(users, times, boost=2.5, half_life=3), brute_force(users, times, 2.5, 3)
    )


def test_hand_computed_case():
    # ages 1, 1, 0, 3 -> raw weights 1.5, 1.5, 2, 1.125 (boost 1, half-life 1)
    raw = np.array([1.5, 1.5, 2.0, 1.125])
    np.testing.assert_allclose(
        recency_weights([7, 7, 7, 7], [1, 1, 2, 0], boost=1, half_life=1), raw / raw.mean()
    )


def test_row_order_does_not_matter():
    rng = np.random.default_rng(1)
    users = rng.choice(["a", "b", "c"], size=60)
    times = rng.integers(0, 10, size=60).astype(float)
    weights = recency_weights(users, times)
    perm = rng.permutation(60)
    np.testing.assert_allclose(recency_weights(users[perm], times[perm]), weights[perm])


def test_datetimes_give_the_same_weights_as_their_order():
    days = np.array(["2024-01-03", "2024-01-01", "2024-02-01"], dtype="datetime64[D]")
    np.testing.assert_allclose(
        recency_weights([1, 1, 1], days), recency_weights([1, 1, 1], [3, 1, 32])
    )


def test_python_and_timezone_aware_datetimes_order_as_instants():
    utc, tokyo = datetime.UTC, datetime.timezone(datetime.timedelta(hours=9))
    # 08:00 in Tokyo is 23:00 UTC the day before: the earliest of the three instants
    aware = [
        datetime.datetime(2024, 1, 1, 8, tzinfo=tokyo),
        datetime.datetime(2024, 1, 1, tzinfo=utc),
        datetime.datetime(2024, 1, 1, 1, tzinfo=utc),
    ]
    expected = recency_weights([1, 1, 1], [0, 1, 2])
    np.testing.assert_allclose(recency_weights([1, 1, 1], aware), expected)
    as_pandas = pd.Series(pd.to_datetime(aware, utc=True)).dt.tz_convert("Asia/Tokyo")
    np.testing.assert_allclose(recency_weights([1, 1, 1], as_pandas), expected)
    naive = [datetime.date(2024, 1, 1), datetime.date(2024, 1, 2), datetime.date(2024, 1, 3)]
    np.testing.assert_allclose(recency_weights([1, 1, 1], naive), expected)
    with pytest.raises(TypeError, match="mix timezone-aware and naive"):
        recency_weights([1, 1, 1], [aware[0], datetime.datetime(2024, 1, 2), aware[2]])
    with pytest.raises(ValueError, match="NaT"):
        recency_weights([1, 1, 1], [aware[0], None, aware[2]])


def test_zero_boost_gives_ones():
    np.testing.assert_array_equal(recency_weights([0, 0, 1], [3, 2, 1], boost=0), np.ones(3))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"boost": -1}, ValueError, "boost"),
        ({"boost": np.inf}, ValueError, "boost"),
        ({"boost": "3"}, ValueError, "boost"),
        ({"half_life": 0}, ValueError, "half_life"),
        ({"half_life": True}, ValueError, "half_life"),
        ({"timestamps": [1, 2]}, ValueError, "one entry per user id"),
        ({"timestamps": [1, np.nan, 3]}, ValueError, "NaN"),
        ({"timestamps": ["x", "y", "z"]}, TypeError, "timestamps"),
        (
            {"timestamps": np.array(["2024-01-01", "NaT", "2024-01-02"], dtype="datetime64[D]")},
            ValueError,
            "NaT",
        ),
        ({"users": []}, ValueError, "users"),
        ({"users": [1, None, 2]}, ValueError, "users"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, match):
    arguments = {"users": [0, 0, 1], "timestamps": [1, 2, 3], **kwargs}
    if arguments["users"] == []:
        arguments["timestamps"] = []
    with pytest.raises(exc, match=match):
        recency_weights(**arguments)


def test_latest_interactions_keep_rows_with_fewer_than_n_later_ones():
    rng = np.random.default_rng(2)
    users = rng.choice(["a", "b", "c", "d"], size=300)
    times = rng.integers(0, 40, size=300)  # ties within a user
    later = np.array([np.sum((users == u) & (times > t)) for u, t in zip(users, times)])
    for n in (1, 3, 10):
        mask = latest_interactions(users, times, n=n)
        np.testing.assert_array_equal(mask, later < n)
        perm = rng.permutation(300)  # row order never matters
        np.testing.assert_array_equal(
            latest_interactions(users[perm], times[perm], n=n), mask[perm]
        )
    # distinct times: exactly pandas' groupby().tail(n) of the log sorted by time
    log = pd.DataFrame({"user": users, "t": rng.permutation(300)})
    tail = log.sort_values("t").groupby("user").tail(3).index
    np.testing.assert_array_equal(np.flatnonzero(latest_interactions(log.user, log.t, n=3)),
                                  np.sort(tail))  # fmt: skip
    # a burst of ties at the cut stays whole
    assert latest_interactions([1, 1, 1, 1], [5, 9, 9, 1], n=1).tolist() == [0, 1, 1, 0]
    for bad in (0, 2.0, True, "5"):
        with pytest.raises(ValueError, match="n must be an int >= 1"):
            latest_interactions([1], [1], n=bad)
    with pytest.raises(ValueError, match="one entry per user id"):
        latest_interactions([1, 2], [1], n=1)


@pytest.mark.slow
def test_weights_move_recommendations_towards_recent_tastes():
    # Every user rated 8 items of group A long ago and 3 of group B lately: weighted by
    # recency, the model should rank the user's unseen B items higher than unweighted.
    rng = np.random.default_rng(0)
    n_users, group_a, group_b = 150, np.arange(0, 20), np.arange(20, 40)
    rows, times = [], []
    for user in range(n_users):
        for t, item in enumerate(rng.choice(group_a, 8, replace=False)):
            rows.append((user, item))
            times.append(t)
        for t, item in enumerate(rng.choice(group_b, 3, replace=False)):
            rows.append((user, item))
            times.append(100 + t)
    X = np.array(rows)
    weights = recency_weights(X[:, 0], times, boost=10, half_life=2)

    def share_of_b_in_top5(sample_weight):
        rec = NCFRecommender(architecture="gmf", latent_dim=8, epochs=15, random_state=0)
        rec.fit(X, sample_weight=sample_weight)
        top = rec.recommend(np.arange(n_users), k=5)
        return np.isin(top, group_b).mean()

    unweighted, weighted = share_of_b_in_top5(None), share_of_b_in_top5(weights)
    assert weighted > unweighted + 0.1, (unweighted, weighted)
