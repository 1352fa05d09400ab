"""Ranking metrics for recommenders, for full ranking and for the sampled NCF protocol.

Every metric takes a matrix of scores, one row per user and one column per candidate item,
and the matching relevance matrix of held-out items:

- **Full ranking** (Krichene & Rendle, KDD 2020): the columns are the whole catalog and
  ``exclude`` marks each user's training items, which are not candidates.
- **Sampled** (He et al., WWW 2017): the columns are each user's held-out item and its
  sampled negatives; :func:`sampled_scores` builds that matrix from an estimator.

A relevant item's position is the number of other candidates scoring at least as high:
ties count against it. Relevant items are always candidates, even where ``exclude`` marks
them. Users without any relevant item are left out of the means.

Examples
--------
>>> import numpy as np
>>> from skncf.metrics import hit_rate_at_k, ndcg_at_k
>>> y_true = np.array([[0, 1, 0, 0], [1, 0, 0, 0]])
>>> y_score = np.array([[0.1, 0.9, 0.3, 0.2], [0.2, 0.8, 0.5, 0.2]])
>>> hit_rate_at_k(y_true, y_score, k=1)
0.5
>>> ndcg_at_k(y_true, y_score, k=3)  # positions 0 and 3: the tie counts against
0.5
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp

from ._data.ids import check_ids, encode
from ._serving.ranking import mask_seen, top_k

__all__ = [
    "auc",
    "catalog_coverage",
    "hit_rate_at_k",
    "map_at_k",
    "mrr",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "evaluate",
    "full_ranking_per_user",
    "relevant_positions",
    "sampled_scores",
]

# Entries compared at once when counting positions.
_CHUNK = 1 << 24


def relevant_positions(y_true, y_score, *, exclude=None):
    """Return the 0-based position of every relevant item among its row's candidates.

    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_candidates)
        Non-zero where an item is relevant (held out).
    y_score : array-like of shape (n_users, n_candidates)
        Scores, higher is better.
    exclude : array-like or sparse matrix of shape (n_users, n_candidates), default=None
        Non-zero where an item is not a candidate (e.g. a training item).

    Returns
    -------
    rows : ndarray of shape (n_relevant,)
        Row of each relevant item, in row order.
    positions : ndarray of shape (n_relevant,)
        Number of other candidates of that row scoring at least as high.
    n_candidates : ndarray of shape (n_users,)
        Candidates per row.
    """
    y_true, y_score, exclude = _check_inputs(y_true, y_score, exclude)
    relevant = y_true.tocoo()
    rows, cols = relevant.row.astype(np.int64), relevant.col.astype(np.int64)
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    target = y_score[rows, cols]
    masked = y_score.copy()
    n_candidates = np.full(len(y_score), y_score.shape[1], dtype=np.int64)
    if exclude is not None:
        excluded = exclude.tocoo()
        masked[excluded.row, excluded.col] = -np.inf
        masked[rows, cols] = target
        still_excluded = np.asarray(masked[excluded.row, excluded.col] == -np.inf)
        n_candidates -= np.bincount(excluded.row[still_excluded], minlength=len(y_score))
    positions = np.empty(len(rows), dtype=np.int64)
    step = max(1, _CHUNK // max(1, y_score.shape[1]))
    for start in range(0, len(rows), step):
        chunk = slice(start, start + step)
        at_least = (masked[rows[chunk]] >= target[chunk, None]).sum(axis=1)
        positions[chunk] = at_least - 1
    return rows, positions, n_candidates


def _check_inputs(y_true, y_score, exclude):
    if sp.issparse(y_score):
        raise TypeError(
            "y_score must be dense (a score for every candidate); got a sparse matrix. "
            "Pass y_score.toarray() if its missing entries are meant as zeros."
        )
    try:
        y_score = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"y_score must hold numbers; {error}") from None
    if y_score.ndim != 2:
        raise ValueError(f"y_score must be 2-d (users x candidates); got shape {y_score.shape}.")
    if np.isnan(y_score).any():
        raise ValueError("y_score contains NaN.")
    if not sp.issparse(y_true):
        y_true = np.asarray(y_true)
        if y_true.dtype.kind not in "biuf":
            raise TypeError(
                f"y_true must hold numbers or booleans (non-zero = relevant); got dtype "
                f"{y_true.dtype}."
            )
    y_true = sp.csr_array(y_true)
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_score has shape {y_score.shape}.")
    if exclude is not None:
        exclude = sp.csr_array(exclude)
        if exclude.shape != y_score.shape:
            raise ValueError(
                f"exclude has shape {exclude.shape} but y_score has shape {y_score.shape}."
            )
        exclude.eliminate_zeros()
    y_true.eliminate_zeros()
    if y_true.dtype.kind != "b" and (y_true.data < 0).any():
        raise ValueError(
            "y_true holds negative values, which would count as relevant (non-zero); for "
            "signed feedback (a dislike as -1), pass y_true > 0."
        )
    return y_true, y_score, exclude


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise TypeError(f"k must be an int; got {type(k).__name__}.")
    if k <= 0:
        raise ValueError(f"k must be positive; got {k}.")
    return int(k)


def _sums(rows, values, n_users):
    return np.bincount(rows, weights=values, minlength=n_users)


def _defined_mean(per_user):
    """Mean over users for whom the metric is defined; NaN, without a warning, if none is
    (AUC where every user's candidates are all relevant)."""
    defined = per_user[~np.isnan(per_user)]
    return float(defined.mean()) if len(defined) else float("nan")


def _mean(per_user):
    """:func:`_defined_mean`, raising where the metric is defined for no user."""
    if np.isnan(per_user).all():
        raise ValueError(
            "The metric is undefined for every user: y_true has no relevant item"
            " (for auc: no user has both a relevant and a non-relevant candidate)."
        )
    return _defined_mean(per_user)


def _per_user(metric, y_true, y_score, k, exclude):
    """Metric value per user, NaN for users without relevant items."""
    return _per_user_from_positions(metric, relevant_positions(y_true, y_score, exclude=exclude), k)


def _per_user_from_positions(metric, ranked, k, unranked=None):
    """Metric value per user from :func:`relevant_positions`' output, ``ranked``.

    ``unranked``: each user's relevant items that could not be ranked (unknown to the
    model), placed after every candidate: missed, but counted where a metric divides by
    the number of relevant items (recall, NDCG's ideal, MAP, AUC).
    """
    rows, positions, n_candidates = ranked
    n_users = len(n_candidates)
    ranked_counts = np.bincount(rows, minlength=n_users)
    counts = ranked_counts if unranked is None else ranked_counts + unranked
    order = np.lexsort((positions, rows))
    rows, positions = rows[order], positions[order]
    # How many relevant items of the same row are placed before each one.
    earlier = np.arange(len(rows)) - np.searchsorted(rows, rows)
    top = (positions < k).astype(float) if k is not None else None
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "hit_rate":
            values = np.minimum(_sums(rows, top, n_users), 1.0)
        elif metric == "ndcg":
            dcg = _sums(rows, top / np.log2(positions + 2.0), n_users)
            ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))])
            values = dcg / ideal[np.minimum(counts, k)]
        elif metric == "recall":
            values = _sums(rows, top, n_users) / counts
        elif metric == "precision":
            values = _sums(rows, top, n_users) / k
        elif metric == "map":
            precision = top * (earlier + 1) / (positions + 1.0)
            values = _sums(rows, precision, n_users) / np.minimum(counts, k)
        elif metric == "mrr":
            first = earlier == 0
            values = _sums(rows[first], 1.0 / (positions[first] + 1.0), n_users)
        elif metric == "auc":
            # Non-relevant candidates at least as high: all candidates at least as high
            # (position + 1) minus the relevant ones at least as high (tied ones included).
            keys = rows * (int(positions.max(initial=0)) + 1) + positions
            relevant_up_to = np.searchsorted(keys, keys, side="right") - np.searchsorted(rows, rows)
            negatives = n_candidates - ranked_counts
            above = positions + 1 - relevant_up_to
            share = 1 - above / negatives[rows]  # an unranked item's share: 0
            # NaN (undefined, left out) for a user without non-relevant candidates
            values = np.where(negatives > 0, _sums(rows, share, n_users) / counts, np.nan)
    return np.where(counts > 0, values, np.nan)


# The parameters every metric of a score matrix takes ({k} only where it has a cutoff).
_INPUTS = """
    Parameters
    ----------
    y_true : array-like or sparse matrix of shape (n_users, n_candidates)
        Non-zero where an item is relevant (held out), never negative; relevance is
        binary, the values' size is not used.
    y_score : array-like of shape (n_users, n_candidates)
        Scores, higher is better; NaN is refused.{k}
    exclude : array-like or sparse matrix of shape (n_users, n_candidates), default=None
        Non-zero where an item is not a candidate (under full ranking, the user's
        training items). A relevant item stays a candidate.

    Returns
    -------
    score : float
        The mean over the users (rows) with at least one relevant item.
"""
_K = """
    k : int, default=10
        The cutoff: how many of the best-scored candidates count as recommended."""


def _documented(function):
    """``function`` with the shared parameters in its docstring, in place of {inputs}."""
    k = _K if "k" in function.__code__.co_varnames else ""
    if function.__doc__:  # None under python -OO
        function.__doc__ = function.__doc__.format(inputs=_INPUTS.format(k=k))
    return function


@_documented
def hit_rate_at_k(y_true, y_score, *, k=10, exclude=None):
    """Share of users with at least one relevant item in their top ``k`` (HR@k).
    {inputs}"""
    return _mean(_per_user("hit_rate", y_true, y_score, _check_k(k), exclude))


@_documented
def ndcg_at_k(y_true, y_score, *, k=10, exclude=None):
    """Mean normalized discounted cumulative gain at ``k`` (binary relevance).

    A relevant item at 0-based position ``p < k`` gains ``1 / log2(p + 2)``; a user's
    sum is divided by the best possible one, ``min(k, n_relevant)`` items at the top.
    {inputs}"""
    return _mean(_per_user("ndcg", y_true, y_score, _check_k(k), exclude))


@_documented
def recall_at_k(y_true, y_score, *, k=10, exclude=None):
    """Mean share of each user's relevant items that are in their top ``k``.
    {inputs}"""
    return _mean(_per_user("recall", y_true, y_score, _check_k(k), exclude))


@_documented
def precision_at_k(y_true, y_score, *, k=10, exclude=None):
    """Mean share of each user's top ``k`` that is relevant.
    {inputs}"""
    return _mean(_per_user("precision", y_true, y_score, _check_k(k), exclude))


@_documented
def map_at_k(y_true, y_score, *, k=10, exclude=None):
    """Mean average precision at ``k``.

    A user's average precision is the sum of the precision at the position of every
    relevant item in the top ``k``, divided by ``min(k, n_relevant)``.
    {inputs}"""
    return _mean(_per_user("map", y_true, y_score, _check_k(k), exclude))


@_documented
def mrr(y_true, y_score, *, exclude=None):
    """Mean reciprocal rank of each user's best-placed relevant item (no cutoff).
    {inputs}"""
    return _mean(_per_user("mrr", y_true, y_score, None, exclude))


@_documented
def auc(y_true, y_score, *, exclude=None):
    """Mean per-user AUC.

    A user's AUC is the share of (relevant, non-relevant candidate) pairs in which the
    relevant item scores strictly higher (ties count against it). It is undefined for a
    user whose every candidate is relevant, who is left out of the mean.
    {inputs}"""
    return _mean(_per_user("auc", y_true, y_score, None, exclude))


def catalog_coverage(recommended, n_items):
    """Share of the catalog's ``n_items`` items that appear in any recommendation list.

    Parameters
    ----------
    recommended : array-like of shape (n_users, k)
        Recommendation lists, as :meth:`NCFRecommender.recommend` returns them (item
        labels or codes, one kind).
    n_items : int
        The catalog's size.

    Returns
    -------
    coverage : float
        Distinct recommended items over ``n_items``.
    """
    if isinstance(n_items, bool) or not isinstance(n_items, Integral) or n_items <= 0:
        raise ValueError(f"n_items must be a positive int; got {n_items!r}.")
    distinct = np.unique(np.asarray(recommended).ravel())
    if len(distinct) > n_items:
        raise ValueError(
            f"recommended holds {len(distinct)} distinct items, more than n_items={n_items}: "
            "pass the catalog's size."
        )
    return len(distinct) / n_items


METRICS = ("hit_rate", "ndcg", "recall", "precision", "map", "mrr", "auc")


def full_ranking_per_user(estimator, X_test, *, metrics=METRICS, k=10):
    """Per-user metrics of a fitted estimator under full ranking.

    Each user's held-out items (the rows of ``X_test`` with that user) are ranked among
    all items the user had no training interaction with. Held-out items the estimator
    does not know cannot be ranked: each is one more relevant item of its user, missed
    (placed after every candidate, and counted by recall, NDCG, MAP and AUC, which
    divide by the relevant items; a user with such items alone scores 0 on each
    metric). A user the estimator does not know cannot be ranked for: it counts as a
    user for whom every metric is 0 (a miss).

    Parameters
    ----------
    estimator : fitted NCFRecommender, a Pipeline that ends in one, or FoldedUsers
        The model to score (a fitted ``GridSearchCV`` over them: its
        ``best_estimator_``); the users that ``fold_in`` returns, for held-out users.
    X_test : array-like of shape (n_pairs, 2)
        Held-out (user, item) pairs, as the estimator's ``predict`` takes them.
    metrics : str or sequence of str, default=all
        Names among ``"hit_rate"``, ``"ndcg"``, ``"recall"``, ``"precision"``,
        ``"map"``, ``"mrr"``, ``"auc"``; one name alone may be a string.
    k : int, default=10
        Cutoff.

    Returns
    -------
    per_user : dict of str to ndarray
        For each metric, one value per test user, known to the estimator or not, in the
        order of their first row in ``X_test``: with one held-out pair per user (leave
        one out), value ``j`` is row ``j``'s, so that two methods' values pair up user
        by user.
    coverage : float
        Share of the catalog in the top ``k`` lists of the test users (of their unseen
        items: a user with fewer than ``k`` has them all in its list).
    """
    k = _check_k(k)
    metrics = _check_metrics(metrics)
    estimator, X_test = _recommender_of(estimator, X_test)
    (u, i, user_known, item_known), user_ids, _ = estimator.encode_pairs(X_test, return_ids=True)
    users, first, rows = np.unique(u[user_known], return_index=True, return_inverse=True)
    new_rows = np.flatnonzero(~user_known)
    new_rows = new_rows[np.unique(user_ids[new_rows], return_index=True)[1]]
    first_rows = np.concatenate([np.flatnonzero(user_known)[first], new_rows])
    order = np.argsort(first_rows, kind="stable")
    ranked = item_known[user_known]
    relevant = sp.csr_array(
        (np.ones(ranked.sum()), (rows[ranked], i[user_known][ranked])),
        shape=(len(users), len(estimator.items_)),
    )
    unranked = np.bincount(rows[~ranked], minlength=len(users))
    blocks: dict[str, list[np.ndarray]] = {metric: [] for metric in metrics}
    recommended = []
    for start, logits in estimator.catalog_logits(users):
        block = slice(start, start + len(logits))
        positions = relevant_positions(
            relevant[block], logits, exclude=estimator.seen_[users[block]]
        )
        for metric in metrics:
            blocks[metric].append(_per_user_from_positions(metric, positions, k, unranked[block]))
        unseen = mask_seen(logits, estimator.seen_, users[block])
        top = top_k(unseen, min(k, unseen.shape[1]))
        # a user with fewer than k unseen items: its seen ones (-inf) fill the list
        recommended.append(top[np.isfinite(np.take_along_axis(unseen, top, axis=1))])
    n_missed = len(new_rows)
    per_user = {
        metric: np.concatenate(values + [np.zeros(n_missed)])[order]
        for metric, values in blocks.items()
    }
    coverage = (
        catalog_coverage(np.concatenate(recommended), len(estimator.items_)) if recommended else 0.0
    )
    return per_user, coverage


def _check_metrics(metrics):
    """``metrics`` as a tuple of known names; one name alone may be given as a string."""
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ValueError(f"metrics must name one or more of {', '.join(METRICS)}; got {metrics!r}.")
    return names


def evaluate(estimator, X_test, *, negatives=None, k=10):
    """All ranking metrics of a fitted estimator, under full ranking and sampled.

    Full ranking is :func:`full_ranking_per_user`'s, averaged over users (ids the
    estimator does not know are misses, counted as it says); sampled ranking ranks each
    held-out pair among its ``negatives``.

    Parameters
    ----------
    estimator : fitted NCFRecommender, a Pipeline that ends in one, or FoldedUsers
        The model to score (a fitted ``GridSearchCV`` over them: its
        ``best_estimator_``); the users that ``fold_in`` returns, for held-out users.
    X_test : array-like of shape (n_pairs, 2)
        Held-out (user, item) pairs.
    negatives : array-like of shape (n_pairs, n_negatives), default=None
        Sampled negative items per held-out pair (NCF protocol); if given, the sampled
        metrics are computed too.
    k : int, default=10
        Cutoff.

    Returns
    -------
    report : dict
        ``{"full": {metric@k: value, ...}, "sampled": {...}}``; full ranking also gives
        ``coverage@k``.
    """
    per_user, coverage = full_ranking_per_user(estimator, X_test, k=k)
    report = {"full": {_name(m, k): _defined_mean(v) for m, v in per_user.items()}}
    report["full"][f"coverage@{k}"] = coverage
    if negatives is not None:
        positions = relevant_positions(*sampled_scores(estimator, X_test, negatives))
        report["sampled"] = {
            _name(m, k): _mean(_per_user_from_positions(m, positions, k)) for m in METRICS
        }
    return report


def _recommender_of(estimator, X=None):
    """The fitted recommender that ``estimator`` is or ends in, and ``X`` as it gets it.

    A :class:`~sklearn.pipeline.Pipeline` (nested ones too) passes ``X`` (unless None)
    through its steps before the last, as its own ``predict`` and ``score`` do; a fitted
    search (``GridSearchCV`` and the like, refit) stands for its ``best_estimator_``, as
    its own ``predict`` does: an outer ``cross_validate`` of a search scores it so.
    """
    while hasattr(estimator, "steps") or hasattr(estimator, "best_estimator_"):
        if hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
            continue
        if len(estimator.steps) > 1 and X is not None:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    if not hasattr(estimator, "encode_pairs"):
        raise TypeError(
            "estimator must be a fitted NCFRecommender, a Pipeline that ends in one, a "
            "search fitted over them with refit=True, or the FoldedUsers of its fold_in; "
            f"got {type(estimator).__name__}."
        )
    return estimator, X


def _name(metric, k):
    return metric if metric in ("mrr", "auc") else f"{metric}@{k}"


def sampled_scores(estimator, X_test, negatives):
    """Score matrix of the sampled protocol: column 0 the held-out pair, then negatives.

    Pairs with an id unknown to the estimator score ``-inf`` (a miss, ties counting
    against the held-out item).

    Parameters
    ----------
    estimator : fitted NCFRecommender, a Pipeline that ends in one, or FoldedUsers
        The model to score (a fitted ``GridSearchCV`` over them: its
        ``best_estimator_``); the users that ``fold_in`` returns, for held-out users.
    X_test : array-like of shape (n_users, 2)
        One held-out (user, item) pair per row.
    negatives : array-like of shape (n_users, n_negatives)
        Item ids sampled for each row's user.

    Returns
    -------
    y_true : ndarray of shape (n_users, 1 + n_negatives)
        True in column 0 only.
    y_score : ndarray of shape (n_users, 1 + n_negatives)
        Ranking scores (logits).
    """
    negatives = np.asarray(negatives)
    if negatives.ndim != 2 or len(negatives) != len(X_test):
        raise ValueError(
            f"negatives must have one row per row of X_test ({len(X_test)}); "
            f"got shape {negatives.shape}."
        )
    # the held-out pairs through the estimator's own columns (``columns=``), then the
    # negatives' items against its catalog
    estimator, X_test = _recommender_of(estimator, X_test)
    u, i, user_known, item_known = estimator.encode_pairs(X_test)
    negative, negative_known = encode(estimator.items_, check_ids(negatives.ravel(), "negatives"))
    shape = (len(u), 1 + negatives.shape[1])
    items = np.column_stack([i, negative.reshape(negatives.shape)])
    known = np.column_stack([item_known, negative_known.reshape(negatives.shape)])
    known &= user_known[:, None]
    y_score = np.full(shape, -np.inf)
    users = np.broadcast_to(u[:, None], shape)
    y_score[known] = estimator.pair_logits(users[known], items[known])
    y_true = np.zeros(shape, dtype=bool)
    y_true[:, 0] = True
    return y_true, y_score
