"""NCFRecommender's ranking methods: ``recommend``, ``similar_items``, ``similar_users``.

A mixin of :class:`~skncf._estimator.NCFRecommender`, in a module of its own so that the
estimator's module holds parameters, fitting and scoring, and this one what turns a fitted
model's scores into lists: candidate filters, exact or approximate top-k, neighbours by
cosine, and the fallbacks for unknown ids.
"""

from __future__ import annotations  # help() shows ArrayLike, not numpy's full union

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

from ._data.ids import check_id_lists, check_known, check_query_ids, encode, lists_by_query
from ._data.interactions import interaction_matrix
from ._fitted_state import FittedState
from ._serving.approximate import N_PROBE, ItemIndex, check_options
from ._serving.candidates import Candidates
from ._serving.scoring import CHUNK_FLOATS


class RankingMethods(FittedState):
    """``recommend``, ``similar_items`` and ``similar_users`` of a fitted estimator."""

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
        """Recommend the ``k`` best items for each user, best first.

        Parameters
        ----------
        users : array-like of shape (n_users,) or a single user id
            User ids.
        k : int, default=10
            Items per user, at most the number of items. A user may get fewer: all
            items, less its seen ones (``exclude_seen``), within ``allow`` and outside
            ``deny``; see ``fill_value``.
        exclude_seen : bool, default=True
            Leave out the items each user interacted with in training.
        return_scores : bool, default=False
            Also return the scores (probabilities or ratings, as :meth:`predict` would
            give for the same pairs).
        approximate : bool or dict, default=False
            For catalogs of millions of items: find the top ``k`` with an approximate
            nearest-neighbour index (faiss' inverted file, inner product; ``pip install
            'skncf[ann]'``) instead of scoring every item. Only for ``architecture="gmf"`` or
            ``"seed"``, whose scores are dot products. The index is built on the first
            such call and kept until the next fit. A dict sets ``n_lists`` (k-means
            lists; default ``sqrt(n_items)``) and ``n_probe`` (lists scored per user;
            default 64): more probes, more recall, less speed. Returned scores are
            exact; a good item can be missed (on a 1,000,000-item catalog: recall@10
            against the exact top 10 and speed-up in ``benchmarks/approximate.py``). A
            user for whom the probed lists hold fewer than ``k`` unseen items is
            ranked exactly (so are all users when the filters leave fewer than half
            the catalog).
        allow : array-like of item ids, a sequence of them, or a dict, default=None
            Only these items may be recommended: one list for every user (items in
            stock), one list per user in ``users`` (a sequence of as many array-likes,
            possibly empty), or a dict from user id to its list, holding every user of
            ``users`` (also a pandas Series of lists, read by its index, e.g.
            ``log.groupby("user")["item"].apply(list)``). None: every item.
        deny : array-like of item ids, a sequence of them, or a dict, default=None
            These items are never recommended: one list for every user, one per user,
            or a dict (Series) from user id to its list, a user it lacks denied nothing.
            Item ids unknown to the model in ``allow`` or ``deny`` raise a ValueError
            with ``handle_unknown="error"`` and are dropped with ``"ignore"``. Users
            unknown to the model (``handle_unknown="ignore"``) get the most popular
            items the filters admit.
        fill_value : int, float or str, default=None
            Completes the list of a user who may get fewer than ``k`` items (one who has
            seen most of a small catalog): its last slots hold ``fill_value``, with NaN
            scores. It must be of the item ids' type and no item's id, e.g. ``-1`` or
            ``""``. None: such a user raises a ValueError that names it.

        Returns
        -------
        items : ndarray of shape (n_users, k)
            Item labels, best first, without duplicates (but for ``fill_value``).
        scores : ndarray of shape (n_users, k)
            Only if ``return_scores``.

        Examples
        --------
        >>> import numpy as np
        >>> from skncf import NCFRecommender
        >>> from skncf.datasets import make_interactions
        >>> X, _ = make_interactions(n_users=100, n_items=2000, random_state=0)
        >>> rec = NCFRecommender(architecture="gmf", epochs=2, random_state=0).fit(X)
        >>> rec.recommend([0, 1], k=5, approximate={"n_probe": 8}).shape
        (2, 5)

        Candidate filters, for all users or per user:

        >>> in_stock = rec.items_[:100]
        >>> top = rec.recommend([0, 1], k=3, allow=in_stock, deny=[in_stock[:5], []])
        >>> bool(np.isin(top, in_stock).all() and not np.isin(top[0], in_stock[:5]).any())
        True

        Lists of users with fewer candidates than ``k``, completed:

        >>> rec.recommend([0, 1], k=3, allow=[in_stock[:2], in_stock], fill_value=-1)[0].tolist()[2]
        -1
        """
        check_is_fitted(self)
        labels, codes, known = self._encode_query(users, self.users_, "users")
        return self._recommend(
            labels, codes, known, self.seen_, k, exclude_seen, return_scores, allow, deny,
            approximate=approximate, fill_value=fill_value,
        )  # fmt: skip

    def _recommend(
        self, labels, codes, known, seen, k, exclude_seen, return_scores, allow, deny, *,
        approximate=False, vectors=None, fill_value=None,
    ):  # fmt: skip
        """:meth:`recommend` of users by code: rows of ``seen``, of ``vectors`` if given."""
        k = _check_k(k, len(self.items_), "items")
        _check_flags(exclude_seen=exclude_seen, return_scores=return_scores)
        check_fill(fill_value, self.items_, "item")
        seen = _rows_of(seen, codes, known) if exclude_seen else None
        candidates = self._candidates(labels, allow, deny, seen)
        because = _left_because(exclude_seen, allow, deny)
        padded = fill_value is not None
        left = candidates.check_k(k, np.arange(len(labels)), labels, "user", because, padded=padded)
        top = np.empty((len(labels), k), dtype=np.int64)
        logits = np.empty((len(labels), k), dtype=np.float32)
        rows = np.flatnonzero(known)
        if approximate is not False:
            rows = self._approximate_top(
                approximate, codes, rows, k, candidates, (top, logits), vectors
            )
        blocks = self._scorer.rows(codes[rows], vectors)
        top[rows], logits[rows] = candidates.top(blocks, rows, k)
        unknown = np.flatnonzero(~known)
        top[unknown] = candidates.top(_tiled(self._popularity, len(unknown)), unknown, k)[0]
        scores = np.full(top.shape, self._fallback)
        scores[known] = self._output(logits[known])
        items, scores = _filled(self.items_[top], scores, left, fill_value)
        return (items, scores) if return_scores else items

    def _candidates(self, queries, allow, deny, seen, kind="item", queried="user"):
        """The :class:`Candidates` of a query of ids ``queries``: its filters by code.

        ``kind`` says what the filters hold: ``"item"`` ids, or ``"user"`` ids (the
        neighbours of :meth:`similar_users`); ``queried``, what ``queries`` are. Filters
        keyed by query id (a dict) become one list per query (:func:`lists_by_query`).
        """
        labels = self.items_ if kind == "item" else self.users_
        n_rows = len(queries)
        lists: dict[str, np.ndarray | sp.csr_array | None] = {}
        for name, value in (("allow", allow), ("deny", deny)):
            if value is None:
                lists[name] = None
                continue
            value = lists_by_query(value, queries, name, queried)
            ids, rows = check_id_lists(value, name, n_rows)
            codes, known = encode(labels, ids)
            self._raise_unknown(
                known,
                ids,
                f"{name} ({kind} ids)",
                fitted=labels,
                ignored=f"leave them out of {name}",
            )
            codes = codes[known]
            lists[name] = (
                codes
                if rows is None
                else interaction_matrix(rows[known], codes, n_rows, len(labels))
            )
        return Candidates(len(labels), seen=seen, **lists)

    def _approximate_top(self, approximate, codes, rows, k, candidates, out, vectors):
        """Fill ``out``, (top, logits), at ``rows`` from the item index; return rows left.

        The rows left (too few candidates found) are for the exact ranking. ``vectors``
        as for :meth:`_recommend`.
        """
        top, logits = out
        options = check_options(approximate)
        n_lists = options.get("n_lists")
        index = self._item_index
        if index is None or (n_lists is not None and n_lists != index.n_lists):
            index = self._item_index = ItemIndex(self._scorer, n_lists)
        n_probe = options.get("n_probe", N_PROBE)
        # found per user: k, plus as many as the items a user may not return; where that
        # is most of the catalog (a narrow allow-list), exact ranking is as cheap
        n_items = len(self.items_)
        excluded = n_items - candidates.left(rows)
        width = min(n_items, k + int(np.max(excluded, initial=0)))
        if width > n_items // 2:
            return rows
        left = []
        step = max(1, CHUNK_FLOATS // (4 * width))  # a few (users, width) arrays at once
        for start in range(0, len(rows), step):
            block = rows[start : start + step]
            users = codes[block]
            found = index.search(users, width, n_probe, vectors)
            keep = found >= 0
            allowed = candidates.contains(np.repeat(block, width), np.maximum(found, 0).ravel())
            keep &= allowed.reshape(found.shape)
            enough = keep.sum(axis=1) >= k
            left.append(block[~enough])
            first = np.argsort(~keep[enough], axis=1, kind="stable")[:, :k]
            chosen = np.take_along_axis(found[enough], first, axis=1)
            scores = self._scorer.pairs(np.repeat(users[enough], k), chosen.ravel(), vectors)
            scores = scores.reshape(chosen.shape)
            order = np.argsort(-scores, axis=1, kind="stable")
            top[block[enough]] = np.take_along_axis(chosen, order, axis=1)
            logits[block[enough]] = np.take_along_axis(scores, order, axis=1)
        return np.concatenate(left) if left else rows

    def retrieval_vectors(self, users: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """User and item vectors whose inner products order items as :meth:`recommend` does.

        For serving from a vector database or a nearest-neighbour index of one's own
        (pgvector, Milvus, Vespa, ScaNN, faiss): store the item vectors, query with a
        user's vector, and the inner products rank the catalog as the model does. Only
        for ``architecture="gmf"`` or ``"seed"``, whose logit is a dot product: the
        product's weights go into the user's vector and each item's bias into a last
        column (against a 1 in the user's); a user's own and the global bias, the same
        for all its items, are left out, so an inner product is the logit up to a
        per-user constant. Seen items are not excluded (:attr:`seen_` holds them).

        Parameters
        ----------
        users : array-like of shape (n_queries,), a single user id, or None
            Users seen in fit (users who arrived after fit: :meth:`fold_in` and its
            ``retrieval_vectors``). None: all of ``users_``, in that order.

        Returns
        -------
        user_vectors : ndarray of shape (n_queries, n_dims), float32
            The users' vectors, in the order of ``users``; the last column is 1.
        item_vectors : ndarray of shape (n_items, n_dims), float32
            One row per item of ``items_``, in that order.

        Raises
        ------
        ValueError
            For an MLP tower (``"neumf"``, ``"mlp"``), and for users not seen in fit.

        Examples
        --------
        >>> import numpy as np
        >>> from skncf import NCFRecommender
        >>> from skncf.datasets import make_interactions
        >>> X, _ = make_interactions(n_users=100, n_items=50, random_state=0)
        >>> rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0).fit(X)
        >>> users, items = rec.retrieval_vectors([0, 1])
        >>> users.shape, items.shape  # 8 dimensions and the item bias
        ((2, 9), (50, 9))
        >>> scores = users @ items.T
        >>> scores[rec.seen_[[0, 1]].toarray() > 0] = -np.inf  # recommend leaves them out
        >>> top = rec.items_[np.argsort(-scores, axis=1, kind="stable")[:, :5]]
        >>> bool((top == rec.recommend([0, 1], k=5)).all())
        True
        """
        check_is_fitted(self)
        return self._retrieval_vectors(users, self.users_)

    def _retrieval_vectors(self, users, known_labels, vectors=None, among="seen in fit"):
        """:meth:`retrieval_vectors` of ``users`` among ``known_labels`` (None: all of
        them): rows of the graph's users, or of ``vectors`` if given."""
        user_queries, items = self._scorer.dot_product()
        codes = np.arange(len(known_labels))
        if users is not None:
            labels = check_query_ids(users, "users")
            codes, known = encode(known_labels, labels)
            hint = "" if vectors is not None else "Fold new users in first (fold_in)."
            check_known(known, labels, "users", hint=hint, among=among)
        return user_queries(codes, vectors), items

    def similar_items(
        self,
        items: ArrayLike,
        k: int = 10,
        *,
        return_scores: bool = False,
        allow: ArrayLike | Sequence[ArrayLike] | Mapping[Any, ArrayLike] | None = None,
        deny: ArrayLike | Sequence[ArrayLike] | Mapping[Any, ArrayLike] | None = None,
        fill_value: int | float | str | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` items most similar to each item, by learned embedding.

        Similarity is the cosine of the item embeddings (for ``"neumf"``, of the GMF
        and MLP embeddings, each normalised, side by side). An item is never its own
        neighbour.

        Parameters
        ----------
        items : array-like of shape (n_queries,) or a single item id
            Item ids.
        k : int, default=10
            Neighbours per item; at most the number of items minus one, and at most
            what ``allow`` and ``deny`` leave.
        return_scores : bool, default=False
            Also return the cosine similarities.
        allow, deny : array-like of item ids, a sequence of them, or a dict, default=None
            Candidate filters, as for :meth:`recommend`: for every queried item, one
            list per queried item, or a dict from queried item id to its list. Unknown
            queried items (``handle_unknown="ignore"``) get the most popular items the
            filters admit.
        fill_value : int, float or str, default=None
            Completes the list of an item for which the filters leave fewer than ``k``
            neighbours, as for :meth:`recommend` (NaN similarities). None: raise.

        Returns
        -------
        neighbours : ndarray of shape (n_queries, k)
            Item labels, most similar first.
        similarities : ndarray of shape (n_queries, k)
            Only if ``return_scores``.
        """
        check_is_fitted(self)
        labels, codes, known = self._encode_query(items, self.items_, "items")
        n_items = len(self.items_)
        k = _check_k(k, n_items - 1, "other items")
        _check_flags(return_scores=return_scores)
        rows = np.flatnonzero(known)
        itself = interaction_matrix(rows, codes[rows], len(labels), n_items)
        found = self._neighbours("item", labels, codes, known, k, itself, (allow, deny, fill_value))
        return found if return_scores else found[0]

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
        """Return the ``k`` users most similar to each user, by learned embedding.

        Similarity is the cosine of the user vectors, as :meth:`similar_items` measures
        items' (with ``user_features``, a vector includes the projected features, so
        that users known only by their features have neighbours too). A user is never
        its own neighbour. Users folded in after ``fit`` are not among the neighbours
        (:meth:`partial_fit` adds users to the model); their own neighbours among the
        fitted users come from :meth:`FoldedUsers.similar_users`.

        Parameters
        ----------
        users : array-like of shape (n_queries,) or a single user id
            User ids.
        k : int, default=10
            Neighbours per user; at most the number of users minus one, and at most
            what ``allow`` and ``deny`` leave.
        return_scores : bool, default=False
            Also return the cosine similarities.
        allow, deny : array-like of user ids, a sequence of them, or a dict, default=None
            Filters on the neighbours, as :meth:`recommend`'s on items: only the users
            in ``allow`` (say, those who opted in to be shown), never those in ``deny``;
            one list for every queried user, one list per queried user, or a dict from
            queried user id to its list.
        fill_value : int, float or str, default=None
            Completes the list of a user for whom the filters leave fewer than ``k``
            neighbours, as :meth:`recommend` does (NaN similarities); of the user ids'
            type and no user's id. None: raise.

        Returns
        -------
        neighbours : ndarray of shape (n_queries, k)
            User labels, most similar first. Unknown queried users
            (``handle_unknown="ignore"``) get the users with the most interactions that
            the filters admit.
        similarities : ndarray of shape (n_queries, k)
            Only if ``return_scores``.

        Examples
        --------
        >>> from skncf import NCFRecommender
        >>> from skncf.datasets import make_interactions
        >>> X, _ = make_interactions(n_users=100, n_items=50, random_state=0)
        >>> rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0).fit(X)
        >>> rec.similar_users([0, 1], k=3).shape
        (2, 3)
        >>> rec.similar_users(0, k=3, deny=[1, 2, 3]).shape
        (1, 3)
        """
        check_is_fitted(self)
        labels, codes, known = self._encode_query(users, self.users_, "users")
        filters = (allow, deny, fill_value)
        return self._similar_users(labels, codes, known, k, return_scores, filters)

    def _similar_users(self, labels, codes, known, k, return_scores, filters, queries=None):
        """:meth:`similar_users` by code, of rows of ``queries`` (unit vectors) if given.

        A fitted user with a query's label is never its neighbour.
        """
        k = _check_k(k, len(self.users_) - 1, "other users")
        _check_flags(return_scores=return_scores)
        own, found = encode(self.users_, labels)
        rows = np.flatnonzero(found)
        itself = interaction_matrix(rows, own[rows], len(labels), len(self.users_))
        found = self._neighbours("user", labels, codes, known, k, itself, filters, queries)
        return found if return_scores else found[0]

    def _neighbours(self, kind, labels, codes, known, k, itself, filters, queries=None):
        """``(labels, cosines)`` of each query's ``k`` nearest ``kind``s, ``itself`` (a
        query's own code) left out; ``filters``: ``(allow, deny, fill_value)``."""
        allow, deny, fill_value = filters
        known_labels = self.items_ if kind == "item" else self.users_
        check_fill(fill_value, known_labels, kind)
        candidates = self._candidates(labels, allow, deny, itself, kind=kind, queried=kind)
        left = None
        if allow is not None or deny is not None:
            because = "may return once allow and deny apply"
            padded = fill_value is not None
            left = candidates.check_k(
                k, np.arange(len(labels)), labels, kind, because, padded=padded
            )
        fallback = self._popularity if kind == "item" else self._activity()
        top, scores = self._nearest(kind, codes, known, k, candidates, fallback, queries)
        return _filled(known_labels[top], scores, left, fill_value)

    def _activity(self):
        """Each user's number of training interactions: ``similar_users``' fallback."""
        return np.asarray(self.seen_.sum(axis=1), dtype=np.float32).ravel()

    def _nearest(self, kind, codes, known, k, candidates, fallback, queries=None):
        """Top ``k`` codes and cosines of the ``kind`` vectors nearest to those of ``codes``.

        ``codes`` index ``queries`` (unit vectors; default: the ``kind`` vectors
        themselves). Rows not ``known`` are ranked by ``fallback`` (one score per code)
        instead.
        """
        vectors = self._scorer.unit_vectors(kind)
        queries = vectors if queries is None else queries
        rows = np.flatnonzero(known)
        step = max(1, CHUNK_FLOATS // len(vectors))
        blocks = (
            (start, queries[codes[rows[start : start + step]]] @ vectors.T)
            for start in range(0, len(rows), step)
        )
        top = np.empty((len(codes), k), dtype=np.int64)
        scores = np.zeros((len(codes), k))
        top[rows], scores[rows] = candidates.top(blocks, rows, k)
        unknown = np.flatnonzero(~known)
        top[unknown] = candidates.top(_tiled(fallback, len(unknown)), unknown, k)[0]
        return top, scores


def _rows_of(matrix, codes, known):
    """Rows ``codes`` of a CSR ``matrix``, empty where not ``known``."""
    keep = sp.csr_array(sp.diags(known.astype(np.float32)))  # diags_array: scipy 1.13
    return sp.csr_array(keep @ matrix[codes])


def _left_because(exclude_seen, allow, deny):
    """How a ``k`` too large for a user's candidates is explained."""
    if allow is None and deny is None:
        return (
            "has not seen; lower k, pass exclude_seen=False, or pass fill_value to complete "
            "short lists"
        )
    seen = "its seen items, " if exclude_seen else ""
    return (
        f"may get once {seen}allow and deny apply; lower k, widen the filters, or pass "
        "fill_value to complete short lists"
    )


def check_fill(fill_value, labels, kind):
    """Raise unless ``fill_value`` is None, or one value of the ``labels``' type that is
    none of them (a ``kind`` id)."""
    if fill_value is None:
        return
    textual, floats = labels.dtype.kind == "U", labels.dtype.kind == "f"
    expected = str if textual else Real if floats else Integral
    if isinstance(fill_value, bool | np.bool_) or not isinstance(fill_value, expected):
        wanted = "a string" if textual else "a number" if floats else "an integer"
        raise TypeError(f"fill_value must be {wanted}, as the {kind} ids are; got {fill_value!r}.")
    if encode(labels, np.asarray([fill_value]))[1][0]:
        example = '""' if textual else "-1"
        raise ValueError(
            f"fill_value={fill_value!r} is one of the model's {kind} ids; pick a value "
            f"that no {kind} has (e.g. {example})."
        )


def _filled(found, scores, left, fill_value):
    """``(found, scores)`` with each row's slots past its ``left`` candidates set to
    ``fill_value`` and NaN; as they are where ``fill_value`` is None."""
    if fill_value is None:
        return found, scores
    found = found.astype(np.result_type(found, np.asarray(fill_value)))
    if left is not None:
        short = np.arange(found.shape[1]) >= left[:, None]
        found[short] = fill_value
        scores[short] = np.nan
    return found, scores


def _check_k(k, limit, what):
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise TypeError(f"k must be an int; got {type(k).__name__}.")
    if k <= 0:
        raise ValueError(f"k must be positive; got {k}.")
    if k > limit:
        raise ValueError(f"k={k} exceeds the {limit} {what} known to the model.")
    return int(k)


def _check_flags(**flags):
    """Raise for a flag that is not a bool: ``exclude_seen="no"`` would read as True."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {value!r}.")


def _tiled(scores, n_rows):
    """``(start, block)`` blocks of ``n_rows`` rows that all hold ``scores`` (a fallback)."""
    step = max(1, CHUNK_FLOATS // len(scores))
    for start in range(0, n_rows, step):
        yield start, np.tile(scores, (min(step, n_rows - start), 1))
