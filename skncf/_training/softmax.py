"""Softmax training: each positive competes against the item catalog, not a few negatives.

The log loss of the NCF paper scores each positive and a handful of sampled negatives
independently. The softmax loss instead normalises a user's scores over items: for a batch
of positives ``(u, i)`` it is the cross-entropy of ``i`` among all items (``"full"``), or
among ``i`` and ``n`` items drawn uniformly for the batch (``"sampled"``, with the usual
``log(n_items / n)`` correction of the drawn items' logits). It trains for the ranking
that recommenders are judged on, and the full version needs no negative sampling at all.

:class:`~skncf._graph.logits.CandidateLogits` computes the logits of a batch of users against
the candidates from the Keras graph's own variables; epochs run as in
:mod:`skncf._training.loop`, one compiled loop each, with Adam's fused kernel.
"""

import numpy as np
import tensorflow as tf

from .._graph.logits import mean_over
from .loop import run_training


def softmax_loss(logits_of, n_items, n_sampled, candidates=None):
    """The loss of a batch of positives: ``loss(batch, extra, rows) -> (mean, objective)``.

    ``n_sampled`` None means the full softmax over all ``n_items``, or over
    ``candidates`` (sorted item codes) if given; otherwise the step gets, as its one
    extra input, ``n_sampled`` items drawn uniformly (with replacement) from them for
    the batch and shared by its positives. The objective adds the graph's L2 terms.
    ``rows`` masks a padded batch's real rows (see :func:`skncf._graph.logits.mean_over`).
    """
    columns = tf.range(n_items) if candidates is None else tf.constant(candidates, tf.int32)
    n_columns = n_items if candidates is None else len(candidates)
    correction = 0.0 if n_sampled is None else float(np.log(n_columns / n_sampled))

    def loss(batch, extra, rows=None):
        users, items, weights = batch
        user = logits_of.user_side(users, True)
        if n_sampled is None:
            logits = logits_of.cross(user, logits_of.item_side(columns, True), True)
            labels = items if candidates is None else tf.searchsorted(columns, items)
            per_row = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        else:
            (sampled,) = extra
            positive = logits_of.pairs(user, logits_of.item_side(items, True), True)
            others = logits_of.cross(user, logits_of.item_side(sampled, True), True)
            others = tf.where(sampled[None, :] == items[:, None], -np.inf, others)
            logits = tf.concat([positive[:, None], others + correction], 1)
            per_row = tf.reduce_logsumexp(logits, 1) - positive
        mean = mean_over(weights * per_row, rows)
        return mean, mean + logits_of.penalty(users, items, rows)

    return loss


def train_softmax(
    model, architecture, positives, *, n_items, n_sampled, candidates=None, **settings
):
    """Train ``model`` with the softmax loss and return the history dict.

    ``positives`` is ``(users, items, weights)`` of the merged positive pairs;
    ``candidates`` the item codes to normalise over (None: all; see
    :func:`skncf._training.by_user.train_by_users`); ``settings`` as for
    :func:`skncf._training.loop.run_training`.

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite.
    """
    users, items, weights = positives
    n_steps = -(-len(users) // settings["batch_size"])
    n_columns = n_items if candidates is None else len(candidates)

    def next_epoch(rng):
        order = rng.permutation(len(users))
        per_step: tuple[np.ndarray, ...] = ()
        if n_sampled is not None:
            drawn = rng.integers(0, n_columns, size=(n_steps, n_sampled), dtype=np.int32)
            per_step = (drawn if candidates is None else candidates[drawn],)
        arrays = (
            users[order].astype(np.int32),
            items[order].astype(np.int32),
            weights[order].astype(np.float32),
        )
        return arrays, per_step

    return run_training(
        model,
        architecture,
        lambda logits_of: softmax_loss(logits_of, n_items, n_sampled, candidates),
        next_epoch,
        n_rows=len(users),
        what="positives",
        loss_key=(
            "softmax",
            n_items,
            n_sampled,
            None if candidates is None else hash(candidates.tobytes()),
        ),  # fmt: skip
        # An MLP tower runs on every (user, candidate) pair, a step bound by the memory
        # traffic of its intermediates; XLA made NeuMF's steps 5-13% slower, not faster.
        xla=settings.pop("xla", True) and architecture in ("gmf", "seed"),
        **settings,
    )
