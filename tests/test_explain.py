"""explain: each history item's first-order share of an item's logit.

At a folded-in user's optimum the contributions must match what folding in again without
each item changes; the fitted users' explanations come from the same arithmetic at the
rows training left them, and every bad call raises a clear error.
"""

import numpy as np
import pytest
from scipy.special import logit

from skncf import NCFRecommender
from skncf.datasets import make_interactions


@pytest.fixture(scope="module")
def X():
    return make_interactions(n_users=200, n_items=80, random_state=0)[0]


@pytest.mark.parametrize(
    ("architecture", "params"),
    [("gmf", {}), ("gmf", {"loss": "log", "n_negatives": "all"}), ("seed", {})],
)
def test_contributions_are_what_folding_in_without_the_item_changes(X, architecture, params):
    # (sampled negatives' weight follows a user's number of positives: see the docstring)
    rec = NCFRecommender(architecture, latent_dim=8, epochs=10, random_state=0, **params)
    rec.fit(X)
    history = np.unique(X[X[:, 0] == 0, 1])[:12]
    folded = rec.fold_in([["new", item] for item in history])
    targets = [history[0], *rec.recommend([0], k=3)[0]]
    pairs = [["new", target] for target in targets]
    # unweighted: leaving one item out keeps the others' weights
    without = {item: logit(rec.fold_in([["new", other] for other in history if other != item])
                           .predict(pairs)) for item in history}  # fmt: skip
    for n, target in enumerate(targets):
        because, lifts = folded.explain("new", target, n=None)
        assert sorted(because.tolist()) == sorted(history.tolist())
        assert np.all(np.diff(lifts) <= 0)
        base = logit(folded.predict(pairs[n : n + 1])[0])
        drops = np.array([base - without[item][n] for item in because])
        # first order at the optimum: a few percent off for a twelfth of the history
        assert np.corrcoef(lifts, drops)[0, 1] > 0.99
        np.testing.assert_allclose(lifts, drops, atol=0.1 * np.abs(drops).max())


def communities():
    """Users of items 0-19, users of items 20-39, and six users of both (60-65)."""
    rng = np.random.default_rng(0)
    pairs = [
        [u, i]
        for u in range(60)
        for i in rng.choice(np.arange(20) + (0 if u < 30 else 20), 6, replace=False)
    ]
    for u in range(60, 66):
        pairs += [[u, i] for i in rng.choice(np.arange(20), 4, replace=False)]
        pairs += [[u, i] for i in rng.choice(np.arange(20, 40), 4, replace=False)]
    return np.array(pairs)  # fmt: skip


@pytest.mark.parametrize("architecture", ["gmf", "seed"])
def test_a_fitted_users_items_of_the_targets_kind_explain_it(architecture):
    X = communities()
    rec = NCFRecommender(architecture, latent_dim=8, epochs=20, random_state=0).fit(X)
    for user in range(60, 66):
        history = X[X[:, 0] == user, 1]
        for target in sorted(set(range(40)) - set(history)):
            because, lifts = rec.explain(user, target, n=None)
            assert sorted(because.tolist()) == sorted(history.tolist())
            assert np.all(np.diff(lifts) <= 0) and lifts.dtype == np.float64
            alike = (because < 20) == (target < 20)
            assert lifts[alike].mean() > lifts[~alike].mean()
    every, short = rec.explain(60, 0, n=None), rec.explain(60, 0, n=3)
    for whole, part in zip(every, short):
        np.testing.assert_array_equal(part, whole[:3])


def test_explain_refuses_what_it_cannot_explain(X):
    rec = NCFRecommender(latent_dim=4, epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="user 999 is unknown to the model"):
        rec.explain(999, 1)
    with pytest.raises(ValueError, match="item 999 is unknown to the model"):
        rec.explain(0, 999)
    with pytest.raises(ValueError, match="user must be one id; got 2"):
        rec.explain([0, 1], 1)
    for n in (0, 2.5, True):
        with pytest.raises(ValueError, match="n must be a positive int or None"):
            rec.explain(0, 1, n=n)
    for model in (NCFRecommender("neumf", latent_dim=4, epochs=1),
                  NCFRecommender(feedback="explicit", latent_dim=4, epochs=1)):  # fmt: skip
        y = None if model.feedback == "implicit" else np.ones(len(X)) * 3
        with pytest.raises(ValueError, match="explain needs a model whose users' problems"):
            model.fit(X, y).explain(0, 1)
    folded = rec.fold_in([["new", 1], ["new", 2]])
    rec.fit(X)
    with pytest.raises(ValueError, match="call fold_in again"):
        folded.explain("new", 1)


def test_a_user_known_by_its_features_alone_has_nothing_to_explain(tmp_path):
    import pandas as pd
    import tensorflow as tf

    X = make_interactions(n_users=60, n_items=40, random_state=0)[0]
    ages = pd.DataFrame({"age": np.arange(61) % 7 * 10.0})  # user 60: no interactions
    rec = NCFRecommender(latent_dim=8, epochs=3, random_state=0, user_features=ages).fit(X)
    for because, lifts in (
        rec.explain(60, 3),
        rec.fold_in(user_features=pd.DataFrame({"age": [30.0]}, index=[100])).explain(100, 3),
    ):
        assert because.shape == lifts.shape == (0,) and because.dtype == rec.items_.dtype
    served = tf.saved_model.load(str(rec.export(tmp_path))).signatures["explain"]
    out = served(user=tf.constant(60, tf.int64), item=tf.constant(3, tf.int64), k=tf.constant(3))
    assert out["items"].shape == out["contributions"].shape == (0,)
    out = served(user=tf.constant(0, tf.int64), item=tf.constant(3, tf.int64), k=tf.constant(3))
    np.testing.assert_allclose(out["contributions"].numpy(), rec.explain(0, 3, n=3)[1], rtol=1e-5)
