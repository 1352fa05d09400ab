"""The model learns planted structure, for every architecture."""

import numpy as np
import pytest

from skncf import NCFRecommender
from skncf.datasets import make_interactions

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


@pytest.mark.parametrize("model", ["seed", "gmf", "mlp", "neumf"])
def test_recommendations_come_from_the_users_taste_group(grouped, model):
    X, _, user_groups, item_groups = grouped
    rec = NCFRecommender(model=model, **LEARN).fit(X)
    users = np.arange(200)
    top = rec.recommend(users, k=10)
    share = np.mean(item_groups[top] == user_groups[users][:, None])
    assert share > 0.6, share  # chance is about 0.25
    assert rec.history_["loss"][-1] < rec.history_["loss"][0]


@pytest.mark.parametrize("model", ["gmf", "neumf"])
def test_explicit_ratings_of_a_low_rank_model_are_predicted(model):
    X, y = make_interactions(n_users=300, n_items=150, ratings=True, random_state=0)
    train = np.random.default_rng(0).random(len(X)) >= 0.2
    rec = NCFRecommender(model=model, feedback="explicit", handle_unknown="ignore", **LEARN)
    rec.fit(X[train], y[train])
    r2 = rec.score(X[~train], y[~train])
    assert r2 > 0.4, r2
    predicted = rec.predict(X[train])
    assert y[train].min() <= predicted.min() and predicted.max() <= y[train].max()


def test_similar_items_share_a_group(grouped):
    X, _, _, item_groups = grouped
    rec = NCFRecommender(model="gmf", **LEARN).fit(X)
    neighbours = rec.similar_items(np.arange(100), k=5)
    assert np.mean(item_groups[neighbours] == item_groups[:, None]) > 0.6
