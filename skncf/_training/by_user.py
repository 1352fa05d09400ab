"""Training by users: each step scores a block of users against every item.

A softmax's normaliser depends only on the user, and a full-matrix loss needs every
(user, item) pair: everything an epoch needs sits in the users x items scores. Scoring
each positive against the catalog instead recomputes its user's row once per positive
(ml1m-half: 484,651 rows of 3,613 scores an epoch where 2,999 suffice). Here a step takes
a block of users, computes their logits against all items with
:meth:`~skncf._graph.logits.CandidateLogits.cross` (GMF and seed: one matrix product; MLP and
NeuMF: the first tower layer split into a user half and an item half, each computed
once per step, the rest of the tower over the block) and the loss of all their
positives at once. Two objectives are exact this way:

- ``"softmax"``, the multinomial likelihood of Mult-VAE (Liang et al. 2018): for user u,
  ``-sum_i w_ui (s_ui - logsumexp_j s_uj)``, the sum of the per-positive full-softmax
  losses of u's positives;
- ``"log"``, the full-matrix weighted log loss of iALS's objective (Hu et al. 2008;
  Rendle et al. 2021) with a log loss in place of the squared error:
  ``sum_{i positive} w_ui softplus(-s_ui) + alpha0 sum_{j not positive} softplus(s_uj)``.

Either is divided by the number of positives in the step, so a step's loss is the mean
per positive, as in the per-positive path, and a learning rate means the same in both.
"""

import functools

import numpy as np
import tensorflow as tf

from .loop import EAGER_MAX_STEPS, run_training

# Floats in one step's users x items block of logits: blocks are cut to this size at most
# (64 MiB of float32 per intermediate of that shape; the MLP tower holds a few blocks as
# wide as its layers, so its blocks are divided by the widest layer).
BLOCK_FLOATS = 1 << 24


def block_users(batch_size, n_items, tower_width=1):
    """Users per step: ``batch_size``, or fewer where a block would exceed BLOCK_FLOATS."""
    return max(1, min(batch_size, BLOCK_FLOATS // (n_items * max(1, tower_width))))


class UserBlocks:
    """The positives grouped by user; each epoch a shuffled sequence of user blocks.

    Parameters
    ----------
    interactions : scipy.sparse.csr_array of shape (n_users, n_items)
        Positive weights; users without a positive are never drawn.
    n_block : int
        Users per block.
    """

    def __init__(self, interactions, n_block):
        self.indptr = interactions.indptr.astype(np.int64)
        self.indices = interactions.indices.astype(np.int32)
        self.data = interactions.data.astype(np.float32)
        self.active = np.flatnonzero(np.diff(self.indptr)).astype(np.int32)
        self.n_block = n_block

    def __len__(self):
        return len(self.data)

    def epoch(self, rng):
        """``(users, rows, items, weights, starts)`` of one epoch.

        ``users`` are the active users in a random order, cut into consecutive blocks of
        ``n_block``; the positives follow in the same order, ``rows`` giving each one's
        position in its block, and block ``s``'s positives are ``starts[s]:starts[s+1]``.
        """
        users = rng.permutation(self.active)
        counts = np.diff(self.indptr)[users]
        ends = np.cumsum(counts)
        flat = np.repeat(self.indptr[users] - (ends - counts), counts)
        flat += np.arange(len(flat))
        rows = np.repeat(np.arange(len(users), dtype=np.int32) % self.n_block, counts)
        starts = np.concatenate([[0], ends[self.n_block - 1 :: self.n_block]])
        if starts[-1] != ends[-1]:
            starts = np.append(starts, ends[-1])
        arrays = (users, rows, self.indices[flat], self.data[flat])
        return arrays, (starts.astype(np.int32),)


def by_user_loss(logits_of, n_items, objective, negative_weight, candidates=None):
    """The loss of a block of users: ``loss(batch, extra, rows=None) -> (mean, objective)``.

    ``batch`` is ``(users, rows, items, weights)``: the block's users and its positives,
    ``rows`` each positive's user position in the block, ``items`` its column among
    ``candidates``, the item codes the loss normalises over (None: all ``n_items``).
    ``mean`` is the loss per positive; the objective adds the graph's L2 terms on the
    positives' rows, as the per-positive path does.
    """
    columns = tf.range(n_items) if candidates is None else tf.constant(candidates, tf.int32)
    n_columns = int(columns.shape[0])

    def loss(batch, extra=(), rows=None):
        users, positive_rows, items, weights = batch
        user = logits_of.user_side(users, True)
        logits = logits_of.cross(user, logits_of.item_side(columns, True), True)
        positive = tf.gather_nd(logits, tf.stack([positive_rows, items], 1))
        if objective == "softmax":
            normaliser = tf.gather(tf.reduce_logsumexp(logits, 1), positive_rows)
            per_positive = weights * (normaliser - positive)
            extra_terms = 0.0
        else:
            per_positive = weights * tf.nn.softplus(-positive)
            per_positive -= negative_weight * tf.nn.softplus(positive)
            extra_terms = negative_weight * tf.reduce_sum(tf.nn.softplus(logits))
        n_positives = tf.cast(tf.shape(items)[0], tf.float32)
        mean = (tf.reduce_sum(per_positive) + extra_terms) / n_positives
        user_counts = tf.math.bincount(
            positive_rows, minlength=tf.shape(users)[0], maxlength=tf.shape(users)[0]
        )
        item_counts = tf.math.bincount(items, minlength=n_columns, maxlength=n_columns)
        if candidates is not None:
            item_counts = tf.scatter_nd(columns[:, None], item_counts, [n_items])
        penalty = logits_of.counted_penalty(
            users, tf.cast(user_counts, tf.float32), tf.cast(item_counts, tf.float32)
        )
        return mean, mean + penalty

    return loss


def block_runner(step, *, n_block, compiled, strategy=None):
    """``run(arrays, per_step)``: one epoch of ``step`` over user blocks.

    ``compiled``: as one TensorFlow call (a fit of few steps runs faster eagerly than
    it traces, see :data:`skncf._training.loop.EAGER_MAX_STEPS`).

    ``arrays`` and ``per_step`` as :meth:`UserBlocks.epoch` returns them. Under a
    ``tf.distribute.Strategy`` each replica takes a consecutive slice of the block's
    users with their positives; its loss is scaled by its share of the positives, so
    the summed gradients are those of the whole block's loss.
    """

    def run_epoch(arrays, per_step):
        users, rows, items, weights = arrays
        (starts,) = per_step

        def one_step(s, total):
            first, last = starts[s], starts[s + 1]
            block = users[s * n_block : (s + 1) * n_block]
            batch = (block, rows[first:last], items[first:last], weights[first:last])
            if strategy is None:
                loss = step(batch, (), None)
            else:
                loss = strategy.reduce("SUM", strategy.run(_replica_step(step), (batch,)), None)
            return s + 1, total + loss * tf.cast(last - first, tf.float32)

        n_steps = tf.shape(starts)[0] - 1
        _, total = tf.while_loop(
            lambda s, total: s < n_steps, one_step, (tf.constant(0), tf.constant(0.0))
        )
        return total / tf.cast(tf.shape(items)[0], tf.float32)

    if compiled or strategy is not None:
        run_epoch = tf.function(
            functools.partial(run_epoch), reduce_retracing=True, autograph=False
        )

    def run(arrays, per_step=()):
        tensors = tuple(tf.convert_to_tensor(x) for x in arrays)
        return float(run_epoch(tensors, tuple(tf.convert_to_tensor(x) for x in per_step)))

    return run


def _replica_step(step):
    """``step`` on this replica's slice of the block's users and their positives."""

    def on_replica(batch):
        users, rows, items, weights = batch
        context = tf.distribute.get_replica_context()
        replica, n_replicas = context.replica_id_in_sync_group, context.num_replicas_in_sync
        n = tf.shape(users)[0]
        start, stop = replica * n // n_replicas, (replica + 1) * n // n_replicas
        mine = (rows >= start) & (rows < stop)
        share = tf.reduce_mean(tf.cast(mine, tf.float32))
        part = (
            users[start:stop],
            tf.boolean_mask(rows, mine) - start,
            tf.boolean_mask(items, mine),
            tf.boolean_mask(weights, mine),
        )
        return share * step(part, (), share)

    return on_replica


def train_by_users(
    model, architecture, interactions, *, objective, negative_weight, candidates=None, **settings
):
    """Train ``model`` by blocks of users and return the history dict.

    ``interactions`` is the (n_users, n_items) CSR array of positive weights;
    ``objective`` ``"softmax"`` or ``"log"`` (see the module docstring), with
    ``negative_weight`` (alpha0) for ``"log"``; ``candidates`` the sorted item codes the
    loss ranks over (None: all items; items known only by their features are left out,
    see :func:`skncf._data.interactions.interacted_items`); ``settings`` as for
    :func:`skncf._training.loop.run_training`, ``batch_size`` counting users.

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite.
    """
    n_items = interactions.shape[1]
    tower_width = settings.pop("tower_width", 1)
    if candidates is not None:
        interactions = interactions[:, candidates]  # columns: positions among candidates
    n_block = block_users(settings["batch_size"], interactions.shape[1], tower_width)
    blocks = UserBlocks(interactions, n_block)
    strategy = settings.get("strategy")
    settings.pop("xla", None)
    n_steps = -(-len(blocks.active) // n_block) * settings["epochs"]
    return run_training(
        model,
        architecture,
        lambda logits_of: by_user_loss(logits_of, n_items, objective, negative_weight, candidates),
        blocks.epoch,
        n_rows=len(blocks),
        what="positives",
        loss_key=(
            "users",
            objective,
            n_items,
            negative_weight,
            None if candidates is None else hash(candidates.tobytes()),
        ),  # fmt: skip
        make_runner=lambda step: block_runner(
            step, n_block=n_block, compiled=n_steps > EAGER_MAX_STEPS, strategy=strategy
        ),
        n_steps=n_steps,
        xla=False,
        **{**settings, "batch_size": n_block},
    )
