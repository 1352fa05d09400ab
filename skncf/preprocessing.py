"""Sample weights built from interaction data, to pass as ``fit(..., sample_weight=...)``,
each user's latest interactions, to fold users in from, and :class:`LabelSets`, the
encoder of side-feature columns of label lists.

Examples
--------
>>> from skncf import NCFRecommender
>>> from skncf.preprocessing import recency_weights
>>> X = [[0, 10], [0, 11], [0, 12], [1, 10], [1, 12]]
>>> weights = recency_weights([row[0] for row in X], [1, 2, 3, 7, 5], half_life=1)
>>> weights.round(2).tolist()
[0.59, 0.85, 1.36, 1.36, 0.85]
>>> rec = NCFRecommender(architecture="gmf", epochs=1, random_state=0).fit(X, sample_weight=weights)
"""

import datetime
from numbers import Integral, Real

import numpy as np

from ._data.ids import check_ids
from ._data.label_sets import LabelSets

__all__ = ["LabelSets", "latest_interactions", "recency_weights"]


def recency_weights(users, timestamps, *, boost=3.0, half_life=7.0):
    """Weight each interaction by how recent it is among its user's interactions.

    An interaction's *age* is the number of the same user's interactions that are strictly
    later (ties share an age, so row order never matters); its weight is
    ``1 + boost * 0.5 ** (age / half_life)``, scaled so that all weights average 1.
    A user's latest interactions thus count up to ``1 + boost`` times as much as old ones,
    which helps when the task is to predict what a user does *next*, as in the
    leave-last-out protocol: on ml1m-half (MovieLens-1M), these defaults raised skncf's
    full-ranking HR@10 from 0.105 to 0.137 (chosen on validation splits of ml1m-half and
    MovieLens-100K; figures on the benchmarks page). Ages count interactions, not
    seconds, so users who rate in bursts and users who rate slowly are treated alike.

    Parameters
    ----------
    users : array-like of shape (n_samples,)
        User id of each interaction (integers, floats or strings).
    timestamps : array-like of shape (n_samples,)
        Time of each interaction: numbers, ``datetime64`` values or datetimes (Python's
        or pandas'; timezone-aware ones order as instants). Only their order within a
        user matters.
    boost : float, default=3.0
        Extra weight of a user's latest interactions; 0 gives every interaction weight 1.
    half_life : float, default=7.0
        Age, in interactions, at which the extra weight has halved.

    Returns
    -------
    weights : ndarray of shape (n_samples,), dtype float64
        Positive weights with mean 1, for ``NCFRecommender.fit(X, sample_weight=...)``.
        Compute them on the training rows only, so that held-out rows do not age them.

    Examples
    --------
    >>> from skncf.preprocessing import recency_weights
    >>> weights = recency_weights(["ann", "ann", "bob"], [5, 9, 1], boost=1, half_life=1)
    >>> weights.round(3).tolist()  # ann's older rating counts 1.5, the latest ones 2
    [0.818, 1.091, 1.091]
    """
    if isinstance(boost, bool) or not isinstance(boost, Real) or not 0 <= float(boost) < np.inf:
        raise ValueError(f"boost must be a finite number >= 0; got {boost!r}.")
    if (
        isinstance(half_life, bool)
        or not isinstance(half_life, Real)
        or not 0 < float(half_life) < np.inf
    ):
        raise ValueError(f"half_life must be a finite number > 0; got {half_life!r}.")
    weights = 1.0 + boost * 0.5 ** (_ages(users, timestamps) / half_life)
    return weights / weights.mean()


def latest_interactions(users, timestamps, *, n=5):
    """Which interactions are among their user's ``n`` latest: a row mask.

    A row is kept when fewer than ``n`` of the same user's interactions are strictly
    later (its *age*, as :func:`recency_weights` counts it: ties share an age, so row
    order never matters and a burst of ties at the cut is kept whole). Fold users in
    from these rows alone (``rec.fold_in(X[mask])``) and they are scored from what they
    did last, which predicts what they do next better than their whole history: on
    ml1m-half, folding ``NCFRecommender()``'s users in from their 5 latest items raised
    full-ranking HR@10 from 0.105 to 0.186 (EASE and ALS gain as much from the same
    rows; ``benchmarks/recent_context.py``). ``n=5`` was best on the validation splits
    of ml1m-half and MovieLens-100K: choose it on a validation split of your own.

    Parameters
    ----------
    users : array-like of shape (n_samples,)
        User id of each interaction (integers, floats or strings).
    timestamps : array-like of shape (n_samples,)
        Time of each interaction, as :func:`recency_weights` takes them.
    n : int, default=5
        How many of each user's latest interactions to keep (more where times tie).

    Returns
    -------
    mask : ndarray of shape (n_samples,), dtype bool
        True for the rows to keep.

    Examples
    --------
    >>> from skncf.preprocessing import latest_interactions
    >>> latest_interactions(["ann", "ann", "ann", "bob"], [5, 9, 7, 1], n=2).tolist()
    [False, True, True, True]
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}.")
    return _ages(users, timestamps) < n


def _ages(users, timestamps):
    """Each interaction's age: how many of its user's interactions are strictly later."""
    users = check_ids(np.asarray(users), "users")
    if users.ndim != 1 or users.size == 0:
        raise ValueError(f"users must be a non-empty 1-D array; got shape {users.shape}.")
    times = check_timestamps(timestamps, len(users), "user id")
    codes = np.unique(users, return_inverse=True)[1].ravel()
    return _later_in_same_user(codes, times)


def check_timestamps(timestamps, n, per):
    """``timestamps`` as numbers that order in time, one per ``per`` (``n`` of them).

    Numbers and datetime64 values (as int64 nanoseconds) pass, and so do Python and
    pandas datetimes, timezone-aware ones as the instants they are (UTC); NaN, NaT and
    inf raise, as an interaction without a time has no place in an order; so do strings,
    whose order is the alphabet's ("03/01/2020" before "12/31/2019"), not time's.
    """
    times = time_values(timestamps)
    if times.shape != (n,):
        raise ValueError(
            f"timestamps must have one entry per {per} ({n}); got shape {times.shape}."
        )
    if times.dtype.kind == "M":
        if np.isnat(times).any():
            raise ValueError("timestamps contain NaT; every interaction needs a time.")
        return times.astype("datetime64[ns]").astype(np.int64)
    if times.dtype.kind not in "iuf":
        raise TypeError(
            f"timestamps must be numbers or datetime64 values; got dtype {times.dtype} "
            "(parse dates in strings with pandas.to_datetime)."
        )
    if not np.isfinite(times).all():
        raise ValueError("timestamps contain NaN or inf; every interaction needs a time.")
    return times


def time_values(timestamps):
    """``timestamps`` as an array: dates as datetime64 (timezone-aware ones as the instants
    they are, in UTC), anything else as numpy reads it."""
    if getattr(getattr(timestamps, "dtype", None), "tz", None) is not None:
        timestamps = timestamps.to_numpy("datetime64[ns]")  # pandas, timezone-aware
    times = np.asarray(timestamps)
    return _python_datetimes(times) if times.dtype == object else times


def _python_datetimes(times):
    """An object array of Python datetimes (or dates) as datetime64, aware ones in UTC.

    None and NaT become NaT, for the caller's ValueError; an array holding anything else
    comes back as it was, for the caller's TypeError.
    """
    values = times.tolist()
    missing = [value is None or value != value for value in values]  # NaT != NaT
    present = [value for value, gap in zip(values, missing) if not gap]
    if not all(isinstance(value, datetime.date) for value in present):
        return times
    aware = [getattr(value, "tzinfo", None) is not None for value in present]
    if any(aware) and not all(aware):
        raise TypeError(
            "timestamps mix timezone-aware and naive datetimes, which have no common "
            "order; localize the naive ones first."
        )
    if any(aware):
        present = [value.astimezone(datetime.UTC).replace(tzinfo=None) for value in present]
    converted = np.full(len(values), np.datetime64("NaT", "ns"))
    converted[~np.array(missing, dtype=bool)] = np.array(present, dtype="datetime64[ns]")
    return converted


def _later_in_same_user(codes, times):
    """For each row, how many rows of the same user have a strictly later time."""
    order = np.lexsort((times, codes))
    sorted_codes, sorted_times = codes[order], times[order]
    # End (exclusive) of each row's user block and of its block of tied times.
    user_end = np.searchsorted(sorted_codes, sorted_codes, side="right")
    new_tie = np.r_[True, (np.diff(sorted_codes) != 0) | (np.diff(sorted_times) != 0)]
    tie_id = np.cumsum(new_tie) - 1
    tie_end = np.r_[np.flatnonzero(new_tie)[1:], len(codes)][tie_id]
    age = np.empty(len(codes), dtype=np.float64)
    age[order] = user_end - tie_end
    return age
