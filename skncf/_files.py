"""NCFRecommender's model files: ``save`` (a file ``load`` reads) and ``export`` (a
TensorFlow SavedModel that serves raw ids without skncf).

A mixin of :class:`~skncf._estimator.NCFRecommender`. The file format itself is
:mod:`skncf._saving`'s; the SavedModel's signatures are :mod:`skncf._serving.saved_model`'s.
"""

import os
from collections.abc import Mapping
from numbers import Integral
from typing import BinaryIO

from sklearn.utils.validation import check_is_fitted

from ._fitted_state import FittedState
from ._recommending import check_fill
from ._saving import check_path, graph_weights, write_model
from ._serving.attributes import attribute_encoder
from ._serving.saved_model import ServingModule, id_dtype, write_saved_model
from ._training.fold_in import HistoryFoldIn, is_convex
from ._version import __version__


class FileMethods(FittedState):
    """``save`` and ``export`` of a fitted estimator."""

    def save(self, path: str | os.PathLike[str] | BinaryIO) -> str | os.PathLike[str] | BinaryIO:
        """Write the fitted model to one file that :func:`skncf.load` reads back.

        The file (a zip archive of JSON metadata and ``.npz`` arrays, see
        :mod:`skncf._saving`) holds the parameters, the id labels, the Keras graph's
        weights and the training interactions that ``recommend`` leaves out; loading it
        never executes code from the file, unlike ``pickle``. The parameters that shape
        the model (``architecture``, ``latent_dim``, ``loss``, ``feedback``, ...) are
        written as ``fit`` used them: as in scikit-learn, ``set_params`` after ``fit``
        changes the next fit, not the fitted model.

        Parameters
        ----------
        path : str, path-like or binary file object
            Where to write; an existing file is replaced, whole or not at all. ``.skncf``
            is a good suffix. A file open for writing in binary mode (``open(name,
            "wb")``, ``io.BytesIO``, cloud storage's file objects such as ``fsspec``'s)
            receives the model file at its position and stays open.

        Returns
        -------
        path : str, path-like or binary file object
            ``path``, as given.

        Examples
        --------
        >>> import skncf
        >>> from skncf.datasets import make_interactions
        >>> X, _ = make_interactions(n_users=40, n_items=30, random_state=0)
        >>> rec = skncf.NCFRecommender(architecture="gmf", epochs=1, random_state=0).fit(X)
        >>> import os, tempfile
        >>> path = rec.save(os.path.join(tempfile.mkdtemp(), "model.skncf"))
        >>> bool((skncf.load(path).recommend([0, 1], k=3) == rec.recommend([0, 1], k=3)).all())
        True
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        state = {
            "params": {**self.get_params(deep=False), **getattr(self, "_fitted_settings", {})},
            "users": self.users_,
            "items": self.items_,
            "seen": self.seen_,
            "weights": graph_weights(self.model_),
            "n_features_in": self.n_features_in_,
            "feature_names_in": None if names is None else names.tolist(),
            "id_columns": self._id_columns_,
            "scalars": (self._rating_offset, self._rating_scale, self._fallback),
            "rating_noise": self._rating_noise,
            "feature_width": getattr(self, "_feature_width", {}),
            "feature_row_norm": self._row_norm(),
            "feature_tables": (
                getattr(self, "_encoder_tables", {}),
                getattr(self, "feature_encoders_", {}),
            ),
            "history": self.history_,
        }
        write_model(check_path(path, for_writing=True), state, __version__)
        return path

    def export(
        self,
        path: str | os.PathLike[str],
        fill_value: int | str | Mapping[str, int | str | None] | None = None,
    ) -> str | os.PathLike[str]:
        """Write a TensorFlow SavedModel that serves raw ids, for serving without Python.

        The SavedModel holds the graph's weights, the id lookups and the seen items, and
        signatures that take the ids the model was fit on (``tf.string`` or
        ``tf.int64`` tensors); it loads with TensorFlow alone (``tf.saved_model.load``,
        TensorFlow Serving, ``saved_model_cli``), neither skncf nor Keras needed:

        - ``serving_default(user, item)`` -> ``{"score"}``: float64 scores of the pairs,
          as :meth:`predict` gives them;
        - ``recommend(user, k)`` -> ``{"items", "scores"}``: each user's ``k`` best items
          (``k`` an int32 scalar chosen per call, at most the number of items a
          requested user has not seen, unless ``fill_value`` completes the lists) and
          their scores, seen items left out, as :meth:`recommend` gives them.
        - ``recommend_among(user, k, items)`` and ``recommend_excluding(user, k, items)``
          -> ``{"items", "scores"}``: the same within a list of item ids for the whole
          call, or outside it, as ``recommend(..., allow=items)`` and ``deny=items``.
        - ``similar_items(item, k)`` -> ``{"items", "scores"}``: each item's ``k``
          nearest items and their cosines, as :meth:`similar_items` gives them;
          ``similar_users(user, k)`` -> ``{"users", "scores"}`` the same for users, as
          :meth:`similar_users`. ``similar_items_among(item, k, items)``,
          ``similar_items_excluding(item, k, items)``, ``similar_users_among(user, k,
          users)`` and ``similar_users_excluding(user, k, users)``: the same within a
          list of ids for the whole call, or outside it, as ``allow`` and ``deny``.

        - ``recommend_from_history(user, item, k)`` -> ``{"users", "items",
          "scores"}``: the ``k`` best items of new users from their (user id, item id)
          pairs (new ids of the type of the model's own), each user's history left
          out, as :meth:`fold_in` then ``recommend`` give them; ``users`` lists the
          distinct users in order of first appearance,
          a repeated pair counts once per row, and a user whose items are all unknown
          (``handle_unknown="ignore"``) gets the prior mean's ranking. For implicit
          feedback without a tower (``"gmf"``, ``"seed"``), whose users' problems are
          convex: the graph solves them by Newton's method (at most 12 steps, each a
          ``(width, width)`` system per user: for a few users per call), where
          Python's ``fold_in`` runs L-BFGS, to scores within about 1e-5 for a user
          alone (a batch's joint solve stops a little short of the optimum).
          ``recommend_from_weighted_history(user, item, weight, k)`` the same with a
          float32 weight per pair (play counts, hours), as ``fold_in(X, y=weight)``:
          weights non-negative and finite, 0 for no interaction (a user left with none
          gets the prior mean's ranking, where ``fold_in`` raises), repeated pairs'
          weights summed. For the same models, ``explain(user, item, k)`` ->
          ``{"items", "contributions"}``: a fitted user's ``k`` history items that lift
          ``item``'s score most (fewer where the history is shorter), as
          :meth:`explain`; unknown ids fail the call, whatever ``handle_unknown`` says.
        - with ``user_features``, ``recommend_new(user_features, k)`` -> ``{"items",
          "scores"}``: the ``k`` best items of new users known by their features alone
          (cold start), as ``fold_in(user_features=...)`` then ``recommend`` give them.
          ``user_features`` is a dense float32 matrix of the encoded features, one row per
          user: what ``feature_encoders_["user"].transform(table)`` returns for a
          DataFrame, or the matrix itself for features given as ``(ids, matrix)``
          without an encoder (then no Python is needed to serve them); the signature
          scales the rows as ``fit`` did.
        - with ``user_features`` encoded by the default encoder,
          ``recommend_from_attributes(k, <one input per column>)`` -> ``{"items",
          "scores"}``: the same from raw attributes, encoded in the graph as the fitted
          encoder encodes them; numbers as float64 (NaN: missing), text as strings
          (``""``: missing), booleans as bool, lists of text labels as strings of
          labels joined by ``|``, each input named after its column.
        - with ``user_features`` and ``recommend_from_history``,
          ``recommend_from_history_and_features(user, item, weight, feature_user,
          user_features, k)`` -> ``{"users", "items", "scores"}``: users with a history
          and features, as ``fold_in(X, y=weight, user_features=(feature_user,
          user_features))`` then ``recommend``; ``feature_user`` names each row's user,
          every user of the pairs among them (users with a row and no pairs get their
          features' ranking); ``users`` lists the pairs' users, then the others, in
          order of first appearance. With the default encoder,
          ``recommend_from_history_and_attributes(user, item, weight, feature_user, k,
          <one input per column>)`` the same from raw attributes (unless a column is
          named as one of the other inputs).

        Unknown ids follow ``handle_unknown``: ``"error"`` makes a call raise
        ``InvalidArgumentError``; ``"ignore"`` gives the fallback score and, for users, the
        most popular items (unknown item ids in a filter: an error, or left out).
        Per-user filters, fold-in for towers and ratings, and approximate search stay
        in Python.

        Parameters
        ----------
        path : str or path-like
            A directory, created if needed (for TensorFlow Serving, a numbered version
            folder such as ``models/ncf/1``).
        fill_value : int, str or dict, default=None
            Completes the lists that would fall short of ``k`` (a user who has seen
            most of the catalog, narrow filters), as :meth:`recommend`'s
            ``fill_value`` does: their last slots hold it, with NaN scores, where
            without it such a call fails (``InvalidArgumentError``); ``k`` beyond the
            whole catalog (or the other users) still fails. One value serves item lists
            and user lists (``similar_users``) alike and must be of the type of both
            kinds' ids and neither an item's id nor a user's; a dict ``{"item": value,
            "user": value}`` gives each kind its own (either left out: that kind's
            calls fail as without it), for models whose user and item ids differ in
            type.

        Returns
        -------
        path : str or path-like
            ``path``, as given.

        Raises
        ------
        ValueError
            If the model's ids are floats or integers beyond int64, which a SavedModel
            cannot look up, or if ``fill_value`` is a known id or beyond int64.
        TypeError
            If ``fill_value`` is not of the ids' type.

        Examples
        --------
        >>> import os, tempfile
        >>> import tensorflow as tf
        >>> from skncf import NCFRecommender
        >>> rec = NCFRecommender(epochs=1, random_state=0)
        >>> rec = rec.fit([["a", "x"], ["a", "y"], ["b", "y"], ["b", "z"], ["c", "x"]])
        >>> path = rec.export(os.path.join(tempfile.mkdtemp(), "ncf", "1"))
        >>> served = tf.saved_model.load(path).signatures["recommend"]
        >>> out = served(user=tf.constant(["a"]), k=tf.constant(1))
        >>> out["items"].numpy()[0, 0].decode() == rec.recommend(["a"], k=1)[0, 0]
        True
        """
        check_is_fitted(self)
        if os.path.isfile(path):
            raise ValueError(f"path must be a directory for the SavedModel; {path!r} is a file.")
        id_dtype(self.users_, "user"), id_dtype(self.items_, "item")  # servable ids first
        fill = export_fills(fill_value, self.users_, self.items_)
        output = (0.0, 1.0)
        if self._fitted("feedback") == "explicit":
            output = (self._rating_offset, self._rating_scale)
        width = getattr(self, "_feature_width", {}).get("user")
        prior = None if width is None else self._fold_in_solver().prior
        # the default encoder only (its table kept for save): a transformer of the user's
        # own may set options that the TensorFlow ops do not follow
        default = "user" in getattr(self, "_encoder_tables", {})
        encoder = self.feature_encoders_["user"] if default else None
        module = ServingModule(
            self._scorer.logits_of, self.model_.weights, self.users_, self.items_, self.seen_,
            self._popularity, self._activity(), output, self._fallback,
            strict=self.handle_unknown == "error", prior=prior,
            features=None if width is None else (width, self._row_norm()),
            attributes=attribute_encoder(encoder), history=self._history_fold_in(), fill=fill,
        )  # fmt: skip
        write_saved_model(path, module)
        return path

    def _history_fold_in(self):
        """The export's fold-in from a history, for objectives convex in a user's rows:
        implicit feedback, no tower (:meth:`FoldIn.newton_rows`); else None."""
        if not is_convex(self._fold_in_objective(), self._scorer.logits_of):
            return None
        solver = self._fold_in_solver()
        return HistoryFoldIn(
            solver.prior, solver.objective, solver.candidates, self.n_negatives_,
            float(self._fitted("negative_weight")),
        )  # fmt: skip


def export_fills(fill_value, users, items):
    """``{"item": ..., "user": ...}``: what completes each kind's short lists in the
    export (None: nothing), from ``export``'s ``fill_value``; raise if it cannot."""
    if isinstance(fill_value, Mapping):
        if set(fill_value) - {"item", "user"}:
            raise ValueError(
                "fill_value, as a dict, maps 'item' and 'user' to their fills; got keys "
                f"{sorted(map(repr, fill_value))}."
            )
        fills = {kind: fill_value.get(kind) for kind in ("item", "user")}
    else:
        fills = {"item": fill_value, "user": fill_value}
    for kind, labels in (("item", items), ("user", users)):
        value = fills[kind]
        if isinstance(value, Integral) and not -(2**63) <= int(value) < 2**63:
            raise ValueError(f"fill_value must fit int64, as exported ids do; got {value}.")
        try:
            check_fill(value, labels, kind)
        except TypeError as error:
            if isinstance(fill_value, Mapping):
                raise
            raise TypeError(
                f"{error} One fill_value serves item and user lists alike; pass "
                '{"item": ..., "user": ...} where their ids differ in type.'
            ) from None
    return fills
