"""Candidate filters of recommend, similar_items and similar_users: allow- and deny-lists.

Property tests (hypothesis) draw users, k and filters against one small fitted model and
check every promise against an independent computation with Python sets: nothing denied,
seen or outside the allow-list is returned, no duplicates, scores sorted and exact, the k
returned are the k best candidates (exact search; approximate search may miss some), and
a k larger than a user's candidates raises, or with ``fill_value`` completes its list.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skncf import NCFRecommender
from skncf.datasets import make_interactions

N_USERS, N_ITEMS = 30, 25
FILL = -5  # no user's or item's id
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def model():
    X, _ = make_interactions(
        n_users=N_USERS, n_items=N_ITEMS, interactions_per_user=6, random_state=3
    )
    X[:, 1] = X[:, 1] * 10  # item ids are not codes
    rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0, handle_unknown="ignore")
    return rec.fit(X), X


@st.composite
def item_list(draw, items):
    return draw(st.lists(st.sampled_from(items.tolist()), max_size=len(items), unique=True))


@st.composite
def filters(draw, items, n_rows):
    """None, one list for every row, or one list per row."""
    kind = draw(st.sampled_from(["none", "call", "rows"]))
    if kind == "none":
        return None
    if kind == "call":
        return draw(item_list(items))
    return [draw(item_list(items)) for _ in range(n_rows)]


def row_list(value, row):
    if value is None:
        return None
    if value and isinstance(value[0], list):
        return set(value[row])
    return set(value) if value or not isinstance(value, list) else set()


def candidates_of(rec, X, user, row, exclude_seen, allow, deny):
    """The items ``user`` may get, by sets (not by the code under test)."""
    items = set(rec.items_.tolist())
    allowed = row_list(allow, row)
    if allowed is not None:
        items &= allowed
    items -= row_list(deny, row) or set()
    if exclude_seen:
        items -= {item for u, item in X.tolist() if u == user}
    return items


@SETTINGS
@given(data=st.data())
def test_recommend_returns_only_candidates_best_first(model, data):
    rec, X = model
    users = data.draw(
        st.lists(st.sampled_from(rec.users_.tolist() + [-1]), min_size=1, max_size=4)
    )  # -1: unknown user, popularity fallback
    k = data.draw(st.integers(1, 6))
    exclude_seen = data.draw(st.booleans())
    allow = data.draw(filters(rec.items_, len(users)))
    deny = data.draw(filters(rec.items_, len(users)))
    approximate = data.draw(st.sampled_from([False, {"n_lists": 2, "n_probe": 1}]))
    candidates = [
        candidates_of(rec, X, user, row, exclude_seen and user != -1, allow, deny)
        for row, user in enumerate(users)
    ]
    fill_value = data.draw(st.sampled_from([None, FILL]))
    call = dict(
        exclude_seen=exclude_seen, allow=allow, deny=deny, approximate=approximate,
        return_scores=True, fill_value=fill_value,
    )  # fmt: skip
    if min(map(len, candidates)) < k and fill_value is None:
        with pytest.raises(ValueError, match=f"k={k} exceeds the {min(map(len, candidates))}"):
            rec.recommend(users, k=k, **call)
        return
    top, scores = rec.recommend(users, k=k, **call)
    assert top.shape == scores.shape == (len(users), k)
    for row, user in enumerate(users):
        n = min(k, len(candidates[row]))  # the rest is filled
        assert top[row, n:].tolist() == [FILL] * (k - n) and np.isnan(scores[row, n:]).all()
        listed = top[row, :n].tolist()
        assert len(set(listed)) == n
        assert set(listed) <= candidates[row]
        assert np.all(np.diff(scores[row, :n]) <= 0)
        if user == -1 or n == 0:
            continue
        exact = rec.predict([[user, item] for item in listed])
        np.testing.assert_allclose(scores[row, :n], exact, rtol=1e-6)
        others = sorted(candidates[row] - set(listed))
        if others and not approximate:  # the k best: no other candidate scores higher
            rest = rec.predict([[user, item] for item in others])
            assert rest.max() <= scores[row, n - 1] + 1e-6


@SETTINGS
@given(data=st.data())
def test_similar_items_returns_only_candidates(model, data):
    rec, _ = model
    queries = data.draw(st.lists(st.sampled_from(rec.items_.tolist()), min_size=1, max_size=3))
    k = data.draw(st.integers(1, 5))
    allow = data.draw(filters(rec.items_, len(queries)))
    deny = data.draw(filters(rec.items_, len(queries)))
    candidates = [
        candidates_of(rec, None, None, row, False, allow, deny) - {item}
        for row, item in enumerate(queries)
    ]
    fill_value = data.draw(st.sampled_from([None, FILL]))
    call = dict(allow=allow, deny=deny, fill_value=fill_value, return_scores=True)
    if min(map(len, candidates)) < k and fill_value is None:
        with pytest.raises(ValueError, match="exceeds the"):
            rec.similar_items(queries, k=k, **call)
        return
    top, scores = rec.similar_items(queries, k=k, **call)
    for row in range(len(queries)):
        n = min(k, len(candidates[row]))
        assert top[row, n:].tolist() == [FILL] * (k - n) and np.isnan(scores[row, n:]).all()
        assert set(top[row, :n].tolist()) <= candidates[row]
        assert len(set(top[row, :n].tolist())) == n
        assert np.all(np.diff(scores[row, :n]) <= 0)


@SETTINGS
@given(data=st.data())
def test_similar_users_returns_only_allowed_neighbours_best_first(model, data):
    rec, X = model
    users = rec.users_.tolist()
    queries = data.draw(st.lists(st.sampled_from(users + [-1]), min_size=1, max_size=3))
    k = data.draw(st.integers(1, 5))
    allow = data.draw(filters(rec.users_, len(queries)))
    deny = data.draw(filters(rec.users_, len(queries)))
    candidates = []
    for row, user in enumerate(queries):
        allowed = row_list(allow, row)
        left = set(users) if allowed is None else set(users) & allowed
        candidates.append(left - (row_list(deny, row) or set()) - {user})
    fill_value = data.draw(st.sampled_from([None, FILL]))
    call = dict(allow=allow, deny=deny, fill_value=fill_value, return_scores=True)
    if min(map(len, candidates)) < k and fill_value is None:
        with pytest.raises(ValueError, match="exceeds the"):
            rec.similar_users(queries, k=k, **call)
        return
    top, scores = rec.similar_users(queries, k=k, **call)
    vectors = rec.model_.get_layer("user_embedding").get_weights()[0]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    activity = dict(zip(*np.unique(X[:, 0], return_counts=True)))
    for row, user in enumerate(queries):
        n = min(k, len(candidates[row]))
        assert top[row, n:].tolist() == [FILL] * (k - n) and np.isnan(scores[row, n:]).all()
        found = top[row, :n].tolist()
        assert set(found) <= candidates[row] and len(set(found)) == n
        if user == -1:  # unknown: the most active users the filters admit
            counts = sorted((activity[u] for u in candidates[row]), reverse=True)
            assert [activity[u] for u in found] == counts[:n]
            continue
        cosine = {v: float(unit[np.searchsorted(rec.users_, user)] @ unit[code])
                  for code, v in enumerate(users)}  # fmt: skip
        np.testing.assert_allclose(scores[row, :n], [cosine[v] for v in found], atol=1e-5)
        best = sorted((cosine[v] for v in candidates[row]), reverse=True)[:n]
        np.testing.assert_allclose(scores[row, :n], best, atol=1e-5)  # the n nearest allowed


def test_similar_users_filters_name_unknown_user_ids(model):
    rec, X = model
    strict = NCFRecommender(**{**rec.get_params(), "handle_unknown": "error"}).fit(X)
    with pytest.raises(ValueError, match=r"deny \(user ids\) contains 1 id\(s\) not seen"):
        strict.similar_users(strict.users_[:1], k=1, deny=[10**9])
    with pytest.raises(ValueError, match="may return once allow and deny apply"):
        strict.similar_users(strict.users_[:1], k=2, allow=strict.users_[:2])


def test_filters_per_row_must_match_the_query(model):
    rec, _ = model
    items = rec.items_.tolist()
    with pytest.raises(ValueError, match="allow holds 2 lists, one per row, but the query has 3"):
        rec.recommend(rec.users_[:3], k=1, allow=[items[:3], items[:3]])
    with pytest.raises(TypeError, match="deny mixes ids and lists of ids"):
        rec.recommend(rec.users_[:2], k=1, deny=[items[0], [items[1]]])
    with pytest.raises(ValueError, match="deny must hold ids, or one 1-d list of ids per row"):
        rec.recommend(rec.users_[:2], k=1, deny=np.zeros((2, 2, 2), dtype=int))


def test_filters_keyed_by_query_id_are_one_list_per_query(model):
    # a dict, or a pandas Series of lists indexed by id (a groupby's), is read by id: before,
    # a dict's keys (user ids) were taken for the items of one list for every user
    pd = pytest.importorskip("pandas")
    rec, X = model
    users, items = rec.users_[[4, 1, 7]], rec.items_.tolist()
    top = rec.recommend(users, k=3).tolist()
    per_row = [top[0][:2], [], top[2][1:]]  # each its user's own best items
    by_id = dict(zip(users.tolist(), per_row))  # keys not in query order, one list empty
    expected = rec.recommend(users, k=3, deny=per_row)
    assert expected[0, 0] != top[0][0] and expected[2, 1] != top[2][1]  # the lists bite
    np.testing.assert_array_equal(rec.recommend(users, k=3, deny=by_id), expected)
    log = pd.DataFrame({"user": np.repeat(users, [2, 0, 2]), "item": per_row[0] + per_row[2]})
    grouped = log.groupby("user")["item"].apply(list)  # sorted by user, user 1 absent
    np.testing.assert_array_equal(rec.recommend(users, k=3, deny=grouped), expected)
    allowed = [items[2:12], items[:10], items[10:20]]
    np.testing.assert_array_equal(
        rec.recommend(users, k=2, allow=dict(zip(users[::-1].tolist(), allowed[::-1]))),
        rec.recommend(users, k=2, allow=allowed),
    )
    np.testing.assert_array_equal(
        rec.similar_items(items[:2], k=3, deny={items[1]: items[2:6]}),
        rec.similar_items(items[:2], k=3, deny=[[], items[2:6]]),
    )
    with pytest.raises(ValueError, match=r"allow, keyed by user id, has no list for 1 user"):
        rec.recommend(users, k=2, allow=dict(zip(users[:2].tolist(), allowed)))
    with pytest.raises(ValueError, match="deny repeats ids in its index"):
        rec.recommend(users, k=2, deny=pd.concat([grouped, grouped]))
    with pytest.raises(TypeError, match="deny is keyed by string ids, but the user ids asked"):
        rec.recommend(users, k=2, deny={str(users[0]): items[:2]})


def test_one_id_is_a_list_of_one(model):
    rec, _ = model
    user, item = rec.users_[0], rec.items_[-1]
    for one in (item, np.array(item)):
        top = rec.recommend([user], k=1, allow=one, exclude_seen=False)
        assert top.tolist() == [[item]]
        assert item not in rec.recommend([user], k=3, deny=one, exclude_seen=False)


def test_unknown_filter_items_follow_handle_unknown(model):
    rec, _ = model
    strict = NCFRecommender(**{**rec.get_params(), "handle_unknown": "error"})
    strict.fit(model[1])
    unknown = r"allow \(item ids\) contains 1 id\(s\) not seen in fit: 1000000000\. "
    with pytest.raises(
        ValueError, match=unknown + "Pass handle_unknown='ignore' to leave them out"
    ):
        strict.recommend(strict.users_[:1], k=1, allow=[rec.items_[0], 10**9])
    # "ignore": the unknown id is dropped, the rest still filters
    top = rec.recommend(rec.users_[:1], k=1, allow=[rec.items_[0], 12345], exclude_seen=False)
    assert top.tolist() == [[rec.items_[0]]]


def test_a_failed_filtered_call_leaves_the_estimator_as_it_was(model):
    rec, _ = model
    before = rec.recommend(rec.users_[:2], k=3)
    with pytest.raises(ValueError):
        rec.recommend(rec.users_[:2], k=3, allow=[[rec.items_[0]], []])
    np.testing.assert_array_equal(rec.recommend(rec.users_[:2], k=3), before)


def test_fill_value_must_be_an_unknown_id_of_the_ids_type(model):
    rec, _ = model
    user = rec.users_[:1]
    with pytest.raises(ValueError, match="fill_value=10 is one of the model's item ids"):
        rec.recommend(user, k=2, fill_value=10)  # checked whether or not a list is short
    with pytest.raises(ValueError, match="fill_value=0 is one of the model's user ids"):
        rec.similar_users(user, k=2, fill_value=0)
    for wrong in ("none", 1.5, True, [-1]):
        with pytest.raises(TypeError, match="fill_value must be an integer, as the item ids"):
            rec.recommend(user, k=2, fill_value=wrong)
    rec.recommend(user, k=2, fill_value=np.int32(-1))  # any integer type


def test_fill_value_completes_lists_of_string_ids_and_folded_users():
    X = np.array([[u, i] for u in ("ann", "bob") for i in ("a", "b", "c", "dd")])
    X = X[~((X[:, 0] == "ann") & (X[:, 1] != "a"))]  # ann saw a; bob saw everything
    rec = NCFRecommender(latent_dim=4, epochs=1, random_state=0).fit(X)
    top = rec.recommend(["ann", "bob"], k=3, fill_value="")
    assert top.tolist()[1] == ["", "", ""] and "" not in top[0]
    assert rec.recommend("bob", k=1, fill_value="(none)").tolist() == [["(none)"]]
    with pytest.raises(TypeError, match="must be a string, as the item ids are"):
        rec.recommend("bob", k=1, fill_value=-1)
    folded = rec.fold_in(np.array([["cy", "a"], ["cy", "b"], ["cy", "c"]]))
    top, scores = folded.recommend("cy", k=2, fill_value="", return_scores=True)
    assert top.tolist() == [["dd", ""]] and np.isnan(scores[0, 1]) and scores[0, 0] > 0
    near = folded.similar_users("cy", k=1, deny=["ann", "bob"], fill_value="")
    assert near.tolist() == [[""]]
