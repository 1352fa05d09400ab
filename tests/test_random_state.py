"""Same random_state and data: identical models, in this process and in another."""

import subprocess
import sys

import numpy as np
import pytest

from skncf import NCFRecommender

from .conftest import FAST

SCRIPT = """
import sys
import numpy as np
import skncf._training.loop
from skncf import NCFRecommender
from skncf.datasets import make_interactions
if sys.argv[3] == "xla":
    skncf._training.loop.XLA_MIN_STEPS = 0
X, _ = make_interactions(n_users=60, n_items=40, interactions_per_user=8, random_state=0)
rec = NCFRecommender(architecture=sys.argv[1], loss=sys.argv[2], latent_dim=8, mlp_layers=(16, 8),
                     epochs=2, batch_size=256, random_state=0).fit(X)
sys.stdout.write(rec.predict(X).tobytes().hex())
"""


@pytest.mark.parametrize(
    "settings",
    [
        dict(architecture="seed"),  # by users, the default softmax
        dict(architecture="neumf", n_negatives=5),  # per positive, sampled softmax
        dict(architecture="neumf", loss="log"),  # per positive, log loss
        dict(architecture="gmf", feedback="explicit"),
    ],
    ids=["by-users", "sampled-softmax", "log-loss", "explicit"],
)
def test_same_seed_same_predictions_in_process(interactions, ratings, settings):
    X, y = ratings if settings.get("feedback") == "explicit" else (interactions, None)
    first = NCFRecommender(**FAST, **settings).fit(X, y).predict(X)
    second = NCFRecommender(**FAST, **settings).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)


def test_other_seed_other_model(interactions):
    first = NCFRecommender(architecture="gmf", **FAST).fit(interactions).predict(interactions)
    other = NCFRecommender(architecture="gmf", **{**FAST, "random_state": 1}).fit(interactions)
    assert not np.array_equal(first, other.predict(interactions))


@pytest.mark.slow
@pytest.mark.parametrize(
    "model,loss,xla",
    [("seed", "softmax", "plain"), ("neumf", "softmax", "plain"), ("seed", "log", "xla")],
)
def test_same_seed_same_predictions_in_another_process(interactions, model, loss, xla, monkeypatch):
    if xla == "xla":  # dropout masks drawn by XLA's ThreeFry, steps compiled by XLA
        monkeypatch.setattr("skncf._training.loop.XLA_MIN_STEPS", 0)
    rec = NCFRecommender(architecture=model, loss=loss, **FAST).fit(interactions)
    here = rec.predict(interactions)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, model, loss, xla], capture_output=True, text=True, check=True
    ).stdout
    there = np.frombuffer(bytes.fromhex(out), dtype=here.dtype)
    np.testing.assert_array_equal(here, there)


def test_refit_with_same_seed_restarts_from_scratch(interactions):
    rec = NCFRecommender(architecture="gmf", **FAST)
    first = rec.fit(interactions).predict(interactions)
    np.testing.assert_array_equal(rec.fit(interactions).predict(interactions), first)
