"""The training loop: epochs of examples, negatives redrawn each epoch, fed to Keras.

Data flows one way: encoded pairs -> :class:`ImplicitExamples` or
:class:`ExplicitExamples` (one shuffled epoch of inputs, targets and weights at a time)
-> :func:`train`, which runs Keras on each epoch and records the loss.
"""

import time

import keras
import numpy as np

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


def compile_graph(model, *, feedback, learning_rate, total_steps):
    """Compile with Adam and the loss of the feedback kind.

    XLA is off: on CPU it trains no faster here and costs seconds of compilation per fit.
    Fits of few steps in all run eagerly, which skips the graph tracing.
    """
    loss = "binary_crossentropy" if feedback == "implicit" else "mean_squared_error"
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=loss,
        jit_compile=False,
        run_eagerly=total_steps <= EAGER_MAX_STEPS,
    )


def train(model, examples, *, epochs, batch_size, rng, verbose):
    """Train ``model`` for ``epochs`` epochs and return the history dict.

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite, e.g. with a far too large learning rate.
    """
    history = {"loss": []}
    for epoch in range(epochs):
        tic = time.perf_counter()
        users, items, targets, weights = examples.epoch(rng)
        result = model.fit(
            [users[:, None].astype(np.int32), items[:, None].astype(np.int32)],
            targets,
            sample_weight=weights,
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        loss = float(result.history["loss"][0])
        record_epoch(history, loss, epoch, epochs, f"{len(targets)} examples", tic, verbose)
    return history


def record_epoch(history, loss, epoch, epochs, what, started, verbose):
    """Append an epoch's loss to ``history`` (after checking it) and report it if verbose.

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
    history["loss"].append(loss)
    if verbose:
        print(
            f"epoch {epoch + 1}/{epochs} - loss {loss:.4f} - {what} - "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
