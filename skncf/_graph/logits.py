"""Logits of users against candidate items, computed from a Keras graph's own variables.

Neither training nor serving calls the Keras graph: :class:`CandidateLogits` computes
the same logits from the graph's variables, exploiting the graphs' structure: the GMF
and seed heads are one matrix product, the first MLP layer splits into a user part and
an item part. Serving (:mod:`skncf._serving.scoring`) uses it with dropout off. ``pairs``
scores one candidate per user row (the log and squared losses, ``predict``), ``cross``
every user against every candidate (the softmaxes, training by users, ``recommend``).
Dropout follows the graph's rule, except that in ``cross`` a mask drawn for a user (or
for a candidate item) is shared by all of that user's (item's) pairs in the batch. The
seed graph's dropout after its linear ``Dense(50)`` is drawn once per user row, which
keeps its head a matrix product.
"""

import keras
import tensorflow as tf

from .._compat import backing_variable, seed_state
from .._distribute import replica_seed_offset
from .graphs import GraphLayout


class CandidateLogits:
    """Logits of users against candidate items, differentiable, from a graph's variables.

    Parameters
    ----------
    model : keras.Model
        A graph built by :func:`skncf._graph.graphs.build_graph`; its weights are read
        through :class:`skncf._graph.graphs.GraphLayout`.
    dropout : float
    l2 : float
    seed : int
    rng_alg : str or None, default=None
        Random number algorithm of the dropout masks; None draws them as Keras does
        (Philox on CPU). Under XLA, ``"threefry"``: for the seed graph's masks XLA's
        CPU Philox took 2.4-3x and its default algorithm 10-13x as long as TensorFlow's
        kernel, its ThreeFry 0.6-0.75x (benchmarks/README.md as of commit 5364ef8, "XLA").
    """

    def __init__(self, model, *, dropout, l2, seed, rng_alg=None):
        layout = GraphLayout.of(model)
        self.dropout, self.l2, self.rng_alg = dropout, l2, rng_alg
        self.seeds = keras.random.SeedGenerator(seed)
        # under a tf.distribute strategy each replica draws its own masks
        self.per_replica = tf.distribute.has_strategy()
        self.layout = layout
        self.out, self.seed_dense = layout.output, layout.seed_dense
        self.gmf, self.tower, self.biases = layout.gmf, layout.tower, layout.biases
        self.projections = layout.projections
        self.variables = model.trainable_variables

    def restart(self, seed):
        """Draw the dropout masks from ``seed`` again, as a new instance would."""
        state = seed_state(self.seeds)
        state.assign(tf.constant([seed, 0], dtype=state.dtype))

    def _drop(self, x, training):
        if not training or self.dropout == 0:
            return x
        if not self.per_replica and self.rng_alg is None:
            return keras.random.dropout(x, self.dropout, seed=self.seeds)
        seed = self.seeds.next()
        if self.per_replica:
            seed = seed + tf.cast([replica_seed_offset(), 0], seed_state(self.seeds).dtype)
        # as Keras' dropout turns its seed into stateless_dropout's int32 one
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        return tf.nn.experimental.stateless_dropout(
            x, self.dropout, seed=seed, rng_alg=self.rng_alg
        )

    def _lookup(self, layer, ids, training):
        return self._drop(self.embedded(layer, ids), training)

    def embedded(self, layer, ids):
        """Rows ``ids`` of an embedding, plus the projection of their side's features."""
        rows = _rows(layer, ids)
        if layer.name in self.projections:
            table, projection = self.projections[layer.name]
            rows = rows + tf.matmul(_rows(table, ids), projection.kernel)
        return rows

    def user_features(self, users):
        """The encoded features of ``users`` (codes) as an array, or None without them."""
        table = self.layout.feature_tables().get("user")
        return None if table is None else _rows(table, users).numpy()

    def user_feature_rows(self, features):
        """What encoded user ``features`` add to the user rows: ``{"gmf", "tower"}`` parts."""
        parts = {}
        for name, tables in (("gmf", self.gmf), ("tower", self.tower)):
            if tables is not None and tables[0].name in self.projections:
                parts[name] = tf.matmul(features, self.projections[tables[0].name][1].kernel)
        return parts

    def _head(self, n_users, training):
        """Per-user weights of the GMF product (n_users, d) and the output bias."""
        kernel, bias = self.out.kernel[:, 0], self.out.bias[0]
        if self.seed_dense is None:
            d = self.gmf[0].embeddings.shape[1] if self.gmf else 0
            return kernel[:d][None, :], kernel[d:], bias
        # Linear hidden layer h = x W + b, dropout mask m per user: logit = (x W + b)(m w).
        w = self._drop(tf.ones((n_users, kernel.shape[0])), training) * kernel
        return (
            tf.matmul(w, self.seed_dense.kernel, transpose_b=True),
            None,
            tf.linalg.matvec(w, self.seed_dense.bias) + bias,
        )

    def user_rows(self, users):
        """The embedding rows of ``users``: ``{"gmf", "tower", "bias"}``, as the graph has them.

        Serving a user who is not in the tables (a folded-in one) passes its own rows of
        these shapes to :meth:`side_of_rows` instead.
        """
        rows = {}
        if self.gmf is not None:
            rows["gmf"] = self.embedded(self.gmf[0], users)
        if self.tower is not None:
            rows["tower"] = self.embedded(self.tower[0], users)
        if self.biases is not None:
            rows["bias"] = _rows(self.biases[0], users)[:, 0]
        return rows

    def user_side(self, users, training):
        """Everything that depends on the users of the batch only."""
        return self.side_of_rows(self.user_rows(users), training)

    def side_of_rows(self, rows, training):
        """:meth:`user_side` of users given by their embedding rows (:meth:`user_rows`)."""
        side = {}
        n_users = tf.shape(next(iter(rows.values())))[0]
        weights, side["w_mlp"], side["bias"] = self._head(n_users, training)
        if "gmf" in rows:
            side["gmf"] = self._drop(rows["gmf"], training) * weights
        if "tower" in rows:
            assert self.tower is not None
            p = self._drop(rows["tower"], training)
            dense = self.tower[2]
            side["tower"] = tf.matmul(p, dense[0].kernel[: p.shape[1]]) + dense[0].bias
        if "bias" in rows:
            side["bias"] = side["bias"] + rows["bias"]
        return side

    def item_side(self, items, training):
        """Everything that depends on the candidate items only."""
        side = {}
        if self.gmf is not None:
            side["gmf"] = self._lookup(self.gmf[1], items, training)
        if self.tower is not None:
            user_layer, item_layer, dense = self.tower
            q = self._lookup(item_layer, items, training)
            side["tower"] = tf.matmul(q, dense[0].kernel[user_layer.embeddings.shape[1] :])
        side["bias"] = 0.0
        if self.biases is not None:
            side["bias"] = _rows(self.biases[1], items)[:, 0]
        return side

    def _finish_tower(self, first, w_mlp, training):
        """The tower's logit from its first layer's pre-activation, any leading shape.

        The layers run on a 2-D view, each one matrix product (a batched product over
        a (users, items, width) array took a fifth longer in serving).
        """
        assert self.tower is not None
        shape = tf.shape(first)[:-1]
        x = self._drop(tf.nn.relu(tf.reshape(first, (-1, first.shape[-1]))), training)
        for layer in self.tower[2][1:]:
            x = self._drop(tf.nn.relu(tf.matmul(x, layer.kernel) + layer.bias), training)
        return tf.reshape(tf.linalg.matvec(x, w_mlp), shape)

    def cross(self, user, item, training):
        """Logits of every user against every candidate, shape (n_users, n_items)."""
        logits = user["bias"][:, None] if user["bias"].shape.rank else user["bias"]
        logits = logits + item["bias"]
        if "gmf" in user:
            logits = logits + tf.matmul(user["gmf"], item["gmf"], transpose_b=True)
        if "tower" in user:
            first = user["tower"][:, None, :] + item["tower"][None, :, :]
            logits = logits + self._finish_tower(first, user["w_mlp"], training)
        return logits

    def pairs(self, user, item, training):
        """Logits of user row n against candidate n, shape (n,)."""
        logits = user["bias"] + item["bias"]
        if "gmf" in user:
            logits = logits + tf.reduce_sum(user["gmf"] * item["gmf"], -1)
        if "tower" in user:
            logits = logits + self._finish_tower(
                user["tower"] + item["tower"], user["w_mlp"], training
            )
        return logits

    def penalty(self, users, items, rows=None):
        """The graph's L2 terms: looked-up rows of the positive pairs, and dense kernels.

        ``rows`` (optional) masks the batch's real rows, 1.0, against padding, 0.0.
        """
        if self.l2 == 0:
            return 0.0
        terms = [
            mean_over(tf.reduce_sum(tf.square(_rows(layer, ids)), -1), rows)
            for pair in self._tables()
            for layer, ids in zip(pair, (users, items))
        ]
        return self.l2 * tf.add_n(terms + self._kernel_terms())

    def counted_penalty(self, users, user_counts, item_counts):
        """:meth:`penalty` of a batch given as counts, not as its pairs.

        A batch whose positives hold ``users[b]`` ``user_counts[b]`` times and item ``j``
        ``item_counts[j]`` times (a vector over all items) has the same L2 terms as
        :meth:`penalty` of its pairs; this reads the batch's user rows and the item
        tables once instead of one row per positive, as a block of users needs.
        """
        if self.l2 == 0:
            return 0.0
        n = tf.reduce_sum(user_counts)
        terms = []
        for user_layer, item_layer in self._tables():
            norms = tf.reduce_sum(tf.square(_rows(user_layer, users)), -1)
            terms.append(tf.reduce_sum(user_counts * norms) / n)
            norms = tf.reduce_sum(tf.square(backing_variable(item_layer.embeddings)), -1)
            terms.append(tf.reduce_sum(item_counts * norms) / n)
        return self.l2 * tf.add_n(terms + self._kernel_terms())

    def _tables(self):
        """(user, item) pairs of embedding layers: GMF, the tower's, the biases."""
        return self.layout.tables()

    def _kernel_terms(self):
        return [tf.reduce_sum(tf.square(layer.kernel)) for layer in self.layout.dense_layers()]


def mean_over(values, rows=None):
    """Mean of ``values`` over a batch's real rows: all, or those where ``rows`` is 1.0."""
    if rows is None:
        return tf.reduce_mean(values)
    return tf.reduce_sum(values * rows) / tf.reduce_sum(rows)


def _rows(layer, ids):
    """Rows ``ids`` of an ``Embedding`` layer's table, read sparsely.

    Gathering from the TensorFlow variable under the Keras one reads only the rows (a
    resource gather); gathering from the Keras variable, or from a slice of it, first
    reads the whole table as a tensor, and a later update of the table then copies it
    whole: on a 1,000,000-item catalog that made each step cost what the table costs.
    """
    return tf.gather(backing_variable(layer.embeddings), ids)
