"""A seeded generator of interactions with planted taste groups and popularity skew."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_params

from .._compat import Interval

# Entries of the (users x items) preference matrix drawn at once.
_CHUNK = 1 << 22


@validate_params(
    {
        "n_users": [Interval(Integral, 1, None, closed="left")],
        "n_items": [Interval(Integral, 2, None, closed="left")],
        "n_groups": [Interval(Integral, 1, None, closed="left")],
        "interactions_per_user": [Interval(Integral, 1, None, closed="left")],
        "affinity": [Interval(Real, 0, 1, closed="right")],
        "popularity_skew": [Interval(Real, 0, None, closed="left")],
        "ratings": ["boolean"],
        "rating_noise": [Interval(Real, 0, None, closed="left")],
        "return_groups": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_interactions(
    n_users=500,
    n_items=200,
    *,
    n_groups=5,
    interactions_per_user=20,
    affinity=0.8,
    popularity_skew=0.5,
    ratings=False,
    rating_noise=0.3,
    return_groups=False,
    random_state=None,
):
    """Generate (user, item) interactions with planted taste groups.

    Every user and every item belongs to one of ``n_groups`` taste groups. Each user
    interacts with a Poisson number (at least 1) of distinct items, around
    ``interactions_per_user``; a fraction ``affinity`` of them comes from the user's own
    group (about that fraction: strong popularity skew, or users with nearly all items of
    their group, shift it). Within that, popular items are drawn more often: item ``j``'s weight is
    ``(rank_j + 1) ** -popularity_skew`` for a random popularity rank. With
    ``ratings=True`` each interaction also gets a rating in [1, 5] from a planted
    low-rank model: group membership plus per-user and per-item offsets, plus noise.

    Parameters
    ----------
    n_users : int, default=500
        Number of users.
    n_items : int, default=200
        Number of items, at least 2.
    n_groups : int, default=5
        Number of taste groups; at most ``n_items``.
    interactions_per_user : int, default=20
        Mean number of interactions per user (capped at ``n_items``).
    affinity : float, default=0.8
        Expected share of a user's interactions with items of their own group. With
        ``1 / n_groups`` groups mean nothing.
    popularity_skew : float, default=0.5
        Exponent of the Zipf-like popularity of items; 0 makes all items equally popular.
    ratings : bool, default=False
        Whether to return ratings as ``y``.
    rating_noise : float, default=0.3
        Standard deviation of the Gaussian noise added to ratings before clipping.
    return_groups : bool, default=False
        Whether to also return the group of every user and every item.
    random_state : int, RandomState instance or None, default=None
        Seed for the data; an int gives the same data on every call.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        Integer user ids in the first column, item ids in the second.
    y : ndarray of shape (n_samples,) or None
        Ratings in [1, 5] if ``ratings``, else None.
    user_groups : ndarray of shape (n_users,)
        Group of each user id. Only if ``return_groups``.
    item_groups : ndarray of shape (n_items,)
        Group of each item id. Only if ``return_groups``.

    Examples
    --------
    >>> from skncf.datasets import make_interactions
    >>> X, y = make_interactions(n_users=50, n_items=30, ratings=True, random_state=0)
    >>> X.shape[1], bool(y.min() >= 1 and y.max() <= 5)
    (2, True)
    """
    if n_groups > n_items:
        raise ValueError(f"n_groups ({n_groups}) must not exceed n_items ({n_items}).")
    rng = check_random_state(random_state)
    user_groups = rng.randint(n_groups, size=n_users)
    item_groups = np.arange(n_items) % n_groups
    rng.shuffle(item_groups)
    popularity_rank = rng.permutation(n_items)
    log_weight = -popularity_skew * np.log1p(popularity_rank)
    # Out-of-group items get a lower weight, so that `affinity` of the mass is in-group.
    if n_groups == 1:
        log_out = 0.0
    elif affinity == 1:
        log_out = -np.inf
    else:
        log_out = -np.log(affinity * (n_groups - 1) / (1 - affinity))
    counts = np.clip(rng.poisson(interactions_per_user, size=n_users), 1, n_items)

    rows = []
    step = max(1, _CHUNK // n_items)
    for start in range(0, n_users, step):
        groups = user_groups[start : start + step]
        same = groups[:, None] == item_groups[None, :]
        logits = log_weight + np.where(same, 0.0, log_out)
        # Gumbel top-k: the m largest of logits + Gumbel noise are a weighted draw of m
        # distinct items without replacement.
        keys = logits + rng.gumbel(size=logits.shape)
        order = np.argsort(-keys, axis=1)
        for r, m in enumerate(counts[start : start + step]):
            picked = order[r, :m]
            picked = picked[np.isfinite(keys[r, picked])]
            rows.append(np.column_stack([np.full(len(picked), start + r), picked]))
    X = np.concatenate(rows).astype(np.int64)

    y = None
    if ratings:
        user_bias = rng.normal(0, 0.4, size=n_users)
        item_bias = rng.normal(0, 0.4, size=n_items)
        match = (user_groups[X[:, 0]] == item_groups[X[:, 1]]).astype(float)
        y = 2.5 + 1.5 * match + user_bias[X[:, 0]] + item_bias[X[:, 1]]
        y = np.clip(y + rng.normal(0, rating_noise, size=len(X)), 1.0, 5.0)
    if return_groups:
        return X, y, user_groups, item_groups
    return X, y
