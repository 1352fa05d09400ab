"""Top-k selection, full-ranking positions over blocks of scores, the seen-items matrix."""

import numpy as np

from .._data.sampling import SeenPairs


def mask_seen(logits, seen, users):
    """Set ``logits[r, j] = -inf`` where ``users[r]`` interacted with item ``j``.

    ``seen`` is the (n_users, n_items) CSR matrix of training interactions.
    """
    block = seen[users].tocoo()
    logits[block.row, block.col] = -np.inf
    return logits


def top_k(logits, k):
    """Column indices of the ``k`` largest entries of each row, best first; of equal
    entries, the lower index first, at the cut too (as TensorFlow's ``top_k``, so that
    the export agrees, and as a stable sort of the whole row would choose)."""
    candidates = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(logits, candidates, axis=1).min(axis=1)
    # argpartition picks any of the entries equal to the k-th largest: where more of
    # them tie than fit, take the lowest indices
    for row in np.flatnonzero((logits >= kth[:, None]).sum(axis=1) > k):
        above = np.flatnonzero(logits[row] > kth[row])
        tied = np.flatnonzero(logits[row] == kth[row])[: k - len(above)]
        candidates[row] = np.concatenate([above, tied])
    candidates.sort(axis=1)
    order = np.argsort(-np.take_along_axis(logits, candidates, axis=1), axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def full_ranks(scorer, seen, users, items, vectors=None, held_out=None):
    """0-based rank of each pair's item among the items its user has not seen.

    The candidates of pair ``n`` are every item ``users[n]`` has no training interaction
    with, plus ``items[n]`` itself, less the user's other held-out items: the items of
    its pairs where ``held_out`` is True (all pairs if None), which are relevant too and
    do not push it down. Ties count against the pair's item: its rank is the number of
    other candidates scoring at least as high. Each user's scores are computed once,
    however many pairs it has. ``vectors``: folded-in users' embedding rows, in place of
    the fitted ones.
    """
    ranks = np.empty(len(users), dtype=np.int64)
    item_unseen = ~SeenPairs(seen).contains(users, items)
    held_out = np.ones(len(users), dtype=bool) if held_out is None else held_out
    distinct, row_of_pair = np.unique(users, return_inverse=True)
    order = np.argsort(row_of_pair, kind="stable")
    bounds = np.searchsorted(row_of_pair[order], np.arange(len(distinct) + 1))
    for start, logits in scorer.rows(distinct, vectors):
        stop = start + len(logits)
        block = order[bounds[start] : bounds[stop]]
        target = logits[row_of_pair[block] - start, items[block]]
        ranked = np.sort(mask_seen(logits, seen, distinct[start:stop]), axis=1)
        offsets = bounds[start : stop + 1] - bounds[start]
        for r in range(len(ranked)):
            mine = slice(offsets[r], offsets[r + 1])
            pairs = block[mine]
            at_least = ranked.shape[1] - np.searchsorted(ranked[r], target[mine], side="left")
            if len(pairs) == 1:  # leave one out: only the item itself to leave aside
                ranks[pairs] = at_least - item_unseen[pairs]
                continue
            ranks[pairs] = at_least - _relevant_at_least(
                target[mine], items[pairs], item_unseen[pairs], held_out[pairs]
            )
    return ranks


def _relevant_at_least(targets, items, unseen, held_out):
    """Of one user's pairs, how many candidates scoring at least as high as each pair's
    item are that item itself or another held-out item: the candidates that do not
    count against it."""
    competing = unseen & held_out  # held-out items among the candidates
    relevant, first = np.unique(items[competing], return_index=True)
    scores = np.sort(targets[competing][first])
    at_least = len(scores) - np.searchsorted(scores, targets, side="left")
    itself = unseen & ~np.isin(items, relevant)  # a candidate, but not a held-out one
    return at_least + itself


def ndcg_gains(ranks, k):
    """NDCG@k gain of each 0-based rank: ``1 / log2(rank + 2)`` below ``k``, else 0."""
    return np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
