"""FoldedUsers: what :meth:`NCFRecommender.fold_in` returns, users served beside a model."""

from __future__ import annotations  # help() shows ArrayLike, not numpy's full union

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._pair_codes import PairEncoding

# how an unknown user is described: folded-in users are all a FoldedUsers knows
FOLDED = "among the folded-in users"


class FoldedUsers(PairEncoding):
    """Users folded into a fitted :class:`~skncf.NCFRecommender`, without refitting it.

    Made by :meth:`NCFRecommender.fold_in`; it holds the users' fitted embedding rows
    and serves them with the estimator's graph, which it leaves unchanged. If the
    estimator is fit again, these rows belong to the old graph: every method then
    raises, and the users must be folded in again.

    Parameters
    ----------
    estimator : NCFRecommender
        The fitted estimator whose graph serves the users.
    users : ndarray of shape (n_users,)
        The folded users' labels, sorted.
    vectors : dict of str to ndarray
        Their fitted embedding rows, by part of the graph.
    seen : scipy.sparse.csr_array of shape (n_users, n_items)
        Their interactions by code.
    history : tuple of ndarray
        ``(users, items, weights)`` of the pairs they were folded in from, by code, as
        fold-in weighed them: what :meth:`explain` reads.

    Attributes
    ----------
    users_ : ndarray of shape (n_users,)
        The folded users' labels, sorted.
    items_ : ndarray of shape (n_items,)
        The estimator's items.
    seen_ : scipy.sparse.csr_array of shape (n_users, n_items)
        Their interactions by code (rows follow ``users_``, columns the estimator's
        ``items_``): what ``exclude_seen`` leaves out.

    Notes
    -----
    It offers the estimator's evaluation interface too (``encode_pairs``,
    ``pair_logits``, ``catalog_logits``), so that :func:`skncf.metrics.evaluate` scores
    the folded users' held-out items: the protocol of held-out users (Liang et al.
    2018), whose histories are split into a part to fold in and a part to rank.

    Examples
    --------
    >>> from skncf import NCFRecommender
    >>> from skncf.datasets import make_interactions
    >>> X, _ = make_interactions(n_users=60, n_items=40, random_state=0)
    >>> rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0).fit(X)
    >>> new = rec.fold_in([["zoe", 3], ["zoe", 7], ["zoe", 11]])
    >>> top = new.recommend(["zoe"], k=5, deny=[12, 13])
    >>> top.shape, bool({3, 7, 11, 12, 13} & set(top[0].tolist()))
    ((1, 5), False)
    >>> new.predict([["zoe", 3], ["zoe", 4]]).shape
    (2,)
    """

    def __init__(self, estimator, users, vectors, seen, history):
        self.users_, self.seen_ = users, seen
        self._estimator, self._vectors, self._history = estimator, vectors, history
        self._scorer = estimator._scorer  # the graph the rows were fitted against

    def __repr__(self):
        return f"FoldedUsers(n_users={len(self.users_)})"

    @property
    def items_(self):
        return self._check_current().items_

    def _pair_codes_and_ids(self, X):
        """:meth:`encode_pairs`' codes of ``X`` (folded users, items), and its ids as read."""
        return self._check_current()._encode_pairs(X, self.users_)

    def pair_logits(self, users: ArrayLike, items: ArrayLike) -> np.ndarray:
        """Ranking scores of the code pairs ``(users[n], items[n])``.

        Parameters
        ----------
        users, items : array-like of int of shape (n_pairs,)
            Codes, as :meth:`encode_pairs` gives them.

        Returns
        -------
        logits : ndarray of shape (n_pairs,), float32
            One ranking score per pair, as :meth:`NCFRecommender.pair_logits`.
        """
        return self._check_current()._pair_logits(users, items, len(self.users_), self._vectors)

    def catalog_logits(self, users: ArrayLike) -> Iterator[tuple[int, np.ndarray]]:
        """Ranking scores of folded users against every item, in blocks of users.

        Parameters
        ----------
        users : array-like of int of shape (n_users,)
            Codes (positions in ``users_``).

        Returns
        -------
        blocks : iterator of (start, logits)
            As :meth:`NCFRecommender.catalog_logits`: ``logits`` has one column per item
            of ``items_``; seen items are not masked (``seen_`` says which they are).
        """
        estimator = self._check_current()
        return estimator._catalog_logits(users, len(self.users_), self._vectors)

    def _check_current(self):
        if getattr(self._estimator, "_scorer", None) is not self._scorer:
            raise ValueError(
                "the estimator changed after fold_in (fit, partial_fit or add_items): "
                "these users' rows belong to the old model; call fold_in again."
            )
        return self._estimator

    def recommend(
        self,
        users: ArrayLike,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        return_scores: bool = False,
        approximate: bool | dict[str, int] = False,
        allow: ArrayLike | Sequence[ArrayLike] | Mapping[Any, ArrayLike] | None = None,
        deny: ArrayLike | Sequence[ArrayLike] | Mapping[Any, ArrayLike] | None = None,
        fill_value: int | float | str | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Recommend the ``k`` best items for each folded user, best first.

        As :meth:`NCFRecommender.recommend`.

        Parameters
        ----------
        users : array-like of shape (n_queries,) or a single user id
            Labels in ``users_``. Unknown users follow the estimator's
            ``handle_unknown``.
        k : int, default=10
            Items per user.
        exclude_seen : bool, default=True
            Leave out the items of the history they were folded in from.
        return_scores : bool, default=False
            Also return the scores (as ``predict`` gives them).
        approximate : bool or dict, default=False
            Search the estimator's approximate item index (faiss) instead of scoring
            every item, as :meth:`NCFRecommender.recommend` does; the same index serves
            both, built by the first such call of either.
        allow, deny : array-like of item ids, a sequence of them, or a dict, default=None
            Candidate filters, as for :meth:`NCFRecommender.recommend`.
        fill_value : int, float or str, default=None
            Completes the list of a user with fewer than ``k`` candidates, as for
            :meth:`NCFRecommender.recommend`. None: raise.

        Returns
        -------
        items : ndarray of shape (n_queries, k)
            Item labels, best first.
        scores : ndarray of shape (n_queries, k)
            Only if ``return_scores``.
        """
        estimator = self._check_current()
        labels, codes, known = estimator._encode_query(users, self.users_, "users", FOLDED)
        return estimator._recommend(
            labels, codes, known, self.seen_, k, exclude_seen, return_scores, allow, deny,
            approximate=approximate, vectors=self._vectors, fill_value=fill_value,
        )  # fmt: skip

    def similar_users(
        self,
        users: ArrayLike,
        k: int = 10,
        *,
        return_scores: bool = False,
        allow: ArrayLike | Sequence[ArrayLike] | Mapping[Any, ArrayLike] | None = None,
        deny: ArrayLike | Sequence[ArrayLike] | Mapping[Any, ArrayLike] | None = None,
        fill_value: int | float | str | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The ``k`` fitted users most similar to each folded user ("people like you").

        As :meth:`NCFRecommender.similar_users`: the cosine of the user vectors, here
        the folded rows (history, features or both) against the fitted users' rows. A
        fitted user with the folded user's label is not its neighbour.

        Parameters
        ----------
        users : array-like of shape (n_queries,) or a single user id
            Labels in ``users_``. Unknown users follow the estimator's
            ``handle_unknown`` (with ``"ignore"``: the users with the most interactions).
        k : int, default=10
            Neighbours per user; at most the number of fitted users minus one, and at
            most what ``allow`` and ``deny`` leave.
        return_scores : bool, default=False
            Also return the cosine similarities.
        allow, deny : array-like of fitted user ids, a sequence of them, or a dict, default=None
            Filters on the neighbours, as for :meth:`NCFRecommender.similar_users`.
        fill_value : int, float or str, default=None
            Completes the list of a user for whom the filters leave fewer than ``k``
            neighbours, as for :meth:`NCFRecommender.similar_users`. None: raise.

        Returns
        -------
        neighbours : ndarray of shape (n_queries, k)
            Labels of fitted users, most similar first.
        similarities : ndarray of shape (n_queries, k)
            Only if ``return_scores``.
        """
        estimator = self._check_current()
        labels, codes, known = estimator._encode_query(users, self.users_, "users", FOLDED)
        queries = self._scorer.unit_user_rows(self._vectors)
        filters = (allow, deny, fill_value)
        return estimator._similar_users(labels, codes, known, k, return_scores, filters, queries)

    def explain(
        self, user: object, item: object, *, n: int | None = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which of a folded user's interactions lift ``item``'s score most.

        As :meth:`NCFRecommender.explain`, at the rows fold-in solved for the user,
        from the history and weights it was folded in from: there each contribution is
        the change of the item's logit that folding in again without the interaction
        gives, to first order.

        Parameters
        ----------
        user : label
            A user of ``users_`` (one folded in from features alone has no history
            to explain: empty arrays).
        item : label
            An item of the estimator's ``items_``.
        n : int or None, default=10
            History items to return, largest contribution first; None: all of them.

        Returns
        -------
        items : ndarray of shape (min(n, n_history),)
            Items of the user's history, largest contribution first.
        contributions : ndarray of float64 of the same shape
            Their contributions, in logits.
        """
        estimator = self._check_current()
        code = estimator._explained_code(user, self.users_, "user")
        rows = {name: part[code : code + 1] for name, part in self._vectors.items()}
        users, items, weights = self._history
        mine = users == code
        return estimator._explained(rows, items[mine], weights[mine], item, n)

    def retrieval_vectors(self, users: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """User and item vectors whose inner products order items as :meth:`recommend` does.

        As :meth:`NCFRecommender.retrieval_vectors`, for the folded users: query a vector
        database of the item vectors with these users' vectors. GMF and seed only.

        Parameters
        ----------
        users : array-like of shape (n_queries,), a single user id, or None
            Labels in ``users_``; None: all of them, in that order.

        Returns
        -------
        user_vectors : ndarray of shape (n_queries, n_dims), float32
            The folded users' vectors, in the order of ``users``; the last column is 1.
        item_vectors : ndarray of shape (n_items, n_dims), float32
            One row per item of the estimator's ``items_``.
        """
        estimator = self._check_current()
        return estimator._retrieval_vectors(users, self.users_, self._vectors, FOLDED)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Scores (or ratings) of (folded user, item) pairs, as :meth:`NCFRecommender.predict`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2)
            (folded user, item) pairs, in the columns of the estimator's ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The pairs' scores (implicit) or predicted ratings (explicit).
        """
        estimator = self._check_current()
        (u, i, user_known, item_known), users, items = estimator._encode_pairs(X, self.users_)
        estimator._raise_unknown(user_known, users, "X (user ids)", FOLDED, self.users_)
        estimator._raise_unknown(item_known, items, "X (item ids)", fitted=estimator.items_)
        return estimator._predict_codes(u, i, user_known & item_known, self._vectors)

    def score(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> float:
        """Mean NDCG@10 (implicit) or R^2 (explicit) of the folded users' held-out pairs.

        As :meth:`NCFRecommender.score`: each pair's item is ranked among every item its
        user was not folded in with, less the user's other items in ``X``. A pair whose
        user was not folded in, or whose item the estimator does not know, counts as a
        miss (implicit) or gets the fallback prediction (explicit).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2)
            Held-out (folded user, item) pairs, in the columns of the estimator's ``fit``.
        y : array-like of shape (n_samples,), default=None
            Ratings (explicit, required) or interaction weights (implicit, optional:
            pairs with ``y == 0`` are left out).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each pair in the mean.

        Returns
        -------
        score : float
            Mean NDCG@10 in [0, 1] (implicit) or R^2 (explicit).
        """
        estimator = self._check_current()
        return estimator._score(X, y, sample_weight, self.users_, self.seen_, self._vectors)
