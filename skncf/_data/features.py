"""Side features: tables of user or item attributes, keyed by id, encoded to numbers.

A side's features arrive as a DataFrame indexed by id (numeric and categorical columns)
or as ``(ids, matrix)`` (a 2-D array or a sparse matrix, already numeric). DataFrames go
through an encoder, by default :func:`default_encoder` (scikit-learn's own: imputation,
scaling, one-hot); matrices are used as they are unless an encoder is given. The result
is one dense float32 row of unit length per id, in code order, which the graph keeps in a
non-trainable table (:func:`skncf._graph.graphs.set_feature_tables`).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .ids import check_ids, encode

# Encoded features of one side may hold at most this many floats (1 GiB of float32).
MAX_FEATURE_FLOATS = 1 << 28


def default_encoder():
    """What ``features_encoder="auto"`` fits to a DataFrame of features.

    Numeric columns: missing values imputed by the median (plus a 0/1 column saying
    which were missing), then standardised. Every other column (strings, categories,
    booleans): one-hot, missing values their own category, categories seen fewer than
    twice pooled into one column (so that a unique title or zip code adds nothing),
    unknown categories all zeros.
    """
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=2)
    return make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        (categorical, make_column_selector(dtype_exclude="number")),
        sparse_threshold=0.0,
    )


def check_features(value, name):
    """``(ids, table)`` of a side's features, or raise naming the parameter ``name``."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{name} as a tuple must be (ids, matrix); got {len(value)} items.")
        ids, table = value
        if not sp.issparse(table):
            table = np.asarray(table)
            if table.ndim != 2 or table.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name}'s matrix must be a 2-D numeric array or a sparse matrix; got "
                    f"{table.dtype} of shape {table.shape}."
                )
    elif hasattr(value, "index") and hasattr(value, "columns"):
        ids, table = value.index.to_numpy(), value
    else:
        raise TypeError(
            f"{name} must be a DataFrame indexed by id, or a tuple (ids, matrix); got "
            f"{type(value).__name__}."
        )
    ids = check_ids(np.asarray(ids), f"{name} ids")
    if len(ids) != table.shape[0]:
        raise ValueError(f"{name} has {len(ids)} ids for {table.shape[0]} rows of features.")
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"{name} has repeated ids; give each id one row.")
    if table.shape[1] == 0:
        raise ValueError(f"{name} has no feature columns.")
    return ids, table


def fit_encoder(encoder, table, name):
    """The fitted encoder of one side: None (a matrix used as it is), or a clone, fitted."""
    is_frame = hasattr(table, "columns")
    if isinstance(encoder, str):  # "auto"
        if not is_frame:
            return None
        encoder = default_encoder()
    try:
        return clone(encoder).fit(table)
    except (ValueError, TypeError) as error:
        raise ValueError(f"features_encoder could not encode {name}: {error}") from None


def encoded_rows(encoder, ids, table, labels, name):
    """The encoded features in the code order of ``labels``, float32, one row per label.

    Each row is scaled to unit length. Every label must have a row in the table
    (``ids``); rows for other ids are dropped.
    """
    rows = table if encoder is None else encoder.transform(table)
    rows = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
    rows = rows.astype(np.float32)
    if rows.size > MAX_FEATURE_FLOATS:
        raise ValueError(
            f"{name} encode to {rows.shape[1]} columns for {rows.shape[0]} ids, more than "
            f"{MAX_FEATURE_FLOATS} floats; reduce the columns (e.g. fewer categories)."
        )
    if not np.isfinite(rows).all():
        raise ValueError(
            f"{name} hold NaN or infinite values after encoding; impute them (the default "
            "encoder does so for DataFrames) or pass features_encoder."
        )
    # unit rows (LightFM normalises its feature rows too): standardised columns and
    # one-hot blocks add up to a norm of several, which drowned the id embeddings
    # (ml1m-half validation, full HR@10: 0.089 with raw rows, 0.097 unit, 0.097 none)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = rows / np.where(norms > 0, norms, 1)
    codes, known = encode(labels, ids)
    out = np.zeros((len(labels), rows.shape[1]), dtype=np.float32)
    out[codes[known]] = rows[known]
    return out


def check_covered(feature_ids, wanted, name, what):
    """Raise unless every id of ``wanted`` has a row of features."""
    _, known = encode(np.sort(feature_ids), wanted)
    if not known.all():
        missing = np.unique(wanted[~known])
        shown = ", ".join(repr(v) for v in missing[:5].tolist())
        raise ValueError(
            f"{name} has no row for {len(missing)} {what} id(s) of X: {shown}"
            f"{', ...' if len(missing) > 5 else ''}; every {what} needs features."
        )
