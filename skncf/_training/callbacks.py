"""Keras callbacks and validation around skncf's own epoch loop.

Training runs each epoch as one compiled TensorFlow call (:mod:`skncf._training.loop`), not
through ``Model.fit``, so :class:`EpochHooks` plays ``Model.fit``'s part for callbacks:
a ``keras.callbacks.CallbackList`` bound to the graph gets ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end(epoch, logs)`` and ``on_train_end``, and training stops
when a callback sets ``model.stop_training``, as Keras' ``EarlyStopping`` does. ``logs``
holds ``loss`` and, with a validation set, ``val_ndcg@10`` (implicit feedback, full
ranking) or ``val_r2`` (ratings). While training, ``model.optimizer`` is an
:class:`OptimizerView` of skncf's Adam: its ``learning_rate``, which Keras'
``LearningRateScheduler`` and ``ReduceLROnPlateau`` read and set, and ``iterations``, the
steps so far (TensorBoard's steps per second). Batch-level hooks are not called, as an
epoch runs as one compiled call. The validation set
comes from ``fit(..., validation_data=...)`` or from the data stage's held-out rows
(:func:`skncf._data.interactions.validation_rows`: one random positive per user, for
``validation_fraction``).
"""

import contextlib
import copy
import io
import pickle

import keras
from sklearn.metrics import r2_score

from .._compat import allow_callbacks, resumed_epoch
from .._serving.ranking import full_ranks, ndcg_gains
from .._serving.scoring import Scorer, sigmoid

VALIDATION_K = 10


class Validation:
    """Scores a graph on held-out pairs after each epoch.

    Implicit: the mean NDCG@10 of each held-out pair's item ranked among the items its
    user did not see in training, less its other held-out items (as
    ``NCFRecommender.score``). Explicit: the R^2 of the
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


class OptimizerView:
    """What Keras callbacks read and set of a model's optimizer, over skncf's Adam.

    ``learning_rate`` reads and assigns the rate variable that the compiled steps read,
    so that a rate set between epochs (``LearningRateScheduler``, ``ReduceLROnPlateau``)
    is the next epoch's; ``iterations`` counts the steps taken.

    Parameters
    ----------
    adam : skncf._training.adam.FusedAdam
    """

    built = True  # its variables exist: BackupAndRestore would build a Keras optimizer's

    def __init__(self, adam):
        self._adam = adam

    @property
    def learning_rate(self):
        return float(self._adam.learning_rate.numpy())

    @learning_rate.setter
    def learning_rate(self, value):
        self._adam.learning_rate.assign(float(value))

    @property
    def iterations(self):
        return self._adam.iterations


class EpochHooks:
    """Callbacks and validation of one training run of ``graph``.

    Parameters
    ----------
    graph : keras.Model
    callbacks : list of keras.callbacks.Callback
    validation : Validation or None
    epochs : int
    adam : skncf._training.adam.FusedAdam
        The optimizer that trains ``graph``, shown to the callbacks as ``graph.optimizer``
        while training (:class:`OptimizerView`).
    steps : int
        Steps an epoch takes, which Keras' ``ProgbarLogger`` shows at each epoch's end
        (given among the callbacks, it prints: ``params["verbose"]`` is 1).
    """

    def __init__(self, graph, callbacks, validation, epochs, adam, *, steps):
        self.graph, self.validation, self.adam = graph, validation, adam
        allow_callbacks(graph)
        self.logs = _LogsSeen()  # last, as Model.fit's History: logs the others added too
        self.callbacks = keras.callbacks.CallbackList(
            [*callbacks, self.logs], model=graph, epochs=epochs, steps=steps, verbose=1
        )

    @contextlib.contextmanager
    def training(self):
        """Call the callbacks' ``on_train_begin``, then ``on_train_end`` if training ends
        without an error; ``graph.optimizer`` is the view of Adam in between, None after.

        Yields the first epoch to run: 0, or where a callback that restored an
        interrupted fit's weights (``BackupAndRestore``) says it stopped.
        """
        self.graph.optimizer = OptimizerView(self.adam)
        try:
            self.graph.stop_training = False
            self.callbacks.on_train_begin()
            yield resumed_epoch(self.graph)
            self.callbacks.on_train_end()
        finally:
            self.graph.optimizer = None

    def epoch_begin(self, epoch):
        self.callbacks.on_epoch_begin(epoch)

    def epoch_end(self, epoch, loss):
        """Validate, call the callbacks; return the epoch's logs, with what callbacks added
        (``learning_rate``, from Keras' learning-rate callbacks)."""
        logs = {"loss": loss}
        if self.validation is not None:
            logs[self.validation.name] = self.validation(self.graph)
        self.callbacks.on_epoch_end(epoch, logs)
        return self.logs.seen

    @property
    def stop(self):
        return bool(self.graph.stop_training)


class _LogsSeen(keras.callbacks.Callback):
    """Keeps the logs of the last epoch's end, as the callbacks before it left them."""

    def on_epoch_end(self, epoch, logs=None):
        self.seen = dict(logs or {})


# what copying or pickling a callback that holds a file, a writer or a lock raises
_CANNOT_COPY = (TypeError, ValueError, RuntimeError, AttributeError, pickle.PicklingError)


def copied_or_shared(callback):
    """A deep copy of ``callback`` for a clone of the estimator, or the callback itself
    if it cannot be copied (a CSVLogger or TensorBoard that ran holds a file or writers):
    Keras callbacks reset in ``on_train_begin``, so that one serves fit after fit, and
    scikit-learn passes its own callbacks to clones by reference alike. A copy is not
    bound to the graph the callback last trained (an unfitted clone has none)."""
    try:
        return copy.deepcopy(callback, {id(callback.model): None})
    except _CANNOT_COPY:
        return callback


def picklable(callbacks):
    """``(kept, dropped)``: the callbacks that pickle, and the others' class names.

    The graph a callback is bound to is left out of the trial (the estimator pickles it
    anyway), which would cost a second pickling of every weight.
    """
    kept, dropped = [], []
    for callback in callbacks:
        try:
            _GraphsAside(io.BytesIO()).dump(callback)
        except _CANNOT_COPY:
            dropped.append(type(callback).__name__)
        else:
            kept.append(callback)
    return kept, dropped


class _GraphsAside(pickle.Pickler):
    def persistent_id(self, obj):
        return id(obj) if isinstance(obj, keras.Model) else None
