"""Validation and encoding of user and item ids.

Ids are hashable labels of one kind per column: integers of any size, floats, or strings.
Each column is mapped to contiguous codes ``0..n-1`` in sorted label order, so that the
codes index the rows of the embedding tables.
"""

import numbers
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

_INT64_MAX = np.iinfo(np.int64).max


def check_ids(values, name):
    """Return one column of ids as an array of a single label kind, or raise.

    Parameters
    ----------
    values : array-like of shape (n,)
        The ids of one column.
    name : str
        How the column is named in error messages, e.g. ``"user ids (X[:, 0])"``.

    Returns
    -------
    ids : ndarray of shape (n,)
        ``int64`` for integers (``object`` for integers beyond int64), ``float64`` for
        floats, ``str`` for strings.
    """
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "u" and values.size and values.max() > _INT64_MAX:
        return values.astype(object)
    if kind in "iu":
        return values.astype(np.int64, copy=False)
    if kind == "f":
        return _check_finite_floats(values.astype(np.float64, copy=False), name)
    if kind in "US":
        return values.astype(str)
    if kind == "O":
        return _check_object_ids(values, name)
    if kind == "b":
        raise TypeError(f"{name} contain booleans; use integers or strings as ids.")
    raise TypeError(
        f"{name} must be integers, floats or strings; got values of dtype {values.dtype}."
    )


def _is_missing(value):
    """Whether ``value`` is NaN, or pandas' NA or NaT (without importing pandas)."""
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType")


def _check_finite_floats(values, name):
    if np.isnan(values).any():
        raise ValueError(f"{name} contain NaN; every id must be a valid label.")
    if np.isinf(values).any():
        raise ValueError(f"{name} contain inf; every id must be a valid label.")
    return values


def _check_object_ids(values, name):
    types = set(map(type, values.tolist()))
    if type(None) in types:
        raise ValueError(f"{name} contain None; every id must be a valid label.")
    if len(types) > 1 and any(_is_missing(value) for value in values.tolist()):
        # a gap in a column of text ids: pandas writes it as NaN (a float), or NA or NaT
        raise ValueError(f"{name} contain a missing value (NaN); every id must be a valid label.")
    if all(issubclass(t, str) for t in types):
        return values.astype(str)
    if any(issubclass(t, bool) for t in types):
        raise TypeError(f"{name} contain booleans; use integers or strings as ids.")
    if all(issubclass(t, numbers.Integral) for t in types):
        try:
            return values.astype(np.int64)
        except OverflowError:
            return values
    if all(issubclass(t, numbers.Real) for t in types):
        return _check_finite_floats(values.astype(np.float64), name)
    kinds = ", ".join(sorted(t.__name__ for t in types))
    if len(types) == 1:
        to = "int" if issubclass(types.pop(), numbers.Number) else "str"  # Decimal: int
        raise TypeError(
            f"{name} are {kinds} values; ids must be integers, floats or strings: convert "
            f"them (a pandas column: .astype({to}))."
        )
    raise TypeError(f"{name} mix id types ({kinds}); use one type per column, e.g. all strings.")


def is_textual(ids):
    """Whether ``ids`` (checked by :func:`check_ids`) are text, not numbers."""
    return ids.dtype.kind == "U"


def id_kind(ids):
    """``"text"`` or ``"numbers"``: what ``ids`` are, for messages about a mismatch."""
    return "text" if is_textual(ids) else "numbers"


def fit_codes(ids):
    """Return the sorted distinct labels of ``ids`` and the code of each id."""
    labels, codes = np.unique(ids, return_inverse=True)
    return labels, codes.astype(np.int64, copy=False).reshape(-1)


def encode(labels, ids):
    """Return the code of each id among sorted ``labels``, and which ids are known.

    Unknown ids get code 0 and ``known=False``; ids of another kind than ``labels``
    (strings against numbers) are all unknown.
    """
    codes = np.zeros(len(ids), dtype=np.int64)
    if len(labels) == 0 or is_textual(labels) != is_textual(ids):
        return codes, np.zeros(len(ids), dtype=bool)
    positions = np.searchsorted(labels, ids)
    np.minimum(positions, len(labels) - 1, out=positions)
    known = np.asarray(labels[positions] == ids, dtype=bool)
    codes[known] = positions[known]
    return codes, known


def check_query_ids(values, name):
    """One id or a 1-d array-like of ids, of one label kind; raise if empty."""
    values = _one_dimensional(values, name, "one id or a 1-d array-like of ids")
    if len(values) == 0:
        raise ValueError(f"{name} is empty; pass at least one id.")
    return check_ids(values, name)


def check_known(known, labels, what, *, hint="", among="seen in fit", fitted=None):
    """Raise ValueError naming (up to five of) the ``labels`` that are not ``known``.

    With ``fitted``, the labels they were looked up among: ids of another kind (text
    against numbers, as a file read without its types gives them) are said to be so,
    in place of ``hint``.
    """
    if known.all():
        return
    missing = np.unique(labels[~known])
    shown = ", ".join(repr(v) for v in missing[:5].tolist())
    more = ", ..." if len(missing) > 5 else ""
    if fitted is not None and len(fitted) and is_textual(labels) != is_textual(fitted):
        hint = (
            f"These ids are {id_kind(labels)} and the model's are {id_kind(fitted)}: convert them."
        )
    raise ValueError(
        f"{what} contains {len(missing)} id(s) not {among}: {shown}{more}. {hint}".rstrip()
    )


def extend_codes(labels, ids, what, source="X"):
    """Known ``labels`` plus new ``ids``: new labels, codes of ids, new codes of old labels.

    ``source`` names where the ids came from in the error about a change of id type.
    """
    kinds = {"U": "string", "f": "float"}
    old_kind, new_kind = (kinds.get(a.dtype.kind, "integer") for a in (labels, ids))
    if (old_kind, new_kind) == ("float", "integer"):
        # a model fit before integer columns of a DataFrame kept their type: its labels
        # are the same integers as floats
        ids, new_kind = ids.astype(np.float64), "float"
    if old_kind != new_kind:
        raise TypeError(
            f"{source} has {new_kind} {what} ids, but the model was fit on {old_kind} {what} ids."
        )
    new_labels, codes = fit_codes(np.concatenate([labels, ids]))
    return new_labels, codes[len(labels) :], codes[: len(labels)]


def id_column(X, validated, position):
    """Column ``position`` of ``validated`` (``X`` after validation), in ``X``'s own type.

    Validation makes one numpy array of one dtype from a DataFrame: integer ids beside a
    float column (ratings, timestamps) come out as floats, and pandas' nullable integers
    always do. Integer columns of a DataFrame (nullable ones without missing values, and
    categoricals of integers) are therefore read from the frame itself.
    """
    if hasattr(X, "iloc"):
        column = X.iloc[:, position]
        dtype = column.dtype
        if getattr(dtype, "name", "") == "category":
            dtype = dtype.categories.dtype
        dtype = getattr(dtype, "numpy_dtype", dtype)  # pandas' nullable Int64, UInt8, ...
        if isinstance(dtype, np.dtype) and dtype.kind in "iu" and not column.isna().any():
            return column.to_numpy(dtype=dtype)
        if isinstance(dtype, np.dtype) and dtype.kind == "b":  # validation made them 0 and 1
            return column.to_numpy(dtype=object)
    return validated[:, position]


def checked_pair_ids(frame, X, id_columns, prefix=""):
    """The user and item ids of validated ``X`` (``frame`` before validation), checked:
    columns ``id_columns`` (two positions), named in errors with ``prefix``."""
    return tuple(
        check_ids(id_column(frame, X, position), f"{prefix}{side} ids (column {position} of X)")
        for side, position in zip(("user", "item"), id_columns)
    )


def arrow_as_pandas(values):
    """A pyarrow Table or RecordBatch as a pandas DataFrame, anything else as it is.

    scikit-learn reads arrow tables, but skncf reads a frame's columns by name, and an
    arrow table's ``columns`` are its arrays (pyarrow converts with pandas installed).
    """
    if type(values).__module__.partition(".")[0] == "pyarrow" and hasattr(values, "column_names"):
        return values.to_pandas()
    return values


def keep_python_types(values):
    """Lists become object arrays: numpy would turn ``[1, "Doom"]`` into two strings.

    A sparse matrix is refused with the recipe for pairs: it is most likely a users x
    items matrix (what ``implicit`` takes), whose ``toarray()``, which scikit-learn's own
    message advises, would be no better.
    """
    values = arrow_as_pandas(values)
    if sp.issparse(values):
        raise TypeError(
            "X must hold (user, item) pairs, one row per interaction, not a sparse matrix. "
            "From a users x items matrix M: coo = M.tocoo(); X = np.column_stack([coo.row, "
            "coo.col]); y = coo.data."
        )
    if isinstance(values, Mapping):  # numpy makes a dict one 0-d object
        raise TypeError(
            "X must hold (user, item) pairs, one row per interaction, not a dict; for a "
            "dict of columns, pass pandas.DataFrame(X)."
        )
    if isinstance(values, (list, tuple)):
        values = np.array(values, dtype=object)
    elif not hasattr(values, "__array__"):
        values = np.asarray(values)
    return values


def ids_only(frame, id_columns):
    """``frame`` with zeros in every column but the id columns, if it is a DataFrame.

    Only the ids are read, but scikit-learn's check_array makes one array of the whole
    frame: a text column beside integer ids made it an array of Python objects (about a
    second and a gigabyte per ten million rows), and a datetime column made it fail
    (numpy has no common type for datetimes and numbers). The other columns keep their
    names and places for validate_data's checks of fit's columns. ``id_columns`` is the
    ``columns`` parameter (None: the frame is the two id columns); datetime id columns
    become objects, which :func:`check_ids` refuses by name, with or without ``columns``.
    Another library's frame (polars) becomes a pandas one, where pandas is installed.
    """
    if not hasattr(frame, "columns"):
        return frame
    if id_columns is None:
        return _datetimes_as_objects(_temporal_to_pandas(frame), range(len(frame.columns)))
    names = list(frame.columns)
    ids = _positions(names, id_columns)
    zeros = np.zeros(len(frame), np.int8)
    if hasattr(frame, "iloc"):
        out = frame.copy(deep=False)
        for position in set(range(len(names))) - ids:
            out.isetitem(position, zeros)
    else:
        try:
            import pandas as pd
        except ImportError:  # validated as it is
            return frame
        out = pd.DataFrame(
            {name: frame[name].to_numpy() if p in ids else zeros for p, name in enumerate(names)}
        )
    return _datetimes_as_objects(out, ids)


def _temporal_to_pandas(frame):
    """A polars ``frame`` with a temporal column as a pandas one, else ``frame``: scikit-learn
    would read its datetimes as integers (microseconds), which skncf would take for ids."""
    if hasattr(frame, "iloc") or not any(
        getattr(dtype, "is_temporal", lambda: False)() for dtype in frame.dtypes
    ):
        return frame
    import pandas as pd  # polars' to_pandas needs it too

    return pd.DataFrame({name: frame[name].to_numpy() for name in frame.columns})


def _datetimes_as_objects(frame, positions):
    """A pandas ``frame`` with its datetime columns among ``positions`` as objects."""
    if not hasattr(frame, "iloc"):
        return frame
    dated = [p for p in positions if frame.dtypes.iloc[p].kind in "mM"]
    if dated:
        frame = frame.copy(deep=False)
    for position in dated:
        frame.isetitem(position, frame.iloc[:, position].astype(object))
    return frame


def by_name(frame, names_in, id_columns):
    """A DataFrame ``frame`` laid out as fit's: columns ``names_in`` in their order, the id
    columns (``id_columns``, names) taken by name and the others zeros; else as it is.

    As scikit-learn's ColumnTransformer reads a frame by the names it selected, a call
    after ``fit`` may give the id columns in another order, among other columns, or
    alone: ``predict(pairs)`` needs no rating column. Positions (ints) in ``id_columns``
    keep fit's layout binding, as scikit-learn's checks of feature names say. A frame fit
    without ``columns`` names its two id columns by their names in fit.
    """
    if (
        names_in is None
        or not id_columns
        or not hasattr(frame, "columns")
        or not all(isinstance(column, str) for column in id_columns)
    ):
        return frame
    names = [str(name) for name in frame.columns]
    if names == list(names_in):
        return frame
    for column in id_columns:
        if names.count(column) != 1:
            found = "twice" if column in names else "not at all"
            raise ValueError(
                f"X must hold the id column {column!r} once, as in fit; it holds it {found} "
                f"among its columns {names}."
            )
    try:
        import pandas as pd  # skncf reads another library's frame (polars) through pandas
    except ImportError:  # validated as it is
        return frame
    zeros = np.zeros(len(frame), np.int8)
    wanted = {name: frame[name] for name in id_columns}
    if not hasattr(frame, "iloc"):  # polars
        wanted = {name: column.to_numpy() for name, column in wanted.items()}
    laid_out = {name: wanted.get(name, zeros) for name in names_in}
    return pd.DataFrame(laid_out, index=getattr(frame, "index", None))


def _positions(names, id_columns):
    """The positions in ``names`` that ``id_columns`` picks: names, or positions (ints)."""
    positions: set[int] = set()
    for column in id_columns:  # a sequence: the parameter's constraint
        if isinstance(column, str):
            positions.update(p for p, name in enumerate(names) if name == column)
        elif isinstance(column, numbers.Integral) and not isinstance(column, bool):
            positions.add(int(column) % len(names) if names else int(column))
    return positions


def check_id_lists(values, name, n_rows):
    """The ids of a candidate filter: one list for every row, or one list per row.

    ``values`` is a 1-d array-like (or set) of ids for all ``n_rows`` rows of a query,
    or a sequence of ``n_rows`` such array-likes (or a 2-d array), one per row; lists
    may be empty. Returns ``(ids, rows)``: the ids, of one label kind, and the row of
    each (None for a list shared by every row).
    """
    values = _listed(values)
    if _is_list_like(values) and len(values) and all(_is_list_like(v) for v in values):
        if len(values) != n_rows:
            raise ValueError(
                f"{name} holds {len(values)} lists, one per row, but the query has "
                f"{n_rows} rows; pass one list for all of them, or one per row."
            )
        lists = [list(v) for v in values]
        if any(_is_list_like(label) for v in lists for label in v):
            raise ValueError(f"{name} must hold ids, or one 1-d list of ids per row.")
        rows = np.repeat(np.arange(n_rows), [len(v) for v in lists])
        flat = [label for v in lists for label in v]
        ids = check_ids(keep_python_types(flat), name) if flat else np.array([], np.int64)
        return ids, rows
    if isinstance(values, (list, tuple)) and any(_is_list_like(v) for v in values):
        raise TypeError(f"{name} mixes ids and lists of ids; pass one list, or one per row.")
    array = _one_dimensional(values, name, "a 1-d array-like of ids, or one per row")
    if len(array) == 0:
        return np.array([], np.int64), None
    return check_ids(array, name), None


def lists_by_query(values, queries, name, what):
    """A filter keyed by query id as one list per query, else ``values`` as they are.

    A dict, or a pandas Series of lists (``cart.groupby("user")["item"].apply(list)``,
    read by its index as pandas aligns), maps query ids (``queries``, checked labels) to
    their lists. A query without a list gets an empty one for ``deny``; ``allow`` needs
    a list for each, since an empty one would admit nothing. ``what``: the queries' kind.
    """
    if isinstance(values, Mapping):
        keys, lists = keep_python_types(list(values.keys())), list(values.values())
    elif hasattr(values, "index") and getattr(values, "ndim", 0) == 1 and len(values):
        if not all(_is_list_like(v) for v in values):
            return values  # a Series of ids: one list for every query
        keys, lists = values.index.to_numpy(), list(values)
    else:
        return values
    keys = check_ids(keys, f"{name}'s keys") if len(keys) else np.array([])
    if len(keys) and is_textual(keys) != is_textual(queries):
        raise TypeError(
            f"{name} is keyed by {'string' if is_textual(keys) else 'number'} ids, but "
            f"the {what} ids asked for are {'strings' if is_textual(queries) else 'numbers'}."
        )
    if len(np.unique(keys)) != len(keys):
        raise ValueError(f"{name} repeats ids in its index; give each id one list.")
    order = np.argsort(keys, kind="stable")
    codes, found = encode(keys[order], queries)
    if name == "allow" and not found.all():
        missing = ", ".join(repr(v) for v in queries[~found][:5].tolist())
        raise ValueError(
            f"allow, keyed by {what} id, has no list for {int((~found).sum())} {what}(s) "
            f"asked for: {missing}; give each its list (an empty one admits nothing)."
        )
    return [lists[order[c]] if f else [] for c, f in zip(codes, found)]


def _one_dimensional(values, name, what):
    """``values`` as a 1-d array (one id becomes an array of one), or raise naming ``what``."""
    values = np.asarray(keep_python_types(_listed(values)))
    if values.ndim == 0:
        values = values.reshape(1)
    if values.ndim != 1:
        raise ValueError(f"{name} must be {what}; got shape {values.shape}.")
    return values


def _listed(values):
    """Sets, dict views, generators as a list: numpy makes them one 0-d object."""
    if (
        isinstance(values, Iterable)
        and not isinstance(values, (str, bytes, Sequence))
        and not hasattr(values, "__array__")
    ):
        return list(values)
    return values


def _is_list_like(value):
    """Whether ``value`` holds ids: not one id (a string, a number, a 0-d array)."""
    return (
        hasattr(value, "__len__")
        and not isinstance(value, (str, bytes))
        and getattr(value, "ndim", 1) != 0
    )
