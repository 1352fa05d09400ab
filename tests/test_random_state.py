"""Same random_state and data: identical models, in this process and in another."""

import subprocess
import sys

import numpy as np
import pytest

from skncf import NCFRecommender

from .conftest import FAST

# (architecture, loss, XLA): by users, softmax over a tower, and XLA's compiled steps and
# ThreeFry dropout masks
IN_ANOTHER_PROCESS = [
    ("seed", "softmax", False),
    ("neumf", "softmax", False),
    ("seed", "log", True),
]
SCRIPT = """
import json, sys
import skncf._training.loop
from skncf import NCFRecommender
from skncf.datasets import make_interactions
X, _ = make_interactions(n_users=60, n_items=40, interactions_per_user=8, random_state=0)
for architecture, loss, xla in json.loads(sys.argv[1]):
    skncf._training.loop.XLA_MIN_STEPS = 0 if xla else {xla_min_steps}
    rec = NCFRecommender(architecture=architecture, loss=loss, latent_dim=8, mlp_layers=(16, 8),
                         epochs=2, batch_size=256, random_state=0).fit(X)
    print(rec.predict(X).tobytes().hex())
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
def test_same_seed_same_predictions_in_another_process(interactions, monkeypatch):
    import json

    import skncf._training.loop

    script = SCRIPT.format(xla_min_steps=skncf._training.loop.XLA_MIN_STEPS)
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(IN_ANOTHER_PROCESS)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for (architecture, loss, xla), there in zip(IN_ANOTHER_PROCESS, out, strict=True):
        with monkeypatch.context() as patch:
            if xla:
                patch.setattr("skncf._training.loop.XLA_MIN_STEPS", 0)
            rec = NCFRecommender(architecture=architecture, loss=loss, **FAST).fit(interactions)
        here = rec.predict(interactions)
        np.testing.assert_array_equal(here, np.frombuffer(bytes.fromhex(there), dtype=here.dtype))


def test_refit_with_same_seed_restarts_from_scratch(interactions):
    rec = NCFRecommender(architecture="gmf", **FAST)
    first = rec.fit(interactions).predict(interactions)
    np.testing.assert_array_equal(rec.fit(interactions).predict(interactions), first)
