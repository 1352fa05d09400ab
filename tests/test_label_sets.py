"""Feature columns of label lists (genres, tags): one 0/1 column per label, end to end."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.compose import make_column_transformer

from skncf import NCFRecommender, load
from skncf._data.features import default_encoder
from skncf.preprocessing import LabelSets

SMALL = dict(latent_dim=8, epochs=10, random_state=0)


@pytest.fixture(scope="module")
def planted(taste_groups):
    X, user_groups, item_groups = taste_groups
    rng = np.random.default_rng(0)
    # each item: its group's label and a noise label, in either order, of several kinds
    labels = [
        [f"g{g}", f"x{n}"][:: rng.choice([-1, 1])]
        for g, n in zip(item_groups, rng.integers(0, 3, len(item_groups)))
    ]
    kinds = [list, tuple, set, np.array]
    column = [kinds[j % 4](value) for j, value in enumerate(labels)]
    items = pd.DataFrame({"genres": column, "year": rng.integers(1990, 2000, len(labels))})
    return X, user_groups, item_groups, items


def test_each_label_gets_a_column_whatever_the_cell_holds():
    films = pd.DataFrame(
        {
            "genres": [["drama", "comedy"], ("comedy", "drama"), {"drama"}, None, np.nan,
                       np.array(["comedy", "war"]), ["once"], []],
            "rating": ["pg", "r", "pg", "r", "pg", "r", "pg", "r"],
        }
    )  # fmt: skip
    encoder = default_encoder().fit(films)
    names = encoder.get_feature_names_out().tolist()
    genres = [name.split("__")[1] for name in names if name.startswith("labelsets")]
    assert genres == ["genres_comedy", "genres_drama"]  # "war" and "once" are seen once
    columns = [names.index(f"labelsets__{genre}") for genre in genres]
    expected = [[1, 1], [1, 1], [0, 1], [0, 0], [0, 0], [1, 0], [0, 0], [0, 0]]
    np.testing.assert_array_equal(encoder.transform(films)[:, columns], expected)
    # labels the fit did not see are ignored; the text column stays one-hot
    later = films.iloc[:1].assign(genres=[["western", "drama"]])
    np.testing.assert_array_equal(encoder.transform(later)[:, columns], [[0, 1]])
    assert "pipeline-3__rating_pg" in names


def test_label_sets_checks_the_fits_columns_and_advises_on_joined_text():
    sets = LabelSets(min_frequency=1).fit(pd.DataFrame({"genres": [["a"], ["b"]]}))
    assert sets.n_features_in_ == 1
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        sets.transform(pd.DataFrame({"tags": [["a"]]}))
    with pytest.raises(TypeError, match="LabelSets takes a DataFrame"):
        sets.transform(np.array([[["a"]]], dtype=object))
    joined = pd.DataFrame({"genres": ["Action|Comedy", "Drama"]})  # as MovieLens writes them
    with pytest.raises(TypeError, match=r"use X\['genres'\].str.split\('\|'\)"):
        LabelSets().fit(joined)


def test_label_sets_serves_an_encoder_of_your_own(planted):
    X, _, _, items = planted
    encoder = make_column_transformer((LabelSets(min_frequency=1), ["genres"]))
    rec = NCFRecommender(item_features=items, features_encoder=encoder, **SMALL).fit(X)
    names = rec.feature_encoders_["item"].get_feature_names_out().tolist()
    assert names == [
        f"labelsets__genres_{label}" for label in ["g0", "g1", "g2", "g3", "x0", "x1", "x2"]
    ]
    with pytest.raises(ValueError, match="min_frequency must be an int of at least 1; got 0"):
        LabelSets(min_frequency=0).fit(items)
    with pytest.raises(TypeError, match="LabelSets takes a DataFrame"):
        LabelSets().fit(np.zeros((3, 1)))


def test_cold_items_rank_by_their_label_lists(planted):
    X, user_groups, item_groups, items = planted
    cold = np.random.default_rng(0).choice(100, 20, replace=False)
    rec = NCFRecommender(item_features=items, **SMALL).fit(X[~np.isin(X[:, 1], cold)])
    users = np.arange(50)
    top = rec.recommend(users, k=5, allow=cold)
    assert np.mean(item_groups[top] == user_groups[users][:, None]) > 0.6  # chance: 0.25
    # added after fit, the cold items rank alike
    warm = NCFRecommender(item_features=items.drop(index=cold), **SMALL)
    warm = warm.fit(X[~np.isin(X[:, 1], cold)]).add_items(items.loc[cold])
    top = warm.recommend(users, k=5, allow=cold)
    assert np.mean(item_groups[top] == user_groups[users][:, None]) > 0.6


@pytest.mark.parametrize("labels", ["text", "integers"])
def test_a_model_file_keeps_a_table_of_label_lists(planted, tmp_path, labels):
    X, _, _, items = planted
    if labels == "integers":
        items = items.assign(genres=[[int(label[1:]) + 10 * (label[0] == "x") for label in set(v)]
                                     for v in items.genres])  # fmt: skip
    rec = NCFRecommender(item_features=items.iloc[:90], **SMALL).fit(X[X[:, 1] < 90])
    rec.save(tmp_path / "model.skncf")
    loaded = load(tmp_path / "model.skncf")
    # the loaded model encodes new items' raw attributes as the fitted one does
    new = items.iloc[90:]
    np.testing.assert_array_equal(
        loaded.add_items(new).recommend([0, 1], k=5), rec.add_items(new).recommend([0, 1], k=5)
    )


def test_the_export_takes_label_lists_as_joined_text(planted, tmp_path):
    X, _, _, _ = planted
    users = pd.DataFrame(
        {"likes": [[f"g{u % 4}", "all"] for u in range(200)], "age": np.arange(200) % 7}
    )
    rec = NCFRecommender(user_features=users, **SMALL).fit(X)
    served = tf.saved_model.load(str(rec.export(tmp_path / "export"))).signatures
    # repeated, unknown and empty labels, and a row without any
    likes = ["g1|all", "g2", "all|g3|g3", "", "zz|g0||all"]
    new = pd.DataFrame(
        {"likes": [[x for x in row.split("|") if x] for row in likes], "age": [1, 2, 3, 4, 5]},
        index=list("abcde"),
    )
    out = served["recommend_from_attributes"](
        likes=tf.constant(likes), age=tf.constant(new.age.to_numpy(float)), k=tf.constant(4)
    )
    expected, scores = rec.fold_in(user_features=new).recommend(new.index, k=4, return_scores=True)
    np.testing.assert_array_equal(out["items"].numpy(), expected)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5)
    # labels that are not text without "|" cannot be joined: encoded rows only
    numbered = users.assign(likes=[[u % 4, 9] for u in range(200)])
    rec = NCFRecommender(user_features=numbered, **SMALL).fit(X)
    served = tf.saved_model.load(str(rec.export(tmp_path / "numbered"))).signatures
    assert "recommend_from_attributes" not in served and "recommend_new" in served


def test_a_column_of_lists_and_single_values_is_refused_by_name(planted):
    X, _, _, items = planted
    mixed = items.assign(genres=[["g0"], "g1"] * 50)
    with pytest.raises(ValueError, match="column 'genres' holds 'g1' where a list of labels"):
        NCFRecommender(item_features=mixed, **SMALL).fit(X)
    kinds = items.assign(genres=[["g0", 1]] * 100)
    with pytest.raises(ValueError, match="column 'genres' mixes labels of several types"):
        NCFRecommender(item_features=kinds, **SMALL).fit(X)
    distinct = pd.DataFrame({"tags": [[f"t{j}"] for j in range(100)]})
    with pytest.raises(ValueError, match="item_features encode to no columns"):
        NCFRecommender(item_features=distinct, **SMALL).fit(X)
