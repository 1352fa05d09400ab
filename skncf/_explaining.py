"""NCFRecommender's ``explain``: which of a user's interactions lift an item's score.

A mixin of :class:`~skncf._estimator.NCFRecommender`; :meth:`FoldedUsers.explain`
serves folded-in users through it. The arithmetic is fold-in's
(:meth:`skncf._training.fold_in.FoldIn.influences`): each interaction's first-order
share of the item's logit, had the user's rows been solved without it.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._data.ids import check_query_ids, encode
from ._fitted_state import FittedState
from ._training.fold_in import is_convex


class ExplainMethods(FittedState):
    """``explain`` of a fitted estimator."""

    def explain(
        self, user: object, item: object, *, n: int | None = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``user``'s interactions lift ``item``'s score most ("because you liked").

        Each item of the user's history gets its contribution to the logit of ``item``:
        how much that logit would fall, to first order, if the interaction were
        removed and the user's rows fitted again without it, the other interactions'
        weights (and the log loss's weight of negatives) kept: fold-in's objective,
        the fit's loss and the prior of :meth:`fold_in` (influence functions, Koh and
        Liang 2017). Positive contributions pull ``item`` up, negative ones push it
        down; they are not a decomposition of the score (a softmax couples all of a
        user's items), but each is what the history item is worth to this item. Taken
        at the user's fitted rows, where training left them (:meth:`FoldedUsers.explain`:
        at the folded-in optimum, where the contributions match what folding in again
        without each item changes, to within a tenth of the largest in the tests); a
        fitted user's interactions weigh alike, as ``fit``'s weights are not kept.

        Only for implicit feedback without a tower (``"gmf"``, ``"seed"``), whose
        users' problems are convex. Each call solves one ``(width, width)`` system
        against the user's history and scores the catalog once: on ml1m-half a few
        milliseconds for a history of tens of items, 0.08 s for its longest (1,849),
        once the first calls have traced the computation (a few tenths of a second).

        Parameters
        ----------
        user : label
            A user of ``users_`` (one known by its features alone has no history to
            explain: empty arrays).
        item : label
            An item of ``items_``, seen by the user or not.
        n : int or None, default=10
            History items to return, largest contribution first; None: all of them.

        Returns
        -------
        items : ndarray of shape (min(n, n_history),)
            Items of the user's history, largest contribution first.
        contributions : ndarray of float64 of the same shape
            Their contributions, in logits.

        Raises
        ------
        ValueError
            If the model is not implicit GMF or seed, or ``user`` or ``item`` is unknown
            (whatever ``handle_unknown`` says: there is nothing to explain).

        Examples
        --------
        >>> from skncf import NCFRecommender
        >>> from skncf.datasets import make_interactions
        >>> X, _ = make_interactions(n_users=60, n_items=40, random_state=0)
        >>> rec = NCFRecommender(latent_dim=8, epochs=5, random_state=0).fit(X)
        >>> top = rec.recommend([0], k=1)[0, 0]
        >>> because, lifts = rec.explain(0, top, n=3)
        >>> because.shape, bool(lifts[0] >= lifts[-1])
        ((3,), True)
        """
        check_is_fitted(self)
        code = self._explained_code(user, self.users_, "user")
        rows = self._scorer.user_rows(np.array([code]))
        history = self.seen_.indices[self.seen_.indptr[code] : self.seen_.indptr[code + 1]]
        return self._explained(rows, history, np.ones(len(history)), item, n)

    def _explained(self, rows, history, weights, item, n):
        """:meth:`explain` of one user given by its ``rows`` (as ``Scorer.user_rows``),
        history (item codes) and the history's ``weights``."""
        if not is_convex(self._fold_in_objective(), self._scorer.logits_of):
            raise ValueError(
                "explain needs a model whose users' problems are convex: implicit "
                f"feedback and architecture 'gmf' or 'seed'; this one is "
                f"{self._fitted('feedback')} {self._fitted('architecture')!r}."
            )
        if n is not None and (isinstance(n, bool) or not isinstance(n, Integral) or n < 1):
            raise ValueError(f"n must be a positive int or None; got {n!r}.")
        target = self._explained_code(item, self.items_, "item")
        if len(history) == 0:  # a user known by its features alone
            return self.items_[:0], np.empty(0)
        solver = self._fold_in_solver()
        users = np.zeros(len(history), np.int64)
        pairs = self._fold_in_history(users, history, weights, None, None, 1)
        batch = (pairs[0].astype(np.int32), pairs[1].astype(np.int32), *pairs[2:])
        theta = solver.prior.join(rows)
        lifts = solver.influences(theta, batch, np.array([target]))[0]
        order = np.argsort(-lifts, kind="stable")[:n]
        return self.items_[batch[1][order]], lifts[order]

    def _explained_code(self, label, labels, kind):
        """The code of one ``kind`` label to explain, or raise if it is unknown."""
        query = check_query_ids(label, kind)
        if len(query) != 1:
            raise ValueError(f"{kind} must be one id; got {len(query)}.")
        codes, known = encode(labels, query)
        if not known[0]:
            raise ValueError(
                f"{kind} {query.tolist()[0]!r} is unknown to the model: nothing to explain."
            )
        return int(codes[0])
