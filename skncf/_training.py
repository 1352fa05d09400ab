"""The training loop: epochs of examples, negatives redrawn each epoch, fed to Keras.

Data flows one way: encoded pairs -> :class:`ImplicitExamples` or
:class:`ExplicitExamples` (one shuffled epoch of inputs, targets and weights at a time)
-> :func:`train`, which runs each epoch as one compiled TensorFlow loop over its batches
(:func:`epoch_runner`), computing the graph's logits from its variables
(:class:`~skncf._logits.CandidateLogits`) and updating them with Adam's fused kernel
(:class:`~skncf._adam.FusedAdam`), and records the loss.
"""

import functools
import time

import numpy as np
import tensorflow as tf

from ._adam import FusedAdam
from ._callbacks import EpochHooks
from ._logits import CandidateLogits
from ._sampling import SeenPairs


class ImplicitExamples:
    """Positives with weights; each epoch adds ``n_negatives`` fresh negatives per positive.

    Positives have target 1 and their weight, negatives target 0 and weight 1.
    """

    def __init__(self, users, items, weights, seen, n_negatives):
        self.users, self.items, self.weights = users, items, weights
        self.seen = SeenPairs(seen)
        self.n_negatives = n_negatives

    def epoch(self, rng):
        neg_users, neg_items = self.seen.draw_negatives(self.users, self.n_negatives, rng)
        users = np.concatenate([self.users, neg_users])
        items = np.concatenate([self.items, neg_items])
        targets = np.zeros(users.size, dtype=np.float32)
        targets[: self.users.size] = 1
        weights = np.ones(users.size, dtype=np.float32)
        weights[: self.users.size] = self.weights
        return _shuffled(rng, users, items, targets, weights)

    def __len__(self):
        return self.users.size * (1 + self.n_negatives)


class ExplicitExamples:
    """Rated pairs with targets already scaled to [0, 1]."""

    def __init__(self, users, items, targets, weights):
        self.arrays = (users, items, targets.astype(np.float32), weights.astype(np.float32))

    def __len__(self):
        return len(self.arrays[0])

    def epoch(self, rng):
        return _shuffled(rng, *self.arrays)


def _shuffled(rng, *arrays):
    order = rng.permutation(len(arrays[0]))
    return tuple(a[order] for a in arrays)


# Up to this many gradient steps in all, running eagerly (~0.1 s a step) beats tracing
# the training graph (~2 s once per fit).
EAGER_MAX_STEPS = 16


def epoch_runner(step, *, batch_size, compiled):
    """Return ``run(arrays, per_step=())``, one epoch of ``step``; it returns the mean loss.

    ``arrays`` (same length) are cut into consecutive batches of ``batch_size`` rows;
    ``per_step`` arrays have one entry per batch (e.g. the items drawn for a batch).
    ``step(batch, extra)`` trains on one batch and returns its mean loss. Compiled, the
    whole epoch is one TensorFlow call, so no Python runs between steps: at batch 256 that
    overhead, not arithmetic, is what bounds Keras' ``Model.fit``.
    """

    def run_epoch(arrays, per_step):
        n = tf.shape(arrays[0])[0]

        def one_step(s, total):
            start = s * batch_size
            batch = tuple(x[start : start + batch_size] for x in arrays)
            loss = step(batch, tuple(x[s] for x in per_step))
            return s + 1, total + loss * tf.cast(tf.shape(batch[0])[0], tf.float32)

        n_steps = (n + batch_size - 1) // batch_size
        _, total = tf.while_loop(
            lambda s, total: s < n_steps, one_step, (tf.constant(0), tf.constant(0.0))
        )
        return total / tf.cast(n, tf.float32)

    if compiled:
        # autograph=False: the loop is explicit, and converting Keras' code costs seconds
        # of tracing per fit. A partial gives each fit's function its own call statistics,
        # so that many fits in one process (a grid search) do not warn about retracing.
        run_epoch = tf.function(
            functools.partial(run_epoch), reduce_retracing=True, autograph=False
        )

    def run(arrays, per_step=()):
        return float(run_epoch(_tensors(arrays), _tensors(per_step)))

    return run


def _tensors(arrays):
    return tuple(tf.convert_to_tensor(x) for x in arrays)


def pair_step(logits_of, optimizer, feedback):
    """A step on (user, item, target, weight) rows: log loss, or squared error of ratings.

    The loss is the weighted mean over the batch, as Keras' ``binary_crossentropy`` and
    ``mean_squared_error`` with ``sample_weight`` compute it, plus the graph's L2 terms.
    """

    def step(batch, extra):
        users, items, targets, weights = batch
        with tf.GradientTape() as tape:
            user, item = logits_of.user_side(users, True), logits_of.item_side(items, True)
            logits = logits_of.pairs(user, item, True)
            if feedback == "implicit":
                per_row = tf.nn.sigmoid_cross_entropy_with_logits(targets, logits)
            else:
                per_row = tf.square(tf.sigmoid(logits) - targets)
            loss = tf.reduce_mean(weights * per_row)
            total = loss + logits_of.penalty(users, items)
        optimizer.apply(tape.gradient(total, logits_of.variables))
        return loss

    return step


def run_training(model, architecture, make_step, next_epoch, *, n_rows, what, **settings):
    """The loop both losses share: set up logits and Adam, run and record the epochs.

    ``make_step(logits_of, optimizer)`` returns the step for :func:`epoch_runner`;
    ``next_epoch(rng)`` returns one epoch's ``(arrays, per_step)``; ``n_rows`` rows of
    ``what`` (e.g. "examples") make an epoch. ``settings`` are ``epochs``,
    ``batch_size``, ``learning_rate``, ``lazy_adam``, ``dropout``, ``l2``, ``rng``,
    ``verbose``, ``callbacks`` (Keras callbacks) and ``validation`` (a
    :class:`~skncf._callbacks.Validation` or None); see :class:`~skncf._callbacks.EpochHooks`.

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite, e.g. with a far too large learning rate.
    """
    epochs, batch_size, rng = settings["epochs"], settings["batch_size"], settings["rng"]
    logits_of = CandidateLogits(
        model,
        architecture,
        dropout=settings["dropout"],
        l2=settings["l2"],
        seed=int(rng.integers(2**31 - 1)),
    )
    optimizer = FusedAdam(
        logits_of.variables, settings["learning_rate"], lazy=settings["lazy_adam"]
    )
    run = epoch_runner(
        make_step(logits_of, optimizer),
        batch_size=batch_size,
        compiled=epochs * -(-n_rows // batch_size) > EAGER_MAX_STEPS,
    )
    hooks = EpochHooks(model, settings["callbacks"], settings["validation"], epochs)
    history: dict[str, list[float]] = {"loss": []}
    hooks.train_begin()
    for epoch in range(epochs):
        tic = time.perf_counter()
        hooks.epoch_begin(epoch)
        loss = run(*next_epoch(rng))
        check_loss(loss, epoch)
        logs = hooks.epoch_end(epoch, loss)
        record_epoch(history, logs, epoch, epochs, f"{n_rows} {what}", tic, settings["verbose"])
        if hooks.stop:
            break
    hooks.train_end()
    return history


def train(model, architecture, examples, *, feedback, **settings):
    """Train ``model`` on ``examples`` (log loss or ratings); return the history dict.

    ``settings`` as for :func:`run_training`.
    """

    def next_epoch(rng):
        users, items, targets, weights = examples.epoch(rng)
        return (users.astype(np.int32), items.astype(np.int32), targets, weights), ()

    return run_training(
        model,
        architecture,
        lambda logits_of, optimizer: pair_step(logits_of, optimizer, feedback),
        next_epoch,
        n_rows=len(examples),
        what="examples",
        **settings,
    )


def check_loss(loss, epoch):
    """Raise if an epoch's loss is not finite.

    Raises
    ------
    FloatingPointError
        If the loss is NaN or infinite, e.g. with a far too large learning rate.
    """
    if not np.isfinite(loss):
        raise FloatingPointError(
            f"the training loss became {loss} in epoch {epoch + 1}; lower learning_rate "
            "(or check the weights in y / sample_weight). The estimator was not changed."
        )


def record_epoch(history, logs, epoch, epochs, what, started, verbose):
    """Append an epoch's ``logs`` (loss, validation scores) to ``history``; report them."""
    for key, value in logs.items():
        history.setdefault(key, []).append(float(value))
    if verbose:
        scores = "".join(f" - {key} {value:.4f}" for key, value in logs.items())
        print(
            f"epoch {epoch + 1}/{epochs}{scores} - {what} - {time.perf_counter() - started:.1f}s",
            flush=True,
        )
