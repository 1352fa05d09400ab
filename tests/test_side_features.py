"""Side features: user and item attributes in the graph, and cold start from them.

On data with planted taste groups, an item held out of ``fit`` but described by its group
must rank for users of that group above items of other groups (and a new user by its
group likewise); every architecture trains with features; the tables travel through
GridSearchCV unsplit, pickling, save/load and the export; bad tables get clear errors.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
import tensorflow as tf
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import OneHotEncoder

from skncf import NCFRecommender, load
from skncf._data import features as feature_encoding
from skncf.model_selection import LeaveLastOut
from skncf.plotting import embedding_vectors

from .test_saving import rewrite

SMALL = dict(latent_dim=8, epochs=10, random_state=0)
COLD = np.arange(150, 200)  # users the export tests leave out of the fit


@pytest.fixture(scope="module")
def planted(taste_groups):
    X, user_groups, item_groups = taste_groups
    items = pd.DataFrame({"group": [f"g{g}" for g in item_groups]})
    users = pd.DataFrame({"group": [f"g{g}" for g in user_groups], "age": 20.0 + user_groups})
    return X, user_groups, item_groups, users, items


@pytest.fixture(scope="module")
def cold_users_export(planted, tmp_path_factory):
    """``(rec, signatures)``: users 150-199 left out of the fit, the rest known by a
    DataFrame of their features; exported and loaded once for the tests that serve it."""
    X, _, _, users, _ = planted
    # 20 epochs: rows of length 0.1 (ROW_NORM) make the features' part learn slowly
    rec = NCFRecommender(user_features=users.drop(index=COLD), **{**SMALL, "epochs": 20})
    rec.fit(X[~np.isin(X[:, 0], COLD)])
    path = rec.export(tmp_path_factory.mktemp("cold") / "export")
    return rec, tf.saved_model.load(str(path)).signatures


def group_hit_rate(rec, users, user_groups, candidates, item_groups, k=5):
    """Share of each user's top k among ``candidates`` that come from the user's group."""
    top = rec.recommend(users, k=k, allow=candidates)
    return np.mean(item_groups[top] == user_groups[users][:, None])


@pytest.mark.parametrize("id_embeddings", [True, False])
def test_cold_items_rank_by_their_features(planted, id_embeddings):
    X, user_groups, item_groups, _, items = planted
    cold = np.random.default_rng(0).choice(100, 20, replace=False)
    warm_rows = ~np.isin(X[:, 1], cold)
    rec = NCFRecommender(item_features=items, id_embeddings=id_embeddings, **SMALL)
    rec.fit(X[warm_rows])
    assert set(cold) <= set(rec.items_.tolist())  # features alone put them in the catalog
    users = np.arange(50)
    with_features = group_hit_rate(rec, users, user_groups, cold, item_groups)
    assert with_features > 0.6  # 4 groups: chance is 0.25
    # what plots draw is what the model scores with: features projected, ids or not
    vectors = embedding_vectors(rec, "item")
    assert np.linalg.norm(vectors[np.searchsorted(rec.items_, cold)], axis=1).min() > 0
    # without features the cold items are not in the catalog at all
    plain = NCFRecommender(**SMALL).fit(X[warm_rows])
    assert not set(cold) & set(plain.items_.tolist())


def test_cold_users_rank_by_their_features(planted):
    X, user_groups, item_groups, users, items = planted
    cold = np.arange(150, 200)
    rec = NCFRecommender(user_features=users, **SMALL).fit(X[~np.isin(X[:, 0], cold)])
    assert set(cold) <= set(rec.users_.tolist())
    assert group_hit_rate(rec, cold, user_groups, np.arange(100), item_groups) > 0.6
    # their vectors are their features' projection: neighbours from their group too
    neighbours = rec.similar_users(cold, k=5)
    assert np.mean(user_groups[neighbours] == user_groups[cold][:, None]) > 0.6


def test_new_users_fold_in_from_their_features_and_history(planted):
    X, user_groups, item_groups, users, items = planted
    cold = np.arange(150, 200)
    warm = users.drop(index=cold)
    rec = NCFRecommender(user_features=warm, **SMALL).fit(X[~np.isin(X[:, 0], cold)])
    assert not set(cold) & set(rec.users_.tolist())  # not in fit's catalog this time
    new = rec.fold_in(user_features=users.loc[cold])
    np.testing.assert_array_equal(new.users_, cold)
    assert group_hit_rate(new, cold, user_groups, np.arange(100), item_groups) > 0.6
    # features that point to the wrong group, and the history: the history wins
    shifted = (user_groups[cold] + 1) % 4
    wrong = pd.DataFrame({"group": [f"g{g}" for g in shifted], "age": 20.0 + shifted}, index=cold)
    history = X[np.isin(X[:, 0], cold)]
    misled = rec.fold_in(user_features=wrong)
    corrected = rec.fold_in(history, user_features=wrong)
    assert group_hit_rate(misled, cold, user_groups, np.arange(100), item_groups) < 0.3
    assert group_hit_rate(corrected, cold, user_groups, np.arange(100), item_groups) > 0.6
    # history alone, as without features: the prior's mean is the fitted users' mean
    plain = rec.fold_in(history)
    assert group_hit_rate(plain, cold, user_groups, np.arange(100), item_groups) > 0.6
    # without features a user's prior mean is the fitted users' mean rows, which the
    # means moved by each fitted user's own features average to
    solver = rec._fold_in_solver()
    fitted = solver.logits_of.user_features(np.arange(len(rec.users_)))
    moved = solver.prior.means(solver.logits_of, len(fitted), fitted)
    np.testing.assert_allclose(moved.mean(0), solver.prior.means(solver.logits_of, 1)[0], atol=1e-5)


def test_new_items_join_a_fitted_model_by_a_continued_fit(planted):
    """A grown table and ``partial_fit``: new items are encoded as fit's were, and rank."""
    X, user_groups, item_groups, _, items = planted
    items = items.assign(year=1990.0 + np.arange(100) % 30)
    old = X[X[:, 1] < 80]
    rec = NCFRecommender(item_features=items.iloc[:80], **SMALL).fit(old)
    encoder = rec.feature_encoders_["item"]
    rec.set_params(item_features=items).partial_fit(old[:50])
    assert len(rec.items_) == 100 and rec.feature_encoders_["item"] is encoder  # not refit
    assert group_hit_rate(rec, np.arange(50), user_groups, np.arange(80, 100), item_groups) > 0.6
    with pytest.raises(ValueError, match="item_features does not match the features of fit"):
        rec.set_params(item_features=items.drop(columns="year")).partial_fit(old[:50])
    assert len(rec.items_) == 100  # the failed call changed nothing


def test_training_ranks_positives_among_items_with_interactions_only(planted, monkeypatch):
    """Items known by their features alone are not every user's negative in training."""
    X, _, _, _, items = planted
    cold = np.arange(80, 100)
    # what training leaves, before the cold rows are set to the trained ones' mean
    monkeypatch.setattr("skncf._estimator._average_untrained", lambda graph, seen: None)
    warm = X[~np.isin(X[:, 1], cold)]
    rec = NCFRecommender(item_features=items, **SMALL).fit(warm)
    bias = rec.model_.get_layer("item_bias").get_weights()[0][:, 0]
    codes = np.searchsorted(rec.items_, cold)
    counts = np.bincount(np.searchsorted(rec.items_, warm[:, 1]), minlength=len(bias))
    start = 0.5 * np.log1p(counts)  # init="popularity": no users, the lowest start
    start -= start.mean()
    np.testing.assert_allclose(bias[codes], start[codes], rtol=1e-6)  # untouched since
    trained = np.setdiff1d(np.arange(len(bias)), codes)
    assert (np.abs(bias[trained] - start[trained]) > 1e-6).all()


@pytest.mark.parametrize("side", ["user", "item"])
def test_ids_without_interactions_get_the_trained_ids_mean_rows(planted, side):
    """Not their random start: an average id plus what its features add."""
    X, _, _, users, items = planted
    column = 0 if side == "user" else 1
    cold = np.arange(80, 100)
    table = {"user": users, "item": items}[side]
    rec = NCFRecommender(**{f"{side}_features": table}, **SMALL)
    rec.fit(X[~np.isin(X[:, column], cold)])
    codes = np.searchsorted(getattr(rec, f"{side}s_"), cold)
    trained = np.setdiff1d(np.arange(len(table)), codes)
    for name in (f"{side}_embedding", f"{side}_bias"):
        rows = rec.model_.get_layer(name).get_weights()[0]
        np.testing.assert_allclose(rows[codes], np.tile(rows[trained].mean(0), (20, 1)), atol=1e-6)
    if side == "user":  # as fold-in scores a user with those features and no history
        folded = rec.fold_in(user_features=users.loc[cold].set_axis(cold + 1000))
        np.testing.assert_allclose(
            folded.predict(np.column_stack([cold + 1000, cold])),
            rec.predict(np.column_stack([cold, cold])),
            rtol=1e-4,
        )


@pytest.mark.parametrize("id_embeddings", [True, False])
def test_add_items_puts_new_items_in_the_catalog_without_training(planted, id_embeddings, tmp_path):
    X, user_groups, item_groups, _, items = planted
    old = X[X[:, 1] < 80]
    table = items.assign(year=1990.0 + np.arange(100) % 30)
    rec = NCFRecommender(item_features=table.iloc[:80], id_embeddings=id_embeddings, **SMALL)
    rec.fit(old)
    before, weights = rec.predict(old), rec.model_.get_weights()
    assert rec.add_items(table.iloc[80:]) is rec
    np.testing.assert_array_equal(rec.items_, np.arange(100))
    np.testing.assert_allclose(rec.predict(old), before, atol=1e-6)  # the rest unchanged
    assert group_hit_rate(rec, np.arange(50), user_groups, np.arange(80, 100), item_groups) > 0.6
    # the rows an item of fit's table without interactions gets: the trained ones' mean
    for name in ("item_embedding", "item_bias"):
        rows = rec.model_.get_layer(name).get_weights()[0]
        np.testing.assert_allclose(rows[80:], np.tile(rows[:80].mean(0), (20, 1)), atol=1e-6)
    # they travel in model files and are trained by a later partial_fit
    loaded = load(rec.save(tmp_path / "added.skncf"))
    pairs = np.column_stack([np.arange(20), np.arange(80, 100)])
    np.testing.assert_allclose(loaded.predict(pairs), rec.predict(pairs), rtol=1e-6)
    features = rec.model_.get_layer("item_features").get_weights()[0][80:]
    rec.partial_fit(X[X[:, 1] >= 80][:40])  # the table set at fit lacks items 80-99
    np.testing.assert_array_equal(
        rec.model_.get_layer("item_features").get_weights()[0][80:], features
    )
    assert len(weights) == len(rec.model_.get_weights())


@pytest.mark.parametrize("output", ["pandas", "polars"])
def test_features_encode_alike_whatever_transform_output_says(planted, output):
    # scikit-learn users often set transform_output="pandas" for their own pipelines
    X, _, _, users, items = planted
    labelled = items.assign(tags=[["a", "b"][: j % 2 + 1] for j in range(len(items))])
    arrays = NCFRecommender(user_features=users, item_features=labelled, **SMALL).fit(X)
    new = users.iloc[:3].set_axis([10**6, 10**6 + 1, 10**6 + 2])
    with sklearn.config_context(transform_output=output):
        frames = NCFRecommender(user_features=users, item_features=labelled, **SMALL).fit(X)
        folded = frames.fold_in(user_features=new).recommend(new.index, k=3)
    np.testing.assert_allclose(frames.predict(X[:50]), arrays.predict(X[:50]), rtol=1e-6)
    np.testing.assert_array_equal(
        folded, arrays.fold_in(user_features=new).recommend(new.index, k=3)
    )


def test_a_float_index_of_whole_numbers_keeps_integer_ids(planted):
    # pandas makes an index float after a merge with missing values
    X, _, _, _, items = planted
    rec = NCFRecommender(item_features=items.set_axis(items.index * 1.0), latent_dim=4,
                         epochs=1, random_state=0).fit(X)  # fmt: skip
    assert rec.items_.dtype == np.int64 and rec.recommend([0], k=3).dtype == np.int64
    with pytest.raises(ValueError, match="item_features has no row for"):
        NCFRecommender(item_features=items.set_axis(items.index + 0.5), **SMALL).fit(X)


def test_add_items_rejects_what_it_cannot_add(planted):
    X, _, _, users, items = planted
    plain = NCFRecommender(**SMALL).fit(X)
    with pytest.raises(ValueError, match="item_features: the model was fit without item"):
        plain.add_items(items)
    rec = NCFRecommender(item_features=items.iloc[:80], **SMALL).fit(X[X[:, 1] < 80])
    with pytest.raises(ValueError, match=r"2 id\(s\) are in the catalog already: 3, 4"):
        rec.add_items(items.iloc[[3, 4, 90]])
    with pytest.raises(ValueError, match="item_features does not match the features of fit"):
        rec.add_items(items.iloc[90:].rename(columns={"group": "genre"}))
    text_ids = items.iloc[90:].set_axis(items.index[90:].astype(str))
    with pytest.raises(TypeError, match="item_features has string item ids, but the model"):
        rec.add_items(text_ids)
    assert len(rec.items_) == 80  # the failed calls changed nothing


def test_features_after_fit_must_match_fit(planted, tmp_path):
    X, _, _, users, items = planted
    rec = NCFRecommender(user_features=users, **SMALL).fit(X)
    before = rec.predict(X[:5])
    new = users.iloc[:2].set_axis([1000, 1001])
    for table, match in (
        (new.rename(columns={"age": "years"}), "user_features does not match the features of fit"),
        (new[["group"]], "user_features does not match"),
        (new.assign(country="fr"), r"columns \['country'\] were not in fit's table"),
        ((np.array([1000]), np.ones((1, 3))), "user_features does not match"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            rec.fold_in(user_features=table)
    with pytest.raises(ValueError, match="needs X .interactions., user_features, or both"):
        rec.fold_in()
    with pytest.raises(ValueError, match=r"user_features has no row for 1 user id\(s\) of X: 1002"):
        rec.fold_in([[1002, 3]], user_features=new)
    with pytest.raises(ValueError, match="the model was fit without user features"):
        NCFRecommender(**SMALL).fit(X).fold_in(user_features=new)
    with pytest.raises(ValueError, match="the model was fit without user features"):
        NCFRecommender(item_features=items, **SMALL).fit(X).fold_in(user_features=new)
    # a matrix-fitted model takes matrices of its width, and has no encoder for a table
    matrix = NCFRecommender(user_features=(np.arange(200), np.eye(200)[:, :5]), **SMALL).fit(X)
    with pytest.raises(ValueError, match="user_features has 3 encoded columns; the model .* 5"):
        matrix.fold_in(user_features=(np.array([7]), np.ones((1, 3))))
    with pytest.raises(TypeError, match="give \\(ids, encoded matrix\\)"):
        load(matrix.save(tmp_path / "m.skncf")).fold_in(user_features=new)
    np.testing.assert_array_equal(rec.predict(X[:5]), before)


def test_a_continued_fit_needs_the_feature_sides_of_fit(planted):
    X, _, _, users, items = planted
    rec = NCFRecommender(user_features=users, item_features=items, **SMALL).fit(X)
    before = rec.predict(X[:5])
    rec.set_params(user_features=None)
    with pytest.raises(
        ValueError,
        match="fit with features item_features and user_features; "
        "the parameters now give item_features. Set them as at fit",
    ):
        rec.partial_fit(X[:20])
    np.testing.assert_array_equal(rec.predict(X[:5]), before)
    rec.set_params(user_features=users).partial_fit(X[:20])


@pytest.mark.parametrize(
    "architecture", ["gmf", "neumf", pytest.param("seed", marks=pytest.mark.slow),
                     pytest.param("mlp", marks=pytest.mark.slow)]
)  # fmt: skip
@pytest.mark.parametrize("feedback", ["implicit", pytest.param("explicit", marks=pytest.mark.slow)])
def test_every_architecture_trains_with_both_sides_features(planted, architecture, feedback):
    X, _, _, users, items = planted
    y = np.random.default_rng(0).uniform(1, 5, len(X)) if feedback == "explicit" else None
    matrix = sp.random(100, 6, density=0.5, random_state=0, format="csr")  # (ids, matrix)
    items = (np.arange(100), matrix)
    rec = NCFRecommender(
        architecture, feedback=feedback, user_features=users, item_features=items, **SMALL
    ).fit(X, y)
    assert rec.feature_encoders_["item"] is None  # a matrix is used as given
    assert rec.predict(X[:5]).shape == (5,)
    assert rec.recommend([0], k=3).shape == (1, 3)
    assert rec.similar_items([0], k=3).shape == (1, 3)


def test_features_travel_unsplit_through_a_search_pickles_and_files(planted, tmp_path):
    X, _, _, _, items = planted
    # a table as long as X: a fit parameter of that length would be cut by the search
    extra = np.arange(1000, 1000 + len(X) - len(items))
    padded = pd.concat([items, pd.DataFrame({"group": ["g0"] * len(extra)}, index=extra)])
    assert len(padded) == len(X)
    search = GridSearchCV(
        NCFRecommender(latent_dim=4, epochs=2, random_state=0),
        {"item_features": [None, padded]},
        cv=LeaveLastOut(random_state=0),
    ).fit(X)
    assert len(search.cv_results_["mean_test_score"]) == 2
    rec = NCFRecommender(item_features=padded, **SMALL).fit(X)
    assert len(rec.items_) == len(padded)
    again = pickle.loads(pickle.dumps(rec))
    np.testing.assert_array_equal(again.predict(X[:20]), rec.predict(X[:20]))
    loaded = load(rec.save(tmp_path / "m.skncf"))
    np.testing.assert_array_equal(loaded.predict(X[:20]), rec.predict(X[:20]))
    assert loaded.get_params()["item_features"] is None  # the graph keeps the encoded rows
    served = tf.saved_model.load(str(rec.export(tmp_path / "export"))).signatures
    top = served["recommend"](user=tf.constant([0, 1], tf.int64), k=tf.constant(5))
    np.testing.assert_array_equal(top["items"].numpy(), rec.recommend([0, 1], k=5))
    folded = rec.fold_in([["new", 1001], ["new", 1002]])
    assert folded.recommend(["new"], k=3).shape == (1, 3)


def test_the_repr_shows_feature_tables_by_their_shapes(planted):
    _, _, _, users, items = planted
    matrix = sp.random(len(items), 3, density=0.5, format="csr", random_state=0)
    rec = NCFRecommender(user_features=users, item_features=(items.index.to_numpy(), matrix))
    shape = f"shape ({len(items)},)"
    assert " ".join(repr(rec).split()) == (  # however the printer wraps its lines
        f"NCFRecommender(item_features=(<ndarray of {shape}>, <csr_matrix of shape "
        f"({len(items)}, 3)>), user_features=<DataFrame of shape ({len(users)}, 2)>)"
    )
    assert rec.get_params()["user_features"] is users  # the parameters are untouched
    assert repr(NCFRecommender(latent_dim=4)) == "NCFRecommender(latent_dim=4)"


def test_a_model_keeps_the_row_length_it_was_fit_with(planted, tmp_path, monkeypatch):
    # models fit when rows were scaled to 0.3 (files of format 2, earlier pickles) scale
    # the rows of new users to 0.3 too: their projection was trained on such rows
    X, _, _, users, _ = planted
    cold = np.arange(150, 200)
    monkeypatch.setattr(feature_encoding, "ROW_NORM", feature_encoding.LEGACY_ROW_NORM)
    rec = NCFRecommender(user_features=users.drop(index=cold), **SMALL)
    rec.fit(X[~np.isin(X[:, 0], cold)])
    pairs = np.column_stack([np.repeat(cold[:5], 8), np.tile(np.unique(X[:, 1])[:8], 5)])
    expected = rec.fold_in(user_features=users.loc[cold]).predict(pairs)
    monkeypatch.undo()
    assert feature_encoding.ROW_NORM != feature_encoding.LEGACY_ROW_NORM

    def folded(model):
        return model.fold_in(user_features=users.loc[cold]).predict(pairs)

    old_pickle = pickle.loads(pickle.dumps(rec))
    del old_pickle._feature_row_norm  # as estimators pickled before it was kept
    path = rec.save(tmp_path / "m.skncf")
    old_file = tmp_path / "old.skncf"
    old_file.write_bytes(path.read_bytes())
    rewrite(old_file, lambda meta: {k: v for k, v in meta.items() if k != "feature_row_norm"}
            | {"format_version": 2})  # fmt: skip
    for model in (rec, pickle.loads(pickle.dumps(rec)), old_pickle, load(path), load(old_file)):
        np.testing.assert_allclose(folded(model), expected, rtol=1e-6)
    served = tf.saved_model.load(str(rec.export(tmp_path / "export"))).signatures
    encoded = rec.feature_encoders_["user"].transform(users.loc[cold]).astype(np.float32)
    out = served["recommend_new"](user_features=tf.constant(encoded), k=tf.constant(5))
    top, scores = rec.fold_in(user_features=users.loc[cold]).recommend(
        cold, k=5, return_scores=True
    )
    np.testing.assert_array_equal(out["items"].numpy(), top)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5)
    # a new fit takes today's length
    refit = NCFRecommender(user_features=users.drop(index=cold), **SMALL)
    refit.fit(X[~np.isin(X[:, 0], cold)])
    assert load(refit.save(tmp_path / "new.skncf"))._row_norm() == feature_encoding.ROW_NORM


def test_a_model_file_keeps_the_default_encoders_table(planted, tmp_path):
    X, _, _, users, items = planted
    rng = np.random.default_rng(0)
    users = users.assign(
        age=rng.integers(18, 70, len(users)),  # ints of many values: binned too
        region=pd.Categorical(rng.choice(["north", "south"], len(users))),
        member=rng.random(len(users)) > 0.5,
        city=np.where(rng.random(len(users)) > 0.2, rng.choice(["a", "b", "c"], len(users)), None),
        # pandas' nullable dtypes, as convert_dtypes() or a parquet file gives them
        score=pd.array(rng.random(len(users)), dtype="Float64"),
        vip=pd.array(rng.random(len(users)) > 0.5, dtype="boolean"),
        unknown=np.nan,  # a column without values: scikit-learn's imputer warns at fit
    )
    users.loc[3, "score"], users.loc[4, "vip"] = pd.NA, pd.NA
    with pytest.warns(UserWarning, match="Skipping features without any observed values"):
        rec = NCFRecommender(user_features=users, item_features=items, **SMALL).fit(X)
    new = users.iloc[2:5].set_axis(["x", "y", "z"]).assign(city=["a", None, "unknown"])
    pairs = [["x", 5], ["y", 6], ["z", 7]]
    with warnings.catch_warnings():
        # every column kind here is kept, and the empty column's warning was fit's alone
        warnings.simplefilter("error")
        loaded = load(rec.save(tmp_path / "m.skncf"))
        np.testing.assert_allclose(
            loaded.fold_in(user_features=new).predict(pairs),
            rec.fold_in(user_features=new).predict(pairs),
            rtol=1e-6,
        )
    assert sorted(loaded.feature_encoders_) == ["item", "user"]
    added = items.iloc[:2].set_axis([500, 501])
    np.testing.assert_allclose(
        load(rec.save(tmp_path / "m.skncf")).add_items(added).predict([[0, 500], [1, 501]]),
        rec.add_items(added).predict([[0, 500], [1, 501]]),
        rtol=1e-6,
    )
    # a loaded model saves its tables again, and continues a fit with them
    again = load(loaded.save(tmp_path / "again.skncf"))
    assert sorted(again.feature_encoders_) == ["item", "user"]
    again.set_params(user_features=users, item_features=items).partial_fit(X[:20])


def test_a_table_the_file_cannot_keep_is_named(planted, tmp_path):
    X, _, _, users, _ = planted
    cohorts = pd.Timestamp("2020-01-01") + pd.to_timedelta(users.index % 3, "D")
    dated = users.assign(joined=pd.Categorical(cohorts))  # categories of dates: one-hot
    rec = NCFRecommender(user_features=dated, **SMALL).fit(X)
    with pytest.warns(UserWarning, match="does not keep user_features"):
        path = rec.save(tmp_path / "m.skncf")
    with pytest.raises(TypeError, match="give \\(ids, encoded matrix\\)"):
        load(path).fold_in(user_features=dated.iloc[:1])
    # an encoder of the user's own is code, which a file never holds: not kept, as documented
    custom = NCFRecommender(user_features=users, features_encoder=OneHotEncoder(), **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(custom.fit(X).save(path))
    assert loaded.feature_encoders_ == {"user": None}


@pytest.mark.parametrize("kind", ["frame", "matrix"])
def test_export_recommends_for_new_users_from_their_features(
    planted, cold_users_export, tmp_path, kind
):
    X, user_groups, item_groups, users, _ = planted
    cold = COLD
    if kind == "frame":
        rec, served = cold_users_export
        new = users.loc[cold]
    else:  # numeric features as given, served without any Python encoding
        table = (users.index.to_numpy(), np.eye(4)[user_groups] + 0.1)
        new = (table[0][150:], table[1][150:])
        # from this matrix (one-hot plus 0.1) 10 epochs put 0.596 of the top 5 in the group
        rec = NCFRecommender(user_features=(table[0][:150], table[1][:150]),
                             **{**SMALL, "epochs": 20})  # fmt: skip
        rec.fit(X[~np.isin(X[:, 0], cold)])
        served = tf.saved_model.load(str(rec.export(tmp_path / "export"))).signatures
    encoded = rec.feature_encoders_["user"].transform(new) if kind == "frame" else new[1]
    encoded = sp.csr_matrix(encoded).toarray().astype(np.float32)
    out = served["recommend_new"](user_features=tf.constant(encoded), k=tf.constant(5))
    folded = rec.fold_in(user_features=new)
    expected, scores = folded.recommend(cold, k=5, return_scores=True)
    np.testing.assert_array_equal(out["items"].numpy(), expected)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5)
    assert np.mean(item_groups[expected] == user_groups[cold][:, None]) > 0.6
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        served["recommend_new"](user_features=tf.constant(encoded * np.nan), k=tf.constant(5))
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds"):
        served["recommend_new"](user_features=tf.constant(encoded), k=tf.constant(101))


def test_export_folds_in_new_users_from_history_and_features(planted, cold_users_export):
    X, user_groups, _, _, _ = planted
    cold = COLD
    rec, served = cold_users_export
    # two users with a short history and features that point elsewhere, one with
    # features alone; the pairs' users first, then the other feature rows
    short = X[np.isin(X[:, 0], cold[:2])]
    short = np.vstack([short[short[:, 0] == u][:3] for u in cold[:2]])
    weights = np.arange(1.0, 7.0, dtype=np.float32)
    shifted = (user_groups[cold[:3]] + 1) % 4
    table = pd.DataFrame({"group": [f"g{g}" for g in shifted], "age": 20.0 + shifted},
                         index=cold[:3]).iloc[[2, 0, 1]]  # not in the users' order  # fmt: skip
    folded = rec.fold_in(short, y=weights, user_features=table)
    expected, scores = folded.recommend(cold[:3], k=5, return_scores=True)
    pairs = dict(user=tf.constant(short[:, 0]), item=tf.constant(short[:, 1]),
                 weight=tf.constant(weights), feature_user=tf.constant(table.index))  # fmt: skip
    encoded = rec.feature_encoders_["user"].transform(table)
    encoded = sp.csr_matrix(encoded).toarray().astype(np.float32)
    attributes = {"group": tf.constant(table.group.to_numpy(str)), "age": tf.constant(table.age)}
    for out in (
        served["recommend_from_history_and_features"](
            **pairs, user_features=tf.constant(encoded), k=tf.constant(5)
        ),
        served["recommend_from_history_and_attributes"](**pairs, k=tf.constant(5), **attributes),
    ):
        np.testing.assert_array_equal(out["users"].numpy(), cold[:3])
        np.testing.assert_array_equal(out["items"].numpy(), expected)
        # Python's joint L-BFGS stops a little short of the optimum the export's Newton
        # steps reach (user guide, fold_in): 1.4e-4 apart on TensorFlow 2.16
        np.testing.assert_allclose(out["scores"].numpy(), scores, atol=3e-4)
    # the features moved the rows: the history alone scores otherwise
    alone = served["recommend_from_weighted_history"](
        user=pairs["user"], item=pairs["item"], weight=pairs["weight"], k=tf.constant(5)
    )
    assert np.abs(alone["scores"].numpy() - scores[:2]).max() > 1e-3
    function = served["recommend_from_history_and_features"]
    for change, message in [
        ({"feature_user": tf.constant(table.index[1:])}, "one row per feature_user"),
        ({"feature_user": tf.constant(table.index[[0, 0, 1]])}, "holds a user twice"),
        ({"feature_user": tf.constant(np.array([cold[0], cold[2], 999]))}, "needs a row"),
        ({"weight": -pairs["weight"]}, "non-negative"),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            function(**{**pairs, **change}, user_features=tf.constant(encoded), k=tf.constant(5))


def test_export_encodes_raw_attributes_as_the_default_encoder_does(
    planted, cold_users_export, tmp_path
):
    X, _, _, users, _ = planted
    rng = np.random.default_rng(1)
    table = users.assign(
        age=rng.integers(18, 70, len(users)).astype(float),  # binned as well
        city=rng.choice(["a", "b", "c"], len(users)),
        member=rng.random(len(users)) > 0.5,
        unknown=np.nan,  # no value at fit: the imputer leaves it out, values later unread
    )
    table.loc[3, "age"], table.loc[4, "city"], table.loc[5, "city"] = np.nan, None, "once"
    with pytest.warns(UserWarning, match="Skipping features without any observed values"):
        rec = NCFRecommender(user_features=table, **SMALL).fit(X)
    served = tf.saved_model.load(str(rec.export(tmp_path / "export"))).signatures
    function = served["recommend_from_attributes"]
    assert function.structured_input_signature[1]["city"].dtype == tf.string
    # missing values, an unknown and an infrequent category, and ages on the bin edges
    edges = rec.feature_encoders_["user"].named_transformers_["pipeline-2"][-1].bin_edges_[0]
    n = len(edges) + 3
    new = pd.DataFrame(
        {
            "group": np.resize(["g0", "g1", None, "g9"], n),
            "age": np.concatenate([edges, [np.nan, 200.0, -5.0]]),
            "city": np.resize(["a", None, "once", "zz", "c"], n),
            "member": np.resize([True, False], n),
            "unknown": np.resize([np.nan, 3.0, -1e6], n),
        },
        index=[f"new{j}" for j in range(n)],
    )
    inputs = {  # text as strings, "" where missing
        column: tf.constant(values.to_numpy())
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        else tf.constant(values.fillna("").to_numpy(str))
        for column, values in new.items()
    }
    out = function(k=tf.constant(5), **inputs)
    expected, scores = rec.fold_in(user_features=new).recommend(new.index, k=5, return_scores=True)
    np.testing.assert_array_equal(out["items"].numpy(), expected)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5)
    # a table without missing values has no indicator columns
    plain, function = cold_users_export
    cold = users.loc[[COLD[0], COLD[3]]].set_axis(["a", "b"])
    attributes = {"group": tf.constant(cold.group.to_numpy(str)), "age": tf.constant(cold.age)}
    top = function["recommend_from_attributes"](k=tf.constant(3), **attributes)["items"]
    assert (
        top.numpy().tolist()
        == plain.fold_in(user_features=cold).recommend(["a", "b"], k=3).tolist()
    )
    # an encoder of the user's own is Python: the export takes encoded rows only
    custom = NCFRecommender(user_features=users, features_encoder=OneHotEncoder(), **SMALL)
    exported = tf.saved_model.load(str(custom.fit(X).export(tmp_path / "custom")))
    assert "recommend_new" in exported.signatures
    assert "recommend_from_attributes" not in exported.signatures


def test_missing_values_are_imputed_by_the_default_encoder(planted):
    X, _, _, users, _ = planted
    gappy = users.copy()
    gappy.loc[3, "age"] = np.nan
    gappy.loc[4, "group"] = None
    rec = NCFRecommender(user_features=gappy, **SMALL).fit(X)
    names = rec.feature_encoders_["user"].get_feature_names_out().tolist()
    assert any("missingindicator" in name for name in names)
    assert np.isfinite(rec.predict(X[:10])).all()


def test_bad_feature_tables_get_clear_errors(planted):
    X, _, _, users, items = planted
    fit = NCFRecommender(**SMALL).fit(X)
    before = fit.predict(X[:5])

    def fails(error, match, **params):
        with pytest.raises(error, match=match):
            fit.set_params(**params).fit(X)
        fit.set_params(user_features=None, item_features=None, features_encoder="auto")

    fails(
        ValueError, r"item_features has no row for 10 item id\(s\) of X", item_features=items[:90]
    )
    fails(ValueError, "item_features has repeated ids", item_features=pd.concat([items, items[:1]]))
    fails(TypeError, "user_features must be a DataFrame indexed by id", user_features=[[1, 2]])
    fails(ValueError, r"item_features as a tuple must be \(ids, table\)", item_features=(1, 2, 3))
    fails(TypeError, "item_features's matrix must be a 2-D numeric array",
          item_features=(np.arange(100), np.array([["a"]] * 100)))  # fmt: skip
    fails(ValueError, "item_features has 3 ids for 100 rows",
          item_features=(np.arange(3), np.zeros((100, 2))))  # fmt: skip
    nan = np.zeros((100, 2))
    nan[5, 1] = np.nan
    fails(ValueError, "item_features hold NaN", item_features=(np.arange(100), nan))
    fails(ValueError, r"item_features has no row for 100 item id\(s\).*its ids are text and "
          r"X's are numbers: convert them \(a DataFrame: table.set_axis\(table.index.astype\(int",
          item_features=items.set_axis(items.index.astype(str)))  # fmt: skip
    fails(ValueError, r"its ids are text that does not read as numbers \('i0', 'i1', 'i2', "
          r"\.\.\.\) and X's are numbers: are its ids \(a DataFrame's index\) the column",
          item_features=items.set_axis([f"i{n}" for n in items.index]))  # fmt: skip
    fails(ValueError, "features_encoder could not encode user_features",
          user_features=users, features_encoder=_Failing())  # fmt: skip
    # what the default encoder would one-hot value by value, or fail on unnamed
    joined = pd.Timestamp("2020-01-01") + pd.to_timedelta(users.index, "D")
    for column, message in [
        (joined, r"column 'x' holds dates, .* \(t - t.min\(\)\).dt.days"),
        (joined.tz_localize("UTC"), "column 'x' holds dates"),
        (joined - joined.min(), r"column 'x' holds durations, .*\(t.dt.total_seconds\(\)\)"),
        (pd.period_range("2020-01", periods=len(users), freq="M"), "column 'x' holds periods"),
        (
            np.array(["a", 1, None, 2.5] * 50, dtype=object)[: len(users)],
            "column 'x' mixes text and",
        ),
    ]:
        fails(TypeError, "user_features's " + message, user_features=users.assign(x=column))
    with pytest.raises(ValueError, match="id_embeddings=False"):
        NCFRecommender(init="svd", id_embeddings=False, item_features=items).fit(X)
    np.testing.assert_array_equal(fit.predict(X[:5]), before)  # failed fits changed nothing


def test_a_table_whose_id_column_is_not_its_index_is_refused(planted):
    # pd.read_csv without index_col: the ids sit in a column named as X's, the index is
    # 0, 1, 2, ...; matched by that index, every user got another user's features
    X, _, _, users, _ = planted
    pairs = pd.DataFrame(X, columns=["user", "item"])
    shuffled = users.sample(frac=1, random_state=0).rename_axis("user")
    read_from_file = shuffled.reset_index()
    assert set(read_from_file.index) == set(pairs["user"])  # every id found: no other error
    message = r"user_features has a column 'user', the name of X's id column, whose values"
    with pytest.raises(ValueError, match=r"(?s)" + message + r".*set_index\(.user.\)"):
        NCFRecommender(user_features=read_from_file, **SMALL).fit(pairs)
    with pytest.raises(ValueError, match=message):
        NCFRecommender(user_features=(np.arange(len(users)), read_from_file), **SMALL).fit(pairs)
    twice = shuffled.reset_index().set_index("user", drop=False)  # rows match, but the ids
    with pytest.raises(ValueError, match=r"column 'user', .* that repeats its ids: they would"):
        NCFRecommender(user_features=twice, **SMALL).fit(pairs)  # would be one more feature
    rec = NCFRecommender(user_features=shuffled, **SMALL).fit(pairs)
    new = read_from_file.head(3).assign(user=[900, 901, 902])
    with pytest.raises(ValueError, match=message):
        rec.fold_in(user_features=new)
    with pytest.raises(ValueError, match="repeats its ids"):
        rec.fold_in(user_features=new.set_index("user", drop=False))
    assert len(rec.fold_in(user_features=new.set_index("user")).users_) == 3


class _Failing:
    def fit(self, X, y=None):
        raise ValueError("cannot")

    def transform(self, X):
        return X

    def get_params(self, deep=True):
        return {}


def test_ids_beside_a_dataframe_key_its_rows_pandas_or_polars(planted, tmp_path):
    # tables often hold their ids in a column; polars frames have no index at all
    pl = pytest.importorskip("polars")
    X, _, _, users, items = planted
    users = users.assign(job=np.where(users.index % 3 == 0, "artist", None))
    indexed = NCFRecommender(user_features=users, item_features=items, **SMALL).fit(X)
    pairs = (users.index.to_numpy(), users.set_axis(users.index + 500))  # index ignored
    beside = NCFRecommender(user_features=pairs, item_features=items, **SMALL).fit(X)
    frame = pl.from_pandas(users.reset_index(names="user"))
    polars = NCFRecommender(
        user_features=(frame["user"], frame.drop("user")), item_features=items, **SMALL
    ).fit(X)
    for rec in (beside, polars):
        np.testing.assert_allclose(rec.predict(X[:50]), indexed.predict(X[:50]), rtol=1e-5)
    new = pl.DataFrame({"user": [900], "group": ["g1"], "age": [21.0], "job": ["artist"]})
    folded = load(polars.save(tmp_path / "m.skncf")).fold_in(
        user_features=(new["user"], new.drop("user"))
    )
    np.testing.assert_array_equal(
        folded.recommend([900], k=5),
        indexed.fold_in(user_features=new.to_pandas().set_index("user")).recommend([900], k=5),
    )
    no_index = r"user_features is a polars DataFrame, which has no index.*\(frame\['user'\], "
    with pytest.raises(TypeError, match=no_index):
        NCFRecommender(user_features=frame, **SMALL).fit(X)
