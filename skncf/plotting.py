"""Pictures of what a fitted recommender learned (matplotlib, an optional extra).

``pip install "skncf[plot]"``. Both functions draw on a matplotlib ``Axes`` (a new
figure if none is given) and return it, so they compose with the rest of a figure.

- :func:`plot_history`: the training loss per epoch, and the validation score when the
  estimator was fit with ``validation_fraction``.
- :func:`plot_embeddings`: item (or user) embeddings projected to 2-D by PCA, optionally
  coloured and labelled, as in the notebook this project grew from.
"""

from __future__ import annotations  # help() shows ArrayLike, not numpy's full union

from collections.abc import Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Literal

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from ._data.ids import check_known, check_query_ids, encode
from ._serving.scoring import Scorer
from .metrics import _recommender_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ._estimator import NCFRecommender


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('skncf.plotting needs matplotlib: pip install "skncf[plot]"') from None
    return plt


def plot_history(estimator: NCFRecommender | dict, *, ax: Axes | None = None) -> Axes:
    """Plot the training loss and, if recorded, the validation score per epoch.

    Parameters
    ----------
    estimator : fitted NCFRecommender, a Pipeline that ends in one, or dict
        A fitted estimator, or its ``history_`` dict.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None. The validation score, when present, gets a
        second y axis on the right.

    Returns
    -------
    ax : matplotlib Axes
        The axes of the loss.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skncf import NCFRecommender
    >>> from skncf.datasets import make_interactions
    >>> from skncf.plotting import plot_history
    >>> X, _ = make_interactions(n_users=100, n_items=50, random_state=0)
    >>> rec = NCFRecommender(architecture="gmf", epochs=3, validation_fraction=0.2, random_state=0)
    >>> ax = plot_history(rec.fit(X))
    >>> ax.get_ylabel()
    'training loss'
    """
    history = estimator if isinstance(estimator, dict) else _fitted(estimator).history_
    if not history.get("loss"):
        raise ValueError("the history has no 'loss' to plot.")
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], marker="o", color="C0", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    scores = [key for key in history if key.startswith("val_")]
    if scores:
        right = ax.twinx()
        for n, key in enumerate(scores):
            values = history[key]
            right.plot(epochs[: len(values)], values, marker="s", color=f"C{n + 1}", label=key)
            best = int(np.argmax(values))
            right.axvline(
                best + 1, color=f"C{n + 1}", linestyle=":", linewidth=1, label=f"best {key}"
            )
        right.set_ylabel(", ".join(scores))
        lines = ax.get_lines() + right.get_lines()
        ax.legend(
            lines,
            [line.get_label() for line in lines],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=len(lines),
            frameon=False,
        )
    ax.set_title("Training history")
    return ax


def plot_embeddings(
    estimator: NCFRecommender,
    *,
    kind: Literal["item", "user"] = "item",
    ids: ArrayLike | None = None,
    labels: dict | Sequence | None = None,
    color: ArrayLike | None = None,
    n_labels: int = 20,
    ax: Axes | None = None,
) -> Axes:
    """Scatter item (or user) embeddings projected to their first two principal axes.

    Each point is one item (user); its vector is the learned embedding (for NeuMF the
    GMF and MLP embeddings, each scaled to unit length, side by side), and PCA keeps the
    two directions of largest variance. Items close together are scored alike.

    Parameters
    ----------
    estimator : fitted NCFRecommender, or a Pipeline that ends in one
        The model whose embeddings are drawn.
    kind : {"item", "user"}, default="item"
        Which side's embeddings to draw.
    ids : array-like, default=None
        Which items (users) to show, by label; all of them if None.
    labels : dict, pandas Series or array-like, default=None
        Text for points: a dict or a Series from id to text (ids missing from it get
        none), e.g. a column of a table indexed by item id, or one entry per shown id,
        in order.
    color : pandas Series or array-like, default=None
        Values mapped to colours, numbers (e.g. a genre code) or categories (e.g. genre
        names, then listed in a legend): a Series from id to value, holding every
        shown id, or one value per shown id, in order.
    n_labels : int, default=20
        Label at most this many points, those farthest from the centre.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skncf import NCFRecommender
    >>> from skncf.datasets import make_interactions
    >>> from skncf.plotting import plot_embeddings
    >>> X, _ = make_interactions(n_users=100, n_items=50, random_state=0)
    >>> rec = NCFRecommender(architecture="gmf", epochs=2, random_state=0).fit(X)
    >>> ax = plot_embeddings(rec, labels={0: "first item"})
    >>> len(ax.collections[0].get_offsets())
    50
    """
    estimator = _fitted(estimator)
    if isinstance(n_labels, bool) or not isinstance(n_labels, Integral) or n_labels < 0:
        raise ValueError(f"n_labels must be an int >= 0; got {n_labels!r}.")
    vectors = embedding_vectors(estimator, kind)
    known = estimator.items_ if kind == "item" else estimator.users_
    if ids is None:
        shown, codes = known, np.arange(len(known))
    else:
        shown = check_query_ids(ids, "ids")
        codes, found = encode(known, shown)
        check_known(found, shown, "ids", hint="Only learned embeddings can be drawn.")
    if len(codes) < 2:
        raise ValueError(f"plot_embeddings needs at least 2 {kind}s to project; got {len(codes)}.")
    vectors = vectors[codes]
    if vectors.shape[1] == 1:  # latent_dim=1: the one axis, the second flat
        vectors = np.hstack([vectors, np.zeros_like(vectors)])
    # an array whatever sklearn.set_config(transform_output=...) says
    points = PCA(n_components=2).set_output(transform="default").fit_transform(vectors)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    _scatter(ax, points, _by_id(color, shown, "color", kind), kind)
    texts = _point_labels(labels, shown)
    if texts is not None:
        has_text = np.flatnonzero([t is not None for t in texts])
        far = has_text[np.argsort(-np.linalg.norm(points[has_text], axis=1))][:n_labels]
        for n in far:
            ax.annotate(
                str(texts[n]), points[n], fontsize=8, xytext=(3, 3), textcoords="offset points"
            )
    ax.set_xlabel("first principal axis")
    ax.set_ylabel("second principal axis")
    ax.set_title(f"{kind.capitalize()} embeddings (PCA)")
    return ax


def embedding_vectors(estimator: NCFRecommender, kind: str) -> np.ndarray:
    """The learned ``kind`` ("item" or "user") vectors, rows in code order.

    With side features, a vector is the id embedding plus the projected features, as the
    model scores with it. With both a GMF and an MLP embedding (NeuMF), each part is
    scaled to unit length and the two stand side by side.

    Parameters
    ----------
    estimator : fitted NCFRecommender, or a Pipeline that ends in one
        The model.
    kind : {"item", "user"}
        Which side's vectors.

    Returns
    -------
    vectors : ndarray of shape (n_items, n_dims) or (n_users, n_dims)
        One row per entry of ``items_`` (``users_``), in that order.
    """
    estimator = _fitted(estimator)
    if kind not in ("item", "user"):
        raise ValueError(f"kind must be 'item' or 'user'; got {kind!r}.")
    logits_of = Scorer(estimator.model_).logits_of
    tables = logits_of.layout.embeddings(kind)
    parts = [logits_of.embedded(t, tf.range(t.input_dim)).numpy() for t in tables]
    if len(parts) == 1:
        return parts[0]
    return np.hstack(
        [p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12) for p in parts]
    )


def _scatter(ax, points, color, kind):
    """Draw ``points``, coloured by numbers or by categories (with a legend)."""
    if color is None:
        ax.scatter(points[:, 0], points[:, 1], s=14)
        return
    color = np.asarray(color)
    if color.shape != (len(points),):
        raise ValueError(f"color has shape {color.shape} for {len(points)} shown {kind}s.")
    categories = None
    if color.dtype.kind not in "iufb":
        categories, color = np.unique(color.astype(str), return_inverse=True)
    cmap = "tab10" if categories is None or len(categories) <= 10 else "tab20"
    drawn = ax.scatter(points[:, 0], points[:, 1], c=color, s=14, cmap=cmap)
    if categories is not None:
        handles, _ = drawn.legend_elements(num=None)
        ax.legend(handles, categories.tolist(), fontsize=8)


def _by_id(values, shown, name, kind):
    """``values`` in the order of the ``shown`` ids: a pandas Series is read by its index
    (every shown id needed), anything else is taken as it is."""
    if values is None or not _is_series(values):
        return values
    missing = ~np.isin(shown, values.index.to_numpy())
    if missing.any():
        raise ValueError(
            f"{name}, a Series, has no value for {missing.sum()} shown {kind}(s), e.g. "
            f"{shown[missing][:3].tolist()}: its index must hold the ids."
        )
    return values.loc[shown].to_numpy()


def _is_series(values):
    return hasattr(values, "index") and getattr(values, "ndim", None) == 1


def _point_labels(labels, shown):
    if labels is None:
        return None
    if _is_series(labels):
        labels = labels.to_dict()
    if isinstance(labels, dict):
        return [labels.get(key) for key in shown.tolist()]
    if isinstance(labels, (str, bytes)) or not np.iterable(labels):
        raise TypeError(
            "labels must be a dict or a Series from id to text, or one text per shown id; "
            f"got {type(labels).__name__}."
        )
    labels = list(labels)
    if len(labels) != len(shown):
        raise ValueError(f"labels has {len(labels)} entries for {len(shown)} shown points.")
    return labels


def _fitted(estimator):
    """The fitted recommender that ``estimator`` is, or that ends a fitted Pipeline."""
    estimator, _ = _recommender_of(estimator)
    check_is_fitted(estimator)
    return estimator
