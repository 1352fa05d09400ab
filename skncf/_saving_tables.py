"""Feature tables in a model file, so that loading fits the same default encoder again.

A model file holds no code, and a fitted transformer is code. The default encoder
(``features_encoder="auto"``) is a function of the table it was fit on, though, so a
model file keeps that table instead, as JSON (column names and kinds) and ``.npz``
arrays, and :func:`skncf.load` fits the encoder on it again. A table is kept only when
that refit is shown, at save time, to encode the table exactly as the fitted encoder
does; otherwise the loaded model takes features as encoded matrices only, as it did
before tables were kept.

Columns of numbers and booleans are stored as they are (pandas' nullable ones as floats
with NaN, or as 1, 0 and -1 for missing); text as strings with a mask of missing values;
categoricals as codes and categories; lists of labels (text or integers) as their
labels end to end and each row's count. A column of any other kind (dates,
mixed Python objects) or a column name that is not a string or an integer leaves the
table out.
"""

import numbers
import warnings

import numpy as np

from ._data.features import fit_encoder, transform_quietly
from ._data.label_sets import holds_labels, label_sets


def keep_tables(tables, encoders):
    """``(metadata, arrays)`` of the feature tables a model file can keep.

    ``tables`` maps a side to the DataFrame its default encoder was fit on, ``encoders``
    a side to that fitted encoder. ``metadata`` maps each kept side to its columns'
    descriptions; arrays are keyed ``features/{side}/{j}...``. A side whose table cannot
    be kept gets a warning that says what the loaded model will lack.
    """
    metadata, arrays = {}, {}
    for side, table in tables.items():
        kept = _table_to_arrays(table, f"features/{side}")
        if kept is not None and _refits_alike(kept, table, encoders[side], f"features/{side}"):
            metadata[side], side_arrays = kept
            arrays.update(side_arrays)
        else:
            warnings.warn(
                f"The model file does not keep {side}_features: its table cannot be "
                "stored so that loading encodes it exactly as this model does (columns of "
                "text, numbers, booleans, categoricals and lists of labels can). The loaded "
                f"model takes {side} features as (ids, encoded matrix) only.",
                UserWarning,
                stacklevel=4,  # the caller of NCFRecommender.save
            )
    return metadata, arrays


def load_tables(metadata, arrays):
    """``{side: (table, encoder)}`` rebuilt from what :func:`keep_tables` wrote.

    Empty without pandas, which a model file's tables need: a user without pandas has
    no DataFrame to give the loaded model either.
    """
    try:
        import pandas  # noqa: F401
    except ImportError:
        return {}
    loaded = {}
    for side, columns in metadata.items():
        table = _table_from_arrays(columns, arrays, f"features/{side}")
        loaded[side] = table, _refit(table, f"{side}_features")
    return loaded


def _table_to_arrays(table, prefix):
    """``(columns, arrays)`` of a DataFrame, or None if a column cannot be stored."""
    import pandas as pd

    columns, arrays = [], {}
    for j, name in enumerate(table.columns):
        if isinstance(name, numbers.Integral) and not isinstance(name, bool):
            name = int(name)
        elif not isinstance(name, str):
            return None
        values, key = table.iloc[:, j], f"{prefix}/{j}"
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            columns.append({"name": name, "kind": "values"})
            arrays[key] = values.to_numpy()
        elif pd.api.types.is_bool_dtype(dtype):  # pandas' nullable booleans
            missing = values.isna().to_numpy()
            columns.append({"name": name, "kind": "booleans"})
            arrays[key] = np.where(missing, -1, values.fillna(False).to_numpy(dtype=int))
        elif pd.api.types.is_numeric_dtype(dtype):  # nullable numbers (Int64, Float64, ...)
            columns.append({"name": name, "kind": "values"})
            arrays[key] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        elif isinstance(dtype, pd.CategoricalDtype):
            categories = dtype.categories.to_numpy()
            if categories.dtype.kind == "O" and all(isinstance(c, str) for c in categories):
                categories = categories.astype(str)
            if categories.dtype.kind not in "biufU":
                return None
            columns.append({"name": name, "kind": "category", "ordered": bool(dtype.ordered)})
            arrays[key] = values.cat.codes.to_numpy()
            arrays[f"{key}/categories"] = categories
        elif holds_labels(values):
            stored = _labels_to_arrays(values, key)
            if stored is None:
                return None
            columns.append({"name": name, "kind": "labels"})
            arrays.update(stored)
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            missing = values.isna().to_numpy()
            if not all(isinstance(v, str) for v in values[~missing]):
                return None
            columns.append({"name": name, "kind": "text"})
            arrays[key] = values.where(~missing, "").to_numpy(dtype=str)
            arrays[f"{key}/missing"] = missing
        else:
            return None
    return columns, arrays


def _labels_to_arrays(values, key):
    """A column of label lists as its labels end to end and each row's count, or None
    if the labels are not all text or all integers."""
    rows = [sorted(labels, key=str) for labels in label_sets(values)]
    flat = [label for labels in rows for label in labels]
    if all(isinstance(label, str) for label in flat):
        dtype: type = str
    elif all(isinstance(label, numbers.Integral) for label in flat):
        dtype = np.int64
    else:
        return None
    counts = np.asarray([len(labels) for labels in rows])
    return {key: np.asarray(flat, dtype=dtype), f"{key}/counts": counts}


def _table_from_arrays(columns, arrays, prefix):
    """The DataFrame that :func:`_table_to_arrays` stored (text columns as objects)."""
    import pandas as pd

    data = {}
    for j, column in enumerate(columns):
        key = f"{prefix}/{j}"
        if column["kind"] == "values":
            data[j] = arrays[key]
        elif column["kind"] == "booleans":
            codes = arrays[key]
            data[j] = pd.array([None if c < 0 else bool(c) for c in codes.tolist()], "boolean")
        elif column["kind"] == "labels":
            ends = np.cumsum(arrays[f"{key}/counts"])[:-1]
            data[j] = pd.Series([part.tolist() for part in np.split(arrays[key], ends)])
        elif column["kind"] == "category":
            data[j] = pd.Categorical.from_codes(
                arrays[key], categories=arrays[f"{key}/categories"], ordered=column["ordered"]
            )
        else:
            values = arrays[key].astype(object)
            values[arrays[f"{key}/missing"]] = None
            data[j] = values
    table = pd.DataFrame(data)
    table.columns = [column["name"] for column in columns]
    return table


def _refit(table, name):
    """The default encoder fit on a kept table, without the warnings (an empty column)
    that the fit of the model gave once already."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_encoder("auto", table, name)


def _refits_alike(kept, table, encoder, prefix):
    """Whether the default encoder fit on the stored table encodes ``table`` as ``encoder``."""
    try:
        columns, arrays = kept
        stored = _table_from_arrays(columns, arrays, prefix)
        again = transform_quietly(_refit(stored, "the stored table"), table)
        return np.array_equal(np.asarray(again), np.asarray(transform_quietly(encoder, table)))
    except (ValueError, TypeError, KeyError):
        return False
