"""The default feature encoder as TensorFlow ops, so that a SavedModel takes raw attributes.

``features_encoder="auto"`` (:func:`skncf._data.features.default_encoder`) is a fitted
scikit-learn ``ColumnTransformer``, which a SavedModel served without Python cannot run.
:func:`attribute_encoder` reads its fitted parameters (medians, means and scales, bin
edges, categories) and builds the same function from TensorFlow ops, one input tensor per
column: numbers as ``tf.float64`` (NaN: missing), text as ``tf.string`` (``""``:
missing), booleans as ``tf.bool``, lists of text labels as ``tf.string``, each row's
labels joined by ``LABEL_SEP`` (``"Action|Comedy"``; ``""``: none). An encoder it cannot
express (another encoder, a column of another kind, labels that are not text or hold the
separator, a column name that is not a valid signature input) gives None.
"""

import re

import numpy as np
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler

from .._data.label_sets import LabelSets

# what a SavedModel signature accepts as an input name; "k" is the signature's own
_INPUT_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/]*")
# between the labels of a row of a label-list column, in one string (a signature takes
# tensors, not lists)
LABEL_SEP = "|"


class AttributeEncoder(tf.Module):
    """A fitted default encoder as TensorFlow ops; see the module docstring.

    Attributes
    ----------
    specs : list of tf.TensorSpec
        One 1-d input per column of the fitted table, named after it.
    lookup_tables : list of tf.lookup.StaticHashTable
        Of the text columns' categories (tracked, so that a SavedModel keeps them).
    """

    def __init__(self, columns, specs, parts, lookup_tables):
        super().__init__(name="attributes")
        self._columns, self.specs, self._parts = columns, specs, parts
        self.lookup_tables = lookup_tables

    def __call__(self, columns):
        """Encoded rows (float32) of ``columns``, the inputs in the order of ``specs``."""
        by_name = dict(zip(self._columns, columns))
        return tf.cast(tf.concat([part(by_name) for part in self._parts], axis=1), tf.float32)


def attribute_encoder(encoder):
    """The :class:`AttributeEncoder` of a fitted default encoder, or None.

    ``encoder`` must be what :func:`~skncf._data.features.default_encoder` returns,
    fitted (or None): the steps are recognised by type, their options assumed.
    """
    if not isinstance(encoder, ColumnTransformer):
        return None
    specs: dict[object, tf.DType] = {}
    parts: list = []
    tables: list = []
    for name, pipeline, columns in encoder.transformers_:
        if name == "remainder" or len(columns) == 0:
            continue
        if isinstance(pipeline, LabelSets):
            part = _label_lists(pipeline, list(columns), specs, tables)
        else:
            steps = [step for _, step in getattr(pipeline, "steps", [])]
            part = _part(steps, list(columns), specs, tables)
        if part is None:
            return None
        parts.append(part)
    names = [str(column) for column in specs]
    valid = all(_INPUT_NAME.fullmatch(name) for name in names) and len(set(names)) == len(names)
    if not parts or not valid or "k" in names:
        return None
    inputs = [tf.TensorSpec([None], dtype, name=str(n)) for n, dtype in specs.items()]
    return AttributeEncoder(list(specs), inputs, parts, tables)


def _part(steps, columns, specs, tables):
    """The encoding of one pipeline of the default encoder, or None if not one of its."""
    kinds = [type(step) for step in steps]
    if kinds == [SimpleImputer, StandardScaler]:
        specs.update(dict.fromkeys(columns, tf.float64))
        imputer, scaler = steps
        return _numeric(imputer, scaler, columns)
    if kinds == [SimpleImputer, KBinsDiscretizer]:
        specs.update(dict.fromkeys(columns, tf.float64))
        imputer, bins = steps
        return _binned(imputer, bins, columns)
    if len(steps) == 2 and isinstance(steps[1], OneHotEncoder):
        encodings = [_categories(c, i) for c, i in zip(steps[1].categories_, _infrequent(steps[1]))]
        if any(encoding is None for encoding in encodings):
            return None
        specs.update({column: e[0] for column, e in zip(columns, encodings)})
        return _one_hot(columns, [e[1] for e in encodings], tables)
    return None


def _label_lists(sets, columns, specs, tables):
    """0/1 columns of the labels in ``LABEL_SEP``-joined strings, as ``LabelSets`` gives
    them (unknown labels ignored, a label twice once); None unless every label is text
    without the separator."""
    lookups = []
    for binarizer in sets.binarizers_:
        labels = list(binarizer.classes_)
        if not all(isinstance(label, str) and label and LABEL_SEP not in label for label in labels):
            return None
        table = _lookup_table(labels, range(len(labels)), -1, tables) if labels else None
        lookups.append((table, len(labels)))
    specs.update(dict.fromkeys(columns, tf.string))

    def encode(values):
        parts = []
        for column, (table, width) in zip(columns, lookups):
            n = tf.shape(values[column], out_type=tf.int64)[0]
            if table is None:
                parts.append(tf.zeros(tf.stack([n, 0]), tf.float64))
                continue
            labels = tf.strings.split(values[column], LABEL_SEP)
            found = table.lookup(labels.flat_values)
            known = found >= 0
            at = tf.stack([tf.boolean_mask(labels.value_rowids(), known), found[known]], axis=1)
            ones = tf.ones(tf.shape(at)[:1], tf.float64)
            counts = tf.scatter_nd(at, ones, tf.stack([n, tf.constant(width, tf.int64)]))
            parts.append(tf.minimum(counts, 1.0))
        return tf.concat(parts, axis=1)

    return encode


def _filled(imputer, columns, values):
    x = tf.stack([values[column] for column in columns], axis=1)
    missing = tf.math.is_nan(x)
    return tf.where(missing, tf.constant(imputer.statistics_[None, :], tf.float64), x), missing


def _numeric(imputer, scaler, columns):
    """Median imputation and missing-value indicators, then all of them standardised.

    A column without a value at fit has no median: the imputer leaves it out (its values
    are not read), and keeps its indicator.
    """
    flagged = [] if imputer.indicator_ is None else list(imputer.indicator_.features_)
    kept = np.flatnonzero(~np.isnan(imputer.statistics_))
    mean, scale = (tf.constant(v, tf.float64) for v in (scaler.mean_, scaler.scale_))

    def encode(values):
        filled, missing = _filled(imputer, columns, values)
        filled = tf.gather(filled, tf.constant(kept, tf.int32), axis=1)
        indicators = tf.cast(tf.gather(missing, tf.constant(flagged, tf.int32), axis=1), tf.float64)
        return (tf.concat([filled, indicators], axis=1) - mean) / scale

    return encode


def _binned(imputer, bins, columns):
    """Median imputation, then one-hot quantile bins (``searchsorted`` of inner edges)."""

    def encode(values):
        filled, _ = _filled(imputer, columns, values)
        parts = []
        for j, (edges, n_bins) in enumerate(zip(bins.bin_edges_, bins.n_bins_)):
            inner = tf.constant(edges[1:-1][None, :], tf.float64)
            index = tf.reduce_sum(tf.cast(filled[:, j : j + 1] >= inner, tf.int32), axis=1)
            parts.append(tf.one_hot(index, int(n_bins), dtype=tf.float64))
        return tf.concat(parts, axis=1)

    return encode


def _infrequent(one_hot):
    infrequent = getattr(one_hot, "infrequent_categories_", None)
    return [None] * len(one_hot.categories_) if infrequent is None else infrequent


def _categories(categories, infrequent):
    """``(dtype, (keys, positions, width, missing_at, unknown_at))`` of one column, or None.

    Output positions follow scikit-learn's: the frequent categories in order, then one
    column for all infrequent ones (where unknown values go too); without infrequent
    ones an unknown value is all zeros (position -1).
    """
    infrequent = [] if infrequent is None else list(infrequent)
    known = [c for c in categories if not _is_nan(c)]
    if all(isinstance(c, str) for c in known) and "" not in known:
        dtype = tf.string
    elif all(isinstance(c, (bool, np.bool_)) for c in known):
        dtype = tf.bool
    else:
        return None
    frequent = [c for c in categories if not any(_same(c, i) for i in infrequent)]
    width = len(frequent) + (1 if infrequent else 0)
    unknown_at = len(frequent) if infrequent else -1
    positions = {}
    for c in categories:
        at = next((j for j, f in enumerate(frequent) if _same(c, f)), unknown_at)
        positions["missing" if _is_nan(c) else c] = at
    missing_at = positions.pop("missing", unknown_at)
    keys = list(positions)
    return dtype, (keys, [positions[key] for key in keys], width, missing_at, unknown_at)


def _one_hot(columns, encodings, lookup_tables):
    """One-hot categories; text looked up in hash tables (appended to ``lookup_tables``)."""
    lookups = []
    for keys, positions, width, missing_at, unknown_at in encodings:
        table = None
        if keys and isinstance(keys[0], str):
            table = _lookup_table(keys, positions, unknown_at, lookup_tables)
        lookups.append((table, dict(zip(keys, positions)), width, missing_at, unknown_at))

    def encode(values):
        parts = []
        for column, (table, positions, width, missing_at, unknown_at) in zip(columns, lookups):
            index = _category_index(values[column], table, positions, missing_at, unknown_at)
            parts.append(tf.one_hot(index, width, dtype=tf.float64))
        return tf.concat(parts, axis=1)

    return encode


def _lookup_table(keys, positions, default, tables):
    """A hash table from text ``keys`` to ``positions`` (``default`` for other text),
    appended to ``tables``, which a SavedModel tracks to keep it."""
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys, tf.string), tf.constant(list(positions), tf.int64)
        ),
        default,
    )
    tables.append(table)
    return table


def _category_index(value, table, positions, missing_at, unknown_at):
    """Each value's one-hot position (-1: all zeros); ``""`` is a missing text value."""
    if value.dtype == tf.bool:
        return tf.where(value, positions.get(True, unknown_at), positions.get(False, unknown_at))
    if table is None:  # no known text category at all
        found = tf.fill(tf.shape(value, out_type=tf.int64), tf.constant(unknown_at, tf.int64))
    else:
        found = table.lookup(value)
    return tf.where(tf.equal(value, ""), tf.constant(missing_at, tf.int64), found)


def _is_nan(value):
    return isinstance(value, float) and np.isnan(value)


def _same(a, b):
    return (_is_nan(a) and _is_nan(b)) or (not _is_nan(a) and not _is_nan(b) and a == b)
