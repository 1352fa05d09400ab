"""``encode_pairs`` and its :class:`PairCodes`, where evaluation code starts: one method
for the estimator and for the users its ``fold_in`` returns, each of which says how it
encodes (``_pair_codes_and_ids``)."""

from __future__ import annotations  # help() shows ArrayLike, not numpy's full union

from typing import Literal, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike

from ._recommending import _check_flags


class PairCodes(NamedTuple):
    """Codes of (user, item) pairs, from :meth:`NCFRecommender.encode_pairs`."""

    users: np.ndarray
    items: np.ndarray
    user_known: np.ndarray
    item_known: np.ndarray


class PairEncoding:
    """:meth:`encode_pairs` over the class's ``_pair_codes_and_ids(X)``."""

    def _pair_codes_and_ids(self, X) -> tuple[PairCodes, np.ndarray, np.ndarray]:
        raise NotImplementedError

    @overload
    def encode_pairs(self, X: ArrayLike, *, return_ids: Literal[False] = ...) -> PairCodes: ...

    @overload
    def encode_pairs(
        self, X: ArrayLike, *, return_ids: Literal[True]
    ) -> tuple[PairCodes, np.ndarray, np.ndarray]: ...

    def encode_pairs(
        self, X: ArrayLike, *, return_ids: bool = False
    ) -> PairCodes | tuple[PairCodes, np.ndarray, np.ndarray]:
        """Codes of (user, item) pairs: their positions in ``users_`` and ``items_``.

        The interface of evaluation code (:mod:`skncf.metrics`) to a fitted estimator
        (and to the users its ``fold_in`` returns, whose ``users_`` they are), with
        :meth:`pair_logits`, :meth:`catalog_logits` and ``seen_``. ``X`` is read as
        ``predict`` reads it (``columns``); ids not seen in ``fit`` are not an error here.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            (user id, item id) pairs.
        return_ids : bool, default=False
            Also return the pairs' user and item ids as read from ``X``, which tell
            unknown ids apart (they share code 0).

        Returns
        -------
        codes : PairCodes
            Named tuple ``(users, items, user_known, item_known)`` of arrays of shape
            (n_samples,): user and item codes, and whether each id was seen in ``fit``
            (an unknown id gets code 0 and False).
        user_ids, item_ids : ndarray of shape (n_samples,)
            Only if ``return_ids``.

        Examples
        --------
        >>> from skncf import NCFRecommender
        >>> rec = NCFRecommender(epochs=1, random_state=0).fit([["a", 1], ["b", 2]])
        >>> rec.encode_pairs([["b", 1], ["c", 2]])
        PairCodes(users=array([1, 0]), items=array([0, 1]), user_known=array([ True, False]), item_known=array([ True,  True]))
        """  # noqa: E501
        _check_flags(return_ids=return_ids)
        codes, users, items = self._pair_codes_and_ids(X)
        return (codes, users, items) if return_ids else codes
