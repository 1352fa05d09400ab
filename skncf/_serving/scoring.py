"""Scores of a fitted graph for serving: pairs, whole catalogs, dot-product parts.

:class:`Scorer` serves with the forward pass that training uses,
:class:`~skncf._graph.logits.CandidateLogits` with dropout off, so that the logits are
written once: a block of users against the whole catalog is ``cross`` (GMF and seed one
matrix product, the first MLP layer split into a user part computed per user and an item
part computed once per call), pairs are ``pairs``. Work is chunked so that memory stays
bounded whatever the catalog size.
"""

import functools

import numpy as np
import tensorflow as tf

from .._graph.logits import CandidateLogits

# Floats held at once in the largest intermediate array (about 128 MiB of float32).
CHUNK_FLOATS = 1 << 25
# pairs() calls of one scorer before it traces them (see Scorer.__init__)
TRACE_AFTER_CALLS = 16


def sigmoid(logits):
    """The logistic function in float64 (as the exported SavedModel computes it)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float64)))


class Scorer:
    """Logits of one fitted graph, read from its variables.

    Parameters
    ----------
    model : keras.Model
        A graph built by :func:`skncf._graph.graphs.build_graph`.
    """

    def __init__(self, model):
        self.model = model
        self.logits_of = CandidateLogits(model, dropout=0.0, l2=0.0, seed=0)
        tower = self.logits_of.tower
        self.tower_width = max(layer.units for layer in tower[2]) if tower else 1
        self.pair_width = _pair_width(self.logits_of.layout, self.tower_width)
        self.n_items = self.logits_of.layout.embeddings("item")[0].input_dim
        # pairs() runs its ops one by one (2-3 ms a call, whatever the number of pairs)
        # until this many calls, then traces them into one function (about 0.25 ms a
        # call): a trace costs a tenth of a second or more, too much for the scorer of
        # each validation epoch or grid-search fold, which calls once or twice
        self._calls, self._traced_pairs = 0, None
        # a tower's block is many element-wise passes over (users x items, width)
        # arrays, which a trace fuses (NeuMF, all ml1m-half users: 0.8 s traced, 1.0-1.3
        # s op by op); GMF's and seed's is one product, op by op as fast, and untraced
        # spares each new scorer (each grid-search fold) the trace
        self._block = self._block_logits
        if tower:
            self._block = tf.function(self._block_logits, autograph=False)

    def __reduce__(self):
        # the graph pickles on its own (as the estimator's ``model_``); the rest is rebuilt
        return Scorer, (self.model,)

    def pairs(self, users, items, vectors=None):
        """Logits of the pairs ``(users[n], items[n])``, shape (n,).

        ``vectors`` (optional): user embedding rows as :meth:`user_rows` gives them, for
        users not in the graph's tables (folded in); ``users`` then index these rows.
        """
        self._calls += 1
        logits = self._pairs_logits
        if vectors is not None:
            logits = functools.partial(self._pairs_of_vectors, vectors)
        elif self._calls > TRACE_AFTER_CALLS:
            if self._traced_pairs is None:  # a concrete function: no dispatch cost
                spec = tf.TensorSpec([None], tf.int32)
                traced = tf.function(self._pairs_logits, autograph=False)
                self._traced_pairs = traced.get_concrete_function(spec, spec)
            logits = self._traced_pairs
        out = np.empty(len(users), dtype=np.float32)
        step = max(1, CHUNK_FLOATS // self.pair_width)
        for start in range(0, len(users), step):
            u, i = users[start : start + step], items[start : start + step]
            u, i = tf.constant(u, tf.int32), tf.constant(i, tf.int32)
            out[start : start + step] = logits(u, i).numpy()
        return out

    def rows(self, users, vectors=None):
        """Yield ``(start, logits)`` blocks of the (len(users), n_items) score matrix.

        ``vectors`` as for :meth:`pairs`.
        """
        item = self.logits_of.item_side(tf.range(self.n_items), False)
        step = max(1, CHUNK_FLOATS // (self.n_items * self.tower_width))
        for start in range(0, len(users), step):
            block = tf.constant(users[start : start + step], tf.int32)
            rows = self.logits_of.user_rows(block) if vectors is None else _gathered(vectors, block)
            yield start, self._block(rows, item).numpy()

    def user_rows(self, users):
        """The fitted embedding rows of ``users`` (codes): a dict of float32 arrays."""
        rows = self.logits_of.user_rows(tf.constant(users, tf.int32))
        return {name: row.numpy() for name, row in rows.items()}

    def _block_logits(self, rows, item):
        return self.logits_of.cross(self.logits_of.side_of_rows(rows, False), item, False)

    def _pairs_logits(self, users, items):
        return self._pairs_of_rows(self.logits_of.user_rows(users), items)

    def _pairs_of_vectors(self, vectors, users, items):
        return self._pairs_of_rows(_gathered(vectors, users), items)

    def _pairs_of_rows(self, rows, items):
        user = self.logits_of.side_of_rows(rows, False)
        return self.logits_of.pairs(user, self.logits_of.item_side(items, False), False)

    def unit_vectors(self, kind):
        """Unit-norm ``kind`` embeddings for similarity (:func:`unit_vectors`), an array."""
        return unit_vectors(self.logits_of, kind).numpy()

    @staticmethod
    def unit_user_rows(rows):
        """:meth:`unit_vectors` of users given by their rows (:meth:`user_rows`)."""
        parts = [rows[name] for name in ("gmf", "tower") if name in rows]
        return _unit_parts(parts).numpy()

    def dot_product(self):
        """``(user_queries, items)`` with logit = ``user_queries(u) @ items[i]`` + c(u).

        ``user_queries(users, vectors=None)`` takes codes, of the graph's users or, with
        ``vectors``, of those rows (as for :meth:`pairs`).

        For graphs without an MLP tower (GMF, seed): the product's weights go into the
        user's query, an item's bias into a last column (against a 1 in the query); the
        global and the user's bias, the same for all of a user's items, are left out.

        Raises
        ------
        ValueError
            If the graph has an MLP tower, whose scores are not a dot product.
        """
        if self.logits_of.tower is not None:
            raise ValueError(
                "approximate retrieval and retrieval_vectors need scores that are a dot "
                "product of a user and an item vector (architecture='gmf' or 'seed'); an "
                "MLP tower's are not."
            )
        item = self.logits_of.item_side(tf.range(self.n_items), False)
        items = [item["gmf"].numpy()]
        has_biases = self.logits_of.biases is not None
        if has_biases:
            items.append(item["bias"].numpy()[:, None])

        def user_queries(users, vectors=None):
            rows = self.logits_of.user_rows(users) if vectors is None else _gathered(vectors, users)
            queries = [self.logits_of.side_of_rows(rows, False)["gmf"].numpy()]
            if has_biases:
                queries.append(np.ones((len(users), 1), np.float32))
            return np.ascontiguousarray(np.hstack(queries), dtype=np.float32)

        return user_queries, np.ascontiguousarray(np.hstack(items), dtype=np.float32)


def _gathered(vectors, users):
    """Rows ``users`` of user ``vectors`` (a dict of tables, as :meth:`Scorer.user_rows`)."""
    return {name: tf.gather(table, users) for name, table in vectors.items()}


def unit_vectors(logits_of, kind):
    """Unit-norm ``kind`` ("item" or "user") embeddings: GMF and MLP parts, each normalised.

    TensorFlow operations only, so that the export's ``similar_items`` computes them in
    its graph, from the weights, as ``NCFRecommender.similar_items`` does.
    """
    tables = logits_of.layout.embeddings(kind)
    ids = tf.range(tables[0].input_dim)
    return _unit_parts([logits_of.embedded(table, ids) for table in tables])


def _unit_parts(parts):
    """The GMF and MLP parts (in that order), each normalised, side by side, normalised."""
    return _unit_rows(tf.concat([_unit_rows(part) for part in parts], axis=1))


def _unit_rows(matrix):
    norms = tf.norm(matrix, axis=1, keepdims=True)
    return matrix / tf.where(norms > 0, norms, tf.ones_like(norms))


def _pair_width(layout, tower_width):
    """Floats that one pair of :meth:`Scorer.pairs` holds at once: its user's and item's
    rows of every table (feature rows included) and the tower's widest layer."""
    width = tower_width
    for kind in ("user", "item"):
        for layer in layout.embeddings(kind):
            width += layer.embeddings.shape[1]
            if layer.name in layout.projections:
                width += layout.projections[layer.name][0].embeddings.shape[1]
    return width
