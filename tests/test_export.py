"""NCFRecommender.export: a SavedModel that serves raw ids with TensorFlow alone.

The loaded SavedModel must give ``predict``'s scores, ``recommend``'s items (with the
call's filters too) and ``similar_items``' neighbours for every architecture and both
feedbacks, string and integer ids, known and unknown ones; in a fresh process that never
imports skncf; and ``saved_model_cli`` must list the signatures.
"""

import collections
import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import tensorflow as tf

from skncf import NCFRecommender
from skncf._cli import main
from skncf._compat import debugging_ops_on
from skncf._serving.saved_model import ServingModule
from skncf.datasets import make_interactions

TINY = dict(latent_dim=4, mlp_layers=(8, 4), epochs=1, random_state=0)
# trained enough that the rows, not the prior mean alone, order the items
TRAINED = dict(latent_dim=8, epochs=10)
K = 5
# float32 logits: the SavedModel's kernels may round a batch of another shape differently
RTOL = 1e-6
# fold-in's two solvers (scipy's L-BFGS on float32 gradients in Python, Newton's method in
# the graph) both stop where float32 no longer lowers the objective: on these small fits
# their scores differ by up to about 1.3e-4, with the same items in the same order
FOLD_IN_ATOL = 3e-4


def data(ids, feedback):
    X, ratings = make_interactions(n_users=40, n_items=80, ratings=True, random_state=0)
    if ids == "str":
        X = np.char.add("u", X.astype(str))
        X[:, 1] = np.char.replace(X[:, 1], "u", "item-")
    return X, (ratings if feedback == "explicit" else None)


def fitted(architecture, feedback, ids, handle_unknown="ignore", **params):
    X, y = data(ids, feedback)
    rec = NCFRecommender(
        architecture, feedback=feedback, handle_unknown=handle_unknown, **{**TINY, **params}
    )
    return rec.fit(X, y), X


class Exported(NamedTuple):
    rec: NCFRecommender
    X: np.ndarray
    path: Path
    signatures: object  # the loaded SavedModel's


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``exported(architecture, feedback, ids, **params)``: :func:`fitted`'s model, exported
    and loaded once per module for all tests that ask for the same one (an export and
    its load take seconds)."""
    done = {}

    def export(architecture, feedback, ids, **params):
        key = (architecture, feedback, ids, tuple(sorted(params.items())))
        if key not in done:
            rec, X = fitted(architecture, feedback, ids, **params)
            path = rec.export(tmp_path_factory.mktemp(architecture) / "ncf" / "1")
            done[key] = Exported(rec, X, path, tf.saved_model.load(str(path)).signatures)
        return done[key]

    return export


@pytest.fixture(scope="module")
def gmf_export(exported):
    """``(rec, X, signatures)`` of the GMF model with string ids most tests export."""
    rec, X, _, signatures = exported("gmf", "implicit", "str")  # handle_unknown="ignore"
    return rec, X, signatures


@pytest.fixture(scope="module")
def strict_gmf_export(exported):
    """The same with ``handle_unknown="error"``."""
    rec, X, _, signatures = exported("gmf", "implicit", "str", handle_unknown="error")
    return rec, X, signatures


def queries(rec, X):
    """Pairs and users to ask, with an unknown user and an unknown item among them."""
    unknown_user = "nobody" if rec.users_.dtype.kind == "U" else 10**6
    unknown_item = queries_unknown_item(rec)
    pairs = np.array(X[:12], dtype=object)
    pairs = np.vstack([pairs, [[unknown_user, X[0, 1]], [X[0, 0], unknown_item]]])
    users = np.append(rec.users_[:8].astype(object), unknown_user)
    return pairs, users


def tensor(values, like):
    return tf.constant(np.asarray(values).astype(like.dtype))


def check_served(rec, X, served):
    """``served`` (a loaded SavedModel's signatures) against the estimator's answers."""
    pairs, users = queries(rec, X)
    score = served["serving_default"](
        user=tensor(pairs[:, 0], rec.users_), item=tensor(pairs[:, 1], rec.items_)
    )["score"].numpy()
    np.testing.assert_allclose(score, rec.predict(pairs), rtol=RTOL)
    top = served["recommend"](user=tensor(users, rec.users_), k=tf.constant(K))
    items, scores = rec.recommend(users, k=K, return_scores=True)
    got = top["items"].numpy()
    if got.dtype.kind == "O":
        got = got.astype(str)
    np.testing.assert_array_equal(got, items)
    np.testing.assert_allclose(top["scores"].numpy(), scores, rtol=RTOL)
    # filters for the whole call, an unknown item among them (dropped, as "ignore" says)
    unknown_item = queries_unknown_item(rec)
    listed = np.append(rec.items_[::2].astype(object), unknown_item)
    for name, option in (("recommend_among", "allow"), ("recommend_excluding", "deny")):
        top = served[name](
            user=tensor(users, rec.users_), k=tf.constant(K), items=tensor(listed, rec.items_)
        )
        items, scores = rec.recommend(users, k=K, return_scores=True, **{option: listed})
        got = top["items"].numpy()
        np.testing.assert_array_equal(got.astype(str) if got.dtype.kind == "O" else got, items)
        np.testing.assert_allclose(top["scores"].numpy(), scores, rtol=RTOL)

    # item to item, an unknown item among them (the popular items, as "ignore" says)
    asked = np.append(rec.items_[:6].astype(object), unknown_item)
    near = served["similar_items"](item=tensor(asked, rec.items_), k=tf.constant(K))
    items, scores = rec.similar_items(asked, k=K, return_scores=True)
    got = near["items"].numpy()
    np.testing.assert_array_equal(got.astype(str) if got.dtype.kind == "O" else got, items)
    np.testing.assert_allclose(near["scores"].numpy(), scores, rtol=1e-5, atol=1e-6)

    # user to user, an unknown user among them (the most active users)
    near = served["similar_users"](user=tensor(users, rec.users_), k=tf.constant(K))
    neighbours, scores = rec.similar_users(users, k=K, return_scores=True)
    got = near["users"].numpy()
    np.testing.assert_array_equal(got.astype(str) if got.dtype.kind == "O" else got, neighbours)
    np.testing.assert_allclose(near["scores"].numpy(), scores, rtol=1e-5, atol=1e-6)
    check_filtered_neighbours(rec, served, asked, users)


def check_filtered_neighbours(rec, served, items, users):
    """similar_*_among and _excluding as similar_*(allow=...) and (deny=...)."""
    unknown_user = users[-1]  # queries() ends with an unknown user
    for kind, asked in (("item", items), ("user", users)):
        labels = getattr(rec, f"{kind}s_")
        listed = np.append(labels[::2].astype(object), unknown_user if kind == "user" else
                           queries_unknown_item(rec))  # fmt: skip
        for suffix, option in (("among", "allow"), ("excluding", "deny")):
            near = served[f"similar_{kind}s_{suffix}"](
                **{kind: tensor(asked, labels), f"{kind}s": tensor(listed, labels)},
                k=tf.constant(K),
            )
            similar = getattr(rec, f"similar_{kind}s")
            expected, scores = similar(asked, k=K, return_scores=True, **{option: listed})
            got = near[f"{kind}s"].numpy()
            np.testing.assert_array_equal(got.astype(str) if got.dtype.kind == "O" else got,
                                          expected)  # fmt: skip
            np.testing.assert_allclose(near["scores"].numpy(), scores, rtol=1e-5, atol=1e-6)


def queries_unknown_item(rec):
    return "nothing" if rec.items_.dtype.kind == "U" else 10**6


@pytest.mark.parametrize("ids", ["str", "int"])
def test_export_serves_what_predict_and_recommend_give(exported, ids):
    rec, X, _, served = exported("gmf", "implicit", ids)
    check_served(rec, X, served)


def test_an_export_in_a_session_that_checks_numerics_serves_without_the_checks(tmp_path):
    # the checks, baked in, would fail every recommend call: seen items are masked by -inf
    rec, X = fitted("gmf", "implicit", "int")
    tf.debugging.enable_check_numerics()
    try:
        path = rec.export(tmp_path / "ncf" / "1")
        assert debugging_ops_on()  # the session's setting is back
    finally:
        tf.debugging.disable_check_numerics()
    check_served(rec, X, tf.saved_model.load(str(path)).signatures)


def test_integer_ids_of_a_frame_with_a_float_column_export(tmp_path):
    # the usual log: integer ids beside ratings or hours, which once made the ids floats
    import pandas as pd

    X, _ = data("int", "implicit")
    log = pd.DataFrame({"user": X[:, 0], "item": X[:, 1], "hours": 2.5})
    rec = NCFRecommender(columns=("user", "item"), **TINY).fit(log)
    served = tf.saved_model.load(str(rec.export(tmp_path)))
    users = rec.users_[:4]
    top = served.signatures["recommend"](user=tf.constant(users, tf.int64), k=tf.constant(K))
    np.testing.assert_array_equal(top["items"].numpy(), rec.recommend(users, k=K))


@pytest.mark.parametrize(
    ("architecture", "ids", "params"),
    [("gmf", "str", {}), ("seed", "int", {}), ("gmf", "int", {"loss": "log"}),
     ("gmf", "str", {"loss": "log", "n_negatives": "all"})],
)  # fmt: skip
def test_recommend_from_history_serves_what_fold_in_gives(exported, architecture, ids, params):
    rec, X, _, served = exported(architecture, "implicit", ids, **params, **TRAINED)
    new = ["new-b", "new-a"] if ids == "str" else [10**6 + 2, 10**6 + 1]
    items = rec.items_
    # users in order of first appearance, a repeated pair, an unknown item (left out);
    # a history of a user of the fit each, long enough to move the rows from the prior
    X = np.asarray(X, dtype=object)
    history = np.vstack([
        [[new[0], items[0]], [new[1], items[1]]],
        [[new[0], item] for item in X[X[:, 0] == X[0, 0], 1][:12]],
        [[new[1], item] for item in X[X[:, 0] == X[-1, 0], 1][:12]],
        [[new[0], items[0]], [new[1], queries_unknown_item(rec)]],
    ]).astype(object)  # fmt: skip
    out = served["recommend_from_history"](
        user=tensor(history[:, 0], rec.users_),
        item=tensor(history[:, 1], rec.items_),
        k=tf.constant(K),
    )
    users, got = out["users"].numpy(), out["items"].numpy()
    if got.dtype.kind == "O":
        users, got = users.astype(str), got.astype(str)
    np.testing.assert_array_equal(users, new)
    folded = rec.fold_in(history)
    expected, scores = folded.recommend(new, k=K, return_scores=True)
    # Newton's method in the graph, L-BFGS in Python: the same optimum to about 1e-5
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=FOLD_IN_ATOL)
    served_pairs = np.column_stack([np.repeat(new, K), got.ravel()]).astype(object)
    np.testing.assert_allclose(folded.predict(served_pairs), scores.ravel(), atol=FOLD_IN_ATOL)
    np.testing.assert_array_equal(got, expected)  # no near ties here
    for user, top in zip(new, got):  # each user's history is left out
        assert not set(top) & set(history[history[:, 0] == user, 1])


def test_recommend_from_history_of_a_known_user_leaves_its_items_of_fit_out(exported):
    # a user of the fit folded in from its latest items, as fold_in does it
    rec, X, _, served = exported("gmf", "implicit", "int", loss="log", **TRAINED)
    user = rec.users_[0]
    mine = X[X[:, 0] == user]
    out = served["recommend_from_history"](
        user=tf.constant(mine[-2:, 0]), item=tf.constant(mine[-2:, 1]), k=tf.constant(K)
    )
    expected, scores = rec.fold_in(mine[-2:]).recommend([user], k=K, return_scores=True)
    np.testing.assert_array_equal(out["items"].numpy(), expected)
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=FOLD_IN_ATOL)
    assert not set(out["items"].numpy()[0]) & set(mine[:, 1])


def test_recommend_from_weighted_history_serves_what_fold_in_with_weights_gives(exported):
    rec, X, _, served = exported("gmf", "implicit", "str", **TRAINED)
    items = rec.items_
    heavy, light = X[X[:, 0] == X[0, 0], 1][:10], X[X[:, 0] == X[-1, 0], 1][:10]
    history = np.array(
        [["new-a", item] for item in heavy] + [["new-b", item] for item in light]
        + [["new-a", items[0]], ["new-a", items[0]], ["new-b", items[1]]]
    )  # fmt: skip
    # counts of 1 to 10, a repeated pair whose weights add up, and a pair of weight 0:
    # neither learned from nor left out of the user's recommendations
    weights = np.r_[np.arange(1, 11), np.arange(10, 0, -1), 2.0, 3.0, 0.0].astype(np.float32)
    out = served["recommend_from_weighted_history"](
        user=tf.constant(history[:, 0]),
        item=tf.constant(history[:, 1]),
        weight=tf.constant(weights),
        k=tf.constant(K),
    )
    folded = rec.fold_in(history, y=weights)
    expected, scores = folded.recommend(["new-a", "new-b"], k=K, return_scores=True)
    np.testing.assert_array_equal(out["users"].numpy().astype(str), ["new-a", "new-b"])
    np.testing.assert_array_equal(out["items"].numpy().astype(str), expected)
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=FOLD_IN_ATOL)
    # the weights moved the rows: unweighted, the same pairs score otherwise
    plain = served["recommend_from_history"](
        user=tf.constant(history[:, 0]), item=tf.constant(history[:, 1]), k=tf.constant(K)
    )
    assert np.abs(plain["scores"].numpy() - scores).max() > 1e-3


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ([1.0, -1.0], "non-negative"),
        ([1.0, np.nan], "finite"),
        ([np.inf, 1.0], "finite"),
        ([1.0], "one value per pair"),
    ],
)
def test_recommend_from_weighted_history_checks_the_weights(gmf_export, weight, message):
    _, X, served = gmf_export
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served["recommend_from_weighted_history"](
            user=tf.constant(["new", "new"]),
            item=tf.constant(X[:2, 1]),
            weight=tf.constant(weight, tf.float32),
            k=tf.constant(2),
        )


def test_a_user_with_weights_all_0_gets_the_prior_means_ranking(gmf_export):
    _, _, served = gmf_export  # handle_unknown="ignore"
    nothing = served["recommend_from_history"](
        user=tf.constant(["new"]), item=tf.constant(["nothing"]), k=tf.constant(3)
    )
    first = nothing["items"].numpy()[0, 0]  # the prior mean's best item
    zero = served["recommend_from_weighted_history"](
        user=tf.constant(["new"]), item=tf.constant([first]), weight=tf.constant([0.0]),
        k=tf.constant(3),
    )  # fmt: skip
    # no interaction: the item is neither learned from nor left out
    np.testing.assert_array_equal(zero["items"].numpy(), nothing["items"].numpy())


def test_recommend_from_history_leaves_cold_items_out_of_the_softmax(tmp_path):
    # items known by their features alone are not among fit's softmax candidates, nor
    # fold-in's: the graph must mask them as Python does
    import pandas as pd

    X, _ = data("int", "implicit")
    kinds = pd.DataFrame({"kind": np.array(["a", "b", "c"])[np.arange(90) % 3]})
    # items 80-89: features only; trained enough that masking them moves the scores (by
    # about 2e-3 here, were the graph not to mask them)
    rec = NCFRecommender(item_features=kinds, latent_dim=8, epochs=10, random_state=0).fit(X)
    history = np.array([[10**6, 1], [10**6, 2], [10**6 + 1, 3]])
    served = tf.saved_model.load(str(rec.export(tmp_path))).signatures["recommend_from_history"]
    out = served(user=tf.constant(history[:, 0]), item=tf.constant(history[:, 1]), k=tf.constant(K))
    items, scores = rec.fold_in(history).recommend([10**6, 10**6 + 1], k=K, return_scores=True)
    np.testing.assert_array_equal(out["items"].numpy(), items)
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=1e-4)


@pytest.mark.parametrize(("architecture", "feedback"), [("neumf", "implicit"), ("gmf", "explicit")])
def test_recommend_from_history_only_where_newton_cannot_climb(exported, architecture, feedback):
    # a tower's rows, or the squared error of ratings, are not a convex problem
    signatures = exported(architecture, feedback, "str").signatures
    assert not {"recommend_from_history", "recommend_from_weighted_history"} & set(signatures)


def test_recommend_from_history_of_no_one_and_of_unknown_items(gmf_export):
    served = gmf_export[2]["recommend_from_history"]  # handle_unknown="ignore"
    empty = served(
        user=tf.constant([], tf.string), item=tf.constant([], tf.string), k=tf.constant(3)
    )
    assert empty["users"].shape == (0,) and empty["items"].shape == (0, 3)
    # items all unknown: nothing to learn from, the prior mean's ranking
    out = served(user=tf.constant(["new"]), item=tf.constant(["nothing"]), k=tf.constant(3))
    assert out["items"].shape == (1, 3) and np.all(np.diff(out["scores"].numpy()) <= 0)


def test_recommend_from_history_checks_items_when_told_to(strict_gmf_export):
    _, X, signatures = strict_gmf_export
    served = signatures["recommend_from_history"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="item ids not seen in fit"):
        served(
            user=tf.constant(["new", "new"]),
            item=tf.constant([X[0, 1], "nothing"]),
            k=tf.constant(2),
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the items"):
        served(user=tf.constant(["new"]), item=tf.constant([X[0, 1]]), k=tf.constant(80))


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["seed", "gmf", "mlp", "neumf"])
@pytest.mark.parametrize("feedback", ["implicit", "explicit"])
def test_export_serves_every_architecture_and_feedback(exported, architecture, feedback):
    rec, X, _, served = exported(architecture, feedback, "str" if feedback == "explicit" else "int")
    check_served(rec, X, served)


def test_k_is_chosen_per_call_and_checked(gmf_export):
    rec, _, signatures = gmf_export
    served = signatures["recommend"]
    users = tf.constant(rec.users_[:3])
    for k in (1, 7):
        assert served(user=users, k=tf.constant(k))["items"].shape == (3, k)
    unseen = len(rec.items_) - np.diff(rec.seen_.indptr)[:3].max()
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the items"):
        served(user=users, k=tf.constant(int(unseen) + 1))
    with pytest.raises(tf.errors.InvalidArgumentError, match="k must be positive"):
        served(user=users, k=tf.constant(0))


def test_a_model_without_user_features_has_no_signatures_that_take_them(gmf_export):
    signatures = gmf_export[2]
    assert "recommend_from_history" in signatures
    for name in (
        "recommend_new", "recommend_from_attributes",
        "recommend_from_history_and_features", "recommend_from_history_and_attributes",
    ):  # fmt: skip
        assert name not in signatures


def test_unknown_ids_raise_when_exported_with_handle_unknown_error(strict_gmf_export):
    _, X, served = strict_gmf_export
    with pytest.raises(tf.errors.InvalidArgumentError, match="user ids not seen in fit"):
        served["recommend"](user=tf.constant(["nobody"]), k=tf.constant(1))
    with pytest.raises(tf.errors.InvalidArgumentError, match="item ids not seen in fit"):
        served["serving_default"](user=tf.constant([X[0, 0]]), item=tf.constant(["nothing"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="item ids not seen in fit"):
        served["recommend_among"](
            user=tf.constant([X[0, 0]]), k=tf.constant(1), items=tf.constant(["nothing"])
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match="item ids not seen in fit"):
        served["similar_items"](item=tf.constant(["nothing"]), k=tf.constant(1))
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the other items"):
        served["similar_items"](item=tf.constant([X[0, 1]]), k=tf.constant(80))
    with pytest.raises(tf.errors.InvalidArgumentError, match="user ids not seen in fit"):
        served["similar_users"](user=tf.constant(["nobody"]), k=tf.constant(1))
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the other users"):
        served["similar_users"](user=tf.constant([X[0, 0]]), k=tf.constant(10**4))
    among = served["recommend_among"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="within the filters"):
        among(user=tf.constant([X[0, 0]]), k=tf.constant(2), items=tf.constant([X[0, 1]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="user ids not seen in fit"):
        served["similar_users_excluding"](
            user=tf.constant([X[0, 0]]), k=tf.constant(1), users=tf.constant(["nobody"])
        )
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the other items"):
        served["similar_items_among"](
            item=tf.constant([X[0, 1]]), k=tf.constant(2), items=tf.constant(X[:2, 1])
        )  # the queried item and one other: one neighbour at most


def test_an_export_traces_each_signature_once(tmp_path, monkeypatch):
    # a function traced before tf.saved_model.save is traced again inside it, which
    # doubled the time of an export and of its load
    traced = collections.Counter()

    def counted(name, method):
        @functools.wraps(method)  # tf.function reads the method's own signature
        def counting(self, *args, **kwargs):
            traced[name] += 1
            return method(self, *args, **kwargs)

        return counting

    names = ["_score", "_recommend", "_recommend_filtered", "_similar",
             "_recommend_from_weighted_history", "_explain"]  # fmt: skip
    for name in names:
        monkeypatch.setattr(ServingModule, name, counted(name, getattr(ServingModule, name)))
    fitted("gmf", "implicit", "int")[0].export(tmp_path)
    # _similar serves similar_items, similar_users and, once for each kind, the four
    # filtered signatures ("among" and "excluding" share a trace, as the two of recommend)
    assert traced == {**dict.fromkeys(names, 1), "_similar": 4}


def test_export_refuses_what_it_cannot_serve(tmp_path):
    X = np.array([[0.5, 1], [1.5, 2], [1.5, 1]])
    rec = NCFRecommender(**TINY).fit(X)
    with pytest.raises(ValueError, match="the model's user ids are floats"):
        rec.export(tmp_path / "floats")
    big = NCFRecommender(**TINY).fit(np.array([[2**63 + 1, 1], [2**63 + 2, 2]], dtype=np.uint64))
    with pytest.raises(ValueError, match=r"beyond int64. Refit with the ids as strings"):
        big.export(tmp_path / "big")
    assert not (tmp_path / "big").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="must be a directory"):
        fitted("gmf", "implicit", "int")[0].export(tmp_path / "file")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        NCFRecommender().export(tmp_path / "unfitted")


FRESH = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    queries, answers = sys.argv[1:3]
    asked = json.load(open(queries))
    for kind, question in asked.items():
        served = tf.saved_model.load(question["path"]).signatures
        dtype = tf.string if kind.startswith("str") else tf.int64
        score = served["serving_default"](
            user=tf.constant(question["pairs_users"], dtype),
            item=tf.constant(question["pairs_items"], dtype),
        )["score"].numpy()
        top = served["recommend"](user=tf.constant(question["users"], dtype), k=tf.constant(3))
        items = top["items"].numpy()
        question.update(score=score.tolist(), items=[[
            i.decode() if isinstance(i, bytes) else int(i) for i in row] for row in items])
        if "features" in question:  # new users from their features
            new = served["recommend_new"](
                user_features=tf.constant(question["features"], tf.float32), k=tf.constant(3))
            question["new_items"] = new["items"].numpy().tolist()
        if "history" in question:  # new users from their history, solved in the graph
            users, items = zip(*question["history"])
            new = served["recommend_from_history"](
                user=tf.constant(users, dtype), item=tf.constant(items, dtype), k=tf.constant(3))
            question["history_items"] = new["items"].numpy().astype(str).tolist()
            weighted = served["recommend_from_weighted_history"](
                user=tf.constant(users, dtype), item=tf.constant(items, dtype),
                weight=tf.constant(question["weights"], tf.float32), k=tf.constant(3))
            question["weighted_items"] = weighted["items"].numpy().astype(str).tolist()
    assert not [m for m in sys.modules if m.split(".")[0] == "skncf"], "skncf was imported"
    json.dump(asked, open(answers, "w"))
    """
)


@pytest.mark.slow  # a new TensorFlow process, and saved_model_cli's
def test_a_fresh_process_serves_the_export_with_tensorflow_alone(exported, tmp_path):
    asked, expected, models = {}, {}, {}
    # the int-id model has numeric user features, served for new users without Python
    features = np.random.default_rng(0).random((45, 3)).astype(np.float32)
    with_features, X = fitted(
        "neumf", "implicit", "int", user_features=(np.arange(40), features[:40])
    )
    paths = {"int": with_features.export(tmp_path / "int")}
    models = {"int": (with_features, X)}
    for ids, architecture in (("str", "neumf"), ("str-gmf", "gmf")):
        rec, X, paths[ids], _ = exported(architecture, "implicit", "str")
        models[ids] = rec, X
    for ids, (rec, X) in models.items():
        pairs, users = queries(rec, X)
        asked[ids] = {
            "path": str(paths[ids]),
            "pairs_users": pairs[:, 0].tolist(),
            "pairs_items": pairs[:, 1].tolist(),
            "users": users.tolist(),
        }
        expected[ids] = (rec.predict(pairs), rec.recommend(users, k=3).tolist())
    gmf = models["str-gmf"][0]
    history = [["new", gmf.items_[0]], ["new", gmf.items_[5]]]
    asked["str-gmf"].update(history=history, weights=[1.0, 5.0])
    expected_history = gmf.fold_in(history).recommend(["new"], k=3).tolist()
    expected_weighted = gmf.fold_in(history, y=[1.0, 5.0]).recommend(["new"], k=3).tolist()
    asked["int"]["features"] = features[40:].tolist()
    new = with_features.fold_in(user_features=(np.arange(40, 45), features[40:]))
    expected_new = new.recommend(np.arange(40, 45), k=3).tolist()
    (tmp_path / "queries.json").write_text(json.dumps(asked))
    (tmp_path / "serve.py").write_text(FRESH)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "serve.py", "queries.json", "answers.json"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads((tmp_path / "answers.json").read_text())
    for ids, (scores, items) in expected.items():
        np.testing.assert_allclose(answers[ids]["score"], scores, rtol=RTOL)
        assert answers[ids]["items"] == items
    assert answers["int"]["new_items"] == expected_new
    assert answers["str-gmf"]["history_items"] == expected_history
    assert answers["str-gmf"]["weighted_items"] == expected_weighted

    cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent))
    assert cli is not None, "saved_model_cli comes with tensorflow"
    shown = subprocess.run(
        [cli, "show", "--dir", str(paths["str"]), "--all"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-3000:]
    for signature in ("serving_default", "recommend"):
        assert f"signature_def['{signature}']" in shown.stdout
    assert "inputs['k'] tensor_info:" in shown.stdout
    assert "outputs['items'] tensor_info:" in shown.stdout


def test_export_from_the_command_line(tmp_path, capsys):
    rec, X = fitted("gmf", "implicit", "str", handle_unknown="error")
    rec.save(tmp_path / "m.skncf")
    status = main(["export", str(tmp_path / "m.skncf"), str(tmp_path / "out"),
                   "--handle-unknown", "ignore"])  # fmt: skip
    assert status == 0
    written = "recommend_among, recommend_excluding, similar_items, similar_users, "
    written += "similar_items_among, similar_items_excluding, similar_users_among, "
    written += "similar_users_excluding, "
    written += "recommend_from_history, recommend_from_weighted_history, explain;"
    assert f"serving_default, recommend, {written}" in capsys.readouterr().out
    served = tf.saved_model.load(str(tmp_path / "out")).signatures["recommend"]
    top = served(user=tf.constant(["nobody", X[0, 0]]), k=tf.constant(2))["items"].numpy()
    assert top.shape == (2, 2)  # the unknown user gets the fallback: --handle-unknown took
    assert main(["export", str(tmp_path / "missing.skncf"), str(tmp_path / "o2")]) == 2


def as_labels(tensor):
    values = tensor.numpy()
    return values.astype(str) if values.dtype.kind == "O" else values


def most_seen(rec, n=3):
    """The ``n`` users with the most interactions, and ``k`` just past their unseen items."""
    seen = np.diff(rec.seen_.indptr)
    users = rec.users_[np.argsort(-seen, kind="stable")[:n]]
    return users, int(len(rec.items_) - seen.max()) + 2


def check_filled(got, expected):
    """A signature's ``(ids, scores)`` against Python's with the same fill: equal ids,
    scores equal up to float32 rounding, NaN at the same (filled) slots."""
    np.testing.assert_array_equal(as_labels(got[0]), expected[0])
    np.testing.assert_allclose(got[1].numpy(), expected[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("ids", "fill"), [("str", ""), ("int", -1)])
def test_fill_value_completes_short_lists_as_python_does(tmp_path, ids, fill):
    rec, X = fitted("gmf", "implicit", ids)
    served = tf.saved_model.load(str(rec.export(tmp_path, fill_value=fill))).signatures
    users, k = most_seen(rec)
    top = served["recommend"](user=tensor(users, rec.users_), k=tf.constant(k))
    expected = rec.recommend(users, k=k, return_scores=True, fill_value=fill)
    assert np.isnan(expected[1][0, -1]) and not np.isnan(expected[1][-1, 0])
    check_filled((top["items"], top["scores"]), expected)

    few = rec.items_[:4]  # a filter that leaves each user 4 candidates at most
    for name, option in (("recommend_among", "allow"), ("recommend_excluding", "deny")):
        listed = few if option == "allow" else rec.items_[4:]
        top = served[name](user=tensor(users, rec.users_), k=tf.constant(6),
                           items=tensor(listed, rec.items_))  # fmt: skip
        expected = rec.recommend(users, k=6, return_scores=True, fill_value=fill,
                                 **{option: listed})  # fmt: skip
        check_filled((top["items"], top["scores"]), expected)
    for kind in ("item", "user"):
        labels = getattr(rec, f"{kind}s_")
        near = served[f"similar_{kind}s_among"](
            **{kind: tensor(labels[:2], labels), f"{kind}s": tensor(labels[:4], labels)},
            k=tf.constant(5),
        )  # three others at most: two slots filled at least
        expected = getattr(rec, f"similar_{kind}s")(
            labels[:2], k=5, return_scores=True, allow=labels[:4], fill_value=fill
        )
        assert np.isnan(expected[1][:, 3:]).all()
        check_filled((near[f"{kind}s"], near["scores"]), expected)

    # a new user who has seen all items but two
    new = "new" if ids == "str" else 10**6
    history = np.array([[new, item] for item in rec.items_[2:]], dtype=object)
    out = served["recommend_from_history"](
        user=tensor(history[:, 0], rec.users_), item=tensor(history[:, 1], rec.items_),
        k=tf.constant(4),
    )  # fmt: skip
    expected = rec.fold_in(history).recommend([new], k=4, return_scores=True, fill_value=fill)
    np.testing.assert_array_equal(as_labels(out["items"]), expected[0])
    np.testing.assert_array_equal(np.isnan(out["scores"].numpy()), np.isnan(expected[1]))

    # a k beyond the whole catalog is still an error, as in Python
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the 80 items"):
        served["recommend"](user=tensor(users, rec.users_), k=tf.constant(81))
    with pytest.raises(tf.errors.InvalidArgumentError, match="k exceeds the other users"):
        served["similar_users_among"](user=tensor(users, rec.users_), k=tf.constant(40),
                                      users=tensor(users, rec.users_))  # fmt: skip


def mixed_ids():
    """``data``'s pairs with integer users and string items, as in users x games."""
    X, _ = data("int", "implicit")
    mixed = X.astype(object)
    mixed[:, 1] = [f"item-{item}" for item in X[:, 1]]
    return mixed


def test_fill_value_per_kind_for_ids_of_two_types(tmp_path):
    X = mixed_ids()
    rec = NCFRecommender("gmf", **TINY).fit(X)
    with pytest.raises(TypeError, match=r'integer, as the user ids are.*\{"item": \.\.\.'):
        rec.export(tmp_path / "a", fill_value="")
    path = rec.export(tmp_path / "b", fill_value={"item": ""})  # users' lists unfilled
    served = tf.saved_model.load(str(path)).signatures
    users, k = most_seen(rec)
    top = served["recommend"](user=tf.constant(users), k=tf.constant(k))
    assert as_labels(top["items"])[0, -1] == ""
    with pytest.raises(tf.errors.InvalidArgumentError, match="within the filter"):
        served["similar_users_among"](user=tf.constant(users[:1]), k=tf.constant(3),
                                      users=tf.constant(users[:2]))  # fmt: skip
    # both kinds filled: test_fill_values_from_the_command_line, on a model like this one


@pytest.mark.parametrize(
    ("fill_value", "error", "match"),
    [("x", TypeError, "must be an integer, as the item ids are"),
     (True, TypeError, "must be an integer"),
     (3, ValueError, "fill_value=3 is one of the model's item ids"),
     (2**64, ValueError, "must fit int64"),
     ({"items": -1}, ValueError, "maps 'item' and 'user'.*'items'"),
     ({"user": 0}, ValueError, "fill_value=0 is one of the model's user ids"),
     ({"item": ""}, TypeError, "must be an integer, as the item ids are; got ''.$")],
)  # fmt: skip
def test_a_bad_fill_value_is_refused_before_anything_is_written(tmp_path, fill_value, error,
                                                                 match):  # fmt: skip
    rec, _ = fitted("gmf", "implicit", "int")
    with pytest.raises(error, match=match):
        rec.export(tmp_path / "out", fill_value=fill_value)
    assert not (tmp_path / "out").exists()


def test_fill_values_from_the_command_line(tmp_path, capsys):
    X = mixed_ids()
    NCFRecommender("gmf", **TINY).fit(X).save(tmp_path / "m.skncf")
    model, out = str(tmp_path / "m.skncf"), str(tmp_path / "out")
    assert main(["export", model, out, "--fill-value", "none"]) == 2
    assert (
        "--fill-value 'none' is not an integer, as the model's user ids are; give "
        "--user-fill-value" in capsys.readouterr().err
    )
    assert main(["export", model, out, "--fill-value", "", "--user-fill-value", "-1"]) == 0
    assert "item lists filled with '', user lists filled with -1" in capsys.readouterr().out
    near = tf.saved_model.load(out).signatures["similar_users_among"](
        user=tf.constant([0], tf.int64), k=tf.constant(2), users=tf.constant([0, 1], tf.int64)
    )
    assert near["users"].numpy().tolist() == [[1, -1]]


def test_explain_serves_what_explain_gives(exported):
    # trained past gmf_export's one epoch, whose contributions (about 1e-7, some 2% apart)
    # float32 rounding reordered once in a full run (tolerance 1e-5)
    rec, X, _, signatures = exported("gmf", "implicit", "str", **TRAINED)
    served = signatures["explain"]
    for user, item in [(X[0, 0], X[0, 1]), (X[5, 0], rec.items_[3]), (X[-1, 0], X[-1, 1])]:
        out = served(user=tf.constant(user), item=tf.constant(item), k=tf.constant(4))
        expected = rec.explain(user, item, n=4)
        np.testing.assert_array_equal(as_labels(out["items"]), expected[0])
        np.testing.assert_allclose(out["contributions"].numpy(), expected[1], rtol=1e-5)
    history = rec.seen_.indptr[1] - rec.seen_.indptr[0]
    whole = served(user=tf.constant(rec.users_[0]), item=tf.constant(X[0, 1]), k=tf.constant(999))
    assert whole["items"].shape == (history,)  # as many as the history holds
    # nothing to explain of an unknown id, whatever handle_unknown says ("ignore" here)
    with pytest.raises(tf.errors.InvalidArgumentError, match="user id not seen in fit"):
        served(user=tf.constant("nobody"), item=tf.constant(X[0, 1]), k=tf.constant(1))
    with pytest.raises(tf.errors.InvalidArgumentError, match="item id not seen in fit"):
        served(user=tf.constant(X[0, 0]), item=tf.constant("nothing"), k=tf.constant(1))


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "params"), [("seed", {}), ("gmf", {"loss": "log"})])
def test_explain_serves_the_seed_graph_and_the_log_loss(exported, architecture, params):
    rec, X, _, signatures = exported(architecture, "implicit", "int", **params, **TRAINED)
    served = signatures["explain"]
    for user, item in [(X[0, 0], X[0, 1]), (X[7, 0], rec.items_[11])]:
        out = served(user=tf.constant(user), item=tf.constant(item), k=tf.constant(5))
        expected = rec.explain(user, item, n=5)
        np.testing.assert_array_equal(out["items"].numpy(), expected[0])
        np.testing.assert_allclose(out["contributions"].numpy(), expected[1], rtol=1e-5)
