"""Fits under tf.distribute strategies, run in fresh processes by tests/test_distribute.py.

A strategy's devices and cluster must be set up before TensorFlow starts, so these jobs
cannot run inside the test process. Usage::

    python distributed_job.py mirrored OUT.json
    python distributed_job.py worker OUT.json   # with TF_CONFIG set; SKNCF_JOB_DATA=other
                                                # gives this worker different data

Each writes its findings as JSON to OUT.json.
"""

import json
import os
import pickle
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def data(random_state=0):
    from skncf.datasets import make_interactions
    from skncf.model_selection import LeaveLastOut

    X, _ = make_interactions(
        n_users=300, n_items=120, interactions_per_user=12, random_state=random_state
    )
    train, test = next(LeaveLastOut(random_state=0).split(X))
    return X[train], X[test]


def mirrored(out):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from skncf import NCFRecommender

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    train, test = data()
    found = {"replicas": strategy.num_replicas_in_sync, "scores": {}}
    for seed in (0, 1, 2):
        for name, distribute in (("single", None), ("mirrored", strategy)):
            rec = NCFRecommender(epochs=6, random_state=seed, distribute=distribute).fit(train)
            found["scores"].setdefault(name, []).append(rec.score(test))
    # without dropout, the only difference is the order of floating-point sums
    exact = dict(
        architecture="gmf", loss="log", dropout=0.0, epochs=3, batch_size=64, random_state=0
    )
    single = NCFRecommender(**exact).fit(train)
    rec = NCFRecommender(**exact, distribute=strategy).fit(train)
    found["max_prediction_difference"] = float(
        np.abs(single.predict(test) - rec.predict(test)).max()
    )
    found["loss_difference"] = float(
        np.abs(np.subtract(single.history_["loss"], rec.history_["loss"])).max()
    )
    found["model_is_distributed"] = any(
        isinstance(w.value, tf.distribute.DistributedValues) for w in rec.model_.weights
    )
    restored = pickle.loads(pickle.dumps(rec))
    found["pickled_distribute"] = [
        type(restored.distribute).__name__,
        list(restored.distribute.extended.worker_devices) == list(strategy.extended.worker_devices),
    ]
    found["pickle_predicts_the_same"] = bool(
        np.array_equal(restored.predict(test), rec.predict(test))
    )
    found["distribute_kept"] = rec.distribute is strategy
    lazy = NCFRecommender(
        architecture="gmf", optimizer="lazy_adam", epochs=2, random_state=0, distribute=strategy
    ).fit(train)
    found["lazy_adam_score"] = lazy.score(test)
    try:
        NCFRecommender(architecture="gmf", distribute=strategy).fit([[0, 1]])
    except ValueError as error:
        found["one_row_error"] = str(error)
    with open(out, "w") as file:
        json.dump(found, file)


def worker(out):
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow work
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from skncf import NCFRecommender

    train, test = data(random_state=1 if os.environ.get("SKNCF_JOB_DATA") == "other" else 0)
    rec = NCFRecommender(epochs=3, distribute=strategy)  # no random_state: the chief's
    try:
        rec.fit(train)
    except ValueError as error:
        found = {"error": str(error)}
    else:
        found = {
            "replicas": strategy.num_replicas_in_sync,
            "task_id": strategy.cluster_resolver.task_id,
            "score": rec.score(test),
            "predictions": rec.predict(test).tolist(),
        }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            restored = pickle.loads(pickle.dumps(rec))
        found["pickled_distribute"] = repr(restored.distribute)
        found["pickle_warning"] = " ".join(str(w.message) for w in caught)
        if strategy.cluster_resolver.task_id == 0:  # the chief writes the model (the docs' recipe)
            found["saved"] = str(rec.save(out + ".skncf"))
    with open(out, "w") as file:
        json.dump(found, file)


if __name__ == "__main__":
    {"mirrored": mirrored, "worker": worker}[sys.argv[1]](sys.argv[2])
