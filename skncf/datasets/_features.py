"""Side features of MovieLens: users' demographics and movies' genres and years.

For cold start (a user or item described by attributes): ``u.user`` and ``u.item``
(MovieLens 100K) or ``users.dat`` and ``movies.dat`` (1M) as two DataFrames indexed by the
ids of the ratings files, ready for a scikit-learn ``ColumnTransformer``. Nothing is
shipped; the files are read locally (``fetch_movielens`` downloads the archives).
"""

import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

# The genres of movies.dat (MovieLens 1M README), in that order.
GENRES_1M = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def load_movielens_features(path):
    """Load MovieLens users' demographics and movies' genres from a local folder.

    Reads ``u.user``, ``u.item`` and ``u.genre`` (100K) or ``users.dat`` and
    ``movies.dat`` (1M). Needs pandas (``pip install "skncf[cli]"``).

    Parameters
    ----------
    path : str or path-like
        A MovieLens 100K or 1M folder.

    Returns
    -------
    data : Bunch
        ``user_features``: DataFrame indexed by user id (as in the ratings files), columns
        ``age`` (int; in 1M the age group's lower bound: 1, 18, 25, 35, 45, 50, 56),
        ``gender`` ("F"/"M"), ``occupation`` (100K: a name; 1M: the README's code, as a
        string) and ``zip`` (string). ``item_features``: DataFrame indexed by movie id,
        columns
        ``title``, ``year`` (float; NaN where neither the release date nor the title
        gives one) and one 0/1 column per genre. Ids of the NCF splits map to these as
        ``../shared/data/PROTOCOL.md`` says (``ml-100k-loo``: id - 1).

    Raises
    ------
    FileNotFoundError
        If the folder holds neither format's files.
    ValueError
        If a line does not have the format's fields, naming the file and line.
    """
    folder = Path(path)
    if (folder / "u.user").is_file() and (folder / "u.item").is_file():
        return Bunch(
            user_features=_users_100k(folder / "u.user"), item_features=_items_100k(folder)
        )
    if (folder / "users.dat").is_file() and (folder / "movies.dat").is_file():
        return Bunch(
            user_features=_users_1m(folder / "users.dat"),
            item_features=_items_1m(folder / "movies.dat"),
        )
    raise FileNotFoundError(
        f"no MovieLens feature files in {str(folder)!r}: expected u.user and u.item (100K) "
        "or users.dat and movies.dat (1M)."
    )


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


def _items_1m(path):  # MovieID::Title::Genres (pipe-separated)
    rows = _fields(path, "::", 3)
    try:
        ids = [int(row[0]) for row in rows]
    except ValueError as error:
        raise ValueError(f"{path}: a movie id is not an integer ({error}).") from None
    listed = [set(row[2].split("|")) for row in rows]
    unknown = set().union(*listed) - set(GENRES_1M) if listed else set()
    if unknown:
        raise ValueError(f"{path}: genres not in the MovieLens 1M list: {sorted(unknown)}.")
    genres = [[genre in mine for genre in GENRES_1M] for mine in listed]
    years = [_year(row[1]) for row in rows]
    return _item_frame(ids, [row[1] for row in rows], years, genres, GENRES_1M, path)
