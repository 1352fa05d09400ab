"""Which items each row of a query may return: candidate filters and the top k among them.

A row of a query (a user of ``recommend``, an item of ``similar_items``) may return the
items that an allow-list admits (all when there is none) and that neither its seen items
nor a deny-list exclude. Lists apply to the whole call (one array of item codes) or per
row (a CSR matrix, query rows x items). Filtering sets scores to ``-inf`` before the top
``k`` are taken, so the result stays sorted and holds no excluded item.
"""

import numpy as np
import scipy.sparse as sp

from .._data.sampling import SeenPairs
from .ranking import top_k


class Candidates:
    """The items each query row may return.

    Parameters
    ----------
    n_items : int
    allow, deny : None, 1-d array of item codes, or CSR array of shape (n_rows, n_items)
        The allow-list and deny-list: for every row, or per row (nonzero entries).
    seen : CSR array of shape (n_rows, n_items) or None
        Each row's own exclusions (its seen items; for ``similar_items`` the item itself).
    """

    def __init__(self, n_items, *, allow=None, deny=None, seen=None):
        self.n_items = n_items
        self.allowed = np.ones(n_items, dtype=bool)  # by the per-call lists
        self.row_allow = None
        excluded = [] if seen is None else [seen]
        if isinstance(allow, np.ndarray):
            self.allowed[:] = False
            self.allowed[allow] = True
        elif allow is not None:
            self.row_allow = _indicator(allow)
        if isinstance(deny, np.ndarray):
            self.allowed[deny] = False
        elif deny is not None:
            excluded.append(deny)
        self.row_deny = _indicator(sum(excluded[1:], excluded[0])) if excluded else None
        self._indexes = {}

    def left(self, rows):
        """How many items each of ``rows`` (positions in the query) may return."""
        allowed = self.allowed.astype(np.float32)
        if self.row_allow is None:
            counts = np.full(len(rows), allowed.sum())
            kept = None
        else:
            kept = self.row_allow[rows].multiply(allowed[None, :]).tocsr()
            counts = np.asarray(kept.sum(axis=1)).ravel()
        if self.row_deny is not None:
            denied = self.row_deny[rows]
            within = denied.multiply(allowed[None, :]) if kept is None else denied.multiply(kept)
            counts = counts - np.asarray(within.sum(axis=1)).ravel()
        return counts.astype(np.int64)

    def mask(self, scores, rows):
        """Set ``scores[r, j] = -inf`` for every item ``j`` that ``rows[r]`` may not return."""
        if not self.allowed.all():
            scores[:, ~self.allowed] = -np.inf
        if self.row_allow is not None:
            scores[self.row_allow[rows].toarray() == 0] = -np.inf
        if self.row_deny is not None:
            denied = self.row_deny[rows].tocoo()
            scores[denied.row, denied.col] = -np.inf
        return scores

    def contains(self, rows, items):
        """Whether ``rows[n]`` may return ``items[n]`` (pairs, for candidate lists)."""
        ok = self.allowed[items]
        if self.row_allow is not None:
            ok &= self._index("row_allow").contains(rows, items)
        if self.row_deny is not None:
            ok &= ~self._index("row_deny").contains(rows, items)
        return ok

    def _index(self, name):
        """A :class:`SeenPairs` of the per-row list ``name``, built on first use."""
        if name not in self._indexes:
            self._indexes[name] = SeenPairs(getattr(self, name))
        return self._indexes[name]

    def check_k(self, k, rows, labels, what, because, *, padded=False):
        """How many items each of ``rows`` may return; raise if one has fewer than ``k``.

        Unless ``padded`` (its list is to be completed), the first such row is named:
        "k exceeds the n items that ``what`` ``label`` ``because``".
        """
        left = self.left(rows)
        if not padded and len(left) and left.min() < k:
            worst = labels[rows[np.argmin(left)]]
            worst = worst.item() if isinstance(worst, np.generic) else worst  # big ints
            n = int(left.min())
            raise ValueError(
                f"k={k} exceeds the {n} item{'' if n == 1 else 's'} that {what} {worst!r} "
                f"{because}."
            )
        return left

    def top(self, blocks, rows, k):
        """Top ``k`` codes and scores of ``rows`` from ``(start, scores)`` blocks of them."""
        top = np.empty((len(rows), k), dtype=np.int64)
        scores = np.empty((len(rows), k), dtype=np.float32)
        for start, block in blocks:
            part = slice(start, start + len(block))
            self.mask(block, rows[part])
            top[part] = top_k(block, k)
            scores[part] = np.take_along_axis(block, top[part], axis=1)
        return top, scores


def _indicator(matrix):
    """A CSR indicator (1 where nonzero) with sorted indices, as SeenPairs needs."""
    matrix = sp.csr_array(matrix, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.data[:] = 1
    return matrix
