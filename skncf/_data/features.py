"""Side features: tables of user or item attributes, keyed by id, encoded to numbers.

A side's features arrive as a DataFrame indexed by id (numeric and categorical columns)
or as ``(ids, table)``: a DataFrame (pandas, or polars converted to pandas), or a 2-D
array or a sparse matrix, already numeric. DataFrames go through an encoder, by default
:func:`default_encoder` (scikit-learn's own: imputation, scaling, one-hot); matrices are
used as they are unless an encoder is given. The result is one dense float32 row of
length ``ROW_NORM`` per id (a model fit with another length keeps its own), in code
order, which the graph keeps in a non-trainable table
(:func:`skncf._graph.graphs.set_feature_tables`).
"""

import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    OneHotEncoder,
    StandardScaler,
)

from .ids import check_ids, encode, id_kind, is_textual
from .label_sets import LabelSets, label_columns

# Encoded features of one side may hold at most this many floats (1 GiB of float32).
MAX_FEATURE_FLOATS = 1 << 28
N_BINS = 10
# Encoded rows are scaled to this length. Adam moves a projection's weights by about the
# learning rate a step whatever the rows' scale, so the scale sets how fast the features'
# part of an embedding moves against the id part. 0.1 was chosen on validation: on three
# folds of ml1m-half it left warm users' and items' ranking where it was without features,
# which 0.3 did not, and cold start ranked as well (benchmarks/README.md, "Side features
# on warm users and items"). A fitted model keeps the length it was fit with.
ROW_NORM = 0.1
# The length of models fit before it was recorded (model files of format version 2 and
# earlier, pickles): rows given them later are scaled as their fit's were.
LEGACY_ROW_NORM = 0.3


def default_encoder():
    """What ``features_encoder="auto"`` fits to a DataFrame of features.

    Numeric columns: missing values imputed by the median (plus a 0/1 column saying
    which were missing), then standardised (a column without a value at fit is left
    out: scikit-learn warns at fit, and :func:`transform_quietly` not again); a column
    of more than ``N_BINS`` distinct values is also cut into ``N_BINS`` quantile bins,
    one-hot, so that the graph's linear projection can learn effects that are not
    linear in the value (a film's year: MovieLens-100K's raters favoured the newest
    ones, cold-start NDCG@10 0.27 with the year as one standardised column, 0.33 with
    its bins too; see ``benchmarks/cold_start.py``). Columns of label lists (a film's
    genres as a list, tuple, set or array): one 0/1 column per label seen twice or
    more (:class:`~skncf._data.label_sets.LabelSets`). Every other column (strings,
    categories, booleans): one-hot, missing values (None, NaN, pd.NA) their own
    category, categories seen fewer than twice pooled into one column (so that a unique
    title or zip code adds nothing), unknown categories all zeros. Dates and the like are
    refused before (:func:`_check_default_encodable`). It returns arrays whatever
    ``sklearn.set_config(transform_output=...)`` says.
    """
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    binned = make_pipeline(SimpleImputer(strategy="median"), _quantile_bins())
    categorical = make_pipeline(
        FunctionTransformer(_missing_as_nan, feature_names_out="one-to-one"),
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=2),
    )
    encoder = make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        (binned, _many_valued),
        (LabelSets(), label_columns),
        (categorical, _single_valued),
        sparse_threshold=0.0,
    )
    # arrays whatever set_config(transform_output=...) says: under "pandas" or "polars"
    # the one-hot encoder's sparse blocks fail, and the blocks' frames must share an index
    return encoder.set_output(transform="default")


def _quantile_bins():
    options = {}
    if "quantile_method" in inspect.signature(KBinsDiscretizer).parameters:  # 1.7+
        options["quantile_method"] = "averaged_inverted_cdf"
    # a seeded subsample (tables of over 200,000 rows): the same table gives the same
    # bins, so that loading a model file can fit its encoder again (skncf._saving_tables)
    return KBinsDiscretizer(
        N_BINS, encode="onehot-dense", strategy="quantile", random_state=0, **options
    )


def _many_valued(frame):
    """The numeric columns of ``frame`` with more than ``N_BINS`` distinct values."""
    numeric = make_column_selector(dtype_include="number")(frame)
    return [column for column in numeric if frame[column].nunique() > N_BINS]


def _single_valued(frame):
    """The columns of ``frame`` that are not numbers nor lists of labels: categories."""
    labels = set(label_columns(frame))
    other = make_column_selector(dtype_exclude="number")(frame)
    return [column for column in other if column not in labels]


def _missing_as_nan(frame):
    """Object columns with every missing value (None, pd.NA) as NaN, one-hot's category."""
    frame = frame.astype(object)
    return frame.where(frame.notna(), np.nan)


def check_features(value, name):
    """``(ids, table)`` of a side's features, or raise naming the parameter ``name``."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{name} as a tuple must be (ids, table); got {len(value)} items.")
        ids, table = value
        if hasattr(table, "columns"):  # a DataFrame: its columns go through the encoder
            table = _as_pandas(table, name)
        elif not sp.issparse(table):
            table = np.asarray(table)
            if table.ndim != 2 or table.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name}'s matrix must be a 2-D numeric array or a sparse matrix; got "
                    f"{table.dtype} of shape {table.shape}."
                )
    elif hasattr(value, "index") and hasattr(value, "columns"):
        ids, table = value.index.to_numpy(), value
    elif hasattr(value, "columns"):
        side = name.split("_")[0]  # user_features: the users' column
        raise TypeError(
            f"{name} is a {type(value).__module__.split('.')[0]} DataFrame, which has no "
            f"index to hold the ids: give a tuple (ids, frame), e.g. (frame['{side}'], "
            f"frame.drop('{side}')), or a pandas DataFrame indexed by id."
        )
    else:
        raise TypeError(
            f"{name} must be a DataFrame indexed by id, or a tuple (ids, matrix or "
            f"DataFrame); got {type(value).__name__}."
        )
    ids = check_ids(np.asarray(ids), f"{name} ids")
    if ids.dtype.kind == "f" and np.all(ids == np.round(ids)) and np.all(np.abs(ids) < 2**53):
        # whole numbers, as pandas gives an index it made float (after a merge with
        # missing values): integers, so that the catalog's labels stay X's integers
        ids = ids.astype(np.int64)
    if len(ids) != table.shape[0]:
        raise ValueError(f"{name} has {len(ids)} ids for {table.shape[0]} rows of features.")
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"{name} has repeated ids; give each id one row.")
    if table.shape[1] == 0:
        raise ValueError(f"{name} has no feature columns.")
    return ids, table


class _Shape:
    """Stands in for a table in an estimator's repr: its type and shape, not its rows."""

    def __init__(self, table):
        self.text = f"<{type(table).__name__} of shape {tuple(table.shape)}>"

    def __repr__(self):
        return self.text


def shown_in_repr(value):
    """``value`` as an estimator's repr should print it: arrays and tables (anything
    with a ``shape``, alone or in a tuple ``(ids, table)``) by their shapes, other values
    as they are."""
    if isinstance(value, tuple):
        return tuple(shown_in_repr(part) for part in value)
    return _Shape(value) if hasattr(value, "shape") else value


def check_id_column(ids, table, id_name, name):
    """Raise if ``table`` holds a column named as X's id column ``id_name``.

    If its values are not the table's ``ids``, the table was most likely read from a file
    without ``set_index``: the ids in that column, rows 0, 1, 2, ... in the index, which
    would match the wrong rows to the ids silently (or, for ids 0..n-1, all of them). If
    they are (``set_index(..., drop=False)``), the ids would be encoded as one more
    feature, binned by their size as if it meant something. ``name``: the parameter.
    Names of digits are positions in files without a header (the command line's "0",
    "1", ...), not names that two tables share.
    """
    if id_name is None or id_name.isdigit() or id_name not in getattr(table, "columns", ()):
        return
    column = np.asarray(table[id_name])
    if column.shape == ids.shape and bool(np.all(column == ids)):
        raise ValueError(
            f"{name} has a column {id_name!r}, the name of X's id column, that repeats "
            f"its ids: they would be encoded as a feature. Leave it out: "
            f"{name}.drop(columns={id_name!r})."
        )
    raise ValueError(
        f"{name} has a column {id_name!r}, the name of X's id column, whose values are not "
        f"the ids its rows are matched by (its index, or the ids given: "
        f"{ids[:3].tolist()}...). Index the table by that column: "
        f"{name}.set_index({id_name!r})."
    )


def _as_pandas(table, name):
    """A pandas DataFrame of ``table``, which may come from another library (polars).

    The default encoder, the checks of later tables and model files read pandas frames;
    a user's own ``features_encoder`` sees a converted frame too, the same at every call.
    """
    if hasattr(table, "index"):
        return table
    if not hasattr(table, "to_pandas"):
        raise TypeError(
            f"{name}'s table, a {type(table).__name__}, cannot be read: give a pandas "
            "DataFrame or a numeric matrix."
        )
    return table.to_pandas()


def fit_encoder(encoder, table, name):
    """The fitted encoder of one side: None (a matrix used as it is), or a clone, fitted."""
    is_frame = hasattr(table, "columns")
    if isinstance(encoder, str):  # "auto"
        if not is_frame:
            return None
        _check_default_encodable(table, name)
        encoder = default_encoder()
    try:
        with warnings.catch_warnings():
            # a column of repeated values (years, ages) has fewer distinct quantiles than
            # N_BINS: KBinsDiscretizer merges them, as wanted, and says so each time
            warnings.filterwarnings("ignore", "Bins whose width are too small", UserWarning)
            return clone(encoder).fit(table)
    except (ValueError, TypeError) as error:
        raise ValueError(f"features_encoder could not encode {name}: {error}") from None


def _check_default_encodable(table, name):
    """Raise, naming the column, for what the default encoder would get wrong or fail on.

    Dates, durations, periods and intervals: it would one-hot each distinct value as a
    category (a signup date, all but unique, would add nothing), and a model file could
    not keep them. A column of text and numbers mixed: scikit-learn's one-hot encoder
    refuses it without naming it. Numbers or text say what is meant.
    """
    quantities = {
        "dates": "days since a date: (t - t.min()).dt.days",
        "durations": "t.dt.total_seconds()",
        "periods": "t.dt.year",
        "intervals": "t.array.mid",
    }
    for column, kind in temporal_columns(table).items():
        raise TypeError(
            f"{name}'s column {column!r} holds {kind}, which the default features "
            f"encoder would take for categories: give numbers for a quantity "
            f"({quantities[kind]}) or text for categories (.astype(str)), or a "
            "features_encoder that encodes them."
        )
    lists = set(label_columns(table))
    for column, dtype in table.dtypes.items():
        if (
            getattr(dtype, "kind", "") == "O"
            and column not in lists
            and _mixes_text_and_numbers(table[column])
        ):
            raise TypeError(
                f"{name}'s column {column!r} mixes text and numbers: make it one kind, "
                "e.g. text for categories (.astype(str)), numbers for a quantity "
                "(pd.to_numeric(..., errors='coerce'))."
            )


def temporal_columns(table):
    """``{column: kind}`` of a DataFrame's columns of "dates" (tz-aware too), "durations",
    "periods" or "intervals", in the table's order."""
    kinds = {}
    for column, dtype in table.dtypes.items():
        kind = {"M": "dates", "m": "durations"}.get(getattr(dtype, "kind", ""))
        kind = {"PeriodDtype": "periods", "IntervalDtype": "intervals"}.get(
            type(dtype).__name__, kind
        )
        if kind is not None:
            kinds[column] = kind
    return kinds


def _mixes_text_and_numbers(values):
    present = values.dropna()
    text = present.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    return bool(text.any() and not text.all())


def transform_quietly(encoder, table):
    """``encoder.transform(table)``, without the warning that scikit-learn's imputer
    repeats at every transform for a column that had no value at fit: fit gave it once."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping features without any observed", UserWarning)
        return encoder.transform(table)


def encoded_rows(encoder, ids, table, labels, name, norm):
    """The encoded features in the code order of ``labels``, float32, one row per label.

    Each row is scaled to length ``norm`` (``ROW_NORM`` for a new fit). Every label must
    have a row in the table (``ids``); rows for other ids are dropped.
    """
    encoded = table if encoder is None else transform_quietly(encoder, table)
    rows = _scaled_rows(encoded, name, norm)
    return in_code_order(rows, ids, labels)


def in_code_order(rows, ids, labels, out=None):
    """``rows`` of ``ids`` rearranged to follow ``labels``, written into ``out``.

    ``out`` (float32, one row per label) holds the rows of labels without one in
    ``ids``; None: zeros.
    """
    codes, known = encode(labels, ids)
    if out is None:
        out = np.zeros((len(labels), rows.shape[1]), dtype=np.float32)
    out[codes[known]] = rows[known]
    return out


def encoded_later(encoder, table, width, name, norm):
    """Rows of a table given after ``fit``, encoded as ``fit``'s were, in its order.

    ``encoder`` is the side's fitted encoder (None: ``fit`` used a matrix as given),
    ``width`` the encoded width of ``fit``'s table and ``norm`` the length its rows were
    scaled to; a table whose columns differ raises.
    """
    if encoder is None and hasattr(table, "columns"):
        raise TypeError(
            f"{name} is a DataFrame, but the model has no encoder for it: it was fit on a "
            "matrix, or loaded from a model file without the encoder's table (written "
            "before files kept it, or with a column a file cannot store). Refit and save, "
            "or give (ids, encoded matrix)."
        )
    if encoder is not None:
        _check_no_new_columns(encoder, table, name)
        try:
            table = transform_quietly(encoder, table)
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"{name} does not match the features of fit: {error}") from None
    if table.shape[1] != width:
        raise ValueError(
            f"{name} has {table.shape[1]} encoded columns; the model was fit with {width}."
        )
    return _scaled_rows(table, name, norm)


def _check_no_new_columns(encoder, table, name):
    """Raise for columns ``fit``'s table did not have: its encoder would drop them unseen.

    A column added after ``fit`` (a new attribute the user means to count) cannot enter
    a projection fitted without it; scikit-learn's ``ColumnTransformer`` would drop it
    silently, so it is named instead. The order of the columns may differ.
    """
    fitted = getattr(encoder, "feature_names_in_", None)
    if fitted is None or not hasattr(table, "columns"):
        return
    known = set(fitted)
    new = [column for column in table.columns if column not in known]
    if new:
        raise ValueError(
            f"{name} does not match the features of fit: columns {new} were not in fit's "
            f"table ({list(fitted)}); refit to use them, or leave them out."
        )


def _scaled_rows(rows, name, norm):
    rows = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
    rows = rows.astype(np.float32)
    if rows.size > MAX_FEATURE_FLOATS:
        raise ValueError(
            f"{name} encode to {rows.shape[1]} columns for {rows.shape[0]} ids, more than "
            f"{MAX_FEATURE_FLOATS} floats; reduce the columns (e.g. fewer categories)."
        )
    if rows.ndim != 2 or rows.shape[1] == 0:
        raise ValueError(
            f"{name} encode to no columns: the encoder kept none (the default one leaves "
            "out labels of lists found in one row only, such as distinct tags); give "
            "attributes that some ids share."
        )
    if not np.isfinite(rows).all():
        raise ValueError(
            f"{name} hold NaN or infinite values after encoding; impute them (the default "
            "encoder does so for DataFrames) or pass features_encoder."
        )
    # rows of one length (LightFM normalises its feature rows too): standardised columns
    # and one-hot blocks add up to a norm of several, which drowned the id embeddings
    # (ml1m-half validation, full HR@10: 0.089 with raw rows, 0.097 unit, 0.097 none)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return norm * rows / np.where(norms > 0, norms, 1)


def _coverage_advice(feature_ids, wanted, what):
    """Why ``feature_ids`` miss ids of ``wanted``, where their types tell, and what to do."""
    if is_textual(feature_ids) == is_textual(wanted):
        return f"every {what} needs features."
    if is_textual(feature_ids) and not _read_as_numbers(feature_ids):
        shown = ", ".join(repr(v) for v in feature_ids[:3].tolist())
        return (
            f"its ids are text that does not read as numbers ({shown}, ...) and X's are "
            "numbers: are its ids (a DataFrame's index) the column of ids?"
        )
    to = "str" if is_textual(wanted) else "int"
    return (
        f"its ids are {id_kind(feature_ids)} and X's are {id_kind(wanted)}: convert "
        f"them (a DataFrame: table.set_axis(table.index.astype({to})))."
    )


def _read_as_numbers(texts):
    """Whether every text of ``texts`` reads as a number."""
    try:
        texts.astype(np.float64)
    except ValueError:
        return False
    return True


def check_covered(feature_ids, wanted, name, what):
    """Raise unless every id of ``wanted`` has a row of features."""
    _, known = encode(np.sort(feature_ids), wanted)
    if not known.all():
        missing = np.unique(wanted[~known])
        shown = ", ".join(repr(v) for v in missing[:5].tolist())
        advice = _coverage_advice(feature_ids, wanted, what)
        raise ValueError(
            f"{name} has no row for {len(missing)} {what} id(s) of X: {shown}"
            f"{', ...' if len(missing) > 5 else ''}; {advice}"
        )
