import collections
import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skncf import NCFRecommender
from skncf._training.loop import xla_epoch_runner
from skncf.datasets import make_interactions
from skncf.model_selection import LeaveLastOut

# Small and quick: enough to exercise every code path, not to learn well.
FAST = dict(latent_dim=8, mlp_layers=(16, 8), epochs=2, batch_size=256, random_state=0)


@pytest.fixture(autouse=True)
def no_kept_programs(monkeypatch):
    """Each test starts without compiled programs kept from earlier tests' fits."""
    monkeypatch.setattr("skncf._training.programs._kept", collections.OrderedDict())


@pytest.fixture
def count_xla_fits(monkeypatch):
    """Fits of any size compile with XLA; returns the list of XLA runners made."""
    made = []

    def counting(step, batch_size):
        made.append(batch_size)
        return xla_epoch_runner(step, batch_size=batch_size)

    monkeypatch.setattr("skncf._training.loop.XLA_MIN_STEPS", 0)
    monkeypatch.setattr("skncf._training.loop.xla_epoch_runner", counting)
    return made


@pytest.fixture(scope="session")
def interactions():
    X, _ = make_interactions(n_users=60, n_items=40, interactions_per_user=8, random_state=0)
    return X


@pytest.fixture(scope="session")
def taste_groups():
    """``(X, user_groups, item_groups)``: 200 users and 100 items in 4 taste groups, each
    user's interactions nine in ten within its group."""
    X, _, user_groups, item_groups = make_interactions(
        n_users=200, n_items=100, n_groups=4, interactions_per_user=12, affinity=0.9,
        return_groups=True, random_state=0,
    )  # fmt: skip
    return X, user_groups, item_groups


@pytest.fixture(scope="session")
def ratings():
    return make_interactions(
        n_users=60, n_items=40, interactions_per_user=8, ratings=True, random_state=1
    )


# the fast part (-m "not slow") checks GMF and NeuMF, which between them have every
# kind of weight; the slow part adds the seed graph and the MLP
ARCHITECTURES_FAST_TWO = [
    pytest.param("seed", marks=pytest.mark.slow),
    "gmf",
    pytest.param("mlp", marks=pytest.mark.slow),
    "neumf",
]


@pytest.fixture(scope="session", params=ARCHITECTURES_FAST_TWO)
def fitted(request, interactions):
    """One fitted implicit model per architecture, shared by read-only tests."""
    return NCFRecommender(architecture=request.param, **FAST).fit(interactions)


@pytest.fixture(scope="session")
def fitted_gmf(interactions):
    return NCFRecommender(architecture="gmf", **FAST).fit(interactions)


def seen_items(X, user):
    return set(X[X[:, 0] == user, 1].tolist())


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def small_grid_search(X, n_jobs):
    """A fitted GridSearchCV of GMF over 4 settings, leave-last-out, ``n_jobs`` workers."""
    return GridSearchCV(
        NCFRecommender(architecture="gmf", **FAST),
        {"latent_dim": [4, 8], "learning_rate": [0.001, 0.01]},
        cv=LeaveLastOut(random_state=0),
        n_jobs=n_jobs,
    ).fit(X)


def in_threads(call, n_threads=4, repeats=5):
    """``[[call(n) for each repeat] for thread n]``, the threads started together.

    Raises AssertionError listing the exceptions any thread raised.
    """
    results, errors = [None] * n_threads, []
    barrier = threading.Barrier(n_threads)

    def work(n):
        try:
            barrier.wait()
            results[n] = [call(n) for _ in range(repeats)]
        except Exception as error:  # reported below, with the thread's number
            errors.append((n, error))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results
