"""A fitted model as a TensorFlow SavedModel that serves raw ids, for non-Python serving.

:func:`write_saved_model` saves a ``tf.Module`` with its signatures, built from the same
forward pass as serving in Python (:class:`~skncf._graph.logits.CandidateLogits`, dropout
off), so that the graph holds standard TensorFlow ops only and loads anywhere TensorFlow
does (``tf.saved_model.load``, TensorFlow Serving), without skncf or Keras:

- ``serving_default(user, item)``: the score of each (user id, item id) pair, as
  ``predict`` gives it;
- ``recommend(user, k)``: each user's ``k`` best items (``k`` a scalar given at call time)
  and their scores, leaving out the user's training interactions, as ``recommend`` does;
- ``recommend_among(user, k, items)`` and ``recommend_excluding(user, k, items)``: the
  same within a list of item ids for the whole call, or outside it, as ``recommend``'s
  ``allow`` and ``deny`` give them;
- ``similar_items(item, k)`` and ``similar_users(user, k)``: each item's (user's) ``k``
  nearest items (users) by the cosine of their embeddings, as ``similar_items`` and
  ``similar_users`` give them, and each ``_among`` or ``_excluding`` a list of ids of
  its kind (``similar_items_among(item, k, items)``, ...), as their ``allow`` and
  ``deny``;
- with user features, ``recommend_new(user_features, k)``: the ``k`` best items of new
  users known by their encoded features alone, as ``fold_in(user_features=...)`` then
  ``recommend`` give them (the prior mean of :class:`~skncf._training.fold_in.UserPrior`
  moved by the features' part of a row);
- for implicit feedback without a tower (GMF, seed), ``recommend_from_history(user,
  item, k)``: the ``k`` best items of new users folded in from their (user, item)
  pairs, as ``fold_in(X)`` then ``recommend`` give them (Newton's method in the graph,
  :meth:`~skncf._training.fold_in.FoldIn.newton_rows`, where Python runs L-BFGS), and
  ``recommend_from_weighted_history(user, item, weight, k)`` the same with a weight per
  pair, as ``fold_in(X, y=weight)``, and ``explain(user, item, k)``: a fitted user's
  history items that lift ``item`` most, as ``explain`` gives them;
- with user features encoded by the default encoder,
  ``recommend_from_attributes(k, <one input per column>)``: the same from the raw
  attributes, encoded in the graph (:mod:`skncf._serving.attributes`);
- with both user features and the history signatures,
  ``recommend_from_history_and_features(user, item, weight, feature_user,
  user_features, k)``: users with a history and features, as ``fold_in(X, y=weight,
  user_features=...)`` (the features move each user's prior mean), and with the default
  encoder ``recommend_from_history_and_attributes`` the same from raw attributes.

A ``k`` beyond a row's candidates fails the call, or, with the export's ``fill_value``,
gives that fill and NaN scores in the row's last slots, as ``recommend``'s ``fill_value``.

Ids are the model's labels (``tf.string`` or ``tf.int64``), looked up in hash tables in
the graph; the users' seen items are kept as CSR arrays (row offsets and item codes,
int32 where they fit) and gathered per call. Unknown ids follow ``handle_unknown``: an
``InvalidArgumentError`` naming the problem, or the fallback score (and, for users, the
most popular items).
"""

import functools
from typing import Any

import numpy as np
import tensorflow as tf

from .._compat import backing_variable, without_debugging_ops
from .scoring import unit_vectors

WEIGHT_MESSAGE = "weight must be finite and non-negative (0: no interaction)"
# the filtered signatures' suffixes, each with the value of the flag that selects it
FILTERS = (("among", True), ("excluding", False))
ALLOW = tf.TensorSpec([], tf.bool, name="allow")


def id_dtype(labels, what):
    """The TensorFlow dtype of a model's id labels, or raise if they cannot be served."""
    kind = labels.dtype.kind
    if kind == "U":
        return tf.string
    if kind == "i":
        return tf.int64
    if kind == "f":
        advice = "Refit with integer or string ids to export it."
    else:  # TensorFlow's integers are int64 at most
        advice = "Refit with the ids as strings (e.g. X.astype(str)) to export it."
    raise ValueError(
        f"export serves string or integer ids (int64); the model's {what} ids are "
        f"{'floats' if kind == 'f' else 'integers beyond int64'}. {advice}"
    )


class ServingModule(tf.Module):
    """The exported module; see the module docstring.

    Parameters
    ----------
    logits_of : CandidateLogits
        Of the fitted graph, dropout off.
    variables : list of keras.Variable
        The graph's weights (tracked, so that they are saved).
    users, items : ndarray
        The id labels, in code order.
    seen : CSR array of shape (n_users, n_items)
    popularity : ndarray of float32 of shape (n_items,)
        The fallback ranking's scores (minus each item's popularity rank).
    activity : ndarray of float32 of shape (n_users,)
        Each user's number of interactions: ``similar_users``' fallback ranking.
    output : (offset, scale)
        Scores are ``offset + scale * sigmoid(logit)`` (``(0, 1)`` for implicit feedback).
    fallback : float
        The score of a pair with an unknown id.
    strict : bool
        Raise on unknown ids (``handle_unknown="error"``).
    prior : UserPrior or None, default=None
        Fold-in's prior, of a model with user features: adds ``recommend_new``.
    features : (width, row_norm) or None, default=None
        The width of the encoded user features (with ``prior``) and the length fit
        scaled their rows to.
    attributes : AttributeEncoder or None, default=None
        The user features' default encoder as TensorFlow ops (with ``prior``): adds
        ``recommend_from_attributes``.
    history : HistoryFoldIn or None, default=None
        Fold-in from a history in the graph: adds ``recommend_from_history`` and
        ``recommend_from_weighted_history``.
    fill : dict or None, default=None
        ``{"item": value, "user": value}``, either None: the id that completes lists of
        that kind past a row's candidates (NaN scores), as ``recommend``'s
        ``fill_value``; where None, a ``k`` beyond them fails the call.
    """

    def __init__(
        self, logits_of, variables, users, items, seen, popularity, activity, output,
        fallback, strict, prior=None, features=None, attributes=None, history=None,
        fill=None,
    ):  # fmt: skip
        super().__init__(name="skncf")
        self.logits_of = logits_of
        self.graph_variables = [backing_variable(v) for v in variables]
        self.user_dtype, self.item_dtype = id_dtype(users, "user"), id_dtype(items, "item")
        self.user_table = _lookup_table(users, self.user_dtype)
        self.item_table = _lookup_table(items, self.item_dtype)
        self.item_labels = tf.Variable(items, dtype=self.item_dtype, trainable=False)
        self.user_labels = tf.Variable(users, dtype=self.user_dtype, trainable=False)
        codes = tf.int32 if len(items) < 2**31 else tf.int64  # item codes; offsets int64
        self.seen_indptr = tf.Variable(seen.indptr.astype(np.int64), trainable=False)
        self.seen_items = tf.Variable(seen.indices, dtype=codes, trainable=False)
        self.popularity = tf.Variable(popularity, trainable=False)
        self.activity = tf.Variable(activity, trainable=False)
        self.n_items, self.n_users = len(items), len(users)
        self.output, self.fallback, self.strict = output, float(fallback), strict
        self.fill = dict(fill or {"item": None, "user": None})
        feature_width, row_norm = features or (None, None)
        self.row_norm: float | None = row_norm
        self.score = tf.function(
            self._score,
            input_signature=[tf.TensorSpec([None], self.user_dtype, name="user"),
                             tf.TensorSpec([None], self.item_dtype, name="item")],
            autograph=False,
        )  # fmt: skip
        user_k = [tf.TensorSpec([None], self.user_dtype, name="user"),
                  tf.TensorSpec([], tf.int32, name="k")]  # fmt: skip
        self.recommend = tf.function(self._recommend, input_signature=user_k, autograph=False)
        item_list = tf.TensorSpec([None], self.item_dtype, name="items")
        self.similar_items = tf.function(
            functools.partial(self._similar, "item"),
            input_signature=[tf.TensorSpec([None], self.item_dtype, name="item"), user_k[1]],
            autograph=False,
        )
        self.similar_users = tf.function(
            functools.partial(self._similar, "user"),
            input_signature=user_k,
            autograph=False,
        )
        # "among" and "excluding" call one traced function of the filter and a flag
        self.recommend_filtered = tf.function(
            self._recommend_filtered, input_signature=[*user_k, item_list, ALLOW], autograph=False
        )
        for suffix, allow in FILTERS:
            filtered = functools.partial(_with_flag, self.recommend_filtered, allow=allow)
            function = tf.function(filtered, input_signature=[*user_k, item_list], autograph=False)
            setattr(self, f"recommend_{suffix}", function)
        self._add_filtered_similar_signatures(user_k, item_list)
        self._add_new_user_signatures(prior, feature_width, attributes)
        self._add_history_signatures(history)
        self._add_history_and_feature_signatures(feature_width, attributes)

    def _add_filtered_similar_signatures(self, user_k, item_list):
        """``similar_items_among``, ``similar_items_excluding`` and the same for users:
        the neighbours within, or outside, a list of ids of their kind for the call."""
        user_list = tf.TensorSpec([None], self.user_dtype, name="users")
        item_k = [tf.TensorSpec([None], self.item_dtype, name="item"), user_k[1]]
        for kind, query, others in (("item", item_k, item_list), ("user", user_k, user_list)):
            both = tf.function(
                functools.partial(self._similar, kind),
                input_signature=[*query, others, ALLOW],
                autograph=False,
            )
            setattr(self, f"similar_{kind}s_filtered", both)
            for suffix, allow in FILTERS:
                filtered = functools.partial(_with_flag, both, allow=allow)
                function = tf.function(filtered, input_signature=[*query, others], autograph=False)
                setattr(self, f"similar_{kind}s_{suffix}", function)

    def _add_new_user_signatures(self, prior, feature_width, attributes):
        """``recommend_new`` (with ``prior``) and ``recommend_from_attributes`` (and
        ``attributes``), or None for each."""
        # each a tf.function, or None where the model cannot serve it
        self.recommend_new: Any = None
        self.recommend_from_attributes: Any = None
        if prior is None:
            return
        # a function, not the NamedTuple, so that tf.Module does not wrap the prior
        self.prior_means = functools.partial(prior.means_of_features, self.logits_of)
        self.prior_split = prior.split
        self.recommend_new = tf.function(
            self._recommend_new,
            input_signature=[
                tf.TensorSpec([None, feature_width], tf.float32, name="user_features"),
                tf.TensorSpec([], tf.int32, name="k"),
            ],
            autograph=False,
        )
        if attributes is not None:
            self.attributes = attributes
            self.recommend_from_attributes = tf.function(
                self._recommend_from_attributes,
                input_signature=[tf.TensorSpec([], tf.int32, name="k"), *attributes.specs],
                autograph=False,
            )

    def _add_history_signatures(self, history):
        """``recommend_from_history`` and ``recommend_from_weighted_history`` (with
        ``history``), or None for each."""
        self.recommend_from_history: Any = None
        self.recommend_from_weighted_history: Any = None
        self.explain: Any = None
        if history is None:
            return
        # a function, not the NamedTuple, as for the prior
        self.history_rows = functools.partial(history.rows, self.logits_of, self.n_items)
        self.influences = functools.partial(history.influences, self.logits_of, self.n_items)
        self.join_rows = history.prior.join
        self.explain = tf.function(
            self._explain,
            input_signature=[tf.TensorSpec([], self.user_dtype, name="user"),
                             tf.TensorSpec([], self.item_dtype, name="item"),
                             tf.TensorSpec([], tf.int32, name="k")],
            autograph=False,
        )  # fmt: skip
        pairs = [tf.TensorSpec([None], self.user_dtype, name="user"),
                 tf.TensorSpec([None], self.item_dtype, name="item")]  # fmt: skip
        k = tf.TensorSpec([], tf.int32, name="k")
        self.recommend_from_history = tf.function(
            self._recommend_from_history, input_signature=[*pairs, k], autograph=False
        )
        self.recommend_from_weighted_history = tf.function(
            self._recommend_from_weighted_history,
            input_signature=[*pairs, tf.TensorSpec([None], tf.float32, name="weight"), k],
            autograph=False,
        )

    def _add_history_and_feature_signatures(self, feature_width, attributes):
        """``recommend_from_history_and_features`` (with both a prior of features and a
        history fold-in) and ``recommend_from_history_and_attributes`` (and the default
        encoder, unless a column is named as another input), or None for each."""
        self.recommend_from_history_and_features: Any = None
        self.recommend_from_history_and_attributes: Any = None
        if self.recommend_new is None or self.recommend_from_history is None:
            return
        history = [tf.TensorSpec([None], self.user_dtype, name="user"),
                   tf.TensorSpec([None], self.item_dtype, name="item"),
                   tf.TensorSpec([None], tf.float32, name="weight"),
                   tf.TensorSpec([None], self.user_dtype, name="feature_user")]  # fmt: skip
        k = tf.TensorSpec([], tf.int32, name="k")
        self.recommend_from_history_and_features = tf.function(
            self._recommend_from_history_and_features,
            input_signature=[
                *history,
                tf.TensorSpec([None, feature_width], tf.float32, name="user_features"),
                k,
            ],
            autograph=False,
        )
        names = {spec.name for spec in history} | {"k"}
        if attributes is not None and not names & {spec.name for spec in attributes.specs}:
            self.recommend_from_history_and_attributes = tf.function(
                self._recommend_from_history_and_attributes,
                input_signature=[*history, k, *attributes.specs],
                autograph=False,
            )

    def _codes(self, table, ids, what):
        codes = table.lookup(ids)
        if self.strict:
            tf.debugging.assert_non_negative(
                codes,
                message=f"{what} ids not seen in fit (the model was exported with "
                "handle_unknown='error')",
            )
        return codes

    def _scores(self, logits):
        offset, scale = self.output
        probability = 0.5 * (1.0 + tf.tanh(0.5 * tf.cast(logits, tf.float64)))
        return offset + scale * probability

    def _score(self, user, item):
        u = self._codes(self.user_table, user, "user")
        i = self._codes(self.item_table, item, "item")
        known = (u >= 0) & (i >= 0)
        rows = self.logits_of.user_rows(tf.maximum(u, 0))
        side = self.logits_of.side_of_rows(rows, False)
        logits = self.logits_of.pairs(
            side, self.logits_of.item_side(tf.maximum(i, 0), False), False
        )
        scores = tf.where(known, self._scores(logits), tf.constant(self.fallback, tf.float64))
        return {"score": scores}

    def _recommend(self, user, k):
        logits, known = self._unseen_logits(user)
        return self._top(logits, k, known)

    def _recommend_filtered(self, user, k, items, allow):
        """:meth:`_recommend` among ``items`` only (``allow``, a bool tensor), or without
        them."""
        logits, known = self._unseen_logits(user)
        excluded = self._excluded("item", items, allow)
        logits = tf.where(excluded, tf.constant(-np.inf, logits.dtype), logits)
        return self._top(logits, k, known)

    def _similar(self, kind, ids, k, others=None, allow=False):
        """Each id's ``k`` nearest ``kind``s by cosine, itself left out (fallback if unknown).

        The fallback ranks items by popularity, users by their number of interactions.
        With ``others`` (ids of ``kind``), the neighbours are among them only
        (``allow``, a bool tensor) or never them.
        """
        table, labels, n, fallback = self._kind(kind)
        codes = self._codes(table, ids, kind)
        known = codes >= 0
        code = tf.maximum(codes, 0)
        vectors = unit_vectors(self.logits_of, kind)
        cosines = tf.matmul(tf.gather(vectors, code), vectors, transpose_b=True)
        cosines = tf.where(known[:, None], cosines, fallback[None, :])
        itself = tf.one_hot(code, n, on_value=True, off_value=False) & known[:, None]
        excluded = itself if others is None else itself | self._excluded(kind, others, allow)
        cosines = tf.where(excluded, tf.constant(-np.inf, cosines.dtype), cosines)
        fewest, cut = n - 1, ""  # without a filter: every other id
        if others is not None and self.fill[kind] is None:
            left = tf.reduce_sum(tf.cast(cosines > -np.inf, tf.int32), axis=1)
            fewest = tf.reduce_min(tf.concat([left, [fewest]], 0))
            cut = " (within the filter)"
        with tf.control_dependencies(
            [tf.debugging.assert_positive(k, message="k must be positive"),
             tf.debugging.assert_less_equal(
                 k, fewest, message=f"k exceeds the other {kind}s{cut}"
             )]
        ):  # fmt: skip
            values, top = tf.math.top_k(cosines, k)
        scores = tf.where(known[:, None], tf.cast(values, tf.float64), tf.constant(0.0, tf.float64))
        found, scores = self._filled(kind, tf.gather(labels, top), scores, values)
        return {f"{kind}s": found, "scores": scores}

    def _kind(self, kind):
        """``(lookup table, labels, count, fallback scores)`` of ``"item"`` or ``"user"``."""
        if kind == "item":
            return self.item_table, self.item_labels, self.n_items, self.popularity
        return self.user_table, self.user_labels, self.n_users, self.activity

    def _excluded(self, kind, others, allow):
        """A row mask over all ``kind``s: True where a filter of ``others`` excludes it."""
        table, _, n, _ = self._kind(kind)
        codes = self._codes(table, others, kind)
        found = tf.boolean_mask(codes, codes >= 0)  # unknown ones dropped ("ignore")
        hits = tf.scatter_nd(found[:, None], tf.ones_like(found, tf.int32), [n])
        return tf.not_equal(hits > 0, allow)[None, :]

    def _unseen_logits(self, user):
        """Catalog logits of each user (popularity if unknown), ``-inf`` at seen items."""
        u = self._codes(self.user_table, user, "user")
        known = u >= 0
        code = tf.maximum(u, 0)
        logits = self._catalog_logits(self.logits_of.user_rows(code))
        logits = tf.where(known[:, None], logits, self.popularity[None, :])
        return self._mask_seen(logits, code, known), known

    def _recommend_new(self, features, k):
        """Top ``k`` of users from their encoded features, scaled as fit scaled them."""
        rows = self.prior_split(self._feature_means(features))
        logits = self._catalog_logits(rows)
        return self._top(logits, k, tf.ones(tf.shape(logits)[:1], tf.bool))

    def _feature_means(self, features):
        """The prior means of users with encoded ``features``, scaled as fit scaled them."""
        tf.debugging.assert_all_finite(features, "user_features hold NaN or infinite values")
        # to fit's length, as skncf._data.features scales fit's rows (tested to agree)
        norms = tf.norm(features, axis=1, keepdims=True)
        return self.prior_means(self.row_norm * features / tf.where(norms > 0, norms, 1.0))

    def _recommend_from_attributes(self, k, *columns):
        """:meth:`_recommend_new` of users' raw attributes, encoded as fit encoded them.

        Calls the traced ``recommend_new``, as the other signatures that wrap one do:
        the SavedModel holds its graph once, and the export traces it once.
        """
        return self.recommend_new(self.attributes(columns), k)

    def _recommend_from_history(self, user, item, k):
        """Top ``k`` of users folded in from (user, item) pairs, their items left out
        (and a known user's items of fit, as ``fold_in``).

        Each distinct user in order of first appearance; repeated pairs count as one
        interaction each, and each user's weights are scaled to mean 1, as ``fold_in``
        does. Unknown items raise or are left out, as ``handle_unknown`` says.
        """
        return self.recommend_from_weighted_history(
            user, item, tf.ones(tf.shape(item), tf.float32), k
        )

    def _recommend_from_weighted_history(self, user, item, weight, k):
        """:meth:`_recommend_from_history` with a weight per pair, as ``fold_in(X, y)``.

        Weights are finite and non-negative; a pair of weight 0 is no interaction
        (neither learned from nor left out), repeated pairs' weights add up.
        """
        with tf.control_dependencies(_weight_checks(item, weight)):
            labels, user_code = tf.unique(user)
            return self._from_history(labels, user_code, item, tf.identity(weight), k)

    def _recommend_from_history_and_features(self, user, item, weight, feature_user,
                                             features, k):  # fmt: skip
        """:meth:`_recommend_from_weighted_history` of users who also have features.

        ``feature_user`` names the user of each row of ``features``: every user of the
        pairs, and users without pairs (who get their features' prior mean, as
        :meth:`_recommend_new`). The prior mean of each user moves by its features, as
        ``fold_in(X, y=weight, user_features=...)`` does; ``users`` lists the distinct
        users of ``user`` then of ``feature_user``, in order of first appearance.
        """
        labels, codes = tf.unique(tf.concat([user, feature_user], 0))
        user_code, feature_code = codes[: tf.size(user)], codes[tf.size(user) :]
        n_users = tf.size(labels)
        covered = tf.scatter_nd(feature_code[:, None], tf.ones_like(feature_code), [n_users])
        checks = [
            *_weight_checks(item, weight),
            tf.debugging.assert_equal(
                tf.shape(features)[0], tf.size(feature_user),
                message="user_features needs one row per feature_user",
            ),
            tf.debugging.assert_equal(
                tf.size(tf.unique(feature_user)[0]), tf.size(feature_user),
                message="feature_user holds a user twice",
            ),
            tf.debugging.assert_equal(
                tf.reduce_min(tf.concat([tf.gather(covered, user_code), [1]], 0)), 1,
                message="every user of the pairs needs a row of user_features",
            ),
        ]  # fmt: skip
        with tf.control_dependencies(checks):
            rows = tf.scatter_nd(feature_code[:, None], features, [n_users, tf.shape(features)[1]])
            means = self._feature_means(rows)
            return self._from_history(labels, user_code, item, tf.identity(weight), k, means)

    def _recommend_from_history_and_attributes(self, user, item, weight, feature_user, k,
                                               *columns):  # fmt: skip
        """:meth:`_recommend_from_history_and_features` of raw attributes, encoded as
        fit encoded them."""
        return self.recommend_from_history_and_features(
            user, item, weight, feature_user, self.attributes(columns), k
        )

    def _from_history(self, labels, user_code, item, weight, k, means=None):
        """The history signatures' work: pairs of weight 0 or of unknown items dropped.

        ``labels`` are the distinct users, ``user_code`` each pair's position among them;
        ``means`` the users' prior means (default: the prior's mean for all).
        """
        codes = self._codes(self.item_table, item, "item")
        n_users = tf.size(labels)
        pairs = tf.cast(user_code, tf.int64) * self.n_items + codes
        positive = (codes >= 0) & (weight > 0)
        merged, index = tf.unique(tf.boolean_mask(pairs, positive))
        summed = tf.math.unsorted_segment_sum(
            tf.boolean_mask(weight, positive), index, tf.size(merged)
        )
        users = tf.cast(merged // self.n_items, tf.int32)
        items = tf.cast(merged % self.n_items, tf.int32)
        weights = summed / tf.gather(tf.math.unsorted_segment_mean(summed, users, n_users), users)
        logits = self._catalog_logits(self.history_rows(n_users, users, items, weights, means))
        history = tf.stack([users, items], 1)
        minus_inf = tf.fill(tf.shape(users), tf.constant(-np.inf, logits.dtype))
        logits = tf.tensor_scatter_nd_update(logits, history, minus_inf)
        fitted = self.user_table.lookup(labels)  # a known user's items of fit stay seen
        logits = self._mask_seen(logits, tf.maximum(fitted, 0), fitted >= 0)
        return {"users": labels, **self._top(logits, k, tf.ones([n_users], tf.bool))}

    def _explain(self, user, item, k):
        """A fitted user's ``k`` history items that lift ``item`` most, as ``explain``.

        Fewer where the history is shorter; unknown ids fail the call, whatever
        ``handle_unknown`` says: there is nothing to explain.
        """
        u = self.user_table.lookup(user[None])
        i = tf.cast(self.item_table.lookup(item[None]), tf.int32)
        checks = [
            tf.debugging.assert_non_negative(u, message="user id not seen in fit"),
            tf.debugging.assert_non_negative(i, message="item id not seen in fit"),
            tf.debugging.assert_positive(k, message="k must be positive"),
        ]
        with tf.control_dependencies(checks):  # before any gather by a code of -1
            u, i = tf.identity(u), tf.identity(i)
        seen = tf.cast(self.seen_items[self.seen_indptr[u[0]] : self.seen_indptr[u[0] + 1]],
                       tf.int32)  # fmt: skip
        rows = self.logits_of.user_rows(tf.cast(u, tf.int32))
        theta = self.join_rows(rows)
        lifts = tf.cond(  # a user known by its features alone has no history
            tf.size(seen) > 0, lambda: self.influences(theta, seen, i)[0],
            lambda: tf.zeros([0], tf.float64),
        )  # fmt: skip
        values, top = tf.math.top_k(lifts, tf.minimum(k, tf.size(seen)))
        return {"items": tf.gather(self.item_labels, tf.gather(seen, top)),
                "contributions": values}  # fmt: skip

    def _catalog_logits(self, rows):
        side = self.logits_of.side_of_rows(rows, False)
        all_items = self.logits_of.item_side(tf.range(self.n_items), False)
        return self.logits_of.cross(side, all_items, False)

    def _top(self, logits, k, known):
        """The ``k`` best items of each row and their scores (the fallback where unknown)."""
        fewest, message = self.n_items, f"k exceeds the {self.n_items} items of the model"
        if self.fill["item"] is None:
            unseen = tf.reduce_sum(tf.cast(logits > -np.inf, tf.int32), axis=1)
            fewest = tf.reduce_min(tf.concat([unseen, [fewest]], 0))
            message = ("k exceeds the items a requested user has not seen (within the "
                       "filters of recommend_among or recommend_excluding)")  # fmt: skip
        checks = [
            tf.debugging.assert_positive(k, message="k must be positive"),
            tf.debugging.assert_less_equal(k, fewest, message=message),
        ]
        # the checks first: else top_k may fail on its own, with a message about columns
        with tf.control_dependencies(checks):
            values, top = tf.math.top_k(logits, k)
        scores = tf.where(
            known[:, None], self._scores(values), tf.constant(self.fallback, tf.float64)
        )
        items, scores = self._filled("item", tf.gather(self.item_labels, top), scores, values)
        return {"items": items, "scores": scores}

    def _filled(self, kind, ids, scores, values):
        """``(ids, scores)``, with the export's fill for ``kind`` and NaN where the top
        ``values`` are ``-inf`` (past a row's candidates), as ``fill_value`` does."""
        fill = self.fill[kind]
        if fill is None:
            return ids, scores
        short = tf.equal(values, -np.inf)
        ids = tf.where(short, tf.constant(fill, ids.dtype), ids)
        return ids, tf.where(short, tf.constant(np.nan, tf.float64), scores)

    def _mask_seen(self, logits, code, known):
        """``-inf`` at each known user's seen items (unknown users have none)."""
        seen = tf.RaggedTensor.from_row_splits(self.seen_items, self.seen_indptr, validate=False)
        rows = tf.gather(seen, code)
        row_ids = rows.value_rowids()
        columns = tf.cast(rows.flat_values, tf.int64)
        mine = tf.gather(known, row_ids)
        at = tf.stack([tf.boolean_mask(row_ids, mine), tf.boolean_mask(columns, mine)], 1)
        minus_inf = tf.fill(tf.shape(at)[:1], tf.constant(-np.inf, logits.dtype))
        return tf.tensor_scatter_nd_update(logits, at, minus_inf)


def _weight_checks(item, weight):
    """The checks of a weight per pair: as many as pairs, finite and non-negative."""
    return [
        tf.debugging.assert_equal(
            tf.size(weight), tf.size(item), message="weight needs one value per pair"
        ),
        tf.debugging.assert_non_negative(weight, message=WEIGHT_MESSAGE),  # NaN too
        tf.debugging.assert_all_finite(weight, WEIGHT_MESSAGE),  # inf
    ]


def _with_flag(function, *args, allow):
    """``function(*args, allow)``: a filter's signature ("among" with ``allow`` True,
    "excluding" with False) calls one traced function of both, whose graph the export
    then traces and holds once."""
    return function(*args, tf.constant(allow))


def _lookup_table(labels, dtype):
    keys = tf.constant(labels, dtype=dtype)
    codes = tf.range(len(labels), dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, codes), -1)


def write_saved_model(path, module):
    """Save ``module`` (a :class:`ServingModule`) with its signatures to ``path``, traced
    without the debugging ops a session may have turned on (check_numerics)."""
    with without_debugging_ops():
        tf.saved_model.save(module, str(path), signatures=_signatures(module))


def _signatures(module):
    """The functions ``module`` serves, by signature name.

    They go to ``tf.saved_model.save`` as ``tf.function`` objects, not concrete functions: a
    function traced outside the save is traced again inside it (the save's variable
    policy is part of the trace's key), so tracing them there once halves the time of an
    export and of its load.
    """
    filtered = [f"similar_{kind}_{suffix}" for kind in ("items", "users")
                for suffix in ("among", "excluding")]  # fmt: skip
    names = (
        "recommend", "recommend_among", "recommend_excluding", "similar_items", "similar_users",
        *filtered, "recommend_from_history", "recommend_from_weighted_history", "explain",
        "recommend_new", "recommend_from_attributes", "recommend_from_history_and_features",
        "recommend_from_history_and_attributes",
    )  # fmt: skip
    signatures = {"serving_default": module.score}
    for name in names:  # the optional ones are None where the model cannot serve them
        if getattr(module, name) is not None:
            signatures[name] = getattr(module, name)
    return signatures
