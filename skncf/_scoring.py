"""Scores from learned weights, in numpy, without a Keras call per request.

:class:`Scorer` copies the weights of a graph built by :mod:`skncf._graphs` and computes
the logit of the output unit for (user, item) pairs, or for users against the whole
catalog. It exploits the structure of the graphs: the seed and GMF heads are linear in the
element-wise product, so a user's row of scores is one matrix product; the first MLP
layer splits into a user part and an item part, each computed once. Work is chunked so
that memory stays bounded whatever the catalog size.
"""

import numpy as np
import tensorflow as tf

# Floats held at once in the largest intermediate array (about 128 MiB of float32).
CHUNK_FLOATS = 1 << 25


def sigmoid(logits):
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


class Scorer:
    """Logits of one fitted graph, computed from a copy of its weights.

    Parameters
    ----------
    model : keras.Model
        A graph built by :func:`skncf._graphs.build_graph`.
    architecture : {"seed", "gmf", "mlp", "neumf"}
    """

    def __init__(self, model, architecture):
        names = {layer.name for layer in model.layers}

        def weights(name):
            return [np.asarray(w, dtype=np.float32) for w in model.get_layer(name).get_weights()]

        self.has_product = "gmf" in names
        self.has_tower = "mlp_input" in names
        w_out, self.bias = weights("prediction")
        w_out = w_out[:, 0]
        if architecture == "seed":  # linear hidden layer: fold it into the output
            w_hidden, b_hidden = weights("seed_dense")
            self.bias = self.bias + b_hidden @ w_out
            w_out = w_hidden @ w_out
        if self.has_product:
            (self.user_gmf,) = weights("user_embedding")
            (self.item_gmf,) = weights("item_embedding")
            self.w_gmf = w_out[: self.user_gmf.shape[1]]
            w_out = w_out[self.user_gmf.shape[1] :]
        if self.has_tower:
            (user_mlp,) = weights("user_mlp_embedding")
            (self.item_mlp,) = weights("item_mlp_embedding")
            dense = [weights(f"mlp_dense_{j}") for j in range(_count_tower(names))]
            kernel0, bias0 = dense[0]
            # concat(p, q) @ W0 == p @ W0[:d] + q @ W0[d:]
            self.user_tower = user_mlp @ kernel0[: user_mlp.shape[1]] + bias0
            self.item_tower = self.item_mlp @ kernel0[user_mlp.shape[1] :]
            self.tower_rest = dense[1:]
            self.w_mlp = w_out
            self.tower_width = max(k.shape[1] for k, _ in dense)
        self.bias = np.float32(self.bias[0])
        self.has_biases = "user_bias" in names
        if self.has_biases:
            self.user_bias = weights("user_bias")[0][:, 0]
            self.item_bias = weights("item_bias")[0][:, 0]
        self.n_items = (self.item_gmf if self.has_product else self.item_tower).shape[0]

    def item_vectors(self):
        """Unit-norm item embeddings for similarity: GMF and MLP parts, each normalised."""
        parts = [self.item_gmf] if self.has_product else []
        parts += [self.item_mlp] if self.has_tower else []
        return _unit_rows(np.hstack([_unit_rows(p) for p in parts]))

    def dot_product(self):
        """``(user_queries, items)`` with logit = ``user_queries(u) @ items[i]`` + c(u).

        For graphs without an MLP tower (GMF, seed): the product's weights go into the
        user's query, an item's bias into a last column (against a 1 in the query); the
        global and the user's bias, the same for all of a user's items, are left out.

        Raises
        ------
        ValueError
            If the graph has an MLP tower, whose scores are not a dot product.
        """
        if self.has_tower:
            raise ValueError(
                "approximate retrieval needs scores that are a dot product of a user and an "
                "item vector (model='gmf' or 'seed'); an MLP tower's are not."
            )
        items = self.item_gmf
        if self.has_biases:
            items = np.hstack([items, self.item_bias[:, None]])

        def user_queries(users):
            queries = self.user_gmf[users] * self.w_gmf
            if self.has_biases:
                queries = np.hstack([queries, np.ones((len(users), 1), np.float32)])
            return np.ascontiguousarray(queries, dtype=np.float32)

        return user_queries, np.ascontiguousarray(items, dtype=np.float32)

    def _tower_logit(self, first):
        """Finish the ReLU tower from the pre-activation of its first layer, in numpy.

        For ``pairs``, where a call is often one pair and a TensorFlow call would cost
        more than the arithmetic; whole catalogs (``rows``) go through
        :func:`_tower_block`. Works on a 2-D view, so each product is one BLAS call.
        """
        shape = first.shape[:-1]
        x = np.maximum(first, 0, out=first).reshape(-1, first.shape[-1])
        for kernel, bias in self.tower_rest:
            x = x @ kernel
            x += bias
            np.maximum(x, 0, out=x)
        return (x @ self.w_mlp).reshape(shape)

    def pairs(self, users, items):
        """Logits of the pairs ``(users[n], items[n])``, shape (n,)."""
        out = np.empty(len(users), dtype=np.float32)
        width = self.tower_width if self.has_tower else 1
        step = max(1, CHUNK_FLOATS // width)
        for start in range(0, len(users), step):
            u, i = users[start : start + step], items[start : start + step]
            logit = np.full(len(u), self.bias, dtype=np.float32)
            if self.has_product:
                logit += np.einsum("nd,nd,d->n", self.user_gmf[u], self.item_gmf[i], self.w_gmf)
            if self.has_tower:
                logit += self._tower_logit(self.user_tower[u] + self.item_tower[i])
            if self.has_biases:
                logit += self.user_bias[u] + self.item_bias[i]
            out[start : start + step] = logit
        return out

    def rows(self, users):
        """Yield ``(start, logits)`` blocks of the (len(users), n_items) score matrix."""
        width = self.tower_width if self.has_tower else 1
        step = max(1, CHUNK_FLOATS // (self.n_items * width))
        for start in range(0, len(users), step):
            u = users[start : start + step]
            offset = np.full((len(u), 1), self.bias, dtype=np.float32)
            if self.has_biases:
                offset = offset + self.user_bias[u][:, None] + self.item_bias[None, :]
            if not self.has_tower:
                yield start, offset + (self.user_gmf[u] * self.w_gmf) @ self.item_gmf.T
                continue
            if self.has_product:
                user_linear, item_linear = self.user_gmf[u] * self.w_gmf, self.item_gmf
            else:
                user_linear = np.zeros((len(u), 0), np.float32)
                item_linear = np.zeros((self.n_items, 0), np.float32)
            logits = _tower_block(
                self.user_tower[u],
                self.item_tower,
                self.tower_rest,
                self.w_mlp,
                (user_linear, item_linear, offset),
            )
            yield start, logits.numpy()


@tf.function(reduce_retracing=True, autograph=False)
def _tower_block(user_first, item_first, rest, w_mlp, linear):
    """Logits of every user in the block against every item, (users, items).

    The tower, plus ``user_linear @ item_linear.T + offset`` (the GMF product and the
    biases), all in TensorFlow, whose multi-threaded kernels did better than numpy here;
    mixing numpy and TensorFlow calls on the same block cost a third more. NeuMF's
    ``recommend`` for all ml1m-half users: 6.2 s in numpy, 2.4 s with the tower alone in
    TensorFlow (old 64-32-16-8 tower), see ``benchmarks/serving.py`` for the current
    figure. Weights are arguments, not constants, so one trace serves every fitted model
    of the same tower shape.
    """
    user_linear, item_linear, offset = linear
    x = tf.nn.relu(user_first[:, None, :] + item_first[None, :, :])
    x = tf.reshape(x, (-1, tf.shape(item_first)[1]))
    for kernel, bias in rest:
        x = tf.nn.relu(tf.matmul(x, kernel) + bias)
    tower = tf.reshape(tf.linalg.matvec(x, w_mlp), (tf.shape(user_first)[0], -1))
    return tower + tf.matmul(user_linear, item_linear, transpose_b=True) + offset


def _count_tower(names):
    return sum(1 for name in names if name.startswith("mlp_dense_"))


def _unit_rows(matrix):
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1)
