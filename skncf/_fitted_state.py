"""What the estimator's mixins read of a fitted NCFRecommender, declared for type checks.

:class:`~skncf._estimator.NCFRecommender` is assembled from mixins, one module each:
:mod:`skncf._recommending`, :mod:`skncf._new_ids`, :mod:`skncf._explaining` and
:mod:`skncf._files`. Each reads the fitted state that the estimator's ``fit`` sets and
calls a few of its methods;
:class:`FittedState` declares those once, so that mypy checks every mixin as if it were
the estimator. It adds nothing at run time: annotations only, and method stubs seen by
type checkers alone.
"""

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ._serving.scoring import Scorer


class FittedState:
    """The fitted attributes and methods of NCFRecommender that its mixins use."""

    users_: np.ndarray
    items_: np.ndarray
    seen_: sp.csr_array
    model_: Any
    history_: dict
    n_negatives_: Any
    n_features_in_: int
    feature_encoders_: dict
    handle_unknown: str
    _scorer: Scorer
    _item_index: Any
    _fold_in: Any
    _popularity: np.ndarray
    _fallback: float
    _rating_offset: float
    _rating_scale: float
    _rating_noise: float
    _id_columns_: tuple

    if TYPE_CHECKING:

        def get_params(self, deep=True): ...

        def _fitted(self, name): ...

        def _encode_query(self, values, known_labels, name, among=...): ...

        def _raise_unknown(self, known, labels, what, among=..., fitted=..., ignored=...): ...

        def _output(self, logits): ...

        def _row_norm(self): ...

        def _validate_later(self, X): ...

        def _check_fit_targets(self, X, y, sample_weight, feedback=None): ...

        def _set_fitted(self, graph, history, users_, items_, id_columns, seen, scalars): ...

        def _build_graph(self, architecture, n_users, n_items, seeds, *, fitted=False): ...

        def _trained_architecture(self, *, fitted=False): ...

        # of the other mixins
        def _activity(self): ...

        def _fold_in_objective(self): ...

        def _fold_in_solver(self): ...

        def _fold_in_history(self, u, i, weights, y, keep, n_users): ...
