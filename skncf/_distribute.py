"""Training under a ``tf.distribute.Strategy``: the pieces the estimator and the loop share.

With ``NCFRecommender(distribute=strategy)`` the graph's variables are created in the
strategy's scope (mirrored on every replica), each global batch is split across the
replicas (:func:`skncf._training.loop.epoch_runner`), and every replica applies the same
summed gradients to its copy (:func:`all_reduce_sum`), so the copies stay equal. Under
``MultiWorkerMirroredStrategy`` every worker runs the same ``fit`` on the same data;
:func:`agree` makes their random draws the same and checks that the data are. The
fitted estimator keeps an ordinary (not distributed) copy of the trained graph
(:func:`plain_copy`), so predicting, pickling and saving are as without a strategy.
"""

import functools
import hashlib
import warnings

import numpy as np
import tensorflow as tf


def all_reduce_sum(gradients, *, keep_sparse):
    """Sum ``gradients`` (tensors, ``tf.IndexedSlices`` or None) over the replicas.

    The sum is dense: gathering the replicas' sparse rows instead mismatches TensorFlow's
    collective operations inside a compiled loop (shape errors between iterations), so a
    step under a strategy passes over the embedding tables, as dense Adam's update does
    anyway. With ``keep_sparse`` (lazy Adam) a sparse gradient comes back sparse, on the
    rows that some replica looked up, so that lazy Adam updates the same rows as on one
    device.
    """
    present = [g for g in gradients if g is not None]
    touched = [_looked_up(g) for g in present if keep_sparse and isinstance(g, tf.IndexedSlices)]
    summed = tf.distribute.get_replica_context().all_reduce(
        "SUM", [tf.convert_to_tensor(g) for g in present] + touched
    )
    dense, touched = iter(summed[: len(present)]), iter(summed[len(present) :])
    out = []
    for g in gradients:
        if g is not None:
            total = next(dense)
            if keep_sparse and isinstance(g, tf.IndexedSlices):
                rows = tf.cast(tf.where(next(touched) > 0)[:, 0], g.indices.dtype)
                total = tf.IndexedSlices(tf.gather(total, rows), rows, g.dense_shape)
            g = total
        out.append(g)
    return out


def _looked_up(slices):
    """1.0 for the rows an ``IndexedSlices`` names, 0.0 elsewhere."""
    n_rows = tf.cast(slices.dense_shape[0], slices.indices.dtype)
    counts = tf.math.unsorted_segment_sum(
        tf.ones_like(slices.indices, tf.float32), slices.indices, n_rows
    )
    return tf.minimum(counts, 1.0)


def replica_seed_offset():
    """This replica's number in the whole cluster, to vary random draws by replica."""
    return tf.distribute.get_replica_context().replica_id_in_sync_group


def fingerprint(*arrays):
    """A number (below 2**48, exact in float64) that differs between different arrays.

    ``arrays`` are numeric numpy arrays or None.
    """
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"None")
            continue
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(array.tobytes())
    return int.from_bytes(digest.digest()[:6], "little")


def agree(strategy, seed, data_fingerprint):
    """The first replica's ``seed``, the same on every worker; check the workers' data.

    Raises
    ------
    ValueError
        If the workers were given different data (different fingerprints).
    """

    def on_replica():
        context = tf.distribute.get_replica_context()
        first = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), tf.float64)
        mine = tf.constant(data_fingerprint, tf.float64)
        firsts = context.all_reduce("SUM", first * tf.stack([float(seed), mine]))
        # every worker learns whether any worker's data differ from the first one's
        differ = context.all_reduce("SUM", tf.cast(tf.not_equal(mine, firsts[1]), tf.float64))
        return firsts[0], differ

    # a partial: each fit's function keeps its own tracing statistics (no retracing
    # warnings from a loop of fits, as in skncf._training.loop.epoch_runner)
    results = tf.function(functools.partial(strategy.run, on_replica), autograph=False)()
    seed_sum, differ = (strategy.experimental_local_results(r)[0] for r in results)
    if differ > 0:
        raise ValueError(
            "the workers of the distribute strategy were given different training data; "
            "every worker must call fit with the same X, y and sample_weight."
        )
    return int(seed_sum)


def plain_copy(graph, build):
    """``build()``'s graph (outside any strategy) holding ``graph``'s trained weights."""
    copy = build()
    copy.set_weights(graph.get_weights())
    return copy


class StrategyRecipe:
    """What a pickle keeps of a strategy: its kind and devices.

    A strategy holds devices and threads and does not pickle. ``OneDeviceStrategy`` and
    ``MirroredStrategy`` are rebuilt from their devices when unpickled where those
    devices exist (:meth:`rebuild`); any other strategy, or devices absent there,
    unpickles as None with a warning, since a cluster cannot be rejoined from a pickle.
    """

    def __init__(self, strategy):
        self.kind = type(strategy).__name__
        if isinstance(strategy, tf.distribute.OneDeviceStrategy):
            self.kind = "OneDeviceStrategy"
        elif isinstance(strategy, tf.distribute.MirroredStrategy):
            self.kind = "MirroredStrategy"
        self.devices = tuple(strategy.extended.worker_devices)

    def rebuild(self):
        if self.kind not in ("OneDeviceStrategy", "MirroredStrategy"):
            return self._none(f"{self.kind} is not rebuilt from a pickle")
        absent = set(map(_local_name, self.devices)) - {
            _local_name(device.name) for device in tf.config.list_logical_devices()
        }
        if absent:
            return self._none(f"{self.kind} needs devices {', '.join(sorted(absent))}, absent here")
        if self.kind == "OneDeviceStrategy":
            return tf.distribute.OneDeviceStrategy(self.devices[0])
        return tf.distribute.MirroredStrategy(list(self.devices))

    @staticmethod
    def _none(why):
        warnings.warn(
            f"distribute: the pickled estimator's {why}; it unpickles with distribute=None "
            "(its fitted model predicts as before).",
            UserWarning,
            stacklevel=4,
        )


def _local_name(device):
    """``"/job:localhost/replica:0/task:0/device:GPU:1"`` -> ``"GPU:1"``."""
    spec = tf.DeviceSpec.from_string(device)
    return f"{spec.device_type}:{spec.device_index}"
