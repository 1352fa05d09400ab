"""NCFRecommender used the way a scikit-learn user uses an estimator."""

import pickle
import re

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skncf import NCFRecommender
from skncf.metrics import evaluate
from skncf.model_selection import LeaveLastOut, make_ranking_scorer

from .conftest import FAST


def test_default_construction_and_latent_dim_keyword(interactions):
    rec = NCFRecommender(latent_dim=100)
    assert rec.get_params()["latent_dim"] == 100
    rec.set_params(epochs=1, batch_size=512).fit(interactions)
    assert rec.model_.get_layer("user_embedding").get_weights()[0].shape[1] == 100


def test_clone_gives_unfitted_copy_with_same_params(fitted_gmf):
    copy = clone(fitted_gmf)
    assert copy.get_params() == fitted_gmf.get_params()
    assert not hasattr(copy, "model_")


def test_grid_search_finds_finite_scores(interactions):
    # in worker processes: test_reliability.py (the same results as serially), test_dask.py
    search = GridSearchCV(
        NCFRecommender(architecture="gmf", **{**FAST, "latent_dim": 4}),
        {"latent_dim": [4, 8]},
        cv=KFold(3, shuffle=True, random_state=0),
    )
    search.fit(interactions)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1))
    assert search.best_params_["latent_dim"] in (4, 8)
    assert search.best_estimator_.recommend([interactions[0, 0]], k=3).shape == (1, 3)


@pytest.mark.slow
def test_randomized_search_in_two_processes(interactions):
    search = RandomizedSearchCV(
        NCFRecommender(architecture="gmf", **FAST),
        {"learning_rate": [0.001, 0.01], "n_negatives": [1, 4]},
        n_iter=2,
        cv=2,
        n_jobs=2,
        random_state=0,
    )
    search.fit(interactions)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_kfold_folds_with_unseen_ids_count_as_misses(interactions):
    # Plain KFold on pairs leaves users/items of a test fold unseen in training.
    result = cross_validate(
        NCFRecommender(architecture="gmf", **FAST), interactions, cv=KFold(4), error_score="raise"
    )
    assert np.all(np.isfinite(result["test_score"]))
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions[interactions[:, 0] < 30])
    unseen_users = interactions[interactions[:, 0] >= 30]
    assert rec.score(unseen_users) == 0.0


def test_explicit_cross_validate_gives_r2(ratings):
    X, y = ratings
    result = cross_validate(
        NCFRecommender(architecture="gmf", feedback="explicit", handle_unknown="ignore", **FAST),
        X,
        y,
        cv=3,
    )
    assert np.all(np.isfinite(result["test_score"]))


def _game_log(interactions):
    titles = np.array([f"game {j:02d}: {'abcdefghij'[j % 10]}" for j in range(40)])
    return pd.DataFrame(
        {
            "player": [f"player-{u}" for u in interactions[:, 0]],
            "game": titles[interactions[:, 1]],
            "hours": np.arange(len(interactions)) % 7 + 0.5,
            "platform": np.where(interactions[:, 0] % 2, "pc", "console"),
        }
    )


def test_pipeline_selects_id_columns_of_a_dataframe(interactions):
    log = _game_log(interactions)
    pipe = make_pipeline(
        ColumnTransformer([("ids", "passthrough", ["player", "game"])]),
        NCFRecommender(architecture="gmf", **FAST),
    )
    pipe.fit(log)
    predictions = pipe.predict(log.head(5))
    assert predictions.shape == (5,) and np.all((predictions >= 0) & (predictions <= 1))
    assert 0 <= pipe.score(log.head(20)) <= 1


def test_ranking_metrics_and_scorer_see_through_a_pipeline(interactions):
    log = _game_log(interactions)
    select = ColumnTransformer([("ids", "passthrough", ["player", "game"])])
    pipe = make_pipeline(select, NCFRecommender(architecture="gmf", **FAST))
    search = GridSearchCV(
        pipe, {"ncfrecommender__latent_dim": [4, 8]}, cv=LeaveLastOut(random_state=0),
        scoring=make_ranking_scorer("ndcg"),
    ).fit(log)  # fmt: skip
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    fitted = search.best_estimator_
    test = log.head(30)
    ids = fitted[:-1].transform(test)
    negatives = np.tile(np.unique(interactions[:, 1])[:5], (len(test), 1))
    assert evaluate(fitted, test, negatives=negatives) == evaluate(
        fitted[-1], ids, negatives=negatives
    )
    with pytest.raises(TypeError, match="or the FoldedUsers of its fold_in; got StandardScaler"):
        evaluate(make_pipeline(StandardScaler()).fit(interactions), interactions)


def test_dataframe_with_string_ids_and_weights(interactions):
    log = _game_log(interactions)
    rec = NCFRecommender(architecture="neumf", **FAST).fit(log[["player", "game"]], log["hours"])
    assert list(rec.feature_names_in_) == ["player", "game"]
    assert rec.users_.dtype.kind == "U" and "player-0" in rec.users_
    top = rec.recommend(["player-0", "player-1"], k=5)
    assert top.shape == (2, 5) and set(top.ravel()) <= set(log["game"])


def test_columns_picks_ids_by_name(interactions):
    log = _game_log(interactions)
    rec = NCFRecommender(architecture="gmf", columns=("player", "game"), **FAST).fit(log)
    assert rec.n_features_in_ == 4
    direct = NCFRecommender(architecture="gmf", **FAST).fit(log[["player", "game"]])
    np.testing.assert_array_equal(rec.predict(log), direct.predict(log[["player", "game"]]))


def assert_read_alike(rec, frame, other, users):
    """``other``, a frame of another layout, gives what ``frame`` gives after fit."""
    np.testing.assert_array_equal(rec.predict(other), rec.predict(frame))
    assert rec.score(other) == rec.score(frame)
    np.testing.assert_array_equal(
        rec.fold_in(other.head(40)).recommend(users, k=3),
        rec.fold_in(frame.head(40)).recommend(users, k=3),
    )


def test_named_id_columns_are_read_by_name_after_fit(interactions):
    # as ColumnTransformer reads the columns it selected by name: new pairs need no hours
    # or platform, and the ids may come in another order, among other columns
    log = _game_log(interactions)
    rec = NCFRecommender(architecture="gmf", columns=("player", "game"), **FAST).fit(log)
    expected = rec.predict(log)
    pairs = log[["game", "player"]].copy()
    pairs["store"] = "web"
    for X in (log[["player", "game"]], pairs, log[["platform", "game", "player"]]):
        np.testing.assert_array_equal(rec.predict(X), expected)
    assert_read_alike(rec, log, pairs, users=log["player"].unique()[:3])
    absent = r"id column 'player' once, as in fit; it holds it not at all among"
    with pytest.raises(ValueError, match=absent + r" its columns \['game'\]"):
        rec.predict(log[["game"]])
    twice = pd.concat([log[["player", "game"]], log[["player"]]], axis=1)
    with pytest.raises(ValueError, match="holds it twice"):
        rec.predict(twice)
    pl = pytest.importorskip("polars")
    np.testing.assert_array_equal(rec.predict(pl.from_pandas(pairs)), expected)
    rec.partial_fit(pairs.head(40))  # continues training from a frame of another layout
    rec.fit(log, validation_data=pairs.tail(30))
    assert len(rec.history_["val_ndcg@10"]) == FAST["epochs"]
    assert rec.predict(log).shape == expected.shape


def test_a_frame_of_ids_alone_names_its_id_columns_for_later_calls(interactions):
    # fit on the two id columns, columns=None: later frames are read by those names, as
    # with columns=(names). Before, every column of such a frame read as 0 (user 0, item 0)
    pairs = pd.DataFrame(interactions, columns=["user", "item"])
    log = pairs.assign(rating=4.0, time=np.arange(len(pairs)))[["time", "item", "user", "rating"]]
    rec = NCFRecommender(architecture="gmf", **FAST).fit(pairs)
    assert len(np.unique(rec.predict(pairs))) > 1
    assert_read_alike(rec, pairs, log, users=pairs["user"].unique()[:3])
    with pytest.raises(ValueError, match=r"id column 'user' once, as in fit; it holds it not"):
        rec.predict(pairs.set_axis(["u", "i"], axis=1))
    by_pairs = NCFRecommender(architecture="gmf", **FAST).fit(pairs, validation_data=pairs.tail(30))
    by_log = NCFRecommender(architecture="gmf", **FAST).fit(pairs, validation_data=log.tail(30))
    assert by_log.history_["val_ndcg@10"] == by_pairs.history_["val_ndcg@10"]
    by_pairs.partial_fit(pairs.head(40))
    by_log.partial_fit(log.head(40))
    np.testing.assert_array_equal(by_log.predict(pairs), by_pairs.predict(pairs))


def test_id_columns_by_position_keep_fits_layout(interactions):
    # positions mean nothing in another layout: scikit-learn's check of feature names holds
    log = _game_log(interactions)
    rec = NCFRecommender(architecture="gmf", columns=(0, 1), **FAST).fit(log)
    with pytest.raises(ValueError, match=r"(?s)missing.*only \(0, 1\) are read"):
        rec.predict(log[["player", "game"]])
    with pytest.raises(ValueError, match="same order"):
        rec.predict(log[["game", "player", "hours", "platform"]])


@pytest.mark.parametrize(
    "user_dtype", ["int64", "Int64", "category"], ids=["int64", "nullable", "categorical"]
)
def test_integer_ids_stay_integers_beside_a_float_column(interactions, user_dtype):
    # numpy would make one float array of the frame: ids 3 and 7 would come back 3.0, 7.0
    log = pd.DataFrame(
        {"user": interactions[:, 0], "item": interactions[:, 1], "rating": 1.5}
    ).astype({"user": user_dtype})
    rec = NCFRecommender(architecture="gmf", columns=("user", "item"), **FAST).fit(log)
    assert rec.users_.dtype == np.int64 and rec.items_.dtype == np.int64
    assert rec.recommend(rec.users_[:2], k=3).dtype == np.int64
    plain = log.head(5).astype({"user": "int64"})
    np.testing.assert_array_equal(rec.predict(log.head(5)), rec.predict(plain))
    missing = log.head(2).astype({"user": "Int64"})
    missing.loc[0, "user"] = pd.NA
    with pytest.raises(ValueError, match="NaN"):
        rec.predict(missing)


def test_set_params_after_fit_changes_the_next_fit_not_the_fitted_model(interactions, tmp_path):
    import skncf

    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions)  # latent_dim 8
    pairs, users = interactions[:20], np.unique(interactions[:, 0])[:5]
    before = rec.predict(pairs), rec.recommend(users, k=3), rec.score(pairs)
    folded = rec.fold_in(interactions[:6]).recommend(np.unique(interactions[:6, 0]), k=3)
    rec.set_params(architecture="neumf", latent_dim=16, loss="log", feedback="explicit")
    np.testing.assert_array_equal(rec.predict(pairs), before[0])  # probabilities, not ratings
    np.testing.assert_array_equal(rec.recommend(users, k=3), before[1])
    assert rec.score(pairs) == before[2]
    np.testing.assert_array_equal(
        rec.fold_in(interactions[:6]).recommend(np.unique(interactions[:6, 0]), k=3), folded
    )
    loaded = skncf.load(rec.save(tmp_path / "m.skncf"))  # the file describes the fitted model
    assert loaded.get_params()["architecture"] == "gmf" and loaded.latent_dim == 8
    np.testing.assert_array_equal(loaded.predict(pairs), before[0])
    refit = rec.fit(interactions, np.ones(len(interactions)) * 4)  # the new settings now
    assert refit.model_.get_layer("user_embedding").output_dim == 16


@pytest.mark.parametrize("dump,load", [(pickle.dumps, pickle.loads), (None, None)])
def test_pickle_and_joblib_round_trip(fitted, interactions, tmp_path, dump, load):
    if dump is None:
        path = tmp_path / "model.joblib"
        joblib.dump(fitted, path)
        restored = joblib.load(path)
    else:
        restored = load(dump(fitted))
    np.testing.assert_array_equal(restored.predict(interactions), fitted.predict(interactions))
    users = np.unique(interactions[:, 0])
    np.testing.assert_array_equal(restored.recommend(users, k=5), fitted.recommend(users, k=5))
    restored_keras = restored.model_.predict(
        [interactions[:10, :1], interactions[:10, 1:]], verbose=0
    )
    np.testing.assert_allclose(restored_keras.ravel(), fitted.predict(interactions[:10]), atol=1e-6)


def test_verbose_prints_one_line_per_epoch(interactions, capsys):
    rec = NCFRecommender(architecture="gmf", **{**FAST, "verbose": 1}).fit(interactions)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == FAST["epochs"] == len(rec.history_["loss"])
    assert lines[0].startswith("epoch 1/2 - loss ")
    # a fast epoch's time still shows (it read 0.0s with one decimal)
    assert all(re.search(r" - \d+\.\d\ds$", line) for line in lines)


def test_target_tags_follow_feedback():
    implicit = NCFRecommender().__sklearn_tags__().target_tags
    explicit = NCFRecommender(feedback="explicit").__sklearn_tags__().target_tags
    assert (implicit.required, implicit.positive_only) == (False, True)
    assert (explicit.required, explicit.positive_only) == (True, False)


def test_n_iter_is_the_epochs_a_fit_ran(fitted_gmf):
    assert fitted_gmf.n_iter_ == fitted_gmf.epochs_ == len(fitted_gmf.history_["loss"])


def test_polars_frames_fit_score_and_search_as_pandas_ones(interactions):
    pl = pytest.importorskip("polars")
    log = pd.DataFrame(interactions, columns=["user", "item"]).assign(
        title="a film", when=pd.to_datetime(np.arange(len(interactions)), unit="s")
    )
    params = dict(columns=("user", "item"), architecture="gmf", **FAST)
    expected = NCFRecommender(**params).fit(log)
    rec = NCFRecommender(**params).fit(pl.from_pandas(log))
    np.testing.assert_array_equal(rec.users_, expected.users_)
    np.testing.assert_allclose(rec.predict(pl.from_pandas(log[:20])), expected.predict(log[:20]))
    assert rec.score(pl.from_pandas(log)) == pytest.approx(expected.score(log))
    users = pl.Series(expected.users_[:3])
    np.testing.assert_array_equal(rec.recommend(users, k=4), expected.recommend(users, k=4))


def test_pyarrow_tables_work_as_pandas_frames(interactions):
    # scikit-learn takes arrow tables; their ``columns`` are arrays, not names
    pa = pytest.importorskip("pyarrow")
    log = pd.DataFrame(interactions, columns=["user", "item"]).assign(
        hours=1.5, when=np.arange(len(interactions))
    )
    table = pa.Table.from_pandas(log, preserve_index=False)
    params = dict(columns=("user", "item"), architecture="gmf", **FAST)
    expected = NCFRecommender(**params).fit(log, validation_data=log.tail(20))
    rec = NCFRecommender(**params).fit(table, validation_data=table.slice(len(log) - 20))
    assert rec.history_ == expected.history_
    np.testing.assert_array_equal(rec.predict(table), expected.predict(log))
    assert rec.score(table) == expected.score(log)
    history = pa.table({"user": [999, 999], "item": log["item"][:2], "hours": [1.0, 2.0],
                        "when": [0, 1]})  # fmt: skip
    np.testing.assert_array_equal(
        rec.fold_in(history).recommend([999], k=3),
        expected.fold_in(history.to_pandas()).recommend([999], k=3),
    )
    splitter = LeaveLastOut(timestamps="when", user_column="user")
    splits = [test.tolist() for _, test in splitter.split(table)]
    assert splits == [test.tolist() for _, test in splitter.split(log)]
    weights = np.ones(len(log))
    rec.partial_fit(table.slice(0, 40))
    if tuple(map(int, sklearn.__version__.split(".")[:2])) < (1, 7):
        return  # scikit-learn indexes arrow tables' rows from 1.7 on (its #31040)
    search = GridSearchCV(NCFRecommender(**params), {"latent_dim": [4]}, cv=splitter,
                          scoring=make_ranking_scorer("hit_rate")).fit(table, weights)  # fmt: skip
    again = GridSearchCV(NCFRecommender(**params), {"latent_dim": [4]}, cv=splitter,
                         scoring=make_ranking_scorer("hit_rate")).fit(log, weights)  # fmt: skip
    assert search.best_score_ == again.best_score_


def test_explicit_models_are_regressors_and_take_a_column_of_ratings():
    from sklearn.base import is_classifier, is_regressor
    from sklearn.ensemble import StackingRegressor
    from sklearn.exceptions import DataConversionWarning
    from sklearn.linear_model import LinearRegression

    from skncf.datasets import make_interactions

    X, ratings = make_interactions(n_users=40, n_items=30, ratings=True, random_state=0)
    rec = NCFRecommender(feedback="explicit", handle_unknown="ignore", **FAST)
    assert is_regressor(rec) and not is_classifier(rec)
    assert not is_regressor(NCFRecommender()) and not is_classifier(NCFRecommender())
    # a column of ratings, as scikit-learn's regressors take it: warned, then the same fit
    flat = clone(rec).fit(X, ratings).predict(X[:20])
    with pytest.warns(DataConversionWarning):
        column = clone(rec).fit(X, ratings[:, None]).predict(X[:20])
    np.testing.assert_array_equal(column, flat)
    with pytest.raises(ValueError, match="y must be 1-dimensional"):
        clone(rec).fit(X, np.column_stack([ratings, ratings]))
    # so it stacks with other regressors
    stack = StackingRegressor([("ncf", rec)], final_estimator=LinearRegression(), cv=2)
    assert stack.fit(X, ratings).predict(X[:5]).shape == (5,)
