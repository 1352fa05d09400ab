"""Per-user and global-time splitters, and ranking scorers in scikit-learn's model selection."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_validate

from skncf import NCFRecommender
from skncf.metrics import evaluate
from skncf.model_selection import (
    GlobalTimeSplit,
    LeaveLastOut,
    UserHoldout,
    make_ranking_scorer,
)

from .conftest import FAST


def test_leave_last_out_by_timestamp():
    X = np.array([[0, 1], [0, 2], [1, 1], [0, 3], [1, 2], [2, 9]])
    t = np.array([5, 9, 1, 2, 1, 7])
    train, test = next(LeaveLastOut(timestamps=t).split(X))
    # user 0: latest is row 1 (t=9); user 1: tie at t=1, the later row (4) is last;
    # user 2 has one interaction and stays in training.
    assert test.tolist() == [1, 4]
    assert sorted(train.tolist() + test.tolist()) == list(range(6))
    train, test = next(LeaveLastOut(2, timestamps=t).split(X))
    assert test.tolist() == [0, 1]


def test_leave_last_out_splits_step_back_through_each_users_history():
    # brute force: split k holds out, of each user with more than (k + 1) * n_test rows,
    # the n_test before its last k * n_test by time, and trains on the rows before them
    rng = np.random.default_rng(0)
    users = rng.integers(0, 30, 400)
    X = np.column_stack([users, rng.integers(0, 50, 400)])
    times = rng.integers(0, 60, 400)  # with ties: broken by row order
    for n_test, n_splits in [(1, 1), (1, 4), (2, 3)]:
        found = list(LeaveLastOut(n_test, n_splits=n_splits, timestamps=times).split(X))
        assert len(found) == n_splits
        for k, (train, test) in enumerate(found):
            expected_train, expected_test = [], []
            for user in np.unique(users):
                rows = np.flatnonzero(users == user)
                latest_first = rows[np.lexsort((rows, times[rows]))][::-1]
                if len(rows) <= (k + 1) * n_test:
                    expected_train += rows.tolist()
                    continue
                expected_test += latest_first[k * n_test : (k + 1) * n_test].tolist()
                expected_train += latest_first[(k + 1) * n_test :].tolist()
            assert test.tolist() == sorted(expected_test), (n_test, n_splits, k)
            assert train.tolist() == sorted(expected_train), (n_test, n_splits, k)
    # split 0 is the one split of n_splits=1
    one = next(LeaveLastOut(2, timestamps=times).split(X))
    first = next(LeaveLastOut(2, n_splits=3, timestamps=times).split(X))
    for a, b in zip(one, first):
        np.testing.assert_array_equal(a, b)


def test_leave_last_out_random_splits_hold_out_disjoint_rows(interactions):
    users = interactions[:, 0]
    splits = list(LeaveLastOut(n_splits=3, random_state=0).split(interactions))
    assert (
        splits[0][1].tolist() == next(LeaveLastOut(random_state=0).split(interactions))[1].tolist()
    )
    held = np.concatenate([test for _, test in splits])
    assert len(np.unique(held)) == len(held)  # each row held out once at most
    counts = np.bincount(users)
    for k, (train, test) in enumerate(splits):
        assert sorted(train.tolist() + test.tolist()) == list(range(len(users)))  # no row dropped
        assert sorted(users[test].tolist()) == np.flatnonzero(counts > k + 1).tolist()
    again = list(LeaveLastOut(n_splits=3, random_state=0).split(interactions))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again))


def test_grid_search_takes_leave_last_out_splits_by_a_time_column(interactions):
    times = np.random.default_rng(1).permutation(len(interactions))
    log = pd.DataFrame({"user": interactions[:, 0], "item": interactions[:, 1], "time": times})
    cv = LeaveLastOut(n_splits=3, timestamps="time", user_column="user")
    assert cv.get_n_splits() == 3
    search = GridSearchCV(
        NCFRecommender(architecture="gmf", columns=("user", "item"), **{**FAST, "epochs": 1}),
        {"latent_dim": [4, 8]}, cv=cv, scoring=make_ranking_scorer("ndcg"), error_score="raise",
    ).fit(log)  # fmt: skip
    scores = [search.cv_results_[f"split{k}_test_score"] for k in range(3)]
    assert np.all((0 <= np.array(scores)) & (np.array(scores) <= 1))


def test_leave_last_out_random_is_seeded_and_one_per_user(interactions):
    a = next(LeaveLastOut(random_state=0).split(interactions))[1]
    b = next(LeaveLastOut(random_state=0).split(interactions))[1]
    np.testing.assert_array_equal(a, b)
    users = interactions[a, 0]
    assert len(np.unique(users)) == len(users) == len(np.unique(interactions[:, 0]))


def test_leave_last_out_reads_timestamps_by_column_name_in_nested_searches(interactions):
    n = len(interactions)
    log = pd.DataFrame({"user": interactions[:, 0], "item": interactions[:, 1],
                        "time": np.random.default_rng(0).permutation(n)})  # fmt: skip
    by_array = next(LeaveLastOut(timestamps=log["time"].to_numpy()).split(log))[1]
    by_name = LeaveLastOut(timestamps="time")
    np.testing.assert_array_equal(next(by_name.split(log))[1], by_array)
    # the inner search splits each outer training part, which an array of the whole
    # log's times does not fit
    search = GridSearchCV(
        NCFRecommender(architecture="gmf", columns=("user", "item"), **{**FAST, "epochs": 1}),
        {"latent_dim": [4, 8]},
        cv=by_name,
    )
    scores = cross_validate(search, log, cv=by_name)["test_score"]
    assert len(scores) == 1 and 0 <= scores[0] <= 1
    with pytest.raises(ValueError, match="timestamps must have one entry per row of X"):
        cross_validate(search.set_params(cv=LeaveLastOut(timestamps=log["time"])), log,
                       cv=by_name, error_score="raise")  # fmt: skip
    with pytest.raises(ValueError, match="timestamps 'time' is not a column name of X"):
        next(by_name.split(interactions))


def test_ranking_scorers_and_evaluate_take_a_fitted_search(interactions):
    # nested cross-validation: the outer scorer gets the fitted search, and ranks with
    # its best estimator, as the search's own predict would
    split = LeaveLastOut(random_state=0)
    search = GridSearchCV(
        NCFRecommender(architecture="gmf", **{**FAST, "epochs": 1}), {"latent_dim": [4, 8]},
        cv=split, scoring=make_ranking_scorer("ndcg"),
    )  # fmt: skip
    scores = cross_validate(search, interactions, cv=split, scoring=make_ranking_scorer("hit_rate"),
                            error_score="raise", return_estimator=True)  # fmt: skip
    test = next(split.split(interactions))[1]
    best = scores["estimator"][0].best_estimator_
    assert scores["test_score"][0] == make_ranking_scorer("hit_rate")(best, interactions[test])
    search.fit(interactions)
    assert (
        evaluate(search, interactions)["full"]
        == evaluate(search.best_estimator_, interactions)["full"]
    )
    with pytest.raises(TypeError, match="a search fitted over them with refit=True"):
        make_ranking_scorer()(clone(search).set_params(refit=False).fit(interactions), interactions)


def test_user_holdout_fraction_per_user(interactions):
    splits = list(UserHoldout(0.25, n_splits=3, random_state=0).split(interactions))
    assert len(splits) == 3
    train, test = splits[0]
    for user in np.unique(interactions[:, 0]):
        n = np.sum(interactions[:, 0] == user)
        held = np.sum(interactions[test, 0] == user)
        expected = 0 if n < 2 else min(max(round(0.25 * n), 1), n - 1)
        assert held == expected
    assert not np.array_equal(splits[0][1], splits[1][1])


def test_global_time_split_cuts_the_log_at_one_time():
    X = np.array([[0, 1], [0, 2], [1, 1], [1, 3], [2, 2], [3, 1], [0, 3], [1, 9]])
    t = np.array([1, 6, 2, 5, 3, 5, 4, 5])
    train, test = next(GlobalTimeSplit(t, test_size=0.25).split(X))
    # the 2 latest rows would cut inside the three rows of time 5: they all go to the
    # test, user 3's row (3 has no earlier one) left out; item 9, new, stays
    assert train.tolist() == [0, 2, 4, 6]
    assert test.tolist() == [1, 3, 7]
    kept = next(GlobalTimeSplit(t, test_size=0.25, keep_new_users=True).split(X))[1]
    assert kept.tolist() == [1, 3, 5, 7]


def test_global_time_split_rolls_forward_as_time_series_split_does(interactions):
    # distinct times in a shuffled log: the same windows as TimeSeriesSplit of the rows
    # in time order
    n = len(interactions)
    times = np.random.default_rng(0).permutation(n) * 10.0
    in_time = np.argsort(times)
    ours = GlobalTimeSplit(times, test_size=40 / n, n_splits=3, keep_new_users=True)
    theirs = TimeSeriesSplit(n_splits=3, test_size=40).split(in_time)
    assert ours.get_n_splits() == 3
    for (train, test), (train_order, test_order) in zip(ours.split(interactions), theirs):
        assert train.tolist() == sorted(in_time[train_order])
        assert test.tolist() == sorted(in_time[test_order])
    for train, test in GlobalTimeSplit(times, test_size=0.1, n_splits=2).split(interactions):
        assert times[train].max() < times[test].min()
        assert np.isin(interactions[test, 0], interactions[train, 0]).all()


def test_global_time_split_cuts_at_given_times(interactions):
    times = np.random.default_rng(0).permutation(len(interactions)) * 10.0
    by_share = GlobalTimeSplit(times, test_size=0.1, n_splits=2, keep_new_users=True)
    cuts = [times[test].min() for _, test in by_share.split(interactions)]
    by_time = GlobalTimeSplit(times, cuts=cuts, keep_new_users=True)
    assert by_time.get_n_splits() == 2
    for ours, theirs in zip(by_time.split(interactions), by_share.split(interactions)):
        np.testing.assert_array_equal(ours[0], theirs[0])
        np.testing.assert_array_equal(ours[1], theirs[1])
    # dates, timezone-aware ones as instants: 23:00 and 01:30 in Paris are 21:00 and
    # 23:30 UTC, both before midnight UTC
    log = pd.DataFrame({"user": [0, 0, 1, 1], "item": [1, 2, 1, 3]})
    when = pd.Series(pd.to_datetime(["2024-06-30 23:00", "2024-07-01 01:30"] * 2))
    paris = when.dt.tz_localize("Europe/Paris")
    for stamps, cut, test in [
        (when, pd.to_datetime(["2024-07-01"]), [1, 3]),
        (when, np.array(["2024-07-01T02:00"], dtype="datetime64[s]"), None),
        (paris, [pd.Timestamp("2024-07-01", tz="Europe/Paris")], [1, 3]),
        (paris, [pd.Timestamp("2024-06-30 22:00", tz="UTC")], [1, 3]),
        (paris, pd.to_datetime(["2024-07-01"]).tz_localize("UTC"), None),
    ]:
        split = GlobalTimeSplit(stamps.to_numpy() if stamps.dt.tz is None else stamps, cuts=cut)
        if test is None:
            with pytest.raises(ValueError, match="Split 0 has no test row.*Pass other cuts"):
                next(split.split(log))
        else:
            assert next(split.split(log))[1].tolist() == test


def test_global_time_split_in_a_nested_search_by_column_name(interactions):
    times = np.random.default_rng(0).permutation(len(interactions))
    log = pd.DataFrame({"user": interactions[:, 0], "item": interactions[:, 1], "time": times})
    split = GlobalTimeSplit("time", test_size=0.2)
    search = GridSearchCV(
        NCFRecommender(architecture="gmf", columns=("user", "item"), **{**FAST, "epochs": 1}),
        {"latent_dim": [4, 8]},
        cv=split,
        scoring=make_ranking_scorer("ndcg"),
    )
    scores = cross_validate(search, log, cv=split, scoring=make_ranking_scorer("hit_rate"),
                            error_score="raise")  # fmt: skip
    assert len(scores["test_score"]) == 1 and 0 <= scores["test_score"][0] <= 1


@pytest.mark.parametrize(
    "splitter,error,match",
    [
        (GlobalTimeSplit(None), TypeError, "needs timestamps"),
        (GlobalTimeSplit("time"), ValueError, "timestamps 'time' is not a column name"),
        (GlobalTimeSplit(np.arange(3)), ValueError, "timestamps must have one entry per row"),
        (GlobalTimeSplit(np.arange(8), test_size=1.0), ValueError, "test_size must be"),
        (GlobalTimeSplit(np.arange(8), n_splits=1.5), TypeError, "n_splits must be an int"),
        (GlobalTimeSplit(np.arange(8), n_splits=0), ValueError, "n_splits must be at least"),
        (
            GlobalTimeSplit(np.arange(8), n_splits=4, test_size=0.25),
            ValueError,
            "take all 8 rows",
        ),  # fmt: skip
        (GlobalTimeSplit(np.arange(8), keep_new_users="no"), TypeError, "keep_new_users"),
        (GlobalTimeSplit(np.ones(8)), ValueError, "Split 0 has no training row"),
        (
            GlobalTimeSplit(np.r_[0, 0, 0, 0, 0, 0, 1, 1], n_splits=2, test_size=0.1),
            ValueError,
            "Split 0 has no test row",
        ),  # fmt: skip
        (GlobalTimeSplit(np.arange(8), cuts=[3], n_splits=2), ValueError, "cuts replace"),
        (GlobalTimeSplit(np.arange(8), cuts=[3], test_size=0.5), ValueError, "cuts replace"),
        (GlobalTimeSplit(np.arange(8), cuts=[]), ValueError, "cuts must be a 1-d"),
        (GlobalTimeSplit(np.arange(8), cuts=[[3]]), ValueError, "cuts must be a 1-d"),
        (GlobalTimeSplit(np.arange(8), cuts=[5, 3]), ValueError, "cuts must increase"),
        (GlobalTimeSplit(np.arange(8), cuts=[3, 3]), ValueError, "cuts must increase"),
        (GlobalTimeSplit(np.arange(8), cuts=[np.nan]), ValueError, "NaN"),
        (GlobalTimeSplit(np.arange(8), cuts=[0]), ValueError, "Split 0 has no training row"),
        (
            GlobalTimeSplit(np.arange(8), cuts=pd.to_datetime(["2024-07-01"])),
            TypeError,
            "cuts must be numbers, as the timestamps are",
        ),  # fmt: skip
        (
            GlobalTimeSplit(pd.date_range("2024-01-01", periods=8).to_numpy(), cuts=[3]),
            TypeError,
            "cuts must be datetimes",
        ),  # fmt: skip
        (
            GlobalTimeSplit(pd.date_range("2024-01-01", periods=8).to_numpy(), cuts=["2024-01-05"]),
            TypeError,
            r"cuts must be datetimes \(text: pandas.to_datetime\)",
        ),  # fmt: skip
        (
            GlobalTimeSplit(np.arange(8), test_size=0.25),
            ValueError,
            "Every test row of split 0 belongs to a user with no earlier row",
        ),  # fmt: skip
    ],
)
def test_bad_global_time_splits(splitter, error, match):
    X = np.column_stack([[0, 0, 0, 1, 1, 1, 2, 3], np.arange(8)])
    with pytest.raises(error, match=match):
        next(splitter.split(X))


def test_splitters_read_user_column_by_name(interactions):
    frame = pd.DataFrame({"item": interactions[:, 1], "user": interactions[:, 0]})
    by_name = next(LeaveLastOut(user_column="user", random_state=0).split(frame))[1]
    by_position = next(LeaveLastOut(user_column=1, random_state=0).split(frame))[1]
    np.testing.assert_array_equal(by_name, by_position)


def test_splitters_print_their_parameters():
    # As scikit-learn's splitters do, so that a search's repr says how it was split.
    assert repr(LeaveLastOut(random_state=0)) == (
        "LeaveLastOut(n_splits=1, n_test=1, random_state=0, timestamps=None,\n       user_column=0)"
    )
    assert repr(UserHoldout(0.1, n_splits=3)) == (
        "UserHoldout(n_splits=3, random_state=None, test_size=0.1, user_column=0)"
    )
    assert repr(GlobalTimeSplit("time")) == (
        "GlobalTimeSplit(cuts=None, keep_new_users=False, n_splits=1, test_size=0.2,\n"
        "        timestamps='time', user_column=0)"
    )


@pytest.mark.parametrize(
    "splitter,match",
    [
        (LeaveLastOut(0), "n_test"),
        (LeaveLastOut(n_splits=0), "n_splits must be at least 1; got 0"),
        (LeaveLastOut(timestamps=[1, 2]), "timestamps must have one entry"),
        (LeaveLastOut(user_column=5), "user_column"),
        (UserHoldout(1.5), "test_size"),
        (UserHoldout(n_splits=0), "n_splits"),
    ],
)
def test_bad_splitter_parameters(interactions, splitter, match):
    with pytest.raises(ValueError, match=match):
        next(splitter.split(interactions))


def test_splitters_refuse_a_user_column_of_another_type_and_nothing_to_hold_out():
    with pytest.raises(TypeError, match="user_column must be a column position"):
        next(LeaveLastOut(user_column=1.0).split(np.array([[0, 1], [0, 2]])))
    once_each = np.array([[0, 1], [1, 2], [2, 1]])
    with pytest.raises(ValueError, match="No user has more than n_test=1 interactions"):
        next(LeaveLastOut().split(once_each))
    twice = np.array([[0, 1], [0, 2], [1, 1], [1, 3]])
    with pytest.raises(ValueError, match=r"more than n_splits \* n_test = 2 \(every split hold"):
        next(LeaveLastOut(n_splits=2).split(twice))
    with pytest.raises(TypeError, match="n_splits must be an int; got 2.0"):
        next(LeaveLastOut(n_splits=2.0).split(twice))
    with pytest.raises(ValueError, match="No user has 2 interactions or more"):
        next(UserHoldout().split(once_each))


def test_timestamps_must_order_in_time(interactions):
    n = len(interactions)
    with pytest.raises(ValueError, match="timestamps contain NaN"):
        next(LeaveLastOut(timestamps=np.r_[np.nan, np.arange(n - 1.0)]).split(interactions))
    dates = pd.Series(pd.date_range("2019-12-25", periods=n, freq="h"))
    with pytest.raises(TypeError, match="pandas.to_datetime"):  # "01/..." < "12/..."
        next(LeaveLastOut(timestamps=dates.dt.strftime("%m/%d/%Y %H")).split(interactions))
    by_date = next(LeaveLastOut(timestamps=dates).split(interactions))[1]
    by_number = next(LeaveLastOut(timestamps=np.arange(n)).split(interactions))[1]
    np.testing.assert_array_equal(by_date, by_number)


def test_ranking_scorer_matches_score_for_one_item_per_user(interactions):
    train, test = next(LeaveLastOut(random_state=0).split(interactions))
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions[train])
    scorer = make_ranking_scorer("ndcg", k=10)
    assert scorer(rec, interactions[test]) == pytest.approx(rec.score(interactions[test]))
    assert 0 <= make_ranking_scorer("auc")(rec, interactions[test]) <= 1
    with pytest.raises(ValueError, match="metric must be one of"):
        make_ranking_scorer("rmse")


def test_ranking_scorer_ranks_the_rows_with_positive_y_and_checks_y(fitted_gmf):
    test = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    scorer = make_ranking_scorer("ndcg")
    assert scorer(fitted_gmf, test, np.array([1, 0, 2, 0])) == pytest.approx(
        scorer(fitted_gmf, test[[0, 2]])
    )
    with pytest.raises(ValueError, match="y has 3 values but X has 4 rows"):
        scorer(fitted_gmf, test, np.ones(3))
    with pytest.raises(ValueError, match="no held-out interaction to rank"):
        scorer(fitted_gmf, test, np.zeros(4))
    with pytest.raises(TypeError, match="y must hold numbers"):
        scorer(fitted_gmf, test, np.array(["a"] * 4))


@pytest.mark.slow
def test_grid_search_with_leave_last_out_and_ndcg(interactions):
    search = GridSearchCV(
        NCFRecommender(architecture="gmf", **FAST),
        {"latent_dim": [4, 8], "learning_rate": [0.001, 0.01]},
        cv=LeaveLastOut(random_state=0),
        scoring={"ndcg": make_ranking_scorer("ndcg"), "hr": make_ranking_scorer("hit_rate")},
        refit="ndcg",
    ).fit(interactions)
    assert np.all(np.isfinite(search.cv_results_["mean_test_ndcg"]))
    result = cross_validate(
        NCFRecommender(architecture="gmf", **FAST),
        interactions,
        cv=UserHoldout(0.2, n_splits=2, random_state=0),
        scoring=make_ranking_scorer("recall"),
    )
    assert np.all((result["test_score"] >= 0) & (result["test_score"] <= 1))
