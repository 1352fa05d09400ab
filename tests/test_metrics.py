"""Ranking metrics against brute-force loops and hand-computed cases, ties included."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skncf import NCFRecommender
from skncf import metrics as M

from .conftest import FAST


def _brute(y_true, y_score, exclude, k):
    out = {name: [] for name in M.METRICS}
    for r in range(len(y_score)):
        relevant = [j for j in range(y_score.shape[1]) if y_true[r, j]]
        if not relevant:
            continue
        candidates = [j for j in range(y_score.shape[1]) if not exclude[r, j] or y_true[r, j]]
        pos = {
            j: sum(1 for o in candidates if o != j and y_score[r, o] >= y_score[r, j])
            for j in relevant
        }
        in_top = [j for j in relevant if pos[j] < k]
        out["hit_rate"].append(float(bool(in_top)))
        idcg = sum(1 / np.log2(p + 2) for p in range(min(k, len(relevant))))
        out["ndcg"].append(sum(1 / np.log2(pos[j] + 2) for j in in_top) / idcg)
        out["recall"].append(len(in_top) / len(relevant))
        out["precision"].append(len(in_top) / k)
        ordered = sorted(pos.values())
        ap = sum((n + 1) / (p + 1) for n, p in enumerate(ordered) if p < k)
        out["map"].append(ap / min(k, len(relevant)))
        out["mrr"].append(1 / (min(pos.values()) + 1))
        negatives = [o for o in candidates if not y_true[r, o]]
        wins = [sum(1 for o in negatives if y_score[r, j] > y_score[r, o]) for j in relevant]
        out["auc"].append(np.mean(wins) / len(negatives) if negatives else np.nan)
    return {name: float(np.nanmean(values)) for name, values in out.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_brute_force_with_ties_and_exclusions(seed):
    rng = np.random.default_rng(seed)
    y_score = np.round(rng.random((25, 30)), 1)  # many ties
    y_true = rng.random((25, 30)) < 0.1
    y_true[3] = False  # a user without relevant items is left out
    y_true[4] = True  # so is one without non-relevant candidates, from the AUC
    exclude = rng.random((25, 30)) < 0.3
    expected = _brute(y_true, y_score, exclude, k=5)
    for name, function in [
        ("hit_rate", M.hit_rate_at_k),
        ("ndcg", M.ndcg_at_k),
        ("recall", M.recall_at_k),
        ("precision", M.precision_at_k),
        ("map", M.map_at_k),
    ]:
        assert function(y_true, y_score, k=5, exclude=exclude) == pytest.approx(expected[name]), (
            name
        )
    assert M.mrr(y_true, y_score, exclude=exclude) == pytest.approx(expected["mrr"])
    assert M.auc(y_true, y_score, exclude=exclude) == pytest.approx(expected["auc"])


def test_hand_computed_single_held_out_item():
    # Held-out item 2 scores 0.5; item 1 scores higher, item 3 ties, item 0 is excluded.
    y_score = np.array([[0.9, 0.7, 0.5, 0.5, 0.1]])
    y_true = np.array([[0, 0, 1, 0, 0]])
    exclude = np.array([[1, 0, 0, 0, 0]])
    # Position 2 (item 1 above, the tie counts against): HR@2 = 0, HR@3 = 1.
    assert M.hit_rate_at_k(y_true, y_score, k=2, exclude=exclude) == 0.0
    assert M.hit_rate_at_k(y_true, y_score, k=3, exclude=exclude) == 1.0
    assert M.ndcg_at_k(y_true, y_score, k=3, exclude=exclude) == pytest.approx(0.5)
    assert M.mrr(y_true, y_score, exclude=exclude) == pytest.approx(1 / 3)
    assert M.auc(y_true, y_score, exclude=exclude) == pytest.approx(1 / 3)  # beats item 4 only


def test_hand_computed_map_and_precision():
    y_score = np.array([[0.9, 0.8, 0.7, 0.6]])
    y_true = np.array([[1, 0, 1, 0]])
    # Relevant at positions 0 and 2: AP@3 = (1/1 + 2/3) / 2.
    assert M.map_at_k(y_true, y_score, k=3) == pytest.approx((1 + 2 / 3) / 2)
    assert M.precision_at_k(y_true, y_score, k=3) == pytest.approx(2 / 3)
    assert M.recall_at_k(y_true, y_score, k=1) == pytest.approx(1 / 2)


def test_catalog_coverage_and_bad_inputs():
    assert M.catalog_coverage([[1, 2], [2, 3]], 10) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="y_true has shape"):
        M.ndcg_at_k(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="no relevant item"):
        M.ndcg_at_k(np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="k must be positive"):
        M.hit_rate_at_k(np.ones((1, 3)), np.ones((1, 3)), k=0)
    with pytest.raises(ValueError, match="y_score contains NaN"):
        M.auc(np.ones((1, 2)), np.array([[np.nan, 1.0]]))
    with pytest.raises(TypeError, match="y_score must be dense"):
        M.ndcg_at_k(np.eye(2), sp.csr_array(np.eye(2)))
    with pytest.raises(TypeError, match="y_score must hold numbers"):
        M.ndcg_at_k(np.eye(2), [["a", "b"], ["c", "d"]])
    signed = np.array([[1, -1, 0], [-1, 0, 1]])  # thumbs up and down
    for y_true in (signed, sp.csr_array(signed)):
        with pytest.raises(ValueError, match=r"y_true holds negative values.*pass y_true > 0"):
            M.hit_rate_at_k(y_true, np.ones((2, 3)))
    assert M.hit_rate_at_k(signed > 0, [[0, 1, 0], [0, 0, 1]], k=1) == 0.5


def test_auc_leaves_out_users_whose_every_candidate_is_relevant():
    y_score = np.array([[0.9, 0.8, 0.1], [0.2, 0.6, 0.4]])
    y_true = np.array([[1, 1, 0], [1, 1, 0]])
    exclude = np.array([[0, 0, 1], [0, 0, 0]])  # user 0's only non-relevant item
    assert M.auc(y_true, y_score, exclude=exclude) == pytest.approx(0.5)  # user 1's
    with pytest.raises(ValueError, match="undefined for every user"):
        M.auc(y_true[:1], y_score[:1], exclude=exclude[:1])


def test_bad_metric_arguments_are_named():
    with pytest.raises(TypeError, match="y_true must hold numbers or booleans"):
        M.ndcg_at_k([["1", "0"]], [[0.5, 0.2]])
    with pytest.raises(ValueError, match="3 distinct items, more than n_items=2"):
        M.catalog_coverage([[1, 2], [3, 1]], 2)


def test_full_ranking_of_3000_users_by_3600_items_is_vectorized():
    rng = np.random.default_rng(0)
    y_score = rng.random((3000, 3600)).astype(np.float32)
    y_true = np.zeros((3000, 3600), dtype=bool)
    y_true[np.arange(3000), rng.integers(0, 3600, 3000)] = True
    exclude = rng.random((3000, 3600)) < 0.05
    value = M.ndcg_at_k(y_true, y_score, k=10, exclude=exclude)
    assert 0 < value < 0.05  # random scores: about 10 / 3600 hits


def test_evaluate_agrees_with_score_and_counts_unknown_pairs_as_misses(interactions):
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions[interactions[:, 0] < 50])
    test = np.array([[u, (u * 7) % 40] for u in range(50)])
    report = M.evaluate(
        rec, test, negatives=np.array([[(u + j) % 40 for j in range(1, 6)] for u in range(50)])
    )
    assert report["full"]["ndcg@10"] == pytest.approx(rec.score(test))
    with_unknown = np.vstack([test, [[59, 0], [58, 1]]])
    report2 = M.evaluate(rec, with_unknown)
    assert report2["full"]["hit_rate@10"] == pytest.approx(report["full"]["hit_rate@10"] * 50 / 52)
    assert set(report["sampled"]) == {
        "hit_rate@10",
        "ndcg@10",
        "recall@10",
        "precision@10",
        "map@10",
        "mrr",
        "auc",
    }


@pytest.mark.parametrize("k", [1, 6, 10])
def test_evaluate_users_with_fewer_unseen_items_than_k(k):
    # 6 items; user u saw items u .. u+4 (mod 6): its one unseen item is the held-out one
    X = np.array([(u, (u + t) % 6) for u in range(12) for t in range(5)])
    rec = NCFRecommender(architecture="gmf", **FAST).fit(X)
    test = np.array([[u, (u + 5) % 6] for u in (0, 1, 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Mean of empty slice" for the AUC
        report = M.evaluate(rec, test, k=k)["full"]
    assert report[f"hit_rate@{k}"] == 1.0 and report["mrr"] == 1.0
    assert np.isnan(report["auc"])  # no user has a non-relevant candidate
    # the lists hold each user's one unseen item: its seen items do not fill them up
    assert report[f"coverage@{k}"] == pytest.approx(3 / 6)


def test_full_ranking_per_user_checks_the_metric_names(fitted_gmf):
    test = np.array([[0, 1], [1, 2]])
    per_user, _ = M.full_ranking_per_user(fitted_gmf, test, metrics="ndcg")
    assert list(per_user) == ["ndcg"]
    assert len(per_user["ndcg"]) == 2
    for bad in [("hr",), (), ["ndcg", "hit rate"]]:
        with pytest.raises(ValueError, match="metrics must name one or more of hit_rate"):
            M.full_ranking_per_user(fitted_gmf, test, metrics=bad)


def test_per_user_values_follow_the_test_rows_also_past_an_unknown_pair(fitted_gmf):
    # one held-out pair per user, an unknown item in the middle: each value is its row's
    users = [4, 1, 7, 2, 9]
    top = fitted_gmf.recommend(users, k=3)
    items = [int(top[row, row % 3]) for row in range(len(users))]  # ndcg 1, 0.63 or 0.5
    items[2] = 10**6  # not in the catalog: a miss
    test = np.column_stack([users, items])
    per_user, _ = M.full_ranking_per_user(fitted_gmf, test, metrics=("ndcg",))
    alone = [M.full_ranking_per_user(fitted_gmf, row[None], metrics=("ndcg",))[0]["ndcg"][0]
             for row in test]  # fmt: skip
    np.testing.assert_array_equal(per_user["ndcg"], alone)
    np.testing.assert_allclose(alone, [1, 1 / np.log2(3), 0, 1, 1 / np.log2(3)])


def test_a_known_users_unknown_held_out_items_are_missed_items_of_that_user(fitted_gmf):
    # As a time split gives: users with several held-out items, some of them new to the
    # model. Each new item is one more relevant item of its user, ranked below every
    # candidate (recall, NDCG, MAP and AUC count it), not one more user.
    rec, new = fitted_gmf, [10**6, 10**6 + 1]
    top = rec.recommend([0, 1, 2], k=3)
    test = np.array([[0, top[0, 0]], [0, new[0]], [1, new[1]], [0, top[0, 2]], [2, top[2, 1]],
                     [2, top[2, 2]], [0, new[1]]])  # fmt: skip
    logits = np.vstack([block for _, block in rec.catalog_logits(np.array([0, 1, 2]))])
    n_items = logits.shape[1]
    y_score = np.hstack([logits, np.full((3, 2), -np.inf)])  # the new items last
    y_true = np.zeros(y_score.shape, dtype=bool)
    exclude = np.hstack([rec.seen_[[0, 1, 2]].toarray() > 0, np.ones((3, 2), dtype=bool)])
    codes = {int(item): n for n, item in enumerate(rec.items_)}
    for user, item in test:
        y_true[user, codes.get(int(item), n_items + new.index(item) if item in new else -1)] = True
    expected = _brute(y_true, y_score, exclude, k=10)
    expected["mrr"] = (1 + 0 + 1 / 2) / 3  # a user with new items alone has no rank: 0
    report = M.evaluate(rec, test)["full"]
    for name, value in expected.items():
        key = name if name in ("mrr", "auc") else f"{name}@10"
        assert report[key] == pytest.approx(value), name
    per_user, _ = M.full_ranking_per_user(rec, test, metrics=("recall",))
    np.testing.assert_allclose(per_user["recall"], [2 / 4, 0, 2 / 2])  # users 0, 1, 2


def test_a_user_the_model_does_not_know_is_one_missed_user_however_many_rows(fitted_gmf):
    top = fitted_gmf.recommend([0, 1], k=1)[:, 0]
    test = np.array([[0, top[0]], [10**6, 1], [1, top[1]], [10**6, 2], [10**6 + 1, 3]])
    per_user, _ = M.full_ranking_per_user(fitted_gmf, test, metrics="hit_rate")
    # users in the order of their first row: 0, the first new one, 1, the second new one
    np.testing.assert_array_equal(per_user["hit_rate"], [1, 0, 1, 0])
    assert M.evaluate(fitted_gmf, test)["full"]["hit_rate@10"] == 0.5
    folded = fitted_gmf.fold_in(np.array([[7, top[0]], [7, top[1]]]))
    test = np.array([[7, 1], [0, 1], [0, 2]])  # user 0 is not among the folded users
    assert len(M.full_ranking_per_user(folded, test, metrics="mrr")[0]["mrr"]) == 2


def test_sampled_scores_rank_the_held_out_item_among_its_negatives(fitted_gmf):
    test = np.array([[0, 1], [1, 2]])
    negatives = np.array([[3, 4, 5], [6, 7, 8]])
    y_true, y_score = M.sampled_scores(fitted_gmf, test, negatives)
    assert y_true[:, 0].all() and not y_true[:, 1:].any()
    p = fitted_gmf.predict(np.array([[0, 1], [0, 3], [0, 4], [0, 5]]))
    assert np.array_equal(np.argsort(-y_score[0]), np.argsort(-p))
    unknown = M.sampled_scores(fitted_gmf, [[0, 1], [10**6, 2]], [[10**6, 4, 5], [6, 7, 8]])[1]
    assert np.isneginf(unknown[0, 1]) and np.isneginf(unknown[1]).all()
    assert np.isfinite(unknown[0, [0, 2, 3]]).all()


def test_sampled_scores_read_the_estimators_id_columns(interactions):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"score": 1.0, "item": interactions[:, 1], "user": interactions[:, 0]})
    rec = NCFRecommender(architecture="gmf", columns=("user", "item"), **FAST).fit(frame)
    plain = NCFRecommender(architecture="gmf", **FAST).fit(interactions)
    test, negatives = frame.iloc[:2], np.array([[3, 4, 5], [6, 7, 8]])
    expected = M.sampled_scores(plain, interactions[:2], negatives)[1]
    np.testing.assert_allclose(M.sampled_scores(rec, test, negatives)[1], expected, rtol=1e-5)
