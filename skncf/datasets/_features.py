"""Side features of MovieLens: users' demographics and movies' genres and years.

For cold start (a user or item described by attributes): ``u.user`` and ``u.item``
(MovieLens 100K), ``users.dat`` and ``movies.dat`` (1M; 10M has no users file) or
``movies.csv`` (20M and later, no users file) as DataFrames indexed by the ids of the
ratings files, ready for a scikit-learn ``ColumnTransformer``. Nothing is
shipped; the files are read locally (``fetch_movielens`` downloads the archives).
"""

import csv
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

# The genres of movies.dat (MovieLens 1M README), in that order. Later releases spell
# "Children's" as "Children", add others (IMAX) and mark a movie without any
# "(no genres listed)".
GENRES_1M = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
NO_GENRES = "(no genres listed)"
RENAMED = {"Children": "Children's"}
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def load_movielens_features(path):
    """Load MovieLens users' demographics and movies' genres from a local folder.

    Reads ``u.user``, ``u.item`` and ``u.genre`` (100K), ``users.dat`` and ``movies.dat``
    (1M), ``movies.dat`` (10M) or ``movies.csv`` (20M, 25M, 32M and the "latest"
    releases). Needs pandas (``pip install "skncf[cli]"``).

    Parameters
    ----------
    path : str or path-like
        A MovieLens folder.

    Returns
    -------
    data : Bunch
        ``user_features``: DataFrame indexed by user id (as in the ratings files), columns
        ``age`` (int; in 1M the age group's lower bound: 1, 18, 25, 35, 45, 50, 56),
        ``gender`` ("F"/"M"), ``occupation`` (100K: a name; 1M: the README's code, as a
        string) and ``zip`` (string); None for the releases after 1M, which describe no
        users. ``item_features``: DataFrame indexed by movie id, columns ``title``,
        ``year`` (float; NaN where neither the release date nor the title gives one) and
        one 0/1 column per genre: the 100K's 19 of ``u.genre``, or 1M's 18 then, in
        alphabetical order, any others the file names (10M and later: ``IMAX``; their
        "Children" is 1M's "Children's"); a movie whose genres are "(no genres listed)"
        has none. Ids of the NCF splits map to
        these as ``../shared/data/PROTOCOL.md`` says (``ml-100k-loo``: id - 1).

    Raises
    ------
    FileNotFoundError
        If the folder holds no format's movie file.
    ValueError
        If a line does not have the format's fields, naming the file and line.
    """
    folder = Path(path)
    if (folder / "u.user").is_file() and (folder / "u.item").is_file():
        return Bunch(
            user_features=_users_100k(folder / "u.user"), item_features=_items_100k(folder)
        )
    users = folder / "users.dat"
    if (folder / "movies.dat").is_file():
        items = _items_listed(folder / "movies.dat", _fields(folder / "movies.dat", "::", 3))
    elif (folder / "movies.csv").is_file():
        items = _items_listed(folder / "movies.csv", _csv_fields(folder / "movies.csv", 3))
    else:
        raise FileNotFoundError(
            f"no MovieLens feature files in {str(folder)!r}: expected u.user and u.item "
            "(100K), movies.dat (1M, 10M; users.dat in 1M) or movies.csv (20M and later)."
        )
    return Bunch(user_features=_users_1m(users) if users.is_file() else None, item_features=items)


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError('MovieLens features are DataFrames: pip install "skncf[cli]"') from None
    return pd


def _fields(path, separator, count):
    """Each non-empty line of ``path`` split into ``count`` fields (or more, checked)."""
    rows = []
    with open(path, encoding="latin-1") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.split(separator)
            if len(fields) < count:
                raise ValueError(
                    f"{path}:{number}: expected {count} fields separated by {separator!r}; "
                    f"got {line[:80]!r}."
                )
            rows.append(fields)
    return rows


def _user_frame(rows, id_at, age_at, gender_at, occupation_at, zip_at, path):
    pd = _pandas()
    try:
        ids = [int(row[id_at]) for row in rows]
        ages = [int(row[age_at]) for row in rows]
    except ValueError as error:
        raise ValueError(f"{path}: a user id or age is not an integer ({error}).") from None
    frame = pd.DataFrame(
        {
            "age": ages,
            "gender": [row[gender_at] for row in rows],
            "occupation": [row[occupation_at] for row in rows],
            "zip": [row[zip_at] for row in rows],
        },
        index=pd.Index(ids, name="user"),
    )
    return frame.astype({"gender": "category", "occupation": "category"})


def _users_100k(path):  # id|age|gender|occupation|zip
    return _user_frame(_fields(path, "|", 5), 0, 1, 2, 3, 4, path)


def _users_1m(path):  # UserID::Gender::Age::Occupation::Zip-code
    return _user_frame(_fields(path, "::", 5), 0, 2, 1, 3, 4, path)


def _item_frame(ids, titles, years, genres, names, path):
    pd = _pandas()
    frame = pd.DataFrame(
        {"title": titles, "year": np.array(years, dtype=np.float64)},
        index=pd.Index(ids, name="item"),
    )
    flags = pd.DataFrame(np.array(genres, dtype=np.uint8).reshape(len(ids), len(names)),
                         columns=list(names), index=frame.index)  # fmt: skip
    if frame.index.has_duplicates:
        raise ValueError(f"{path}: movie ids repeat.")
    return pd.concat([frame, flags], axis=1)


def _year(title, date=""):
    """The release year: from a date such as 01-Jan-1995, else from "Title (1995)"."""
    if date[-4:].isdigit():
        return float(date[-4:])
    found = _YEAR.search(title)
    return float(found.group(1)) if found else np.nan


def _items_100k(folder):  # id|title|release date|video date|url|19 genre flags
    path = folder / "u.item"
    names = (
        [row[0] for row in _fields(folder / "u.genre", "|", 2)]
        if (folder / "u.genre").is_file()
        else [f"genre_{j}" for j in range(19)]
    )
    rows = _fields(path, "|", 5 + len(names))
    try:
        ids = [int(row[0]) for row in rows]
        genres = [[int(flag) for flag in row[5 : 5 + len(names)]] for row in rows]
    except ValueError as error:
        raise ValueError(f"{path}: a movie id or genre flag is not an integer ({error}).") from None
    years = [_year(row[1], row[2]) for row in rows]
    return _item_frame(ids, [row[1] for row in rows], years, genres, names, path)


def _csv_fields(path, count):
    """Each non-empty row of a CSV file after its header, of ``count`` fields (checked)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as lines:
        reader = csv.reader(lines)
        next(reader, None)  # movieId,title,genres
        for row in reader:
            if row and len(row) != count:
                raise ValueError(
                    f"{path}:{reader.line_num}: expected {count} comma-separated fields; "
                    f"got {len(row)}."
                )
            rows += [row] if row else []
    return rows


def _items_listed(path, rows):  # movie id, title, genres separated by "|"
    try:
        ids = [int(row[0]) for row in rows]
    except ValueError as error:
        raise ValueError(f"{path}: a movie id is not an integer ({error}).") from None
    listed = [{RENAMED.get(g, g) for g in row[2].split("|")} - {NO_GENRES} for row in rows]
    names = [*GENRES_1M, *sorted(set().union(*listed) - set(GENRES_1M))]
    genres = [[genre in mine for genre in names] for mine in listed]
    years = [_year(row[1]) for row in rows]
    return _item_frame(ids, [row[1] for row in rows], years, genres, names, path)
