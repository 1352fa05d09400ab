"""Predictions on fixed seeds stay what they were when the reference was written.

A restructuring that should not change what is learnt (issue 22: one-way architecture)
must leave every architecture's predictions as they were, for both feedbacks and both
losses, per positive and by users. ``tests/data/reference_predictions.json`` holds the
predictions computed at the commit before such work began; write it again only when a
change of behaviour is intended, and say so in the commit::

    python -m tests.test_reference_predictions
"""

import json
import pathlib

import numpy as np
import pytest

from skncf import NCFRecommender
from skncf.datasets import make_interactions

pytestmark = pytest.mark.slow  # fifteen fits against stored predictions

REFERENCE = pathlib.Path(__file__).parent / "data" / "reference_predictions.json"
COMMON = dict(latent_dim=8, mlp_layers=(16, 8), epochs=8, learning_rate=0.01, random_state=0)
SETTINGS = {
    **{
        f"{model}-softmax-by-users": dict(architecture=model)
        for model in ("seed", "gmf", "mlp", "neumf")
    },
    **{
        f"{model}-log": dict(architecture=model, loss="log")
        for model in ("seed", "gmf", "mlp", "neumf")
    },
    "gmf-softmax-per-positive": dict(architecture="gmf", n_negatives=10**6),
    "neumf-softmax-sampled": dict(architecture="neumf", n_negatives=8),
    "gmf-log-svd": dict(architecture="gmf", loss="log", init="svd", l2=1e-3),
    **{
        f"{model}-explicit": dict(architecture=model, feedback="explicit")
        for model in ("seed", "gmf", "mlp", "neumf")
    },
}


def _data(feedback):
    X, ratings = make_interactions(n_users=60, n_items=40, ratings=True, random_state=0)
    return X, ratings if feedback == "explicit" else None


def predictions(name):
    params = {**COMMON, **SETTINGS[name]}
    X, y = _data(params.get("feedback"))
    rec = NCFRecommender(**params).fit(X, y)
    return rec.predict(X[::7]).tolist()


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_predictions_match_the_reference(name):
    expected = json.loads(REFERENCE.read_text())[name]
    # float32 training on another CPU may round differently; a changed computation
    # moves predictions by far more than this
    np.testing.assert_allclose(predictions(name), expected, rtol=2e-3, atol=1e-4)


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps({name: predictions(name) for name in sorted(SETTINGS)}))
