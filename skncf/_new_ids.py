"""NCFRecommender's methods for ids after ``fit``: ``fold_in`` (users) and ``add_items``.

A mixin of :class:`~skncf._estimator.NCFRecommender`: new users get rows fitted to their
history and features under the fit's prior, without training the model
(:class:`~skncf._folded.FoldedUsers`); new items join the catalog from their features.
"""

from __future__ import annotations  # help() shows ArrayLike, not numpy's full union

import itertools
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

from ._data.features import check_covered, check_features, check_id_column, encoded_later
from ._data.ids import checked_pair_ids, encode, extend_codes, fit_codes
from ._data.interactions import (
    interacted_items,
    interaction_matrix,
    merge_positives,
    merge_seen,
)
from ._fitted_state import FittedState
from ._folded import FoldedUsers
from ._graph.graphs import GraphLayout, set_untrained_rows
from ._training.fold_in import FoldIn, negative_weights, user_prior
from ._training.warm_start import copy_weights


class NewIdsMethods(FittedState):
    """``fold_in`` and ``add_items`` of a fitted estimator."""

    def fold_in(
        self,
        X: ArrayLike | None = None,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        user_features: Any = None,
    ) -> FoldedUsers:
        """Fit embedding rows for users from their interactions or features, the model unchanged.

        For users who arrived after ``fit``, or known users from a fresh history or
        from their latest items (:func:`skncf.preprocessing.latest_interactions`; a
        known user's items of ``fit`` stay seen, left out by ``recommend`` and by
        evaluation, with those of ``X``): each
        user's rows are fitted against the frozen item side of the fitted graph, under the
        fit's own objective (the softmax, the log loss with its negatives' weight, or the
        squared error of ratings) and a Gaussian prior fitted to the fitted users' rows,
        which keeps a short history from an extreme row (user guide, "New users:
        fold-in"). Every architecture, loss and feedback. No randomness: the same history
        gives the same rows. A model fit with ``user_features`` also takes new users'
        features: each user's prior mean moves by what its features add to a row, so
        that a user with features and no history (cold start) is scored from them, and
        one with both from both. The estimator itself is not modified (it stays safe to
        serve from other threads); the returned object recommends for the folded users.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2), default=None
            (user id, item id) pairs, as for :meth:`fit`. Items not seen in ``fit`` raise
            a ValueError with ``handle_unknown="error"``; with ``"ignore"`` their rows
            are left out. None: the users of ``user_features``, from features alone.
        y : array-like of shape (n_samples,), default=None
            As for :meth:`fit`: implicit weights or counts (0: no interaction), or the
            ratings (required with ``feedback="explicit"``). Each user's positive weights
            are scaled to mean 1 (``fit`` scales them over all users).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row.
        user_features : DataFrame or (ids, table), default=None
            Features of the users to fold in, as the ``user_features`` parameter takes
            them, with the columns given to ``fit`` (encoded by the fitted
            ``feature_encoders_["user"]``). Every user of ``X`` needs a row; users with
            a row and no interaction are folded in from their features alone. Only for a
            model fit with ``user_features``.

        Returns
        -------
        folded : FoldedUsers
            ``recommend`` and ``predict`` for the users of ``X``.

        Raises
        ------
        ValueError
            If a user has no interaction left to learn from (all weights 0, or only
            unknown items) and no features; the message names the users. If
            ``user_features`` do not match the features of ``fit``, or the model has
            none.

        Examples
        --------
        >>> from skncf import NCFRecommender
        >>> from skncf.datasets import make_interactions
        >>> X, _ = make_interactions(n_users=60, n_items=40, random_state=0)
        >>> rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0).fit(X)
        >>> new = rec.fold_in([["anna", 3], ["anna", 7], ["ben", 3]])
        >>> new.users_
        array(['anna', 'ben'], dtype='<U4')
        >>> new.recommend(["anna", "ben"], k=3).shape
        (2, 3)
        """
        check_is_fitted(self)
        features = None
        if user_features is not None:
            features = self._features_later("user", user_features)
        elif X is None:
            raise ValueError("fold_in needs X (interactions), user_features, or both.")
        return self._fold_in_rows(X, y, sample_weight, features)

    def _fold_in_rows(self, X, y, sample_weight, features):
        """:meth:`fold_in` after its checks; ``features`` as ``_features_later`` returns."""
        users, items = np.empty(0, self.users_.dtype), np.empty(0, self.items_.dtype)
        weights = np.empty(0)
        if X is None:
            y = None
        else:
            X, validated = self._validate_later(X)
            feedback = self._fitted("feedback")
            y, sample_weight = self._check_fit_targets(validated, y, sample_weight, feedback)
            users, items = checked_pair_ids(X, validated, self._id_columns_)
            weights = sample_weight
            if y is not None and feedback == "implicit":
                weights = sample_weight * y
        i, item_known = encode(self.items_, items)
        self._raise_unknown(
            item_known, items, "X (item ids)", fitted=self.items_, ignored="leave their rows out"
        )
        if features is None:
            labels, u = fit_codes(users)
        else:
            check_covered(features[0], users, "user_features", "user")
            labels, u = fit_codes(np.concatenate([users, features[0]]))
            u = u[: len(users)]
        keep = item_known & (weights > 0)
        if features is None:
            _check_histories(labels, u[keep])
        history = self._fold_in_history(u[keep], i[keep], weights[keep], y, keep, len(labels))
        rows = None if features is None else features[1][encode(features[0], labels)[0]]
        vectors = self._fold_in_solver().rows(len(labels), *history, features=rows)
        seen = interaction_matrix(u[keep], i[keep], len(labels), len(self.items_))
        fitted, known = encode(self.users_, labels)
        if known.any():  # a known user's items of fit stay seen
            everything = np.arange(len(self.items_))
            seen = merge_seen(seen, self.seen_[fitted[known]], np.flatnonzero(known), everything)
        return FoldedUsers(self, labels, vectors, seen, history[:3])

    def add_items(self, item_features: Any) -> Self:
        """Add items known by their features alone to the catalog, without training.

        For a new item on its first day, before anyone has interacted with it: each
        item of ``item_features`` joins ``items_`` with the trained items' mean id rows
        and bias plus the projection of its own features, the rows an item of the
        table without interactions gets at ``fit`` (user guide, "Side features and
        cold start"). Nothing else changes: the scores of the other items stay as they
        were, and :meth:`recommend`, :meth:`predict`, ``save`` and the export include
        the new items. Their interactions, once there are some, train them by
        :meth:`partial_fit`. Only for a model fit with ``item_features``.

        Parameters
        ----------
        item_features : DataFrame or (ids, table)
            The new items' features, as the ``item_features`` parameter takes them,
            with the columns given to ``fit`` (encoded by the fitted
            ``feature_encoders_["item"]``).

        Returns
        -------
        self : NCFRecommender
            The estimator, its catalog grown by the new items.

        Raises
        ------
        ValueError
            If the model was fit without item features, an id is already in the
            catalog, or the table does not match the features of ``fit``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skncf import NCFRecommender
        >>> X = np.array([[u, i] for u in range(6) for i in range(4) if (u + i) % 2])
        >>> kinds = pd.DataFrame({"kind": ["odd", "even", "odd", "even"]})
        >>> rec = NCFRecommender(item_features=kinds, latent_dim=4, epochs=2,
        ...                      random_state=0).fit(X)
        >>> rec = rec.add_items(pd.DataFrame({"kind": ["even"]}, index=[4]))
        >>> rec.items_
        array([0, 1, 2, 3, 4])
        >>> rec.predict([[0, 4]]).shape
        (1,)
        """
        check_is_fitted(self)
        ids, rows = self._features_later("item", item_features)
        _, known = encode(self.items_, ids)
        if known.any():
            shown = ", ".join(repr(v) for v in ids[known][:5].tolist())
            raise ValueError(
                f"item_features: {int(known.sum())} id(s) are in the catalog already: "
                f"{shown}; add_items adds new items (partial_fit trains known ones)."
            )
        items_, new, old = extend_codes(self.items_, ids, "item", source="item_features")
        graph = self._build_graph(
            self._trained_architecture(fitted=True), len(self.users_), len(items_),
            itertools.repeat(0), fitted=True,
        )  # fmt: skip
        copy_weights(self.model_, graph, np.arange(len(self.users_)), old)
        table = GraphLayout.of(graph).feature_tables()["item"]
        (features,) = table.get_weights()
        features[new] = rows
        table.set_weights([features])
        seen = self.seen_
        seen = sp.csr_array(
            (seen.data, old[seen.indices], seen.indptr), (len(self.users_), len(items_))
        )
        _average_untrained(graph, seen)
        scalars = (self._rating_offset, self._rating_scale, self._fallback)
        self._set_fitted(
            graph, self.history_, self.users_, items_, self._id_columns_, seen, scalars
        )
        return self

    def _features_later(self, side, value):
        """``(sorted ids, encoded rows)`` of a side's features given after ``fit``."""
        name = f"{side}_features"
        width = getattr(self, "_feature_width", {}).get(side)
        if width is None:
            raise ValueError(f"{name}: the model was fit without {side} features.")
        ids, table = check_features(value, name)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            check_id_column(ids, table, names[self._id_columns_[side == "item"]], name)
        encoder = getattr(self, "feature_encoders_", {}).get(side)
        rows = encoded_later(encoder, table, width, name, self._row_norm())
        order = np.argsort(ids, kind="stable")
        return ids[order], rows[order]

    def _fold_in_history(self, u, i, weights, y, keep, n_users):
        """What :class:`~skncf._training.fold_in.FoldIn` takes: rows by user, weights, extra."""
        n_items = len(self.items_)
        if self._fitted("feedback") == "explicit":
            order = np.argsort(u, kind="stable")
            u, i, weights = u[order], i[order], weights[order]
            ratings = np.empty(0) if y is None else y[keep][order]
            targets = (ratings - self._rating_offset) / (self._rating_scale or 1.0)
            weights = weights / _mean_by(weights, u, n_users)[u] / (2 * self._rating_noise)
            return u, i, weights.astype(np.float32), targets.astype(np.float32)
        u, i, weights = merge_positives(u, i, weights, n_items)  # sorted by user
        weights = (weights / _mean_by(weights, u, n_users)[u]).astype(np.float32)
        if self._fitted("loss") == "softmax":
            return u, i, weights, np.zeros(len(u), np.float32)
        negative = negative_weights(
            self.n_negatives_, self._fitted("negative_weight"),
            np.bincount(u, minlength=n_users), float(n_items),
        )  # fmt: skip
        return u, i, weights, negative.numpy()

    def _fold_in_objective(self):
        """Fold-in's objective: ``"squared"`` for ratings, else the fit's loss."""
        return "squared" if self._fitted("feedback") == "explicit" else self._fitted("loss")

    def _fold_in_solver(self):
        """The fitted graph's :class:`~skncf._training.fold_in.FoldIn`, built once."""
        solver = self._fold_in
        if solver is None:
            trained = np.flatnonzero(np.diff(self.seen_.indptr))
            prior = user_prior(self._scorer, trained, np.random.default_rng(0))
            solver = self._fold_in = FoldIn(
                self._scorer.logits_of, prior, self._fold_in_objective(), len(self.items_),
                self._scorer.tower_width, interacted_items(self.seen_),
            )  # fmt: skip
        return solver


def _average_untrained(graph, seen):
    """Ids without a seen pair (known by their features alone) get the trained ids' mean rows.

    See :func:`~skncf._graph.graphs.set_untrained_rows`.
    """
    counts = {
        "user": np.diff(seen.indptr),
        "item": np.bincount(seen.indices, minlength=seen.shape[1]),
    }
    for side, count in counts.items():
        set_untrained_rows(graph, side, np.flatnonzero(count == 0), np.flatnonzero(count))


def _check_histories(labels, users_with_rows):
    """Raise unless every user (0..len(labels)-1) has a row left to learn from."""
    has_rows = np.bincount(users_with_rows, minlength=len(labels)) > 0
    if not has_rows.all():
        empty = labels[~has_rows]
        shown = ", ".join(repr(v) for v in empty[:5].tolist())
        raise ValueError(
            f"X leaves {len(empty)} user(s) with no interaction to learn from: {shown}"
            f"{', ...' if len(empty) > 5 else ''} (every weight 0, or only unknown items); "
            "fold_in needs at least one per user."
        )


def _mean_by(values, groups, n_groups):
    """Mean of ``values`` in each of ``n_groups`` groups (0 for an empty group)."""
    counts = np.bincount(groups, minlength=n_groups)
    return np.bincount(groups, weights=values, minlength=n_groups) / np.maximum(counts, 1)
