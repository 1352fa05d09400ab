"""Fold-in: embedding rows for users who were not in ``fit``, against the frozen items.

A new user's rows (its GMF row, its tower row, its bias: together ``theta_u``) are the
maximum a posteriori estimate under the fit's own objective for that user's interactions
and a Gaussian prior fitted to the fitted users' rows (mean ``mu``, Ledoit-Wolf shrunk
covariance ``S``)::

    theta_u = argmin  L_u(theta) + 1/2 (theta - mu)' S^-1 (theta - mu)

with ``L_u``, for the user's positives ``i`` with weights ``w_ui`` (mean 1 per user):

- the softmax (both training paths): ``sum_i w_ui (logsumexp_j s_uj - s_ui)``;
- the log loss: ``sum_i w_ui softplus(-s_ui) + a_u sum_{j not positive} softplus(s_uj)``,
  ``a_u`` the full-matrix loss's ``negative_weight``, or for sampled negatives their
  expected weight, ``n_negatives * n_positives_u / (n_items - n_positives_u)``;
- ratings: ``sum_i w_ui (sigmoid(s_ui) - t_ui)^2 / (2 sigma^2)``, ``t`` the ratings on the
  fit's [0, 1] scale, ``sigma^2`` the fit's mean squared training residual.

The prior stands in for what shapes the fitted rows (few epochs, shared items) and keeps a
user with one interaction from an unbounded row. At its full strength it ranked best on
ml1m-half's validation split (GMF at the defaults; half the users folded in, a tenth at a
time) among 0.3, 0.5, 1, 2 and 3 times it: folded-in full HR@10 0.099, 0.096, 0.101,
0.097, 0.090 (the same users in the fit: 0.099), though weaker priors rank a little
better under the sampled protocol (0.733 at 0.3, 0.724 at 1). The item side, the tower
and the output are the fitted graph's and stay fixed; each block of users is solved at
once by scipy's L-BFGS with TensorFlow's gradients (the users' problems are independent,
so their sum is minimised by minimising each). No randomness: the same history gives the same rows.
The export's graph cannot call scipy: where a user's problem is convex (the softmax and
the log loss without a tower), it solves it by Newton's method instead
(:meth:`FoldIn.newton_rows`, :class:`HistoryFoldIn`), from the same objective and prior.
"""

from typing import NamedTuple

import numpy as np
import scipy.optimize
import tensorflow as tf
from sklearn.covariance import ledoit_wolf

from .by_user import BLOCK_FLOATS

# L-BFGS iterations per block of users. In whitened coordinates (FoldIn._solve) the
# objective is within 2e-5 (relative) of its optimum by then on ml1m-half, which L-BFGS
# reaches after about 80; rows that close rank alike.
MAX_ITER = 50
# Users whose rows the prior is fitted on (a sample of larger user bases).
PRIOR_USERS = 20_000
# At most this many Newton steps in FoldIn.newton_rows, which stops sooner once every
# user's Newton decrement (the objective's predicted fall) is below NEWTON_TOLERANCE of
# its objective (ml1m-half, GMF: after 6-7 steps from the prior mean); the step halvings
# its line search tries.
NEWTON_STEPS = 12
NEWTON_TOLERANCE = 1e-6
HALVINGS = 8


class UserPrior(NamedTuple):
    """The Gaussian prior of a user's rows, concatenated in ``names`` order.

    ``root`` is the covariance's Cholesky factor ``L`` (``S = L L'``). With user
    features, ``feature_mean`` is the mean of the fitted users' features' part of their
    rows: a user given features has prior mean ``mean - feature_mean`` plus its own
    features' part (:meth:`means`), the rows it gets with no history; a user without
    features has ``mean``.
    """

    names: tuple
    widths: tuple
    mean: np.ndarray
    root: np.ndarray
    feature_mean: np.ndarray | None = None

    def means(self, logits_of, n_users, features=None):
        """The prior means of ``n_users`` users, with encoded ``features`` or without."""
        if features is None or self.feature_mean is None:
            return np.broadcast_to(self.mean, (n_users, sum(self.widths))).astype(np.float32)
        return self.means_of_features(logits_of, tf.constant(features, tf.float32)).numpy()

    def means_of_features(self, logits_of, features):
        """:meth:`means` of users with encoded ``features`` (a float32 tensor), as a tensor.

        TensorFlow operations only, so that a traced graph (the export) can run it.
        """
        base = tf.constant(self.mean - self.feature_mean, tf.float32)
        return base[None, :] + self._offsets(logits_of, features)

    def join(self, rows):
        """User ``rows`` (a dict like ``Scorer.user_rows``) as ``theta``, (n, sum(widths)):
        the inverse of :meth:`split`, for arrays or tensors."""
        return join_rows(rows, self.names)

    def split(self, theta):
        """``theta`` (n, sum(widths)) as user rows, a dict like ``Scorer.user_rows``."""
        parts = tf.split(theta, self.widths, axis=1)
        rows = dict(zip(self.names, parts))
        if "bias" in rows:
            rows["bias"] = rows["bias"][:, 0]
        return rows

    def offsets(self, logits_of, features):
        """The features' part of the rows of users with encoded ``features``, (n, width)."""
        return self._offsets(logits_of, tf.constant(features, tf.float32)).numpy()

    def _offsets(self, logits_of, features):
        parts = logits_of.user_feature_rows(features)
        n = tf.shape(features)[0]
        return tf.concat(
            [parts[name] if name in parts else tf.zeros((n, width), tf.float32)
             for name, width in zip(self.names, self.widths)], 1
        )  # fmt: skip


def join_rows(rows, names):
    """The parts ``names`` of user ``rows`` side by side, one row per user (a float32
    tensor), each part's columns in order; a bias (one value per user) as one column."""
    n = tf.shape(rows[names[0]])[0]
    return tf.concat([tf.reshape(rows[name], (n, -1)) for name in names], 1)


def is_convex(objective, logits_of):
    """Whether each user's fold-in problem is convex: the softmax or the log loss of a
    graph without a tower, whose logits are linear in a user's rows."""
    return objective != "squared" and logits_of.tower is None


def negative_weights(n_negatives, negative_weight, n_positives, n_items):
    """Each user's ``a_u`` of the log loss (module docstring), from its positives' count.

    ``negative_weight`` with every item a negative (``n_negatives="all"``), else the
    sampled negatives' expected weight on each other item. TensorFlow operations, so
    that the export computes it as :meth:`NCFRecommender.fold_in` does.
    """
    n_positives = tf.cast(n_positives, tf.float32)
    if n_negatives == "all":
        return tf.fill(tf.shape(n_positives), float(negative_weight))
    return n_negatives * n_positives / tf.maximum(n_items - n_positives, 1.0)


class HistoryFoldIn(NamedTuple):
    """What the export needs to fold in users from their history, in its graph.

    ``prior``, ``objective`` and ``candidates`` as :class:`FoldIn` takes them;
    ``n_negatives`` and ``negative_weight`` as :func:`negative_weights` does.
    """

    prior: UserPrior
    objective: str
    candidates: np.ndarray | None
    n_negatives: object
    negative_weight: float

    def rows(self, logits_of, n_items, n_users, users, items, weights, means=None):
        """:meth:`FoldIn.newton_rows` of ``n_users`` users from their merged positives.

        ``users`` (0..n_users-1), ``items`` (codes) and ``weights`` (each user's mean 1)
        are int32, int32 and float32 tensors; a user without positives gets its prior
        mean: ``means`` (n_users, width), e.g. moved by features, or the prior's mean.
        Builds the solver in the caller's graph, so that it reads the variables.
        """
        solver = self._solver(logits_of, n_items)
        n_positives = tf.math.bincount(users, minlength=n_users, maxlength=n_users)
        extra = self._extra(weights, n_positives, n_items)
        if means is None:
            means = tf.tile(tf.constant(self.prior.mean[None, :], tf.float32), [n_users, 1])
        theta = tf.cond(  # no users: nothing to solve (the Hessians' batch would be empty)
            n_users > 0, lambda: solver.newton_rows(means, (users, items, weights, extra)),
            lambda: means,
        )  # fmt: skip
        return self.prior.split(theta)

    def influences(self, logits_of, n_items, theta, items, targets):
        """:meth:`FoldIn.influences` of one user as tensors: ``theta`` its rows (1,
        width), ``items`` the codes of its history (int32, distinct, each of weight 1),
        ``targets`` item codes (int32). Builds the solver in the caller's graph."""
        weights = tf.ones(tf.shape(items), tf.float32)
        extra = self._extra(weights, tf.size(items)[None], n_items)
        batch = (tf.zeros_like(items), items, weights, extra)
        return self._solver(logits_of, n_items)._influence_matrix(theta, batch, targets)

    def _solver(self, logits_of, n_items):
        return FoldIn(logits_of, self.prior, self.objective, n_items, 1, self.candidates)

    def _extra(self, weights, n_positives, n_items):
        """:meth:`FoldIn.rows`' ``extra``: each user's ``a_u`` for the log loss, from its
        ``n_positives``; else zeros, one per pair of ``weights``."""
        if self.objective != "log":
            return tf.zeros_like(weights)
        return negative_weights(self.n_negatives, self.negative_weight, n_positives, float(n_items))


def user_prior(scorer, users, rng):
    """The :class:`UserPrior` of the rows of fitted ``users`` (a sample of them if many).

    ``users`` are codes: those with interactions (a user known by its features alone
    has the rows it started with).
    """
    if len(users) > PRIOR_USERS:
        users = np.sort(rng.choice(users, PRIOR_USERS, replace=False))
    rows = scorer.user_rows(users)
    names = tuple(sorted(rows))
    widths = tuple(rows[name].reshape(len(users), -1).shape[1] for name in names)
    theta = join_rows(rows, names).numpy().astype(np.float64)
    covariance, _ = ledoit_wolf(theta)
    # a handful of users (or identical rows) can leave it singular: a ridge far below
    # the rows' own variance keeps the factor defined and changes nothing else
    scale = np.trace(covariance) / len(covariance)
    covariance += 1e-6 * (scale if scale > 0 else 1.0) * np.eye(len(covariance))
    prior = UserPrior(names, widths, theta.mean(axis=0), np.linalg.cholesky(covariance))
    features = scorer.logits_of.user_features(users)
    if features is None:
        return prior
    return prior._replace(feature_mean=prior.offsets(scorer.logits_of, features).mean(0))


class FoldIn:
    """Fits new users' rows against one fitted graph; see the module docstring.

    Parameters
    ----------
    logits_of : CandidateLogits
        Of the fitted graph, dropout off.
    prior : UserPrior
    objective : {"softmax", "log", "squared"}
    n_items : int
    tower_width : int
        Widest tower layer (1 without a tower): bounds the users per block.
    candidates : ndarray of int or None
        Item codes the softmax and the log loss's negatives cover, as in training (items
        with interactions in ``fit``), each user's own positives added; None: all items.
    """

    def __init__(self, logits_of, prior, objective, n_items, tower_width=1, candidates=None):
        self.logits_of, self.prior, self.objective = logits_of, prior, objective
        self.n_items, self.candidates = n_items, candidates
        self.outside = None  # 0 on the candidates, -inf elsewhere
        if candidates is not None:
            outside = np.full(n_items, -np.inf, np.float32)
            outside[candidates] = 0.0
            self.outside = tf.constant(outside)
        self.n_block = max(1, BLOCK_FLOATS // (n_items * tower_width))
        self.item = logits_of.item_side(tf.range(n_items), False)
        self.root = tf.constant(prior.root, tf.float32)
        self._gradient = tf.function(
            self._loss_and_gradient, autograph=False, reduce_retracing=True
        )
        self._influences = tf.function(
            self._influence_matrix, autograph=False, reduce_retracing=True
        )

    def rows(self, n_users, rows, items, weights, extra, features=None):
        """Rows of ``n_users`` new users, a dict of float32 arrays like ``Scorer.user_rows``.

        ``rows``, ``items``, ``weights`` (sorted by ``rows``): each interaction's user
        (0..n_users-1), item code and weight (for ``"squared"`` already divided by
        ``2 sigma^2``); ``extra`` per interaction: the scaled rating (``"squared"``), or
        per user: ``a_u`` (``"log"``); unused by the softmax. ``features``: the users'
        encoded features (n_users, width), which move each user's prior mean
        (:meth:`UserPrior.means`). A user without interactions gets its prior mean.
        """
        means = self.prior.means(self.logits_of, n_users, features)
        theta = np.empty_like(means)
        starts = np.searchsorted(rows, np.arange(0, n_users + self.n_block, self.n_block))
        for b, first in enumerate(range(0, n_users, self.n_block)):
            last = min(first + self.n_block, n_users)
            part = slice(starts[b], starts[b + 1])
            per_user = extra[first:last] if self.objective == "log" else extra[part]
            batch = (rows[part] - first, items[part], weights[part], per_user)
            theta[first:last] = means[first:last]
            if starts[b] < starts[b + 1]:
                theta[first:last] = self._solve(means[first:last], batch)
        return {name: row.numpy() for name, row in self.prior.split(theta).items()}

    def _solve(self, means, batch):
        """Rows of a block of users of prior ``means``, solved in whitened coordinates.

        ``theta = mean + z L'`` makes the prior ``|z|^2 / 2``: the problem is then about
        as well conditioned as the data allow, and L-BFGS converges in a few dozen steps.
        The block's users are one problem to L-BFGS, though their curvatures differ: a
        user's data term grows with its total weight ``W_u``. For the implicit objectives
        without a tower, L-BFGS works on ``z / s_u`` with ``s_u = 1 / sqrt(1 + W_u)``,
        which brings the users' curvatures closer: on ml1m-half a user's scores then move
        about 3x less with the batch it is folded in with (``benchmarks/``).
        """
        n, width = means.shape
        scale = np.ones((n, 1), np.float32)
        if is_convex(self.objective, self.logits_of):
            total = np.bincount(batch[0], weights=batch[2], minlength=n)
            scale = (1.0 / np.sqrt(1.0 + total))[:, None].astype(np.float32)
        batch = tuple(tf.constant(x) for x in batch)
        mean = tf.constant(means)

        def value_and_gradient(x):
            z = tf.constant(x.reshape(n, width) * scale, tf.float32)
            value, gradient = self._gradient(z, mean, batch)
            return float(value), (gradient.numpy() * scale).ravel().astype(np.float64)

        result = scipy.optimize.minimize(
            value_and_gradient, np.zeros(n * width), jac=True, method="L-BFGS-B",
            options={"maxiter": MAX_ITER},
        )  # fmt: skip
        return means + (result.x.reshape(n, width) * scale) @ self.prior.root.T

    def newton_rows(self, means, batch):
        """:meth:`rows` of one block of users, in TensorFlow operations only.

        For the export, whose graph cannot call scipy: Newton's method in the whitened
        coordinates of :meth:`_solve`, each step's length halved until the objective
        falls enough (Armijo), from the prior ``means`` (a float32 tensor), until each
        user's Newton decrement is below ``NEWTON_TOLERANCE`` of its objective. Only for
        objectives convex in a user's rows, which a Newton step cannot climb: the
        softmax and the log loss of graphs without a tower, whose logits are linear in
        the rows. The gradient by automatic differentiation, the Hessian in closed form
        (:meth:`data_hessian`). ``batch`` as :meth:`rows` takes it, as tensors; returns
        ``theta``.
        """

        def objective(z):  # per user, shape (n,)
            theta = means + tf.matmul(z, self.root, transpose_b=True)
            return self._data_term(theta, *batch) + 0.5 * tf.reduce_sum(tf.square(z), 1)

        jacobian = self.logit_jacobian()

        def step(count, z, _):
            with tf.GradientTape() as tape:
                tape.watch(z)
                now = objective(z)
                value = tf.reduce_sum(now)
            gradient = tape.gradient(value, z)
            theta = means + tf.matmul(z, self.root, transpose_b=True)
            # users' problems are independent: the Hessian is one (width, width) block each
            hessian = self._whitened_hessian(theta, jacobian, batch)
            direction = tf.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
            slope = tf.reduce_sum(gradient * direction, 1)

            def halve(halving, size):  # each user's longest step that passes is its step
                length = 0.5 ** tf.cast(halving, tf.float32)
                passes = objective(z - length * direction) <= now - 1e-4 * length * slope
                return halving + 1, tf.where((size == 0.0) & passes, length, size)

            def untried(halving, size):  # a loop, not HALVINGS copies of the objective
                return (halving < HALVINGS) & tf.reduce_any(size == 0.0)

            _, size = tf.while_loop(untried, halve, (0, tf.zeros_like(now)))
            relative = 0.5 * slope / (1.0 + tf.abs(now))  # float32 resolves about 1e-7
            return count + 1, z - size[:, None] * direction, tf.reduce_max(relative)

        def going(count, _, decrement):
            return (count < NEWTON_STEPS) & (decrement > NEWTON_TOLERANCE)

        start = (0, tf.zeros_like(means), tf.constant(np.inf, tf.float32))
        _, z, _ = tf.while_loop(going, step, start)
        return means + tf.matmul(z, self.root, transpose_b=True)

    def logit_jacobian(self):
        """How every item's logit moves with a user's rows: (width, n_items), row ``k``
        the change per unit of ``theta_k``. Exact where :func:`is_convex` holds, the
        logits being affine in the rows there: their values at the unit rows less their
        values at 0."""
        width = sum(self.prior.widths)
        logits = self._logits(tf.concat([tf.eye(width), tf.zeros((1, width))], 0))
        return logits[:width] - logits[width:]

    def data_hessian(self, theta, jacobian, rows, items, weights, extra):
        """Each user's Hessian of ``L_u`` in its rows ``theta``, (n, width, width), in
        closed form: ``J' D_u J`` with ``J`` the :meth:`logit_jacobian` and ``D_u``
        the objective's second derivatives in the logits (``batch`` as :meth:`rows`
        takes it). Where :func:`is_convex` holds only; automatic differentiation gives
        the same (tested) in a graph many times larger, which the export must trace.

        - softmax: ``D_u = W_u (diag(p_u) - p_u p_u')``, ``p_u`` the softmax over the
          covered items, ``W_u`` the user's total weight;
        - log loss: ``D_u`` diagonal, ``sigmoid'(s_ui)`` times ``w_ui`` at a positive,
          ``a_u`` at every other covered item.
        """
        logits, pairs = self._logits(theta), tf.stack([rows, items], 1)
        covered = self._covered(logits, pairs)
        n = tf.shape(theta)[0]
        if self.objective == "softmax":
            total = tf.math.unsorted_segment_sum(weights, rows, n)[:, None]
            p = tf.nn.softmax(covered, axis=1)
            curvature, mean = total * p, tf.matmul(p, jacobian, transpose_b=True)
            rank_one = total[:, :, None] * mean[:, :, None] * mean[:, None, :]
        else:
            second = tf.sigmoid(logits) * tf.sigmoid(-logits)
            curvature = tf.where(covered > -np.inf, extra[:, None] * second, 0.0)
            at_pairs = (weights - tf.gather(extra, rows)) * tf.gather_nd(second, pairs)
            curvature, rank_one = tf.tensor_scatter_nd_add(curvature, pairs, at_pairs), 0.0
        scaled = curvature[:, None, :] * jacobian[None, :, :]
        return tf.matmul(scaled, jacobian, transpose_b=True) - rank_one

    def pair_gradients(self, theta, jacobian, rows, items, weights, extra):
        """The gradient in ``theta`` of each pair's term of ``L_u`` (:meth:`_terms`),
        (n_pairs, width), in closed form as :meth:`data_hessian`: ``J g``, ``g`` the
        term's derivatives in the logits, ``w_ui (p_u - e_i)`` for the softmax,
        ``-(w_ui sigmoid(-s_ui) + a_u sigmoid(s_ui)) e_i`` for the log loss."""
        logits, pairs = self._logits(theta), tf.stack([rows, items], 1)
        own = tf.gather(tf.transpose(jacobian), items)  # each pair's item's column
        if self.objective == "softmax":
            p = tf.nn.softmax(self._covered(logits, pairs), axis=1)
            expected = tf.gather(tf.matmul(p, jacobian, transpose_b=True), rows)
            return weights[:, None] * (expected - own)
        positive = tf.gather_nd(logits, pairs)
        slope = weights * tf.sigmoid(-positive) + tf.gather(extra, rows) * tf.sigmoid(positive)
        return -slope[:, None] * own

    def _logits(self, theta):
        """Logits of users of rows ``theta`` against every item, (n, n_items)."""
        return self.logits_of.cross(
            self.logits_of.side_of_rows(self.prior.split(theta), False), self.item, False
        )

    def _whitened_hessian(self, theta, jacobian, batch):
        """The Hessian of each user's objective in whitened coordinates ``z`` (those of
        :meth:`_solve`): ``L' H_u L + I``, ``H_u`` the :meth:`data_hessian` at ``theta``."""
        curvature = self.data_hessian(theta, jacobian, *batch)
        whitened = tf.matmul(self.root, tf.matmul(curvature, self.root), transpose_a=True)
        return whitened + tf.eye(self.root.shape[0])

    def _covered(self, logits, pairs):
        """``logits`` with ``-inf`` at items neither a candidate nor the user's positive
        (the items of ``pairs``, (user, item) rows), which the objectives leave out."""
        if self.outside is None:
            return logits
        mask = tf.broadcast_to(self.outside, tf.shape(logits))
        return logits + tf.tensor_scatter_nd_update(mask, pairs, tf.zeros(tf.shape(pairs)[:1]))

    def _loss_and_gradient(self, z, mean, batch):
        with tf.GradientTape() as tape:
            tape.watch(z)
            theta = mean + tf.matmul(z, self.root, transpose_b=True)
            prior = 0.5 * tf.reduce_sum(tf.square(z), 1)
            value = tf.reduce_sum(tf.cast(self._data_term(theta, *batch) + prior, tf.float64))
        return value, tape.gradient(value, z)

    def influences(self, theta, batch, targets):
        """How much each pair of one user's history lifts the logits of ``targets``.

        The first-order change of each target's logit if the pair were removed from the
        user's problem (its weight set to 0, the others' kept) and its rows ``theta``
        solved again, with the sign turned: ``-w_j grad s_i' H^-1 grad l_j``, ``H`` the
        problem's Hessian at ``theta`` and ``w_j l_j`` the pair's term of ``L_u``
        (influence functions, Koh and Liang 2017). Exact to first order at the
        problem's optimum (a folded-in user); at other rows (a fitted user's, from
        training) the same linear response. Only for objectives convex in the rows
        (:func:`is_convex`), whose Hessian is positive definite.

        ``theta`` is one user's rows, shape (1, width); ``batch`` its pairs as
        :meth:`rows` takes them (``rows`` all 0), ``targets`` item codes. Returns an
        array of shape (n_targets, n_pairs). The prior's mean plays no part: the
        prior's Hessian is its precision, wherever it is centred.
        """
        batch = tuple(tf.constant(x) for x in batch)
        theta, targets = tf.convert_to_tensor(theta, tf.float32), tf.constant(targets, tf.int32)
        return self._influences(theta, batch, targets).numpy()

    def _influence_matrix(self, theta, batch, targets):
        """:meth:`influences` in TensorFlow operations (traced once per solver)."""
        mean = tf.constant(self.prior.mean[None, :], tf.float32)
        whitened = tf.linalg.triangular_solve(self.root, tf.transpose(theta - mean))
        rows = mean + tf.matmul(tf.transpose(whitened), self.root, transpose_b=True)
        # the logits are linear in the rows: each pair's gradient and the Hessian in
        # closed form, the targets' logits move by their columns of the Jacobian
        jacobian = self.logit_jacobian()
        pairs = tf.matmul(self.pair_gradients(rows, jacobian, *batch), self.root)
        hessian = self._whitened_hessian(rows, jacobian, batch)[0]
        lifts = tf.matmul(tf.gather(jacobian, targets, axis=1), self.root, transpose_a=True)
        hessian, pairs, lifts = (tf.cast(x, tf.float64) for x in (hessian, pairs, lifts))
        return -tf.matmul(lifts, tf.linalg.solve(hessian, tf.transpose(pairs)))

    def _data_term(self, theta, rows, items, weights, extra):
        """Each user's ``L_u`` (see the module docstring), shape (n,)."""
        per_pair, per_user = self._terms(theta, rows, items, weights, extra)
        return tf.math.unsorted_segment_sum(per_pair, rows, tf.shape(theta)[0]) + per_user

    def _terms(self, theta, rows, items, weights, extra):
        """``L_u`` in parts: each pair's term (removing the pair removes it) and each
        user's remainder (the log loss's negatives, every item counted; 0 otherwise)."""
        user = self.logits_of.side_of_rows(self.prior.split(theta), False)
        none = tf.zeros(tf.shape(theta)[:1])
        if self.objective == "squared":
            picked = {  # per user -> per rated pair; the tower's output weights are shared
                name: tf.gather(side, rows) if name != "w_mlp" and side.shape.rank else side
                for name, side in user.items()
            }
            item = self.logits_of.item_side(items, False)
            logits = self.logits_of.pairs(picked, item, False)
            return weights * tf.square(tf.sigmoid(logits) - extra), none
        logits = self.logits_of.cross(user, self.item, False)
        pairs = tf.stack([rows, items], 1)
        positive = tf.gather_nd(logits, pairs)
        covered = self._covered(logits, pairs)
        if self.objective == "softmax":
            normaliser = tf.gather(tf.reduce_logsumexp(covered, 1), rows)
            return weights * (normaliser - positive), none
        # a positive removed becomes a negative: its term trades one softplus for the other
        per_positive = weights * tf.nn.softplus(-positive) - tf.gather(extra, rows) * (
            tf.nn.softplus(positive)
        )
        negatives = tf.where(covered > -np.inf, tf.nn.softplus(logits), 0.0)
        return per_positive, extra * tf.reduce_sum(negatives, 1)
