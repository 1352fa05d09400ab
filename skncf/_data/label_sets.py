"""Feature columns whose cells hold several labels: a film's genres, a product's tags.

The default encoder (:func:`skncf._data.features.default_encoder`) gives each label of such
a column its own 0/1 column, as LightFM takes an item's features as a list of tags, where
one-hot would make a category of each combination ("Action|Comedy") and refuse lists.
"""

import collections
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.validation import check_is_fitted, validate_data

LIST_LIKE = (list, tuple, set, frozenset, np.ndarray)


def label_columns(frame):
    """The columns of ``frame`` that :func:`holds_labels`."""
    return [column for column in frame.columns if holds_labels(frame[column])]


def holds_labels(column):
    """Whether a pandas ``column`` is of objects with a list, tuple, set or array in a cell."""
    return column.dtype == object and any(
        isinstance(value, LIST_LIKE) for value in column.to_numpy()
    )


class LabelSets(TransformerMixin, BaseEstimator):
    """Columns of label lists as one 0/1 column per label and column.

    A cell holds a list, tuple, set or 1-d array of labels (strings or integers), or a
    missing value (None, NaN), which has none. A label found in fewer than
    ``min_frequency`` rows of the fit's table is left out, as a tag of one film adds
    nothing its id does not; labels the fit did not see are ignored.

    The default ``features_encoder`` applies it to every such column; in an encoder of
    your own, give it the columns in a ``ColumnTransformer``.

    Parameters
    ----------
    min_frequency : int, default=2
        Rows a label needs in the fit's table to get a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from skncf.preprocessing import LabelSets
    >>> films = pd.DataFrame({"genres": [["drama"], ["comedy", "drama"], None, ("comedy",)]})
    >>> sets = LabelSets().fit(films)
    >>> sets.transform(films).tolist()
    [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    >>> sets.get_feature_names_out().tolist()
    ['genres_comedy', 'genres_drama']
    """

    def __init__(self, min_frequency=2):
        self.min_frequency = min_frequency

    def fit(self, X, y=None):
        """Learn each column's labels.

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            Columns of label lists.
        y : None
            Ignored.

        Returns
        -------
        self : LabelSets
            Fitted: ``binarizers_`` holds one ``MultiLabelBinarizer`` per column, whose
            ``classes_`` are its labels.
        """
        _check_frame(X)
        frequency = self.min_frequency
        if isinstance(frequency, bool) or not isinstance(frequency, Integral) or frequency < 1:
            raise ValueError(f"min_frequency must be an int of at least 1; got {frequency!r}.")
        # the columns' names and number, as scikit-learn keeps them (feature_names_in_)
        validate_data(self, X, reset=True, skip_check_array=True)
        self.binarizers_ = []
        for column in X.columns:
            counts = collections.Counter(
                label for labels in label_sets(X[column]) for label in labels
            )
            frequent = [label for label, n in counts.items() if n >= self.min_frequency]
            try:
                classes = sorted(frequent)
            except TypeError:
                raise TypeError(
                    f"column {column!r} mixes labels of several types; use one, e.g. strings."
                ) from None
            self.binarizers_.append(MultiLabelBinarizer(classes=classes).fit([]))
        return self

    def transform(self, X):
        """One 0/1 column per fitted label, the columns' blocks side by side.

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            The fit's columns of label lists.

        Returns
        -------
        rows : ndarray of shape (n_rows, n_labels), float64
            1 where a row holds a label.
        """
        check_is_fitted(self)
        _check_frame(X)
        validate_data(self, X, reset=False, skip_check_array=True)  # the fit's columns
        blocks = [np.zeros((len(X), 0))]
        with warnings.catch_warnings():  # labels the fit did not see: ignored, as documented
            warnings.filterwarnings("ignore", "unknown class", UserWarning)
            for column, binarizer in zip(self.feature_names_in_, self.binarizers_):
                blocks.append(binarizer.transform(label_sets(X[column])))
        return np.hstack(blocks).astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns, ``{column}_{label}``.

        Parameters
        ----------
        input_features : None
            Ignored: the names come from the fit's columns.

        Returns
        -------
        names : ndarray of str objects
            One per output column.
        """
        check_is_fitted(self)
        return np.asarray(
            [
                f"{column}_{label}"
                for column, binarizer in zip(self.feature_names_in_, self.binarizers_)
                for label in binarizer.classes_
            ],
            dtype=object,
        )


def _check_frame(X):
    if not hasattr(X, "columns"):
        raise TypeError(
            f"LabelSets takes a DataFrame of label-list columns; got {type(X).__name__}."
        )


def label_sets(column):
    """Each cell of a column as a set of labels (none for a missing value), or raise."""
    import pandas as pd  # the column is a pandas one

    sets = []
    for value in column.to_numpy():
        if isinstance(value, np.ndarray):
            sets.append(set(value.ravel().tolist()))
        elif isinstance(value, LIST_LIKE):
            sets.append(set(value))
        elif pd.api.types.is_scalar(value) and pd.isna(value):
            sets.append(set())
        else:
            advice = "give every row a list (one label: a list of one)"
            if isinstance(value, str):
                advice += f"; to split text such as 'a|b', use X[{column.name!r}].str.split('|')"
            raise TypeError(
                f"column {column.name!r} holds {value!r} where a list of labels belongs: {advice}."
            )
    return sets
