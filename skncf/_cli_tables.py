"""The command line's tables: interactions and features files read with pandas.

The options that say how a text file is read (separator, header row, encoding; the
features files' own), which columns of a features file are attributes, codes or label
lists, and the reading itself: one :class:`TableFormat` per kind of file, a separator
guessed where none is given, and a mistake reported as a :class:`UserError` that names
the option to change.
"""

import csv
import os
from typing import NamedTuple

from ._data.interactions import first_non_number, is_decimal_comma


class UserError(Exception):
    """A mistake in the command line or its input files: reported in one line."""


# What the --{side}-... options say of a features file's columns, and their help.
_COLUMN_KINDS = {
    "attributes": "the columns of --{side}-features to use as attributes (default: every "
    "column but the ids; titles, URLs and the like are best left out)",
    "categorical-cols": "columns of --{side}-features whose numbers are codes (an "
    "occupation, a country): one-hot as categories, where numbers are otherwise standardised",
    "label-cols": "columns of --{side}-features that hold several labels per id, separated "
    "by --label-sep (a film's genres: Action|Comedy): one feature per label",
}


def table_format_options(parser):
    """--sep, --no-header, --encoding and --decimal: how every text table a command reads
    is read."""
    parser.add_argument(
        "--sep",
        help="field separator of the text files, e.g. '::' (default: tab for .tsv, comma "
        "for .csv, else guessed from the file's first lines)",
    )
    parser.add_argument(
        "--no-header",
        action="store_true",
        help="the text files have no header row: their columns are named 0, 1, 2, ... "
        "(e.g. --user-col 0 --item-col 1)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of the text files, e.g. latin-1 (default: utf-8)",
    )
    parser.add_argument(
        "--decimal",
        default=".",
        help="decimal mark of the numbers in the text files, features files included: ',' "
        "for 2,5 (with --sep ';', as spreadsheets write in many languages) (default: .)",
    )


def features_options(parser):
    """The options of the features files: their id columns, which of their columns are
    attributes, codes or label lists, and their format where it is not the data's."""
    for side in ("user", "item"):
        parser.add_argument(
            f"--{side}-features-col",
            metavar="COL",
            help=f"column of {side} ids in --{side}-features (default: --{side}-col's)",
        )
        for kind, text in _COLUMN_KINDS.items():
            option = f"--{side}-{kind}"
            parser.add_argument(
                option, nargs="+", default=[], metavar="COL", help=text.format(side=side)
            )
    parser.add_argument(
        "--label-sep",
        default="|",
        help="separator of the labels in --user-label-cols and --item-label-cols (default: |)",
    )
    parser.add_argument(
        "--features-sep",
        help="field separator of the features files, where it is not --sep's (MovieLens-"
        "100K: u.data has tabs, u.user and u.item '|')",
    )
    # not a mutually exclusive group: a parent parser's copy would take it out of the
    # argument group (help lists it under "options"); the last of the two given wins
    parser.add_argument(
        "--features-no-header",
        dest="features_header",
        action="store_false",
        default=None,
        help="the features files have no header row, whatever --no-header says",
    )
    parser.add_argument(
        "--features-header",
        dest="features_header",
        action="store_true",
        default=None,
        help="the features files have a header row, whatever --no-header says",
    )
    parser.add_argument(
        "--features-encoding", help="text encoding of the features files (default: --encoding)"
    )


class TableFormat(NamedTuple):
    """How a text table is read: the options of the data file, or of the features files."""

    sep: str | None
    no_header: bool
    encoding: str
    decimal: str
    features: bool  # names the --features-... options in advice


def format_of(args, *, features=False):
    """The format of the data files or, with ``features``, of the features files."""
    if not features:
        return TableFormat(args.sep, args.no_header, args.encoding, args.decimal, features)
    header = args.features_header
    return TableFormat(
        args.features_sep or args.sep,
        args.no_header if header is None else not header,
        args.features_encoding or args.encoding,
        args.decimal,
        features,
    )


def read_table(path, table_format):
    """A data file as a DataFrame, read as its :class:`TableFormat` says."""
    try:
        import pandas as pd
    except ImportError:
        raise UserError('reading data files needs pandas: pip install "skncf[cli]"') from None
    if not os.path.isfile(path):
        raise UserError(f"no such file: {path}")
    sep = table_format.sep or _separator(path.lower())
    try:
        if path.lower().endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if sep is None:
            sep = guess_separator(path, table_format.encoding)
        # sep=None: pandas' python engine guesses it (csv.Sniffer), as a regex sep needs
        engine = "c" if sep is not None and len(sep) == 1 else "python"
        header = None if table_format.no_header else 0
        frame = pd.read_csv(
            path,
            sep=sep,
            engine=engine,
            header=header,
            encoding=table_format.encoding,
            decimal=table_format.decimal,
            skipinitialspace=True,  # "user, item": ids without the space, columns named
        )
    except ImportError as error:  # read_parquet without pyarrow
        raise UserError(f'cannot read {path}: {error} (pip install "skncf[cli]")') from None
    except UnicodeDecodeError as error:
        option = "--features-encoding" if table_format.features else "--encoding"
        raise UserError(f"cannot read {path}: {error} (give its {option})") from None
    except (ValueError, OSError, csv.Error, LookupError) as error:  # LookupError: encoding
        raise UserError(f"cannot read {path}: {error}{_sep_hint(sep, table_format)}") from None
    if sep is None:  # a sniffed ":" of "::" (MovieLens-1M) leaves empty columns between
        frame = frame.dropna(axis=1, how="all")
    if table_format.no_header:
        frame = frame.set_axis([str(n) for n in range(frame.shape[1])], axis=1)
    return frame


def _separator(name):
    """The separator a file name implies: None (guess it) for names other than csv/tsv."""
    for extension, sep in ((".tsv", "\t"), (".tab", "\t"), (".csv", ",")):
        if extension + "." in name + ".":  # data.csv, data.csv.gz
            return sep
    return None


# In the order they are tried: those rarer inside a field first (titles hold commas).
_SEPARATORS = ("::", "\t", "|", ";", ",")


def guess_separator(path, encoding, n_lines=50):
    """The first of ``_SEPARATORS`` that splits every one of the file's first lines into
    the same number of fields, at least 2 (quoted fields stay whole), or None.

    csv.Sniffer, which pandas asks otherwise, takes the ":" of the URLs in MovieLens-
    100K's u.item, or "%" from their escapes, for its separator; a count of fields that
    holds on every line is what a separator has and a character inside fields lacks.
    """
    import pandas as pd

    lines = pd.read_csv(  # pandas: decompressed as read_csv will be; one column of lines
        path, sep="\x1f", header=None, names=["line"], nrows=n_lines, dtype=str,
        quoting=csv.QUOTE_NONE, keep_default_na=False, encoding=encoding,
    )["line"].tolist()  # fmt: skip
    for sep in _SEPARATORS:
        if len(sep) == 1:
            counts = {len(fields) for fields in csv.reader(lines, delimiter=sep)}
        else:
            counts = {len(line.split(sep)) for line in lines}
        if len(counts) == 1 and counts.pop() > 1:
            return sep
    return None


def _sep_hint(sep, table_format):
    """Advice on the separator, for a file that could not be parsed."""
    option = "--features-sep" if table_format.features else "--sep"
    if table_format.sep is not None:
        return ""
    guess = "no separator fits every line" if sep is None else f"the separator read was {sep!r}"
    return f" ({guess}: give it with {option})"


def features_table(args, side, ids=None):
    """--{side}-features as the DataFrame indexed by id that NCFRecommender takes; with
    ``ids`` (the data file's), raise if it describes none of them."""
    path, column = getattr(args, f"{side}_features"), getattr(args, f"{side}_features_col")
    kinds = {kind: getattr(args, f"{side}_{kind.replace('-', '_')}") for kind in _COLUMN_KINDS}
    option, id_option = f"--{side}-features", f"--{side}-features-col"
    if column is None:
        column, id_option = getattr(args, f"{side}_col"), f"--{side}-col"
    if path is None:
        given = [f"--{side}-{kind}" for kind, names in kinds.items() if names]
        if given:
            raise UserError(f"{', '.join(given)} name columns of {option}, not given.")
        return None
    table_format = format_of(args, features=True)
    frame = read_table(path, table_format)
    named = [(id_option, column)]
    named += [(f"--{side}-{kind}", name) for kind, names in kinds.items() for name in names]
    check_columns(frame, f"{path} ({option})", named, table_format)
    _check_column_kinds(side, *kinds.values())
    frame = _attributes(frame, column, kinds["attributes"], f"{path} ({option})", side)
    _check_no_dates(frame, column, f"{path} ({option})", side)
    for name in set(kinds["label-cols"]) - {column}:
        frame[name] = [_split_labels(value, args.label_sep) for value in frame[name]]
    for name in set(kinds["categorical-cols"]) - {column}:
        frame[name] = [_code(value) for value in frame[name]]
    if ids is not None:
        _check_describes_some(frame[column], ids, f"{path} ({option})", id_option, side)
    return frame.set_index(column)


def _check_describes_some(feature_ids, ids, name, id_option, side):
    """Raise where no id of the data file is among ``feature_ids``, compared as text (a
    type mismatch alone is the library's to explain): the wrong id column, most often
    the data file's column number or name carried over to a features file (MovieLens:
    ratings' items in column 1, movies' in column 0)."""
    if feature_ids.astype(str).isin(set(map(str, ids))).any():
        return
    shown = ", ".join(repr(value) for value in feature_ids.head(3).tolist())
    raise UserError(
        f"{name}: none of the data's {side} ids is in its column {feature_ids.name!r} "
        f"({id_option}), which holds {shown}, ...; give its column of {side} ids with "
        f"--{side}-features-col."
    )


def _attributes(frame, column, attributes, name, side):
    """``frame`` with its id ``column`` and the ``attributes`` (all columns if none)."""
    if attributes:
        chosen = list(dict.fromkeys(attribute for attribute in attributes if attribute != column))
        if not chosen:
            raise UserError(f"--{side}-attributes names no column but the ids, {column!r}.")
        frame = frame[[column, *chosen]]
    if frame.shape[1] == 1:
        raise UserError(
            f"{name} has one column, the ids, and no attributes (give its separator with "
            "--features-sep)"
        )
    return frame


def _check_no_dates(frame, column, name, side):
    """Raise, naming the option that leaves them out, for attributes of dates or durations
    (a Parquet file's): the model takes numbers, text and label lists."""
    from ._data.features import temporal_columns

    kinds = temporal_columns(frame.drop(columns=column))
    dated = [name for name, kind in kinds.items() if kind in ("dates", "durations")]
    if dated:
        raise UserError(
            f"{name}: column(s) {dated} hold dates or durations, which the model does not "
            f"take as attributes: name the columns to use with --{side}-attributes, or "
            "store numbers (days since a date) or text in the file"
        )


def _check_column_kinds(side, attributes, categorical_cols, label_cols):
    """Raise for a column named as two kinds, or as a kind but not among the attributes."""
    both = set(categorical_cols) & set(label_cols)
    if both:
        raise UserError(
            f"--{side}-categorical-cols and --{side}-label-cols both name "
            f"{', '.join(map(repr, sorted(both)))}: a column is one or the other."
        )
    for kind, names in ("categorical-cols", categorical_cols), ("label-cols", label_cols):
        left_out = [name for name in names if attributes and name not in attributes]
        if left_out:
            raise UserError(
                f"--{side}-{kind} names {', '.join(map(repr, left_out))}, which "
                f"--{side}-attributes leaves out."
            )


def _code(value):
    """A cell of a --{side}-categorical-cols column as text: 3.0 (an integer column with
    gaps, which pandas reads as floats) as "3", so that a file without gaps codes alike;
    None if empty."""
    if isinstance(value, float):
        return None if value != value else str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _split_labels(value, sep):
    """A cell of a --{side}-label-cols column as its list of labels; None if empty."""
    if isinstance(value, float) and value != value:  # NaN: pandas read an empty cell
        return None
    return [label for label in str(value).split(sep) if label]


def check_columns(frame, name, options, table_format):
    """Raise unless ``frame``, read as ``table_format`` says, has each column of
    ``options``, (option, column) pairs."""
    for option, column in options:
        if column is not None and column not in frame.columns:
            hint = _format_hint(frame, option, column, table_format)
            raise UserError(
                f"{name} has no column {column!r} ({option}); its columns are "
                f"{', '.join(map(str, frame.columns))}{hint}"
            )


def numbers(frame, column, option, name):
    """``frame``'s ``column`` (``option``'s) as an array of numbers; raise, naming the
    option and the first value that is none, where it holds text."""
    values = frame[column]
    if values.dtype.kind in "biuf":
        return values.to_numpy()
    text = first_non_number(values.to_numpy())
    if text is not None:
        hint = " (a decimal comma: give --decimal ',')" if is_decimal_comma(text) else ""
        raise UserError(f"{name}: {option} {column!r} must hold numbers; got {text!r}{hint}.")
    return values.to_numpy(dtype=float)


def check_several_items(frame, column, path):
    """Raise where the item column holds one id on every row: nothing to rank, and most
    likely a misread file (a wrong --sep splits each line inside a field)."""
    items = frame[column]
    if len(items) < 2 or items.nunique(dropna=False) != 1:
        return
    others = [str(value) for value in frame.drop(columns=column).iloc[:50].to_numpy().ravel()]
    seen = [sep for sep in _SEPARATORS if others and all(sep in value for value in others)]
    hint = ""
    if seen:
        hint = f" (every other field holds {seen[0]!r}: is it the separator? --sep {seen[0]!r})"
    item = items.iloc[0]
    item = item.item() if hasattr(item, "item") else item  # numpy's 5, not np.int64(5)
    raise UserError(
        f"{path}: --item-col {column!r} holds one id, {item!r}, on all {len(items)} rows: "
        f"a model of one item has nothing to rank{hint}."
    )


def _format_hint(frame, option, column, table_format):
    """Advice on the separator or the header row when ``option``'s ``column`` is missing."""
    prefix = "--features-" if table_format.features else "--"
    if len(frame.columns) == 1:
        line = frame.iloc[0, 0] if table_format.no_header and len(frame) else frame.columns[0]
        seen = [f" {sep!r}" for sep in _SEPARATORS if sep in str(line)][:1]
        return f" (one column: give the separator, {prefix}sep{''.join(seen)})"
    if not table_format.no_header and _numbers(frame.columns):
        return f" (data, not names: pass {prefix}no-header)"
    if not table_format.no_header and column.isdigit():
        return f" (to name columns by position, pass {prefix}no-header)"
    if table_format.no_header and not column.isdigit():
        if len(frame) and column in {str(value) for value in frame.iloc[0]}:
            names = "pass --features-header" if table_format.features else "leave out --no-header"
            return f" (the first row names the columns: {names})"
        return f" (without a header row columns are named by position: e.g. {option} 0)"
    return "."


def _numbers(names):
    """Whether every column name reads as a number: a header row that is data."""
    try:
        [float(name) for name in names]
    except ValueError:
        return False
    return True
