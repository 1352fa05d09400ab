"""Keras callbacks and validation around skncf's own epoch loop.

Training runs each epoch as one compiled TensorFlow call (:mod:`skncf._training.loop`), not
through ``Model.fit``, so :class:`EpochHooks` plays ``Model.fit``'s part for callbacks:
a ``keras.callbacks.CallbackList`` bound to the graph gets ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end(epoch, logs)`` and ``on_train_end``, and training stops
when a callback sets ``model.stop_training``, as Keras' ``EarlyStopping`` does. ``logs``
holds ``loss`` and, with a validation set, ``val_ndcg@10`` (implicit feedback, full
ranking) or ``val_r2`` (ratings). Callbacks that need ``Model.fit``'s internals (a
compiled optimizer, batch-level hooks) see only epoch-level events. The validation set
comes from ``fit(..., validation_data=...)`` or from the data stage's held-out rows
(:func:`skncf._data.interactions.validation_rows`: one random positive per user, for
``validation_fraction``).
"""

import keras
from sklearn.metrics import r2_score

from .._compat import allow_callbacks
from .._serving.ranking import full_ranks, ndcg_gains
from .._serving.scoring import Scorer, sigmoid

VALIDATION_K = 10


class Validation:
    """Scores a graph on held-out pairs after each epoch.

    Implicit: the mean NDCG@10 of each held-out pair's item ranked among the items its
    user did not see in training (as ``NCFRecommender.score``). Explicit: the R^2 of the
    predicted ratings. ``n_missed`` pairs that cannot be ranked (unknown ids) count as 0.
    """

    def __init__(self, users, items, *, seen=None, ratings=None, scale=(0, 1), n_missed=0):
        self.n_missed = n_missed
        self.users, self.items, self.seen = users, items, seen
        self.ratings, self.scale = ratings, scale
        self.name = "val_r2" if ratings is not None else f"val_ndcg@{VALIDATION_K}"

    def __call__(self, graph):
        scorer = Scorer(graph)
        if self.ratings is not None:
            offset, scale = self.scale
            predicted = offset + scale * sigmoid(scorer.pairs(self.users, self.items))
            return float(r2_score(self.ratings, predicted))
        ranks = full_ranks(scorer, self.seen, self.users, self.items)
        gains = ndcg_gains(ranks, VALIDATION_K)
        return float(gains.sum() / (len(gains) + self.n_missed))


class EpochHooks:
    """Callbacks and validation of one training run of ``graph``.

    Parameters
    ----------
    graph : keras.Model
    callbacks : list of keras.callbacks.Callback
    validation : Validation or None
    epochs : int
    """

    def __init__(self, graph, callbacks, validation, epochs):
        self.graph, self.validation = graph, validation
        allow_callbacks(graph)
        self.callbacks = keras.callbacks.CallbackList(
            list(callbacks), model=graph, epochs=epochs, verbose=0
        )

    def train_begin(self):
        self.graph.stop_training = False
        self.callbacks.on_train_begin()

    def epoch_begin(self, epoch):
        self.callbacks.on_epoch_begin(epoch)

    def epoch_end(self, epoch, loss):
        """Validate, call the callbacks; return the epoch's logs."""
        logs = {"loss": loss}
        if self.validation is not None:
            logs[self.validation.name] = self.validation(self.graph)
        self.callbacks.on_epoch_end(epoch, logs)
        return logs

    @property
    def stop(self):
        return bool(self.graph.stop_training)

    def train_end(self):
        self.callbacks.on_train_end()
