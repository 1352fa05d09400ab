"""NCFRecommender.fold_in: users fitted against the frozen item side, the model unchanged.

A fitted user folded in again from its own history must score items much as the fit does
(every architecture, both losses, ratings); the estimator must not change; the result
must be deterministic, follow handle_unknown, and refuse what it cannot learn from.
"""

import pickle

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.exceptions import NotFittedError

from skncf import FoldedUsers, NCFRecommender
from skncf.datasets import make_interactions
from skncf.metrics import evaluate
from skncf.model_selection import LeaveLastOut
from skncf.plotting import embedding_vectors

from .conftest import in_threads

SMALL = dict(latent_dim=8, epochs=10, random_state=0)
N_FOLDED = 10


@pytest.fixture(scope="module")
def data():
    X, _ = make_interactions(n_users=150, n_items=60, interactions_per_user=10, random_state=0)
    Xr, ratings = make_interactions(
        n_users=150, n_items=60, interactions_per_user=10, ratings=True, random_state=0
    )
    return X, Xr, ratings


def fit(data, architecture, objective):
    X, Xr, ratings = data
    if objective == "explicit":
        rec = NCFRecommender(architecture, feedback="explicit", **SMALL)
        return rec.fit(Xr, ratings), Xr, ratings
    return NCFRecommender(architecture, loss=objective, **SMALL).fit(X), X, None


def rows_of(X, y, users):
    mine = np.isin(X[:, 0], users)
    return X[mine], None if y is None else y[mine]


SETTINGS = [
    ("gmf", "softmax"),
    pytest.param("gmf", "explicit", marks=pytest.mark.slow),
    pytest.param("gmf", "log", marks=pytest.mark.slow),
    pytest.param("seed", "softmax", marks=pytest.mark.slow),
    pytest.param("mlp", "softmax", marks=pytest.mark.slow),
    pytest.param("mlp", "explicit", marks=pytest.mark.slow),
    ("neumf", "log"),
    pytest.param("neumf", "softmax", marks=pytest.mark.slow),
    pytest.param("seed", "explicit", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("architecture", "objective"), SETTINGS)
def test_a_fitted_user_folded_in_again_scores_items_as_the_fit(data, architecture, objective):
    rec, X, y = fit(data, architecture, objective)
    users = rec.users_[:N_FOLDED]
    weights_before = [w.copy() for w in rec.model_.get_weights()]
    folded = rec.fold_in(*rows_of(X, y, users))
    assert isinstance(folded, FoldedUsers)
    np.testing.assert_array_equal(folded.users_, users)
    pairs = np.array([[u, i] for u in users for i in rec.items_], dtype=X.dtype)
    in_fit = rec.predict(pairs).reshape(len(users), -1)
    again = folded.predict(pairs).reshape(len(users), -1)
    # the same ranking of the catalog, up to what a prior and a frozen item side change
    rho = np.median([spearmanr(a, b)[0] for a, b in zip(in_fit, again)])
    assert rho > 0.8, rho
    if objective == "explicit":
        low, high = y.min(), y.max()
        assert np.all((again >= low) & (again <= high))
    # the estimator is as it was
    for before, after in zip(weights_before, rec.model_.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert len(rec.users_) == 150


def test_fold_in_recommends_for_new_users_leaving_their_history_out(data):
    rec, X, _ = fit(data, "gmf", "softmax")
    a, b, c = rec.items_[:3]
    history = np.array([["new-a", a], ["new-a", b], ["new-b", c]], dtype=object)
    folded = rec.fold_in(history)
    top, scores = folded.recommend(["new-a", "new-b"], k=5, return_scores=True)
    assert top.shape == (2, 5)
    assert not set(top[0]) & {a, b}
    assert c not in top[1]
    assert np.all(np.diff(scores, axis=1) <= 0)
    denied = folded.recommend(["new-a"], k=3, deny=top[0, :2])
    assert not set(denied[0]) & set(top[0, :2])
    assert folded.recommend(["new-a"], k=2, exclude_seen=False).shape == (1, 2)
    assert "new-a" not in rec.users_  # the estimator did not gain the users
    with pytest.raises(ValueError, match="not seen in fit"):
        rec.recommend(["new-a"])


@pytest.mark.parametrize("architecture", ["gmf", "neumf"])
def test_folded_users_neighbours_are_the_nearest_fitted_users(data, architecture):
    rec, X, _ = fit(data, architecture, "softmax")
    fitted_user = rec.users_[0]  # folded again under its own label: not its own neighbour
    history = np.vstack([rows_of(X, None, [fitted_user])[0], [[999, rec.items_[1]]]])
    folded = rec.fold_in(history)
    neighbours, sims = folded.similar_users([fitted_user, 999], k=5, return_scores=True)

    def unit(rows):
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    fitted = unit(embedding_vectors(rec, "user"))  # GMF and tower parts, each of unit length
    parts = [name for name in ("gmf", "tower") if name in folded._vectors]
    queries = unit(np.hstack([unit(np.asarray(folded._vectors[name])) for name in parts]))
    cosines = queries @ fitted.T
    cosines[0, 0] = -np.inf  # user 0 is the first query's own label
    np.testing.assert_array_equal(neighbours, rec.users_[np.argsort(-cosines)[:, :5]])
    np.testing.assert_allclose(sims, -np.sort(-cosines)[:, :5], rtol=1e-5, atol=1e-6)
    assert fitted_user not in neighbours[0]
    # filters as the estimator's: per queried user, and the k best of what they leave
    deny = [neighbours[0, :2].tolist(), []]
    filtered = folded.similar_users([fitted_user, 999], k=3, deny=deny)
    np.testing.assert_array_equal(filtered, [neighbours[0, 2:5], neighbours[1, :3]])
    allowed = folded.similar_users([999], k=2, allow=neighbours[1, [4, 1, 3]])
    np.testing.assert_array_equal(allowed, [neighbours[1, [1, 3]]])
    with pytest.raises(ValueError, match="may return once allow and deny apply"):
        folded.similar_users([999], k=2, allow=[fitted_user])
    with pytest.raises(ValueError, match="not among the folded-in users: 1"):
        folded.similar_users([rec.users_[1]])
    with pytest.raises(ValueError, match="k="):
        folded.similar_users([999], k=len(rec.users_))


def test_fold_in_is_deterministic_and_thread_safe(data):
    rec, X, _ = fit(data, "neumf", "log")
    history = rows_of(X, None, rec.users_[:5])[0]
    expected = rec.fold_in(history).predict(history)
    results = in_threads(lambda n: rec.fold_in(history).predict(history), repeats=2)
    for per_thread in results:
        for result in per_thread:
            np.testing.assert_array_equal(result, expected)


def test_weights_and_counts_shape_the_fold_in(data):
    rec, X, _ = fit(data, "gmf", "softmax")
    items = rec.items_[:4]
    history = np.array([["n", item] for item in items], dtype=object)
    heavy_first = rec.fold_in(history, y=[50.0, 1.0, 1.0, 1.0])
    heavy_last = rec.fold_in(history, sample_weight=[1.0, 1.0, 1.0, 50.0])
    pairs = np.array([["n", items[0]], ["n", items[3]]], dtype=object)
    first, last = heavy_first.predict(pairs), heavy_last.predict(pairs)
    assert first[0] > last[0] and last[1] > first[1]  # the heavy item scores higher
    # a zero weight is no interaction: that item is not seen, and not learnt from
    zero = rec.fold_in(history, y=[1.0, 1.0, 1.0, 0.0])
    assert zero.seen_.sum() == 3


def test_refitting_the_estimator_invalidates_folded_users(data):
    rec, X, _ = fit(data, "gmf", "softmax")
    folded = rec.fold_in(rows_of(X, None, rec.users_[:2])[0])
    pickle.loads(pickle.dumps(rec)).fold_in(X[:3])  # the cache is not pickled, rebuilt
    copy = pickle.loads(pickle.dumps(folded))  # with its estimator
    np.testing.assert_array_equal(copy.recommend(rec.users_[:2]), folded.recommend(rec.users_[:2]))
    rec.partial_fit(X[:20])  # continued training moves the items the rows were fit to
    with pytest.raises(ValueError, match="changed after fold_in"):
        folded.recommend(rec.users_[:1])
    folded = rec.fold_in(rows_of(X, None, rec.users_[:2])[0])
    rec.set_params(epochs=1).fit(X)
    with pytest.raises(ValueError, match="changed after fold_in"):
        folded.similar_users(rec.users_[:1])


def test_fold_in_from_a_model_of_two_users():
    # two users' rows give a singular covariance: the prior must still be defined
    rec = NCFRecommender(latent_dim=4, epochs=1, random_state=0).fit([[0, 1], [1, 2], [1, 1]])
    top = rec.fold_in([[9, 1]]).recommend([9], k=1)
    assert top.tolist() == [[2]]


def test_fold_in_bad_input(data):
    rec, X, _ = fit(data, "gmf", "softmax")
    before = rec.recommend(rec.users_[:3], k=4)
    item = rec.items_[0]
    with pytest.raises(NotFittedError):
        NCFRecommender().fold_in([[0, 1]])
    # the hint says what "ignore" does here: the rows go, not a fallback score
    unknown = r"X \(item ids\) contains 1 id\(s\) not seen in fit: 1000000000\. Pass "
    with pytest.raises(
        ValueError, match=unknown + "handle_unknown='ignore' to leave their rows out"
    ):
        rec.fold_in([["n", item], ["n", 10**9]])
    with pytest.raises(ValueError, match="X leaves 1 user\\(s\\) with no interaction"):
        rec.fold_in([["n", item], ["m", item]], y=[1.0, 0.0])
    with pytest.raises(ValueError, match="non-negative"):
        rec.fold_in([["n", item]], y=[-1.0])
    with pytest.raises(ValueError, match="y has 2 entries but X has 1 rows"):
        rec.fold_in([["n", item]], y=[1.0, 2.0])
    with pytest.raises(ValueError, match="X has 3 features"):
        rec.fold_in(np.array([["n", item, 1]], dtype=object))
    folded = rec.fold_in([["n", item]])
    with pytest.raises(ValueError, match=r"users contains 1 id\(s\) not among the folded-in"):
        folded.recommend(["other"])
    fitted = rec.users_[0]  # known to the model, not to the folded users
    with pytest.raises(ValueError, match=r"X \(user ids\) contains 1 id\(s\) not among the fold"):
        folded.predict([[fitted, item]])
    with pytest.raises(ValueError, match="k=100 exceeds the 60 items"):
        folded.recommend(["n"], k=100)
    ignoring = NCFRecommender(**{**rec.get_params(), "handle_unknown": "ignore"}).fit(X)
    kept = ignoring.fold_in([["n", item], ["n", 10**9]])  # the unknown item's row is left out
    assert kept.seen_.sum() == 1
    with pytest.raises(ValueError, match="no interaction to learn from: 'n'"):
        ignoring.fold_in([["n", 10**9]])
    explicit = NCFRecommender(feedback="explicit", **SMALL).fit(data[1], data[2])
    with pytest.raises(ValueError, match="requires y"):
        explicit.fold_in(data[1][:3])
    # the failed calls left the estimator as it was
    np.testing.assert_array_equal(rec.recommend(rec.users_[:3], k=4), before)
    assert rec._fold_in is not None and "n" not in rec.users_


def test_folded_users_score_ratings_by_r2(data):
    from sklearn.metrics import r2_score

    rec, X, y = fit(data, "gmf", "explicit")
    history, held = next(LeaveLastOut(n_test=3, random_state=0).split(X))
    folded = rec.fold_in(X[history], y[history])
    expected = r2_score(y[held], folded.predict(X[held]))
    assert folded.score(X[held], y[held]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="y \\(the ratings\\) is required"):
        folded.score(X[held])


def test_save_and_load_keep_what_explicit_fold_in_needs(data, tmp_path):
    from skncf import load

    rec, X, y = fit(data, "gmf", "explicit")
    loaded = load(rec.save(tmp_path / "m.skncf"))
    history = rows_of(X, y, rec.users_[:3])
    np.testing.assert_array_equal(
        loaded.fold_in(*history).predict(history[0]), rec.fold_in(*history).predict(history[0])
    )


@pytest.mark.parametrize("architecture", ["gmf", "neumf"])
def test_evaluate_scores_held_out_users_folded_in_from_part_of_their_history(architecture):
    # the protocol of held-out users: fit without them, fold in all but each one's last
    # interaction, rank that one; evaluate must agree with the folded users' recommend
    X, _ = make_interactions(
        n_users=200, n_items=60, n_groups=4, interactions_per_user=12, affinity=0.9,
        random_state=0,
    )  # fmt: skip
    held_out = np.isin(X[:, 0], np.arange(150, 200))
    rec = NCFRecommender(architecture, **SMALL).fit(X[~held_out])
    history, last = next(LeaveLastOut(random_state=0).split(X[held_out]))
    folded = rec.fold_in(X[held_out][history])
    test = X[held_out][last]
    negatives = np.array([[i for i in range(60) if i != item][:20] for item in test[:, 1]])
    report = evaluate(folded, test, negatives=negatives)
    top = folded.recommend(test[:, 0], k=10)
    hits = [item in row for item, row in zip(test[:, 1], top)]
    assert report["full"]["hit_rate@10"] == pytest.approx(np.mean(hits))
    assert report["full"]["hit_rate@10"] > 0.5  # 4 taste groups of 15 items
    scores = folded.predict(np.column_stack([np.repeat(test[:, 0], 21), np.column_stack(
        [test[:, 1], negatives]).ravel()])).reshape(-1, 21)  # fmt: skip
    ranks = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    assert report["sampled"]["hit_rate@10"] == pytest.approx(np.mean(ranks < 10))
    # score: NDCG@10 of the same ranking (one pair per user), as the estimator's
    assert folded.score(test) == pytest.approx(report["full"]["ndcg@10"])
    assert folded.score(test, np.r_[1.0, np.zeros(len(test) - 1)]) == pytest.approx(
        evaluate(folded, test[:1])["full"]["ndcg@10"]
    )
    # the estimator itself does not know these users: every pair is a miss
    assert evaluate(rec, test)["full"]["hit_rate@10"] == 0
    assert rec.score(test) == 0


def test_a_known_user_folded_in_keeps_its_items_of_fit_as_seen(data):
    # folded in from its latest items (preprocessing.latest_interactions), a known user
    # must still not be recommended, nor evaluated on, what it had in fit
    X = data[0]
    rec = NCFRecommender("gmf", **SMALL).fit(X)
    user = rec.users_[0]
    history = X[X[:, 0] == user]
    latest = history[-2:]
    folded = rec.fold_in(latest)
    assert set(folded.items_[folded.seen_[[0]].indices]) == set(history[:, 1])
    top = folded.recommend([user], k=len(rec.items_) - len(set(history[:, 1])))
    assert not set(top[0]) & set(history[:, 1])
    held_out = np.array([[user, top[0][0]]])  # the best unseen item: rank 1 of the unseen
    assert evaluate(folded, held_out)["full"]["hit_rate@10"] == 1.0
    new = rec.fold_in(np.column_stack([[10**6, 10**6], latest[:, 1]]))  # a new user
    assert set(new.items_[new.seen_[[0]].indices]) == set(latest[:, 1])


@pytest.mark.parametrize(
    ("architecture", "objective"), [("gmf", "softmax"), ("seed", "log"), ("gmf", "log")]
)
def test_derivatives_in_closed_form_are_automatic_differentiations(data, architecture, objective):
    # the export's Newton steps use FoldIn.data_hessian, explain both; scipy's L-BFGS
    # takes automatic differentiation's gradients
    import tensorflow as tf

    from skncf._training.fold_in import FoldIn

    rec, X, _ = fit(data, architecture, objective)
    fitted = rec._fold_in_solver()
    # every other item a candidate: the mask of covered items plays its part
    solver = FoldIn(fitted.logits_of, fitted.prior, fitted.objective, len(rec.items_),
                    candidates=np.arange(0, len(rec.items_), 2))  # fmt: skip
    history = X[np.isin(X[:, 0], rec.users_[:3])]
    users = np.searchsorted(rec.users_, history[:, 0])
    items = np.searchsorted(rec.items_, history[:, 1])
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 2.0, len(history))
    batch = tuple(
        tf.constant(x) for x in rec._fold_in_history(users, items, weights, None, None, 3)
    )
    width = len(fitted.prior.mean)
    theta = tf.constant(fitted.prior.mean + 0.3 * rng.standard_normal((3, width)), tf.float32)
    with tf.GradientTape(persistent=True) as outer:
        outer.watch(theta)
        with tf.GradientTape() as inner:
            inner.watch(theta)
            value = tf.reduce_sum(solver._data_term(theta, *batch))
            per_pair, _ = solver._terms(theta, *batch)
        gradient = inner.gradient(value, theta)
    jacobian = solver.logit_jacobian()
    for found, expected in [
        (solver.data_hessian(theta, jacobian, *batch), outer.batch_jacobian(gradient, theta)),
        # each pair's term depends on its user's rows alone
        (solver.pair_gradients(theta, jacobian, *batch),
         tf.gather(outer.jacobian(per_pair, theta), batch[0], axis=1, batch_dims=1)),
    ]:  # fmt: skip
        expected = expected.numpy()
        assert np.abs(expected).max() > 1e-2  # something to compare
        np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
