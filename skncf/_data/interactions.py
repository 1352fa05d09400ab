"""The data stage: the rows of one fit, as codes, become one :class:`Interactions`.

What training, validation and serving need from ``X, y, sample_weight`` is made here,
once: implicit positives merged per (user, item) pair with weights of mean 1, or
explicit ratings scaled to [0, 1]; the matrix of the pairs that count as seen (what
``recommend`` and full-ranking evaluation leave out); the rows held out for validation.
"""

import dataclasses
import functools
import warnings

import numpy as np
import scipy.sparse as sp


@dataclasses.dataclass
class Interactions:
    """One fit's training rows, what counts as seen, and the rows held out.

    ``seen`` is (n_users, n_items): every pair of the fit, and with a continued fit also
    the pairs seen before (held-out pairs count as seen: they are the user's). ``users``,
    ``items`` and ``weights`` are the training rows (weights of mean 1); ``targets`` the
    explicit ratings scaled to [0, 1] by ``scalars`` (offset, scale, the fallback
    rating); ``held_out`` the rows held out for validation, ``(users, items, ratings)``
    (ratings None for implicit feedback), or None.
    """

    seen: sp.csr_array
    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    targets: np.ndarray | None = None
    scalars: tuple = (0.0, 0.0, 0.0)
    held_out: tuple | None = None

    @functools.cached_property
    def matrix(self):
        """The training rows as a (n_users, n_items) float32 CSR of their weights."""
        return sp.csr_array(
            (self.weights.astype(np.float32), (self.users, self.items)), shape=self.seen.shape
        )

    @functools.cached_property
    def interacted_items(self):
        """:func:`interacted_items` of ``seen``: the items implicit training ranks among."""
        return interacted_items(self.seen)


def interacted_items(seen):
    """Codes of the items with a seen pair, or None when every item has one.

    Implicit training ranks each positive among these only: an item known by its
    features alone (cold) was not there to be chosen, so it is no evidence against the
    users who did not choose it, and training it as every user's negative would teach
    the model to score items with its features low.
    """
    counts = np.bincount(seen.indices, minlength=seen.shape[1])
    if counts.all():
        return None
    return np.flatnonzero(counts).astype(np.int32)


def implicit_interactions(users, items, weights, shape, *, fraction, rng, kept=None):
    """Positives (``weights > 0``) merged per pair, a ``fraction`` of users lending one.

    ``kept`` is ``(seen, old_users, old_items)`` of a fit being continued: its seen pairs,
    and the new codes of its users and items.
    """
    positive = weights > 0
    u, i, w = merge_positives(users[positive], items[positive], weights[positive], shape[1])
    seen = _seen(u, i, shape, kept)
    in_train = np.ones(len(u), dtype=bool)
    held_out = None
    if fraction is not None:
        in_train = validation_rows(u, fraction, rng)
        held_out = (u[~in_train], i[~in_train], None)
    w = w[in_train]
    return Interactions(seen, u[in_train], i[in_train], w / w.mean(), held_out=held_out)


def explicit_interactions(
    users, items, ratings, weights, shape, *, fraction, rng, kept=None, scalars=None
):
    """Rated pairs, targets scaled to [0, 1], a ``fraction`` of rows held out at random.

    ``scalars`` (offset, scale, fallback) of a fit being continued keep its scale; by
    default they come from ``ratings`` (a range of 0, one distinct rating, predicts that
    rating exactly).
    """
    seen = _seen(users, items, shape, kept)
    if scalars is None:
        fallback = float(np.average(ratings, weights=weights))
        scalars = (float(ratings.min()), float(np.ptp(ratings)), fallback)
    else:
        ratings = _within_scale(ratings, *scalars[:2])
    targets = (ratings - scalars[0]) / (scalars[1] or 1.0)
    in_train = np.ones(len(users), dtype=bool)
    held_out = None
    if fraction is not None:
        in_train = rng.random(len(users)) >= fraction
        held_out = (users[~in_train], items[~in_train], ratings[~in_train])
    if not in_train.any():
        raise ValueError(f"validation_fraction={fraction} leaves no rows to train on.")
    w = weights[in_train]
    return Interactions(
        seen, users[in_train], items[in_train], w / w.mean(), targets[in_train], scalars, held_out
    )


def is_decimal_comma(value):
    """Whether ``value`` is a number written with a decimal comma, as ``"2,5"``: text
    that explains why ratings or weights read from a file are not numbers."""
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text.count(",") == 1 and is_number(text.replace(",", "."))


def first_non_number(values):
    """The first text of ``values`` that does not read as a number, or None: what a
    message names where ratings or weights came as text. Gaps (None, NaN) are no text:
    they are left to the check for NaN."""
    values = np.asarray(values)
    if values.dtype.kind not in "OSU":
        return None
    try:
        values.astype(np.float64)
        return None
    except (TypeError, ValueError):
        pass
    return next(
        (v for v in values.ravel() if isinstance(v, (str, bytes)) and not is_number(v)), None
    )


def is_number(text):
    """Whether ``text`` reads as a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _within_scale(ratings, offset, scale):
    """``ratings`` clipped, with a warning, to the range ``[offset, offset + scale]`` of
    the fit being continued: its sigmoid output cannot leave it, and targets beyond it
    would drive the logits without bound."""
    low, high = offset, offset + scale
    if ratings.min() < low or ratings.max() > high:
        warnings.warn(
            f"y holds ratings from {ratings.min():g} to {ratings.max():g}, beyond the "
            f"range [{low:g}, {high:g}] of the fit being continued, which predictions "
            f"cannot leave: they are taken as {low:g} and {high:g}. Fit anew "
            "(warm_start=False) to learn the wider range.",
            UserWarning,
            stacklevel=8,  # the caller of partial_fit or fit
        )
    return np.clip(ratings, low, high)


def _seen(users, items, shape, kept):
    seen = interaction_matrix(users, items, *shape)
    return seen if kept is None else merge_seen(seen, *kept)


def merge_positives(users, items, weights, n_items):
    """Merge repeated (user, item) pairs into one, summing their weights."""
    keys, index = np.unique(users * n_items + items, return_inverse=True)
    return keys // n_items, keys % n_items, np.bincount(index.ravel(), weights=weights)


def validation_rows(users, fraction, rng):
    """Training mask: ``fraction`` of the users with 2+ positives lend one at random."""
    eligible = np.flatnonzero(np.bincount(users) >= 2)
    n_validation = int(round(fraction * len(eligible)))
    if n_validation == 0:
        raise ValueError(
            f"validation_fraction={fraction} of the {len(eligible)} users with 2 or more "
            "interactions leaves no validation user; raise it or pass None."
        )
    chosen = np.zeros(users.max() + 1, dtype=bool)
    chosen[rng.choice(eligible, n_validation, replace=False)] = True
    order = rng.permutation(len(users))
    _, first = np.unique(users[order], return_index=True)
    held_out = order[first]
    held_out = held_out[chosen[users[held_out]]]
    train = np.ones(len(users), dtype=bool)
    train[held_out] = False
    return train


def merge_seen(seen, old_seen, old_users, old_items):
    """``seen`` plus ``old_seen``, whose rows and columns move to new codes."""
    old = old_seen.tocoo()
    new = seen.tocoo()
    return interaction_matrix(
        np.concatenate([new.row, old_users[old.row]]),
        np.concatenate([new.col, old_items[old.col]]),
        *seen.shape,
    )


def interaction_matrix(users, items, n_users, n_items):
    """CSR indicator of the pairs, with sorted indices and no duplicates."""
    matrix = sp.csr_array(
        (np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix
