"""Predictions on fixed seeds stay what they were when the reference was written.

A restructuring that should not change what is learnt (issue 22: one-way architecture)
must leave every architecture's predictions as they were, for both feedbacks and both
losses, per positive and by users. ``tests/data/reference_predictions.json`` holds the
predictions computed at the commit before such work began; write it again only when a
change of behaviour is intended, and say so in the commit::

    python -m tests.test_reference_predictions

Two epochs: float32 rounding differs between processors and kernels (oneDNN or Eigen),
and Adam moves a weight whose true gradient is nearly zero by about the learning rate a
step whichever way its rounded gradient points, so longer fits diverge with the code
unchanged (at 8 epochs mlp-log moved by 0.09 on another processor, and by 0.086 here with
``TF_ENABLE_ONEDNN_OPTS=0``). At 2 epochs, switching oneDNN off moves no prediction by more
than 6.3e-4 (the softmax by users, whose matrix products the two libraries round
differently), while a learning rate 10% off moves every setting past the tolerance.
"""

import json
import pathlib

import numpy as np
import pytest

from skncf import NCFRecommender
from skncf.datasets import make_interactions

pytestmark = pytest.mark.slow  # fifteen fits against stored predictions

REFERENCE = pathlib.Path(__file__).parent / "data" / "reference_predictions.json"
COMMON = dict(latent_dim=8, mlp_layers=(16, 8), epochs=2, learning_rate=0.01, random_state=0)
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
    # rounding moves the softmax by users by up to 1.3e-3 relative, the rest by < 3e-5
    rtol = 5e-3 if name.endswith("by-users") else 2e-3
    np.testing.assert_allclose(predictions(name), expected, rtol=rtol, atol=1e-4)


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps({name: predictions(name) for name in sorted(SETTINGS)}))
