"""``init="svd"``: start the GMF product from a truncated SVD of the interactions.

A rank-``latent_dim`` SVD of the user x item matrix (PureSVD, Cremonesi et al. 2010)
ranks items well by itself and costs a fraction of an epoch. Its reconstruction is on the
scale of the matrix's entries (mostly 0 to 1), far too flat for the training loss: a
softmax over logits that differ by 1 is almost uniform. So the output weights of the
product start at the scale that fits the training loss best (a one-dimensional convex
fit on a sample of the positives), not at 1; training then starts from the SVD's ranking
with confident, not uniform, probabilities, instead of spending its first epoch
stretching the scale.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils.extmath import randomized_svd
from sklearn.utils.random import sample_without_replacement

from .._graph.graphs import GraphLayout

# Positives and items sampled to fit the scale; enough for two significant digits.
CALIBRATION_POSITIVES = 2048
CALIBRATION_ITEMS = 1024
# Where the scale is searched. Never below 1, the plain dot product that the random start
# uses: a smaller scale would shrink every gradient reaching the embeddings.
SCALE_BOUNDS = (1.0, 100.0)


def start_gmf_from_svd(model, interactions, *, loss, n_negatives, random_state):
    """Start the GMF product of ``model`` as a truncated SVD of ``interactions``.

    Adds ``U sqrt(S)`` and ``V sqrt(S)`` of the rank-``latent_dim`` SVD of
    ``interactions`` (a CSR array, users x items, of the training positives' weights) to
    the user and item tables of the GMF product. The tables' small random initial values
    stay underneath: they keep directions the SVD leaves at zero (a matrix of lower rank)
    trainable.

    Then sets GMF's output weights to one common scale fitted to ``loss`` on a sample of
    the positives: for ``"softmax"`` the scale of the sampled softmax's logits, for
    ``"log"`` the slope (and the output's bias) of a logistic regression of positives
    against ``n_negatives`` random items each. A NeuMF tower's output weights stay as
    they were.
    """
    rng = check_random_state(random_state)
    layout = GraphLayout.of(model)
    users, items = layout.gmf
    (p,), (q,) = users.get_weights(), items.get_weights()
    k = min(p.shape[1], *interactions.shape)
    u, s, vt = randomized_svd(interactions, k, random_state=rng)
    root = np.sqrt(s)
    p[:, :k] += u * root
    q[:, :k] += vt.T * root
    users.set_weights([p])
    items.set_weights([q])

    output = layout.output
    kernel, bias = output.get_weights()
    sample = _sample_positives(interactions, rng)
    if loss == "softmax":
        scale = _softmax_scale(p, q, sample, rng)
    else:
        scale, bias[:] = _log_loss_scale(p, q, sample, n_negatives, rng)
    kernel[: p.shape[1]] = scale
    output.set_weights([kernel, bias])


def _sample_positives(interactions, rng):
    """Users, items and weights of up to ``CALIBRATION_POSITIVES`` positives of a CSR array.

    Draws positions in the CSR arrays (entries stored with weight 0 left out), so that no
    copy of the pairs is made.
    """
    stored = np.flatnonzero(interactions.data > 0)
    drawn = sample_without_replacement(
        stored.size, min(CALIBRATION_POSITIVES, stored.size), random_state=rng
    )
    chosen = np.sort(stored[drawn])
    users = np.searchsorted(interactions.indptr, chosen, side="right") - 1
    return users, interactions.indices[chosen], interactions.data[chosen].astype(np.float64)


def _softmax_scale(p, q, sample, rng):
    """The scale ``a`` of the logits ``a * p_u . q_i`` that minimises the softmax's loss.

    Estimated as training's sampled softmax does: each positive competes with the same
    ``CALIBRATION_ITEMS`` uniformly drawn items, whose logits are shifted by
    ``log(n_items / CALIBRATION_ITEMS)`` so that they stand for the whole catalog. The
    loss is convex in ``a``.
    """
    users, items, weights = sample
    n_items = q.shape[0]
    n_drawn = min(CALIBRATION_ITEMS, n_items)
    others = sample_without_replacement(n_items, n_drawn, random_state=rng)
    positive = np.einsum("ij,ij->i", p[users], q[items]).astype(np.float64)
    drawn = (p[users] @ q[others].T).astype(np.float64)
    shift = np.log(n_items / n_drawn)

    def loss(scale):
        logits = np.column_stack([scale * positive, scale * drawn + shift])
        return np.average(logsumexp(logits, axis=1) - scale * positive, weights=weights)

    return minimize_scalar(loss, bounds=SCALE_BOUNDS, method="bounded").x


def _log_loss_scale(p, q, sample, n_negatives, rng):
    """Slope and intercept of a logistic regression of positives against random items."""
    users, items, weights = sample
    negatives = rng.randint(q.shape[0], size=users.size * n_negatives)
    scores = np.concatenate(
        [
            np.einsum("ij,ij->i", p[users], q[items]),
            np.einsum("ij,ij->i", p[np.repeat(users, n_negatives)], q[negatives]),
        ]
    )
    targets = np.repeat([1, 0], [users.size, negatives.size])
    fit = LogisticRegression(C=1e6).fit(
        scores[:, None], targets, sample_weight=np.concatenate([weights, np.ones(negatives.size)])
    )
    return max(float(fit.coef_[0, 0]), SCALE_BOUNDS[0]), float(fit.intercept_[0])
