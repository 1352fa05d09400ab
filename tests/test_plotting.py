"""skncf.plotting, headless (Agg): files are written, not blank, and show what they say."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import sklearn
from sklearn.exceptions import NotFittedError

from skncf import NCFRecommender
from skncf.datasets import make_interactions
from skncf.plotting import embedding_vectors, plot_embeddings, plot_history

from .conftest import FAST


@pytest.fixture(scope="module")
def validated():
    X, _, user_groups, item_groups = make_interactions(
        n_users=150, n_items=60, return_groups=True, random_state=0
    )
    rec = NCFRecommender(architecture="neumf", validation_fraction=0.3, **{**FAST, "epochs": 4})
    return rec.fit(X), item_groups


def drawn_fraction(path):
    """Share of pixels that are not background white."""
    image = matplotlib.image.imread(path)[..., :3]
    return float(np.mean(image.min(axis=-1) < 0.9))


def test_history_plot_shows_loss_and_validation_per_epoch(validated, tmp_path):
    rec, _ = validated
    ax = plot_history(rec)
    loss_line = ax.get_lines()[0]
    np.testing.assert_array_equal(loss_line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(loss_line.get_ydata(), rec.history_["loss"])
    right = [a for a in ax.figure.axes if a is not ax][0]
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), rec.history_["val_ndcg@10"])
    assert right.get_ylabel() == "val_ndcg@10"
    path = tmp_path / "history.png"
    ax.figure.savefig(path)
    assert drawn_fraction(path) > 0.01
    plt.close("all")


def test_history_without_validation_has_one_axis(fitted_gmf):
    ax = plot_history(fitted_gmf.history_)
    assert len(ax.figure.axes) == 1 and len(ax.get_lines()) == 1
    plt.close("all")


def test_embedding_map_has_one_point_per_item_and_labels(validated, tmp_path):
    rec, item_groups = validated
    labels = {item: f"item {item}" for item in rec.items_.tolist()}
    ax = plot_embeddings(rec, labels=labels, color=item_groups[rec.items_], n_labels=7)
    points = ax.collections[0].get_offsets()
    assert points.shape == (len(rec.items_), 2)
    assert len(ax.texts) == 7
    # the first principal axis carries the most variance
    assert np.var(points[:, 0]) >= np.var(points[:, 1])
    path = tmp_path / "items.png"
    ax.figure.savefig(path)
    assert drawn_fraction(path) > 0.01
    plt.close("all")


def test_colour_by_category_names_with_a_legend(validated):
    rec, item_groups = validated
    genres = np.array(["drama", "comedy", "horror"])[item_groups[rec.items_] % 3]
    ax = plot_embeddings(rec, color=genres)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["comedy", "drama", "horror"]
    ax.figure.canvas.draw()  # colours are mapped when drawn
    colours = ax.collections[0].get_facecolors()
    # one colour per genre, the same for every item of the genre
    assert len(np.unique(colours, axis=0)) == 3
    assert len(np.unique(colours[genres == "drama"], axis=0)) == 1
    plt.close("all")


def test_user_map_and_a_subset_of_ids(validated):
    rec, _ = validated
    ax = plot_embeddings(rec, kind="user", ids=rec.users_[:30], labels=list(range(30)))
    assert ax.collections[0].get_offsets().shape == (30, 2)
    assert embedding_vectors(rec, "user").shape[0] == len(rec.users_)
    plt.close("all")


def test_the_map_is_drawn_whatever_transform_output_says(validated):
    rec, _ = validated
    expected = plot_embeddings(rec).collections[0].get_offsets()
    with sklearn.config_context(transform_output="pandas"):  # PCA would give a frame
        ax = plot_embeddings(rec)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), expected)
    plt.close("all")


def test_series_label_and_colour_points_by_id(validated):
    # a column of a table indexed by item id (load_movielens_features' titles, genres):
    # more rows than the model's items, in another order, read by id, not by position
    rec, item_groups = validated
    pd = pytest.importorskip("pandas")
    ids = np.concatenate([rec.items_, [10_000, 10_001]])[::-1]  # unknown ids, reversed
    titles = pd.Series([f"title {i}" for i in ids], index=ids)
    genre = pd.Series(np.r_[-1, -1, item_groups[rec.items_][::-1]], index=ids)
    shown = rec.items_[[3, 0, 7]]
    ax = plot_embeddings(rec, ids=shown, labels=titles, color=genre)
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"title {i}" for i in shown)
    by_array = plot_embeddings(rec, ids=shown, color=item_groups[shown])
    for drawn in (ax, by_array):
        drawn.figure.canvas.draw()
    np.testing.assert_array_equal(
        ax.collections[0].get_facecolors(), by_array.collections[0].get_facecolors()
    )
    with pytest.raises(ValueError, match=r"color, a Series, has no value for 1 shown item"):
        plot_embeddings(rec, color=genre.drop(rec.items_[5]))
    with pytest.raises(TypeError, match="labels must be a dict or a Series .* got bool"):
        plot_embeddings(rec, labels=True)
    plt.close("all")


def test_a_fitted_pipeline_is_plotted_by_its_recommender(interactions):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    select = ColumnTransformer([("ids", "passthrough", [0, 1])])
    pipe = make_pipeline(select, NCFRecommender(**FAST)).fit(interactions)
    assert plot_history(pipe).get_ylabel() == "training loss"
    offsets = plot_embeddings(pipe).collections[0].get_offsets()
    assert len(offsets) == len(pipe[-1].items_)
    plt.close("all")


def test_plotting_errors_name_the_argument(validated, fitted_gmf):
    rec, _ = validated
    with pytest.raises(ValueError, match="kind must be"):
        plot_embeddings(rec, kind="movie")
    with pytest.raises(ValueError, match=r"color has shape \(3,\)"):
        plot_embeddings(rec, color=[1, 2, 3])
    with pytest.raises(ValueError, match="labels has 2 entries"):
        plot_embeddings(rec, labels=["a", "b"])
    with pytest.raises(ValueError, match="n_labels must be an int >= 0; got -1"):
        plot_embeddings(rec, n_labels=-1)
    with pytest.raises(ValueError, match="kind must be"):
        embedding_vectors(rec, "items")
    with pytest.raises(NotFittedError):
        plot_history(NCFRecommender())
    with pytest.raises(NotFittedError):
        embedding_vectors(NCFRecommender(), "item")
    plt.close("all")


def test_unknown_ids_are_an_error_even_when_the_estimator_ignores_them(interactions):
    # an unknown id has no learned vector: drawing code 0's in its place would mislead
    rec = NCFRecommender(architecture="gmf", handle_unknown="ignore", **FAST).fit(interactions)
    with pytest.raises(ValueError, match=r"ids contains 1 id\(s\) not seen in fit: 999"):
        plot_embeddings(rec, kind="user", ids=[rec.users_[0], rec.users_[1], 999])
    plt.close("all")


def test_one_dimensional_embeddings_are_drawn_along_the_first_axis(interactions):
    rec = NCFRecommender(architecture="gmf", **{**FAST, "latent_dim": 1}).fit(interactions)
    points = plot_embeddings(rec).collections[0].get_offsets()
    assert len(points) == len(rec.items_) and np.ptp(points[:, 0]) > 0
    np.testing.assert_allclose(points[:, 1], 0, atol=1e-6)
