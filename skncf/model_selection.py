"""Splitters and scorers for tuning recommenders with scikit-learn's model selection.

The splitters hold out interactions per user (:class:`LeaveLastOut`, :class:`UserHoldout`),
as the field's benchmarks do, or after one point in time for every user
(:class:`GlobalTimeSplit`), as a deployed model meets its data; they work as ``cv=`` in
:class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_validate`. The scorers rank held-out items among all
items a user has not interacted with, for ``scoring=``.

Examples
--------
>>> from sklearn.model_selection import GridSearchCV
>>> from skncf import NCFRecommender
>>> from skncf.datasets import make_interactions
>>> from skncf.model_selection import LeaveLastOut, make_ranking_scorer
>>> X, _ = make_interactions(n_users=40, n_items=30, random_state=0)
>>> search = GridSearchCV(
...     NCFRecommender(architecture="gmf", epochs=2, random_state=0),
...     {"latent_dim": [4, 8]},
...     cv=LeaveLastOut(random_state=0),
...     scoring=make_ranking_scorer("ndcg", k=10),
... ).fit(X)
>>> sorted(search.best_params_)
['latent_dim']
"""

from collections.abc import Iterator
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from ._data.ids import check_ids, keep_python_types
from .metrics import METRICS, full_ranking_per_user
from .preprocessing import check_timestamps, time_values

__all__ = ["GlobalTimeSplit", "LeaveLastOut", "UserHoldout", "make_ranking_scorer"]


def _named_column(X, name, parameter):
    """Column ``name`` of a DataFrame ``X``, or raise naming ``parameter``."""
    if not hasattr(X, "columns") or name not in list(X.columns):
        raise ValueError(f"{parameter} {name!r} is not a column name of X.")
    return X[name]


def _user_codes(X, user_column):
    """Code of each row's user, from column ``user_column`` (position or name)."""
    X = keep_python_types(X)
    if isinstance(user_column, bool) or not isinstance(user_column, Integral | str):
        raise TypeError(
            f"user_column must be a column position (int) or name (str); got {user_column!r}."
        )
    if isinstance(user_column, str):
        values = np.asarray(_named_column(X, user_column, "user_column"))
    else:
        array = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X, dtype=object)
        if array.ndim != 2 or not -array.shape[1] <= user_column < array.shape[1]:
            raise ValueError(
                f"user_column={user_column} does not index a column of X with shape {array.shape}."
            )
        values = array[:, user_column]
    return np.unique(check_ids(values, "user ids"), return_inverse=True)[1].ravel()


def _check_count(value, name):
    """Raise unless ``value`` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}.")


def _check_share_and_splits(test_size, n_splits):
    """Raise unless ``test_size`` is a share in (0, 1) and ``n_splits`` an int >= 1."""
    if not isinstance(test_size, Real) or not 0 < float(test_size) < 1:
        raise ValueError(f"test_size must be a float in (0, 1); got {test_size!r}.")
    _check_count(n_splits, "n_splits")


def _row_times(timestamps, X):
    """``timestamps`` (an array, or a column name of ``X``) as numbers, one per row."""
    return check_timestamps(_row_time_values(timestamps, X), len(X), "row of X")


def _row_time_values(timestamps, X):
    """``timestamps`` (an array, or a column name of ``X``) as :func:`time_values` reads
    them: datetime64 where they are dates."""
    if isinstance(timestamps, str):
        timestamps = _named_column(X, timestamps, "timestamps")
    return time_values(timestamps)


def _rank_within_user(users, keys):
    """0-based rank of each row among its user's rows by ``keys``, and the user's size."""
    order = np.lexsort((np.arange(len(users)), keys, users))
    first = np.searchsorted(users[order], users[order], side="left")
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - first
    return rank, np.bincount(users)[users]


class _UserSplitter(BaseCrossValidator):
    """What both splitters share: scikit-learn's splitter interface over users' rows.

    A subclass sets ``n_splits`` and ``user_column`` and yields the splits of the rows'
    user codes from ``_splits(users)``. scikit-learn's base class gives the repr that
    its own splitters print (``LeaveLastOut(n_splits=1, n_test=1, ...)``).
    """

    n_splits: int
    user_column: int | str

    def _splits(self, users: np.ndarray, X) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of splits :meth:`split` yields.

        Parameters
        ----------
        X, y, groups : None
            Unused, for scikit-learn's splitter interface.

        Returns
        -------
        n_splits : int
            How many ``(train, test)`` pairs :meth:`split` yields.
        """
        return self._n_splits()

    def _n_splits(self):
        """What :meth:`get_n_splits` returns: ``n_splits``, unless a subclass knows better."""
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Yield ``(train_indices, test_indices)`` pairs, one per split.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Interactions; the users are read from ``user_column``.
        y, groups : None
            Unused, for scikit-learn's splitter interface.

        Yields
        ------
        train, test : ndarray of int
            Row indices of ``X``.
        """
        X = keep_python_types(X)  # a list as objects, an arrow table as a pandas frame
        yield from self._splits(_user_codes(X, self.user_column), X)


class LeaveLastOut(_UserSplitter):
    """Hold out each user's last ``n_test`` interactions, or, split by split, earlier ones.

    "Last" is by ``timestamps`` when given (ties broken by row order: a later row is
    later), else a seeded random draw. Users with ``n_test`` interactions or fewer keep
    them all for training, so that every test user is known to the model; if no user has
    more, ``split`` raises a ValueError, as there is nothing to hold out.

    With ``n_splits`` greater than 1, each split asks the same question one step earlier
    in every user's history: split ``k`` (from 0) holds out, of each user with more than
    ``(k + 1) * n_test`` interactions, the ``n_test`` before their last ``k * n_test``.
    With ``timestamps`` it trains on the rest less those last ``k * n_test``, which a
    model fit at that point in the user's history had not seen; without, the held-out
    rows of the splits are disjoint random draws, and each split trains on all the
    others. Users with fewer interactions keep them all for training. When the test is
    what each user does next, these splits tune for it where random held-out rows ask
    another question (``benchmarks/grid_search.py``).

    Parameters
    ----------
    n_test : int, default=1
        Interactions held out per user.
    n_splits : int, default=1
        Splits, each ``n_test`` interactions earlier in every user's history than the
        one before; split 0 holds out the last ones.
    timestamps : str or array-like of shape (n_samples,), default=None
        Time of each row of the ``X`` that will be split: numbers, datetime64 values or
        datetimes (timezone-aware ones order as instants). Dates held as text raise a
        TypeError, as their alphabetical order is not time's: parse them with
        ``pandas.to_datetime``. NaN and NaT raise a ValueError. A string names a
        column of a DataFrame ``X``, read at each ``split``: the splitter then suits
        any ``X`` that has the column, such as the training part of an outer split in
        nested cross-validation, where an array fits one ``X`` only.
    user_column : int or str, default=0
        Where the user ids are in ``X``: a position or a DataFrame column name.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw when there are no timestamps.

    Examples
    --------
    >>> import numpy as np
    >>> from skncf.model_selection import LeaveLastOut
    >>> X = np.array([[0, 5], [0, 6], [1, 5], [0, 7]])
    >>> train, test = next(LeaveLastOut(timestamps=[3, 1, 9, 2]).split(X))
    >>> test.tolist()
    [0]
    >>> import pandas as pd
    >>> log = pd.DataFrame({"user": [0, 0, 1, 0], "item": [5, 6, 5, 7], "time": [3, 1, 9, 2]})
    >>> next(LeaveLastOut(timestamps="time").split(log))[1].tolist()
    [0]

    Two splits: user 0's last row (time 3), then its one before (time 2), trained on
    what came before that:

    >>> [(train.tolist(), test.tolist())
    ...  for train, test in LeaveLastOut(n_splits=2, timestamps="time").split(log)]
    [([1, 2, 3], [0]), ([1, 2], [3])]
    """

    def __init__(self, n_test=1, *, n_splits=1, timestamps=None, user_column=0, random_state=None):
        self.n_test = n_test
        self.n_splits = n_splits
        self.timestamps = timestamps
        self.user_column = user_column
        self.random_state = random_state

    def _splits(self, users, X):
        _check_count(self.n_test, "n_test")
        _check_count(self.n_splits, "n_splits")
        if self.timestamps is None:
            keys = check_random_state(self.random_state).permutation(len(users))
        else:
            keys = _row_times(self.timestamps, X)
        rank, size = _rank_within_user(users, keys)
        from_end = size - 1 - rank
        self._check_enough(size)
        for k in range(self.n_splits):
            tested = size > (k + 1) * self.n_test
            test = tested & (from_end // self.n_test == k)
            train = ~test
            if self.timestamps is not None:  # the user's later rows, unseen at that point
                train &= ~(tested & (from_end < k * self.n_test))
            yield np.flatnonzero(train), np.flatnonzero(test)

    def _check_enough(self, size):
        """Raise unless some user has interactions to hold out in every split."""
        needed = self.n_splits * self.n_test
        if len(size) and size.max() <= needed:
            enough = (
                f"n_test={self.n_test}"
                if self.n_splits == 1
                else f"n_splits * n_test = {needed} (every split holds out {self.n_test})"
            )
            raise ValueError(
                f"No user has more than {enough} interactions: there is nothing to hold out."
            )


class UserHoldout(_UserSplitter):
    """Hold out a random fraction of every user's interactions, ``n_splits`` times.

    Each user with at least 2 interactions gives ``round(test_size * n)`` of them, at
    least 1 and at most ``n - 1``, to the test set; users with 1 interaction stay in
    training (``split`` raises a ValueError if no user has more).

    Parameters
    ----------
    test_size : float, default=0.2
        Fraction of each user's interactions held out, in (0, 1).
    n_splits : int, default=1
        Independent random splits.
    user_column : int or str, default=0
        Where the user ids are in ``X``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.
    """

    def __init__(self, test_size=0.2, *, n_splits=1, user_column=0, random_state=None):
        self.test_size = test_size
        self.n_splits = n_splits
        self.user_column = user_column
        self.random_state = random_state

    def _splits(self, users, X):
        _check_share_and_splits(self.test_size, self.n_splits)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            rank, size = _rank_within_user(users, rng.permutation(len(users)))
            n_test = np.clip(np.round(self.test_size * size), 1, size - 1)
            test = (size >= 2) & (rank < n_test)
            if len(users) and not test.any():
                raise ValueError(
                    "No user has 2 interactions or more: there is nothing to hold out."
                )
            yield np.flatnonzero(~test), np.flatnonzero(test)


class GlobalTimeSplit(_UserSplitter):
    """Train on the interactions before a point in time, test on those after it.

    :class:`LeaveLastOut` holds out each user's own latest interactions whatever their
    time, so a model trains on other users' later behaviour, which no deployed model has
    seen (Meng et al., SIGIR 2020, "Exploring Data Splitting Strategies for the Evaluation
    of Recommendation Models"). This splitter cuts the whole log at one time, as a model
    fit on that day would know it, and tests on what users did next.

    The cut leaves the latest ``test_size`` share of the rows to the test; rows that
    share a time fall on the same side, so the share is approximate. With ``n_splits``
    greater than 1 the cut rolls forward, as scikit-learn's
    :class:`~sklearn.model_selection.TimeSeriesSplit` does: split ``j`` trains on every
    row before its cut and tests on the next ``test_size`` share, the last split's test
    ending with the log. ``cuts`` gives the times of the cuts instead (the first of
    July: train on the first half of the year, test on what followed).

    Test rows of users with no earlier row are left out of both sides: ranking them asks
    another question, answered by ``fold_in`` or user features (``keep_new_users=True``
    keeps them; the ranking scorers count each such user as a miss). Test rows of items
    with no earlier row stay, and count as misses: no model of the past can recommend
    them.

    Parameters
    ----------
    timestamps : str or array-like of shape (n_samples,)
        Time of each row of ``X``, as :class:`LeaveLastOut` takes them: numbers,
        datetime64 values or datetimes, or the name of a DataFrame column, read at each
        ``split`` (which suits the inner search of nested cross-validation).
    test_size : float, default=0.2
        Share of the rows in each test, in (0, 1); ``n_splits * test_size`` must stay
        below 1, leaving rows to train the first split on.
    n_splits : int, default=1
        Cuts, each ``test_size`` later than the one before.
    user_column : int or str, default=0
        Where the user ids are in ``X``: a position or a DataFrame column name.
    keep_new_users : bool, default=False
        Keep the test rows of users who have no training row.
    cuts : array-like of times, default=None
        The times at which to cut, increasing, of the timestamps' kind (numbers, or
        datetimes: ``pandas.to_datetime(["2024-07-01"])``), in place of ``test_size``
        and ``n_splits``, which must then keep their defaults: split ``j`` trains on the
        rows before ``cuts[j]`` and tests on those from it to the next cut, the last
        split's test ending with the log.

    Examples
    --------
    >>> import pandas as pd
    >>> from skncf.model_selection import GlobalTimeSplit
    >>> log = pd.DataFrame({"user": [0, 0, 1, 1, 2, 3], "item": [5, 6, 5, 7, 6, 5],
    ...                     "time": [1, 4, 2, 5, 3, 5]})
    >>> train, test = next(GlobalTimeSplit("time", test_size=0.5).split(log))
    >>> train.tolist(), test.tolist()  # cut at time 4; user 3 has no earlier row
    ([0, 2, 4], [1, 3])
    >>> [test.tolist() for _, test in GlobalTimeSplit("time", cuts=[4, 5]).split(log)]
    [[1], [3]]
    """

    def __init__(
        self,
        timestamps,
        *,
        test_size=0.2,
        n_splits=1,
        user_column=0,
        keep_new_users=False,
        cuts=None,
    ):
        self.timestamps = timestamps
        self.test_size = test_size
        self.n_splits = n_splits
        self.user_column = user_column
        self.keep_new_users = keep_new_users
        self.cuts = cuts

    def _n_splits(self):
        return self.n_splits if self.cuts is None else len(self._given_cuts(dates=None))

    def _splits(self, users, X):
        if self.timestamps is None:
            raise TypeError("GlobalTimeSplit needs timestamps: an array or a column name.")
        values = _row_time_values(self.timestamps, X)
        times = check_timestamps(values, len(X), "row of X")
        cuts = self._cut_times(times, dates=values.dtype.kind == "M")
        for j, cut in enumerate(cuts):
            train = times < cut
            test = times >= cut
            if j + 1 < len(cuts):
                test &= times < cuts[j + 1]
            if not test.any() or not train.any():
                advice = (
                    "fewer n_splits or another test_size" if self.cuts is None else "other cuts"
                )
                raise ValueError(
                    f"Split {j} has no {'test' if train.any() else 'training'} row: the "
                    f"log's times ({len(np.unique(times))} distinct) leave nothing on that "
                    f"side of its cut. Pass {advice}."
                )
            if not self.keep_new_users:
                test &= np.bincount(users[train], minlength=users.max() + 1)[users] > 0
                if not test.any():
                    raise ValueError(
                        f"Every test row of split {j} belongs to a user with no earlier "
                        "row; pass keep_new_users=True to keep them."
                    )
            yield np.flatnonzero(train), np.flatnonzero(test)

    def _cut_times(self, times, dates):
        """The times of the cuts, as numbers comparable with ``times``."""
        if not isinstance(self.keep_new_users, bool | np.bool_):
            raise TypeError(f"keep_new_users must be a bool; got {self.keep_new_users!r}.")
        if self.cuts is not None:
            return self._given_cuts(dates)
        n_test = self._check_sizes(len(times))
        return np.sort(times)[len(times) - n_test * np.arange(self.n_splits, 0, -1)]

    def _given_cuts(self, dates):
        """``cuts``, checked, as numbers; ``dates`` says whether the timestamps are dates
        (None: not known yet)."""
        if (self.test_size, self.n_splits) != (0.2, 1):
            raise ValueError(
                "cuts replace test_size and n_splits; leave those at their defaults "
                f"(got test_size={self.test_size!r}, n_splits={self.n_splits!r})."
            )
        values = time_values(self.cuts)
        if values.ndim != 1 or not len(values):
            raise ValueError(f"cuts must be a 1-d array-like of times; got {self.cuts!r}.")
        if dates is not None and (values.dtype.kind == "M") != dates:
            kind = "datetimes (text: pandas.to_datetime)" if dates else "numbers"
            raise TypeError(f"cuts must be {kind}, as the timestamps are; got {self.cuts!r}.")
        cuts = check_timestamps(values, len(values), "cut")
        if (np.diff(cuts) <= 0).any():
            raise ValueError(f"cuts must increase; got {self.cuts!r}.")
        return cuts

    def _check_sizes(self, n):
        """Rows in each test (before ties), after checking the parameters."""
        _check_share_and_splits(self.test_size, self.n_splits)
        n_test = max(1, round(float(self.test_size) * n))
        if self.n_splits * n_test >= n:
            raise ValueError(
                f"n_splits={self.n_splits} tests of test_size={self.test_size} take all "
                f"{n} rows, leaving none to train on; pass fewer splits or a smaller "
                "test_size."
            )
        return n_test


def _interaction_rows(X, y):
    """Rows of ``X`` whose ``y`` is positive: the held-out interactions to rank."""
    try:
        y = np.asarray(y, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError("y must hold numbers (0 where a row is no interaction).") from None
    if len(y) != len(X):
        raise ValueError(f"y has {len(y)} values but X has {len(X)} rows.")
    keep = np.flatnonzero(y > 0)
    if not len(keep):
        raise ValueError("Every y is 0 or less: there is no held-out interaction to rank.")
    return keep


class _RankingScorer:
    """Callable ``scorer(estimator, X, y=None)`` for ``scoring=``."""

    def __init__(self, metric, k):
        self.metric, self.k = metric, k

    def __call__(self, estimator, X, y=None):
        if y is not None:
            keep = _interaction_rows(X, y)
            X = keep_python_types(X)
            X = X.iloc[keep] if hasattr(X, "iloc") else X[keep]
        per_user, _ = full_ranking_per_user(estimator, X, metrics=(self.metric,), k=self.k)
        return float(np.nanmean(per_user[self.metric]))

    def __repr__(self):
        return f"make_ranking_scorer({self.metric!r}, k={self.k})"


def make_ranking_scorer(metric="ndcg", *, k=10):
    """Make a scorer for ``scoring=`` that ranks held-out pairs under full ranking.

    Each test user's held-out items are ranked among every item the user had no
    training interaction with; the metric (see :mod:`skncf.metrics`) is averaged over
    users. Pairs whose user or item the model does not know count as misses. Rows with
    ``y == 0`` are no interactions and are left out.

    Parameters
    ----------
    metric : {"ndcg", "hit_rate", "recall", "precision", "map", "mrr", "auc"}, default="ndcg"
    k : int, default=10
        Cutoff (unused by ``"mrr"`` and ``"auc"``).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, greater is better.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}.")
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"k must be a positive int; got {k!r}.")
    return _RankingScorer(metric, int(k))
