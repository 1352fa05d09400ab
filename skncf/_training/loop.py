"""The training loop: epochs of examples, negatives redrawn each epoch, fed to Keras.

Data flows one way: encoded pairs -> :class:`ImplicitExamples` or
:class:`ExplicitExamples` (one shuffled epoch of inputs, targets and weights at a time)
-> :func:`train`, which runs each epoch as one compiled TensorFlow loop over its batches
(:func:`epoch_runner`), computing the graph's logits from its variables
(:class:`~skncf._graph.logits.CandidateLogits`) and updating them with Adam's fused kernel
(:class:`~skncf._training.adam.FusedAdam`), and records the loss.
"""

import contextlib
import functools
import os
import time

import numpy as np
import tensorflow as tf

from .._compat import debugging_ops_on
from .._data.sampling import SeenPairs
from .._distribute import all_reduce_sum
from .._graph.logits import CandidateLogits, mean_over
from .adam import FusedAdam
from .callbacks import EpochHooks
from .programs import Program, program_for


class ImplicitExamples:
    """Positives with weights; each epoch adds ``n_negatives`` fresh negatives per positive.

    Positives have target 1 and their weight, negatives target 0 and weight 1.
    Negatives are drawn from ``candidates`` (item codes; None: every item).
    """

    def __init__(self, users, items, weights, seen, n_negatives, candidates=None):
        self.users, self.items, self.weights = users, items, weights
        self.seen = SeenPairs(seen, bitmap=True, candidates=candidates)
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


def epoch_runner(step, *, batch_size, compiled, strategy=None):
    """Return ``run(arrays, per_step=())``, one epoch of ``step``; it returns the mean loss.

    ``arrays`` (same length) are cut into consecutive batches of ``batch_size`` rows;
    ``per_step`` arrays have one entry per batch (e.g. the items drawn for a batch).
    ``step(batch, extra, share)`` trains on one batch and returns its mean loss. Compiled,
    the whole epoch is one TensorFlow call, so no Python runs between steps: at batch 256
    that overhead, not arithmetic, is what bounds Keras' ``Model.fit``.

    Under a ``tf.distribute.Strategy`` (see :mod:`skncf._distribute`) each batch is the
    global batch: every replica trains on its own consecutive slice of it, with ``share``
    its fraction of the batch's rows (None without a strategy).
    """

    def run_epoch(arrays, per_step):
        n = tf.shape(arrays[0])[0]

        def one_step(s, total):
            start = s * batch_size
            batch = tuple(x[start : start + batch_size] for x in arrays)
            extra = tuple(x[s] for x in per_step)
            if strategy is None:
                loss = step(batch, extra, None)
            else:
                loss = strategy.reduce(
                    "SUM", strategy.run(_replica_step(step), (batch, extra)), axis=None
                )
            return s + 1, total + loss * tf.cast(tf.shape(batch[0])[0], tf.float32)

        n_steps = (n + batch_size - 1) // batch_size
        if strategy is not None:
            n_steps = replica_steps(n, batch_size, strategy.num_replicas_in_sync)
            n = tf.minimum(n, n_steps * batch_size)
        _, total = tf.while_loop(
            lambda s, total: s < n_steps, one_step, (tf.constant(0), tf.constant(0.0))
        )
        return total / tf.cast(n, tf.float32)

    if compiled or strategy is not None:
        # autograph=False: the loop is explicit, and converting Keras' code costs seconds
        # of tracing per fit. A partial gives each fit's function its own call statistics,
        # so that many fits in one process (a grid search) do not warn about retracing.
        run_epoch = tf.function(
            functools.partial(run_epoch), reduce_retracing=True, autograph=False
        )

    def run(arrays, per_step=()):
        return float(run_epoch(_tensors(arrays), _tensors(per_step)))

    return run


# XLA fuses a step's small element-wise operations and runs the loop without TensorFlow's
# executor between them: about 1.3-2x the examples/s of the plain compiled loop on
# ml1m-sized tables (benchmarks/README.md as of 5364ef8, "XLA"), saving 0.4 ms a step at
# batch 256 (seed, NeuMF log loss; 3.7 ms with GMF's full softmax), for the price of
# compiling the epoch once per fit: 0.7-1.6 s more than tracing the plain loop. That pays
# from about 2,400 (seed) to 3,600 (NeuMF) steps.
XLA_MIN_STEPS = 3_000


def xla_epoch_runner(step, *, batch_size):
    """:func:`epoch_runner`'s ``run``, the epoch compiled by XLA (``jit_compile``).

    XLA needs static shapes: the epoch runs as one computation over its arrays cut into a
    (steps, batch_size) stack, the last batch padded to ``batch_size`` with rows from the
    start of the epoch. ``step`` gets, as its ``rows`` argument, the batch's mask of real
    rows (1.0) and padding (0.0), and must leave the padding out of its loss and
    gradients, as :func:`pair_loss` and the softmax loss do through
    :func:`~skncf._graph.logits.mean_over`. Steps and loss are then those of
    :func:`epoch_runner`; random draws inside ``step`` must use an algorithm XLA runs
    fast (see :class:`~skncf._graph.logits.CandidateLogits`).
    """

    def run_steps(batches, per_step, masks):
        def one_step(s, total):
            batch = tuple(tf.gather(x, s) for x in batches)
            rows = tf.gather(masks, s)
            loss = step(batch, tuple(tf.gather(x, s) for x in per_step), None, rows)
            return s + 1, total + loss * tf.reduce_sum(rows)

        n_steps = tf.shape(batches[0])[0]
        _, total = tf.while_loop(
            lambda s, total: s < n_steps, one_step, (tf.constant(0), tf.constant(0.0))
        )
        return total

    run_steps = tf.function(
        functools.partial(run_steps), reduce_retracing=True, autograph=False, jit_compile=True
    )

    def run(arrays, per_step=()):
        n_rows = len(arrays[0])
        n_steps = -(-n_rows // batch_size)
        padding = np.arange(n_steps * batch_size - n_rows) % n_rows
        batches = tuple(
            np.concatenate([x, x[padding]]).reshape(n_steps, batch_size, *x.shape[1:])
            for x in arrays
        )
        masks = (np.arange(n_steps * batch_size) < n_rows).astype(np.float32)
        masks = masks.reshape(n_steps, batch_size)
        total = run_steps(_tensors(batches), _tensors(per_step), tf.convert_to_tensor(masks))
        return float(total) / n_rows

    return run


def xla_allowed():
    """Whether the environment variable ``SKNCF_XLA`` allows XLA: "1" (default) or "0".

    Each setting or data size compiled by XLA keeps 5-10 MiB of compiled code until the
    process ends (TensorFlow's compilation cache never evicts; refits of the same one
    reuse it, see :mod:`skncf._training.programs`), so a process running hundreds of long fits
    on data of many sizes may prefer ``SKNCF_XLA=0``: the plain loop, without that memory.

    Raises
    ------
    ValueError
        If ``SKNCF_XLA`` is set to anything else.
    """
    value = os.environ.get("SKNCF_XLA", "1")
    if value not in ("0", "1"):
        raise ValueError(f"the environment variable SKNCF_XLA must be '0' or '1', got {value!r}.")
    return value == "1"


@functools.cache
def xla_available():
    """Whether TensorFlow can compile with XLA here (False e.g. on builds without it)."""
    try:
        tf.function(lambda x: x + 1, jit_compile=True)(tf.constant(0))
    except (tf.errors.OpError, NotImplementedError, ValueError):
        return False
    return True


def replica_steps(n_rows, batch_size, n_replicas):
    """Batches in an epoch of ``n_rows`` when each of ``n_replicas`` needs a row of each.

    A last batch smaller than the number of replicas is left out of the epoch (at most
    ``n_replicas - 1`` rows, and another draw of them next epoch).
    """
    full, rest = n_rows // batch_size, n_rows % batch_size
    return full + tf.cast(rest >= n_replicas, full.dtype)


def _replica_step(step):
    """``step`` on this replica's consecutive slice of the global batch; its loss share."""

    def on_replica(batch, extra):
        context = tf.distribute.get_replica_context()
        replica, n_replicas = context.replica_id_in_sync_group, context.num_replicas_in_sync
        n = tf.shape(batch[0])[0]
        start, stop = replica * n // n_replicas, (replica + 1) * n // n_replicas
        share = tf.cast(stop - start, tf.float32) / tf.cast(n, tf.float32)
        return share * step(tuple(x[start:stop] for x in batch), extra, share)

    return on_replica


def _tensors(arrays):
    return tuple(tf.convert_to_tensor(x) for x in arrays)


def pair_loss(logits_of, feedback):
    """Loss on (user, item, target, weight) rows: log loss, or squared error of ratings.

    Returns ``loss(batch, extra, rows=None) -> (mean loss, objective)``: the weighted
    mean over the batch's real rows (see :func:`~skncf._graph.logits.mean_over`), as Keras'
    ``binary_crossentropy`` and ``mean_squared_error`` with ``sample_weight`` compute it,
    and that plus the graph's L2 terms.
    """

    def loss(batch, extra, rows=None):
        users, items, targets, weights = batch
        user, item = logits_of.user_side(users, True), logits_of.item_side(items, True)
        logits = logits_of.pairs(user, item, True)
        if feedback == "implicit":
            per_row = tf.nn.sigmoid_cross_entropy_with_logits(targets, logits)
        else:
            per_row = tf.square(tf.sigmoid(logits) - targets)
        mean = mean_over(weights * per_row, rows)
        return mean, mean + logits_of.penalty(users, items, rows)

    return loss


def gradient_step(loss, variables, optimizer):
    """A step of ``optimizer`` on ``loss(batch, extra, rows)``'s objective; returns its mean loss.

    With a ``share`` (under a strategy, see :func:`epoch_runner`) the objective is scaled
    by it and the gradients summed over the replicas, which makes them the gradients of
    the global batch's objective, whatever the split.
    """

    def step(batch, extra, share, rows=None):
        with tf.GradientTape() as tape:
            mean, objective = loss(batch, extra, rows)
            if share is not None:
                objective = objective * share
        gradients = tape.gradient(objective, variables)
        if share is not None:
            gradients = all_reduce_sum(gradients, keep_sparse=optimizer.lazy)
        optimizer.apply(gradients)
        return mean

    return step


def run_training(model, architecture, make_loss, next_epoch, *, n_rows, what, loss_key, **settings):
    """The loop both losses share: set up logits and Adam, run and record the epochs.

    ``make_loss(logits_of)`` returns the loss for :func:`gradient_step`, and
    ``loss_key`` (hashable) names it and its settings, so that a fit compiled by XLA
    can run the program of an earlier fit of the same loss and shapes (see
    :mod:`skncf._training.programs`); ``next_epoch(rng)`` returns one epoch's ``(arrays,
    per_step)``; ``n_rows`` rows of ``what`` (e.g. "examples") make an epoch.
    ``settings`` are ``epochs``, ``batch_size``, ``learning_rate``, ``lazy_adam``,
    ``dropout``, ``l2``, ``rng``, ``verbose``, ``callbacks`` (Keras callbacks),
    ``validation`` (a :class:`~skncf._training.callbacks.Validation` or None; see
    :class:`~skncf._training.callbacks.EpochHooks`) and optionally ``strategy`` (a
    ``tf.distribute.Strategy`` whose scope ``model`` was built in, or None) and ``xla``
    (default True: compile fits of at least ``XLA_MIN_STEPS`` steps with XLA, see
    :func:`xla_epoch_runner`, where no strategy, lazy Adam or :func:`xla_allowed` rules
    it out), ``make_runner`` (``make_runner(step)`` returns the epoch's ``run`` in place
    of :func:`epoch_runner`'s, for batches that are not consecutive rows, as
    :mod:`skncf._training.by_user`'s blocks) and ``n_steps`` (the fit's steps, when not
    ``epochs * ceil(n_rows / batch_size)``).

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite, e.g. with a far too large learning rate.
    ValueError
        If a strategy has more replicas than there are rows to train on, or
        ``SKNCF_XLA`` is neither "0" nor "1".
    """
    strategy = settings.get("strategy")
    if strategy is not None and n_rows < strategy.num_replicas_in_sync:
        raise ValueError(
            f"distribute has {strategy.num_replicas_in_sync} replicas but the data only "
            f"{n_rows} {what} to train on; each replica needs at least one."
        )
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        return _run_epochs(
            model, architecture, make_loss, next_epoch, n_rows, what, loss_key, settings
        )


def _run_epochs(model, architecture, make_loss, next_epoch, n_rows, what, loss_key, settings):
    epochs, batch_size, rng = settings["epochs"], settings["batch_size"], settings["rng"]
    strategy = settings.get("strategy")
    n_steps = settings.get("n_steps", epochs * -(-n_rows // batch_size))
    make_runner = settings.get("make_runner")
    xla = (
        xla_allowed()  # first: a bad SKNCF_XLA fails every fit, not only long ones
        and settings.get("xla", True)
        and n_steps >= XLA_MIN_STEPS
        and strategy is None  # replicas' collectives and lazy Adam's tf.unique: no XLA
        and not settings["lazy_adam"]
        # a debugging session's run_functions_eagerly(True) runs functions op by op, and
        # TensorFlow's own kernels lack XLA's ThreeFry, which the compiled dropout draws;
        # check_numerics' ops have no XLA kernels
        and not tf.config.functions_run_eagerly()
        and not debugging_ops_on()
        and xla_available()
    )
    seed = int(rng.integers(2**31 - 1))

    def build(graph):
        logits_of = CandidateLogits(
            graph,
            dropout=settings["dropout"],
            l2=settings["l2"],
            seed=seed,
            rng_alg="threefry" if xla else None,
        )
        optimizer = FusedAdam(
            logits_of.variables, settings["learning_rate"], lazy=settings["lazy_adam"]
        )
        step = gradient_step(make_loss(logits_of), logits_of.variables, optimizer)
        if xla:
            return logits_of, optimizer, xla_epoch_runner(step, batch_size=batch_size)
        if make_runner is not None:
            return logits_of, optimizer, make_runner(step)
        run = epoch_runner(
            step, batch_size=batch_size, compiled=n_steps > EAGER_MAX_STEPS, strategy=strategy
        )
        return logits_of, optimizer, run

    if xla:
        # everything the compiled epoch depends on but the weights' values and the data
        key = (
            architecture,
            tuple((w.path, tuple(w.shape), str(w.dtype)) for w in model.weights),
            settings["dropout"],
            settings["l2"],
            batch_size,
            loss_key,
        )
        programs: contextlib.AbstractContextManager[Program] = program_for(model, key, build)
    else:
        programs = contextlib.nullcontext(Program(model, build))
    history: dict[str, list[float]] = {"loss": []}
    with programs as program:
        if xla:  # a kept program may come from an earlier fit
            program.restart(seed, settings["learning_rate"])
        hooks = EpochHooks(
            model, settings["callbacks"], settings["validation"], epochs, program.optimizer,
            steps=n_steps // epochs,
        )  # fmt: skip
        what_ran = f"{n_rows} {what}"
        with hooks.training() as first_epoch:
            for epoch in range(first_epoch, epochs):
                tic = time.perf_counter()
                hooks.epoch_begin(epoch)
                loss = program.epoch(model, *next_epoch(rng))
                check_loss(loss, epoch)
                logs = hooks.epoch_end(epoch, loss)
                record_epoch(history, logs, epoch, epochs, what_ran, tic, settings["verbose"])
                if hooks.stop:
                    break
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
        lambda logits_of: pair_loss(logits_of, feedback),
        next_epoch,
        n_rows=len(examples),
        what="examples",
        loss_key=("pairs", feedback),
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
        seconds = time.perf_counter() - started  # epochs by users often take 0.01-0.1 s
        print(f"epoch {epoch + 1}/{epochs}{scores} - {what} - {seconds:.2f}s", flush=True)
