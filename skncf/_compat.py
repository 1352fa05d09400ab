"""The private scikit-learn, Keras and TensorFlow details skncf relies on, in one module.

A change in one of those libraries' private API then touches this file alone.
"""

import contextlib
import os

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "allow_callbacks",
    "backing_variable",
    "check_keras_backend",
    "debugging_ops_on",
    "without_debugging_ops",
    "fit_context",
    "resumed_epoch",
    "seed_state",
]


def check_keras_backend():
    """Import Keras, or raise an ImportError that says how, unless it runs on TensorFlow.

    skncf's graphs, training loop and export are TensorFlow's. Keras 3 takes its backend
    from ``KERAS_BACKEND``, else ``~/.keras/keras.json``, when it is first imported: a
    user of JAX or PyTorch may have chosen another, and would otherwise meet a failure
    deep inside a fit (or Keras' own "No module named 'jax'").
    """
    chosen = os.environ.get("KERAS_BACKEND")
    try:
        import keras
    except ImportError as error:
        if chosen in (None, "tensorflow"):
            raise
        raise ImportError(_backend_advice(chosen)) from error
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ImportError(_backend_advice(backend))


def _backend_advice(backend):
    return (
        f"skncf needs Keras' TensorFlow backend, but Keras is set to {backend!r} "
        "(KERAS_BACKEND, or ~/.keras/keras.json): set the environment variable "
        "KERAS_BACKEND=tensorflow before Keras is first imported."
    )


def backing_variable(variable):
    """The ``tf.Variable`` under a Keras 3 variable (TensorFlow backend).

    Training reads embedding rows from it by resource gathers and updates it with
    TensorFlow's resource ops (``ResourceApplyAdam``, scatters): reading the Keras variable
    would read the whole table as a tensor first.
    """
    return variable.value


def seed_state(generator):
    """The state variable of a ``keras.random.SeedGenerator`` (a pair of integers)."""
    return generator.state


def allow_callbacks(model):
    """Let Keras callbacks that look up ``model.optimizer`` run on an uncompiled model."""
    if not hasattr(model, "optimizer"):  # TensorBoard does; skncf trains with its own Adam
        model.optimizer = None


def resumed_epoch(model):
    """The epoch a callback asked training to resume at, else 0, cleared for the next fit.

    Keras' ``BackupAndRestore`` sets ``model._initial_epoch`` in ``on_train_begin`` when it
    restores the weights of an interrupted fit; ``Model.fit`` reads it the same way.
    """
    epoch = getattr(model, "_initial_epoch", None) or 0
    model._initial_epoch = None
    return int(epoch)


def debugging_ops_on():
    """Whether TensorFlow adds debugging ops to the graphs this thread builds.

    ``tf.debugging.enable_check_numerics()`` and
    ``tf.debugging.experimental.enable_dump_debug_info()`` register op callbacks that put
    their own ops after every op of a traced function; XLA has no kernels for them
    (``DebugNumericSummaryV2``), so a function that must compile would fail.
    """
    from tensorflow.python.framework import op_callbacks

    return bool(op_callbacks.should_invoke_op_callbacks())


@contextlib.contextmanager
def without_debugging_ops():
    """Functions traced here get no debugging ops, whatever this thread has turned on.

    Op callbacks are left out while it runs and put back after, so that a SavedModel
    written in a session that checks numerics does not keep the checks: they would fail
    its every ``recommend`` call, whose seen items are masked with ``-inf``.
    """
    from tensorflow.python.eager import context
    from tensorflow.python.framework import op_callbacks

    callbacks = list(context.context().op_callbacks)
    for callback in callbacks:
        op_callbacks.remove_op_callback(callback)
    try:
        yield
    finally:
        for callback in callbacks:
            op_callbacks.add_op_callback(callback)
