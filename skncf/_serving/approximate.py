"""Approximate top-k retrieval for dot-product scorers, with faiss (the ``ann`` extra).

Exact ``recommend`` scores every item for every user: on a catalog of millions of items
that is most of its time. For graphs whose scores are a dot product of a user vector and
an item vector plus a per-user constant (GMF and the seed graph, see
:meth:`skncf._serving.scoring.Scorer.dot_product`), an inverted-file index (faiss'
``IndexIVFFlat``, inner product) clusters the item vectors into ``n_lists`` lists by
k-means and scores a user only against the items of the ``n_probe`` lists whose
centroids score highest: about ``n_probe / n_lists`` of the catalog. The candidates'
scores are exact; what can be missed is a good item in a list not probed, which is what
recall@k against the exact top k measures (``benchmarks/approximate.py``).
"""

import numpy as np

# Lists probed by default: of sqrt(n_items) lists, on a 1,000,000-item catalog 6.4% of
# the items, recall@10 0.965 against the exact top 10 at 6.6x its speed
# (benchmarks/approximate.py; 32 lists: 0.940 at 12x, 128: 0.985 at 3.7x).
N_PROBE = 64


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError(
            "approximate=True needs faiss: pip install 'skncf[ann]' (or faiss-cpu)."
        ) from None
    return faiss


def check_options(approximate):
    """``approximate`` (True or a dict of ``n_lists``, ``n_probe``) as a dict of options.

    Raises
    ------
    TypeError
        If ``approximate`` is neither a bool nor a dict, or an option is not an int.
    ValueError
        If an option is unknown or not positive.
    """
    if approximate is True:
        return {}
    if not isinstance(approximate, dict):
        raise TypeError(
            "approximate must be a bool or a dict with n_lists and/or n_probe; got "
            f"{type(approximate).__name__}."
        )
    unknown = set(approximate) - {"n_lists", "n_probe"}
    if unknown:
        raise ValueError(
            f"approximate has unknown options {sorted(unknown)}; it takes n_lists, n_probe."
        )
    for name, value in approximate.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"approximate[{name!r}] must be an int; got {value!r}.")
        if value < 1:
            raise ValueError(f"approximate[{name!r}] must be at least 1; got {value}.")
    return dict(approximate)


class ItemIndex:
    """An inverted-file inner-product index over a scorer's item vectors.

    Parameters
    ----------
    scorer : skncf._serving.scoring.Scorer
        Of a graph without an MLP tower.
    n_lists : int or None
        k-means lists; None means ``round(sqrt(n_items))`` (fewer for catalogs under
        ~1,500 items, so that k-means has 39 items per list, faiss' minimum).
    """

    def __init__(self, scorer, n_lists=None):
        self.user_queries, items = scorer.dot_product()  # a tower: ValueError, even sans faiss
        faiss = _faiss()
        n_items, d = items.shape
        default = max(1, min(round(np.sqrt(n_items)), n_items // 39))
        self.n_lists = min(n_items, n_lists or default)
        self.index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(d), d, self.n_lists, faiss.METRIC_INNER_PRODUCT
        )
        self.index.cp.seed = 0  # k-means' start, so that the same model gives one index
        self.index.train(items)
        self.index.add(items)

    def search(self, users, n, n_probe, vectors=None):
        """The ``n`` best-scoring items found for each user, best first; -1 pads.

        ``users`` are codes of the graph's users, or rows of ``vectors`` (folded-in
        users' embedding rows, as :meth:`~skncf._serving.scoring.Scorer.pairs` takes them).
        """
        # per call, not on the index: threads may search with different n_probe at once
        probes = _faiss().SearchParametersIVF(nprobe=min(n_probe, self.n_lists))
        _, found = self.index.search(self.user_queries(users, vectors), n, params=probes)
        return found
