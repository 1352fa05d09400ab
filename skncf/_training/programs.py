"""Compiled training programs kept between fits, so that a refit skips XLA's compile.

A fit compiled by XLA (see :func:`skncf._training.loop.xla_epoch_runner`) traces and compiles
its epoch once, about a second, and TensorFlow then keeps the compiled code until the
process ends, used again or not (its compilation cache never evicts). Fits that differ
only in their data and starting weights, as a grid search's fits of one setting, a
refit or the runs of a benchmark are, can run one program instead: a copy of the graph
with Adam's state and the compiled epoch, into which each epoch copies the fit's
weights, and from which it copies them back. The copies cost what a pass over the
tables costs, a few milliseconds on MovieLens-sized tables.

Programs are kept for small graphs only (:data:`MAX_STATE_BYTES`), where a second is
much of a fit, and for the :data:`MAX_PROGRAMS` settings used last. A program is used
by one fit at a time: a fit that finds it busy (another thread) builds its own.
"""

import collections
import contextlib
import threading

import keras
import numpy as np

# Programs kept at once, the settings used last; each holds a copy of its graph's
# weights and Adam's two moments, at most MAX_STATE_BYTES in all.
MAX_PROGRAMS = 8
MAX_STATE_BYTES = 16 << 20

_kept: collections.OrderedDict = collections.OrderedDict()
_kept_guard = threading.Lock()


class Program:
    """A graph, the parts that train it and a lock: ``build(graph)`` makes the parts.

    ``build`` returns ``(logits_of, optimizer, run)``: a
    :class:`~skncf._graph.logits.CandidateLogits` of ``graph``, the
    :class:`~skncf._training.adam.FusedAdam` over its variables and the epoch ``run(arrays,
    per_step)`` that trains them.
    """

    def __init__(self, graph, build):
        self.graph = graph
        self.logits_of, self.optimizer, self.run = build(graph)
        self.busy = threading.Lock()

    def restart(self, seed, learning_rate):
        """Start a fit: Adam's state at zero, the dropout masks' generator at ``seed``."""
        self.logits_of.restart(seed)
        self.optimizer.restart(learning_rate)

    def epoch(self, model, arrays, per_step=()):
        """Train ``model``'s weights for one epoch in this program; return the mean loss."""
        if model is self.graph:
            return self.run(arrays, per_step)
        _copy(model.weights, self.graph.weights)
        try:
            return self.run(arrays, per_step)
        finally:
            _copy(self.graph.weights, model.weights)


@contextlib.contextmanager
def program_for(model, key, build):
    """Yield a :class:`Program` that trains ``model``, kept under ``key`` if small enough.

    ``key`` must name everything the compiled epoch depends on besides the weights'
    values and the data: the architecture, the weights' names and shapes, the loss and
    its settings. A program kept under ``key`` is used if it is free; otherwise one is
    built on ``model`` itself, as a fit without keeping would.
    """
    program = _checkout(model, key, build) if state_bytes(model) <= MAX_STATE_BYTES else None
    if program is None:
        yield Program(model, build)
        return
    try:
        yield program
    finally:
        program.busy.release()


def _checkout(model, key, build):
    """The program kept under ``key``, locked for this fit; None if another fit holds it.

    Makes it, from a clone of ``model``, if none is kept; evicts the least recently used.
    """
    with _kept_guard:
        program = _kept.get(key)
        if program is None:
            program = _kept[key] = Program(keras.models.clone_model(model), build)
            while len(_kept) > MAX_PROGRAMS:
                _kept.popitem(last=False)
        _kept.move_to_end(key)
        return program if program.busy.acquire(blocking=False) else None


def forget():
    """Drop every kept program, so that the next fits compile as a process's first would.

    For benchmarks that time one fit as a user's first; the compiled code itself stays
    in TensorFlow's cache.
    """
    with _kept_guard:
        _kept.clear()


def state_bytes(model):
    """Bytes a kept program holds for ``model``: a copy of its weights, two moments."""
    return 3 * sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights)


def _copy(sources, targets):
    for source, target in zip(sources, targets, strict=True):
        target.assign(source)
