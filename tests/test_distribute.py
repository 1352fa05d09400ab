"""Training under tf.distribute strategies: one device, two CPU replicas, two workers.

Mirrored and multi-worker strategies need TensorFlow set up before it starts, so those
fits run in fresh processes (``tests/distributed_job.py``) and report back as JSON.
"""

import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import skncf
from skncf import NCFRecommender

from .conftest import FAST
from .distributed_job import data

pytestmark = pytest.mark.slow  # strategies, subprocesses and a localhost cluster

JOB = Path(__file__).with_name("distributed_job.py")
# NDCG@10 of a random ranking of the ~108 items a test user did not train on
RANDOM_NDCG = 0.05


@pytest.mark.parametrize(
    "settings",
    [
        dict(architecture="gmf"),
        dict(architecture="neumf", loss="log"),
        dict(architecture="seed", loss="log", optimizer="lazy_adam"),
        dict(architecture="mlp", feedback="explicit"),
        dict(architecture="neumf", pretrain=True, validation_fraction=0.5),
        dict(architecture="gmf", loss="log", init="svd"),
    ],
    ids=["gmf-softmax", "neumf-log", "seed-lazy", "mlp-explicit", "pretrain-validation", "svd"],
)
def test_one_device_strategy_trains_the_model_of_no_strategy(interactions, ratings, settings):
    X, y = ratings if settings.get("feedback") == "explicit" else (interactions, None)
    plain = NCFRecommender(**FAST, **settings).fit(X, y)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    rec = NCFRecommender(**FAST, **settings, distribute=strategy).fit(X, y)
    np.testing.assert_allclose(rec.predict(X), plain.predict(X), rtol=1e-5, atol=1e-6)
    assert rec.history_["loss"] == pytest.approx(plain.history_["loss"], rel=1e-5)
    assert rec.distribute is strategy


def test_partial_fit_under_a_strategy_continues_as_without(interactions):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    plain = NCFRecommender(architecture="gmf", **FAST).fit(interactions)
    rec = NCFRecommender(architecture="gmf", **FAST, distribute=strategy).fit(interactions)
    new = [[1000, interactions[0, 1]], [1000, interactions[1, 1]]]
    plain.partial_fit(new)
    rec.partial_fit(new)
    np.testing.assert_allclose(rec.predict(interactions), plain.predict(interactions), rtol=1e-5)
    assert 1000 in rec.users_


def test_a_saved_model_forgets_the_strategy_and_callbacks(interactions, tmp_path):
    import keras

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    rec = NCFRecommender(
        architecture="gmf", **FAST, distribute=strategy, callbacks=[keras.callbacks.History()]
    ).fit(interactions)
    loaded = skncf.load(rec.save(tmp_path / "model.skncf"))
    assert loaded.distribute is None and loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict(interactions), rec.predict(interactions))


def _run_job(*args, env=None, timeout=300):
    return subprocess.Popen(
        [sys.executable, str(JOB), *map(str, args)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process, out, timeout=300):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return json.loads(Path(out).read_text())


def test_mirrored_strategy_over_two_cpu_devices_matches_one_device(tmp_path):
    out = tmp_path / "mirrored.json"
    found = _finish(_run_job("mirrored", out), out)
    assert found["replicas"] == 2
    single, mirrored = np.array(found["scores"]["single"]), np.array(found["scores"]["mirrored"])
    # Same seeds, default NeuMF with dropout: each replica draws its own masks, so the
    # runs differ in their random numbers; the stated tolerance is 0.02 of NDCG@10
    # (measured: at most 0.0032 apart), a quarter of what the seeds themselves vary.
    np.testing.assert_allclose(mirrored, single, atol=0.02)
    assert mirrored.min() > 2 * RANDOM_NDCG
    # Without dropout the split batch sums the same gradients in another order.
    assert found["max_prediction_difference"] < 1e-4
    assert found["loss_difference"] < 1e-5
    assert found["model_is_distributed"] is False
    assert found["distribute_kept"] is True
    assert found["pickled_distribute"] == ["MirroredStrategy", True]  # the same devices
    assert found["pickle_predicts_the_same"] is True
    assert found["lazy_adam_score"] > 2 * RANDOM_NDCG
    assert "2 replicas but the data only 1 positives" in found["one_row_error"]


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _two_workers(tmp_path, other_data_on_worker_1=False):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    jobs = []
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {"TF_CONFIG": json.dumps(config)}
        if other_data_on_worker_1 and index == 1:
            env["SKNCF_JOB_DATA"] = "other"
        out = tmp_path / f"worker{index}.json"
        jobs.append((_run_job("worker", out, env=env), out))
    return [_finish(process, out) for process, out in jobs]


def test_multi_worker_strategy_with_two_workers_on_localhost(tmp_path):
    first, second = _two_workers(tmp_path)
    assert first["replicas"] == second["replicas"] == 2
    assert (first["task_id"], second["task_id"]) == (0, 1)
    assert "saved" not in second  # only the chief saved
    _, test = data()
    np.testing.assert_allclose(
        skncf.load(first["saved"]).predict(test), first["predictions"], atol=1e-6
    )
    # one model: every worker applied the same summed gradients from the same start
    np.testing.assert_allclose(first["predictions"], second["predictions"], atol=1e-6)
    assert first["score"] == pytest.approx(second["score"], abs=1e-6)
    assert first["score"] > 2 * RANDOM_NDCG
    # a cluster cannot be rejoined from a pickle: None, and a warning that says so
    assert first["pickled_distribute"] == "None"
    assert "Strategy is not rebuilt from a pickle" in first["pickle_warning"]


def test_pickling_rebuilds_a_one_device_strategy_where_its_device_exists(interactions):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    rec = NCFRecommender(architecture="gmf", **FAST, distribute=strategy).fit(interactions)
    restored = pickle.loads(pickle.dumps(rec))
    assert isinstance(restored.distribute, tf.distribute.OneDeviceStrategy)
    assert restored.distribute.extended.worker_devices == strategy.extended.worker_devices
    assert rec.distribute is strategy  # pickling leaves the original alone
    np.testing.assert_array_equal(restored.predict(interactions), rec.predict(interactions))
    restored.partial_fit(interactions[:10])  # and it still trains under the strategy


def test_a_strategy_whose_devices_are_absent_unpickles_as_none_with_a_warning(interactions):
    rec = NCFRecommender(
        architecture="gmf", **FAST, distribute=tf.distribute.OneDeviceStrategy("/cpu:0")
    )
    state = rec.__getstate__()
    state["distribute"].devices = ("/job:localhost/replica:0/task:0/device:GPU:7",)
    with pytest.warns(UserWarning, match="OneDeviceStrategy needs devices GPU:7, absent here"):
        restored = NCFRecommender.__new__(NCFRecommender)
        restored.__setstate__(pickle.loads(pickle.dumps(state)))
    assert restored.distribute is None and restored.architecture == "gmf"


def test_multi_worker_strategy_refuses_workers_with_different_data(tmp_path):
    for found in _two_workers(tmp_path, other_data_on_worker_1=True):
        assert "different training data" in found["error"]


def test_many_fits_under_a_strategy_do_not_warn_of_retracing(interactions, caplog):
    # a grid search fits many times in one process; TensorFlow warns from the 5th trace
    # of "the same" function, which each fit's fresh functions must not count as
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with caplog.at_level("WARNING", logger="tensorflow"):
        for _ in range(6):
            NCFRecommender(architecture="gmf", **FAST, distribute=strategy).fit(interactions)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_grid_search_clones_the_strategy_and_scores_as_without(interactions):
    from sklearn.model_selection import GridSearchCV

    from skncf.model_selection import LeaveLastOut

    def search(distribute):
        return GridSearchCV(
            NCFRecommender(architecture="gmf", **FAST, distribute=distribute),
            {"latent_dim": [4, 8]},
            cv=LeaveLastOut(random_state=0),
        ).fit(interactions)

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with_strategy, without = search(strategy), search(None)
    assert isinstance(with_strategy.best_estimator_.distribute, tf.distribute.OneDeviceStrategy)
    np.testing.assert_allclose(
        with_strategy.cv_results_["mean_test_score"], without.cv_results_["mean_test_score"]
    )
