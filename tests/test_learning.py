"""The model learns planted structure, for every architecture."""

import numpy as np
import pytest

from skncf import NCFRecommender
from skncf.datasets import make_interactions

pytestmark = pytest.mark.slow  # trains until the planted structure is learned

LEARN = dict(latent_dim=16, mlp_layers=(32, 16), epochs=8, learning_rate=0.005, random_state=0)


@pytest.fixture(scope="module")
def grouped():
    return make_interactions(
        n_users=200,
        n_items=100,
        n_groups=4,
        interactions_per_user=15,
        return_groups=True,
        random_state=0,
    )


@pytest.mark.parametrize("loss", ["log", "softmax"])
@pytest.mark.parametrize("model", ["seed", "gmf", "mlp", "neumf"])
def test_recommendations_come_from_the_users_taste_group(grouped, model, loss):
    X, _, user_groups, item_groups = grouped
    rec = NCFRecommender(architecture=model, loss=loss, **LEARN).fit(X)
    users = np.arange(200)
    top = rec.recommend(users, k=10)
    share = np.mean(item_groups[top] == user_groups[users][:, None])
    assert share > 0.6, share  # chance is about 0.25
    assert rec.history_["loss"][-1] < rec.history_["loss"][0]


def test_sampled_softmax_learns_planted_groups(grouped):
    X, _, user_groups, item_groups = grouped
    rec = NCFRecommender("neumf", loss="softmax", n_negatives=20, **LEARN).fit(X)
    top = rec.recommend(np.arange(200), k=10)
    assert np.mean(item_groups[top] == user_groups[:, None]) > 0.5  # chance: about 0.25


@pytest.mark.parametrize("loss", ["log", "softmax"])
def test_lazy_adam_learns_planted_groups(grouped, loss):
    X, _, user_groups, item_groups = grouped
    rec = NCFRecommender("neumf", loss=loss, optimizer="lazy_adam", **LEARN).fit(X)
    top = rec.recommend(np.arange(200), k=10)
    assert np.mean(item_groups[top] == user_groups[:, None]) > 0.6  # chance: about 0.25
    adam = NCFRecommender("neumf", loss=loss, **LEARN).fit(X)
    assert not np.allclose(rec.predict(X[:50]), adam.predict(X[:50]))  # another optimizer


@pytest.mark.parametrize("model", ["gmf", "neumf"])
def test_explicit_ratings_of_a_low_rank_model_are_predicted(model):
    X, y = make_interactions(n_users=300, n_items=150, ratings=True, random_state=0)
    train = np.random.default_rng(0).random(len(X)) >= 0.2
    # dropout=0: the planted ratings are noise-free and low-rank, so nothing to regularise
    rec = NCFRecommender(
        architecture=model, feedback="explicit", handle_unknown="ignore", dropout=0.0, **LEARN
    )
    rec.fit(X[train], y[train])
    r2 = rec.score(X[~train], y[~train])
    assert r2 > 0.4, r2
    predicted = rec.predict(X[train])
    assert y[train].min() <= predicted.min() and predicted.max() <= y[train].max()


def test_similar_items_share_a_group(grouped):
    X, _, _, item_groups = grouped
    rec = NCFRecommender(architecture="gmf", **LEARN).fit(X)
    neighbours = rec.similar_items(np.arange(100), k=5)
    assert np.mean(item_groups[neighbours] == item_groups[:, None]) > 0.6


def test_similar_users_share_a_group(grouped):
    X, _, user_groups, _ = grouped
    rec = NCFRecommender(architecture="neumf", **LEARN).fit(X)
    neighbours = rec.similar_users(np.arange(200), k=5)
    assert np.mean(user_groups[neighbours] == user_groups[:, None]) > 0.6


@pytest.mark.parametrize("loss", ["log", "softmax"])
def test_neumf_pretraining_starts_from_gmf_and_mlp(grouped, loss):
    X, _, user_groups, item_groups = grouped
    params = {**LEARN, "epochs": 4}
    rec = NCFRecommender(architecture="neumf", pretrain=True, loss=loss, **params).fit(X)
    assert len(rec.history_["pretrain_gmf_loss"]) == len(rec.history_["pretrain_mlp_loss"]) == 4
    # The blended start is already a good model: NeuMF's first loss is below the
    # first losses of its parts, which started from scratch.
    assert rec.history_["loss"][0] < rec.history_["pretrain_gmf_loss"][0]
    assert rec.history_["loss"][0] < rec.history_["pretrain_mlp_loss"][0]
    top = rec.recommend(np.arange(200), k=10)
    assert np.mean(item_groups[top] == user_groups[:, None]) > 0.6


def test_pretrain_blend_is_half_and_half():
    from skncf._graph.graphs import build_graph, init_neumf_from

    def graph(kind, seed):
        return build_graph(
            kind,
            n_users=5,
            n_items=4,
            latent_dim=3,
            mlp_layers=(4,),
            dropout=0.0,
            l2=0.0,
            seeds=iter(range(seed, seed + 50)),
        )

    gmf, mlp, neumf = graph("gmf", 0), graph("mlp", 100), graph("neumf", 200)
    init_neumf_from(neumf, gmf, mlp)
    kernel, bias = neumf.get_layer("prediction").get_weights()
    np.testing.assert_allclose(kernel[:3], 0.5 * gmf.get_layer("prediction").get_weights()[0])
    np.testing.assert_allclose(kernel[3:], 0.5 * mlp.get_layer("prediction").get_weights()[0])
    np.testing.assert_array_equal(
        neumf.get_layer("user_mlp_embedding").get_weights()[0],
        mlp.get_layer("user_mlp_embedding").get_weights()[0],
    )
    u, i = np.array([[0], [3]]), np.array([[1], [2]])
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(
        logit(neumf.predict([u, i], verbose=0)),
        0.5 * logit(gmf.predict([u, i], verbose=0)) + 0.5 * logit(mlp.predict([u, i], verbose=0)),
        atol=1e-5,
    )
