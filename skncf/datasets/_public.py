"""Loaders of public interaction data: MovieLens folders and the NCF paper's split files.

Nothing here ships data: MovieLens may not be redistributed. ``load_*`` read local files;
:func:`fetch_movielens` downloads the official archive into a cache folder, verifies its
checksum and reads it.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._data.interactions import is_number

# Archives and the MD5 sums that GroupLens publishes beside them (ml-*.zip.md5). The
# "latest" releases change without notice and have no fixed sum: load them with
# load_movielens, or fetch with url= and checksum=.
_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
MOVIELENS = {
    "100k": (_GROUPLENS + "ml-100k.zip", "md5:0e33842e24a9c977be4e0107933c0723"),
    "1m": (_GROUPLENS + "ml-1m.zip", "md5:c4d9eecfca2ab87c1945afe126590906"),
    "10m": (_GROUPLENS + "ml-10m.zip", "md5:ce571fd55effeba0271552578f2648bd"),
    "20m": (_GROUPLENS + "ml-20m.zip", "md5:cd245b17a1ae2cc31bb14903e1204af3"),
    "25m": (_GROUPLENS + "ml-25m.zip", "md5:6b51fb2759a8657d3bfcbfc42b592ada"),
    "32m": (_GROUPLENS + "ml-32m.zip", "md5:d472be332d4daa821edc399621853b57"),
}
_RATING_FILES = ("u.data", "ratings.dat", "ratings.dat.gz", "ratings.csv")


def _open_text(path):
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="latin-1")
    return open(path, encoding="latin-1")


def _read_table(path, what):
    """The first four columns of a file of numbers as a float array (a fourth of zeros if
    there are three): tab- or space-separated (100K, the NCF splits), ``::``-separated (1M,
    10M) or comma-separated with a header line (20M and later). numpy's C reader parses it,
    in a fraction of a Python loop's time and memory; a line it cannot read is named by
    :func:`_bad_line`."""
    number, first = _first_line(path)
    if first is None:
        return np.empty((0, 4))
    separator = "::" if "::" in first else "," if "," in first else None
    fields = first.split(separator)
    header = separator == "," and not is_number(fields[0])
    width = min(len(fields), 4)
    if width < 3:
        raise ValueError(f"{path}:{number}: expected user, item, rating[, timestamp].")
    step = 2 if separator == "::" else 1  # "1::2" read with ":" is "1", "", "2"
    try:
        with _open_text(path) as lines:
            table = np.loadtxt(
                lines, delimiter=separator and separator[0], comments=None, ndmin=2,
                usecols=range(0, step * width, step), skiprows=number if header else 0,
            )  # fmt: skip
    except ValueError as error:
        raise _bad_line(path, what, separator, width, number if header else 0) or error from None
    if width == 3:
        table = np.column_stack([table, np.zeros(len(table))])
    return table


def _first_line(path):
    """The number and text of the first non-blank line of ``path``, or (0, None)."""
    with _open_text(path) as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                return number, line.strip()
    return 0, None


def _bad_line(path, what, separator, width, header):
    """A ValueError naming the first line after ``header`` without ``width`` numbers."""
    with _open_text(path) as lines:
        for number, line in enumerate(lines, 1):
            if number <= header or not line.strip():
                continue
            fields = line.strip().split(separator)
            if len(fields) < width or not all(is_number(x) for x in fields[:width]):
                return ValueError(
                    f"{path}:{number}: not a {what} line ({width} numbers): {line.strip()[:80]!r}"
                )
    return None


def _ratings_file(path):
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"path {str(path)!r} is neither a ratings file nor a folder.")
    candidates = [path / name for name in _RATING_FILES] + sorted(path.glob("ratings*.dat.gz"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no MovieLens ratings file in {str(path)!r}: expected one of "
        f"{', '.join(_RATING_FILES)} (the 100K, 1M/10M or 20M-and-later format)."
    )


def load_movielens(path, *, as_frame=False):
    """Load MovieLens ratings from a local file or folder.

    Reads the 100K format (``u.data``: tab-separated ``user item rating timestamp``), the
    1M and 10M format (``ratings.dat``: ``user::item::rating::timestamp``) and the CSV of
    20M, 25M, 32M and the "latest" releases (``ratings.csv``: a header line, then
    ``userId,movieId,rating,timestamp``), also gzipped (a ``.gz`` file). numpy's C parser
    reads them: a 25M-row ``ratings.csv`` takes seconds and the memory of its arrays.

    Parameters
    ----------
    path : str or path-like
        A ratings file, or a folder holding ``u.data``, ``ratings.dat``,
        ``ratings.dat.gz`` or ``ratings.csv``.
    as_frame : bool, default=False
        Return a pandas DataFrame (columns ``user``, ``item``, ``rating``, ``timestamp``)
        instead of arrays. Needs pandas.

    Returns
    -------
    data : Bunch or DataFrame
        Bunch with ``X`` (n, 2) int64 (user id, item id as in the files), ``ratings`` (n,)
        float64 and ``timestamps`` (n,) int64.
    """
    table = _read_table(_ratings_file(path), "ratings")
    X = table[:, :2].astype(np.int64)
    if as_frame:
        import pandas as pd

        return pd.DataFrame(
            {
                "user": X[:, 0],
                "item": X[:, 1],
                "rating": table[:, 2],
                "timestamp": table[:, 3].astype(np.int64),
            }
        )
    return Bunch(X=X, ratings=table[:, 2], timestamps=table[:, 3].astype(np.int64))


def load_ncf_split(prefix):
    """Load a leave-one-out split in the file format of the NCF paper (He et al. 2017).

    Parameters
    ----------
    prefix : str or path-like
        Common prefix of ``PREFIX.train.rating``, ``PREFIX.test.rating`` and
        ``PREFIX.test.negative`` (e.g. ``".../ml1m-half/ml1m-half"``), one of those
        files, or a folder that holds one split.

    Returns
    -------
    split : Bunch
        ``train`` (n, 2) and ``test`` (m, 2) int64 (user, item) pairs, with
        ``train_ratings``, ``train_timestamps``, ``test_ratings``, ``test_timestamps``,
        and ``test_negatives`` (m, n_negatives) int64: the sampled negatives of each test
        row, in the order of ``test``.
    """
    prefix = _split_prefix(prefix)
    train = _read_table(prefix + ".train.rating", "rating")
    test = _read_table(prefix + ".test.rating", "rating")
    negatives = {}
    path = prefix + ".test.negative"
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            key, *items = line.split()
            try:
                user, item = (int(x) for x in key.strip("()").split(","))
                negatives[(user, item)] = [int(x) for x in items]
            except ValueError:
                raise ValueError(
                    f"{path}:{number}: expected '(user,item)' then item ids."
                ) from None
    test_pairs = test[:, :2].astype(np.int64)
    missing = [tuple(p) for p in test_pairs.tolist() if tuple(p) not in negatives]
    if missing:
        raise ValueError(f"{path} has no negatives for test pairs such as {missing[0]}.")
    widths = {len(v) for v in negatives.values()}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of negatives {sorted(widths)}.")
    return Bunch(
        train=train[:, :2].astype(np.int64),
        train_ratings=train[:, 2],
        train_timestamps=train[:, 3].astype(np.int64),
        test=test_pairs,
        test_ratings=test[:, 2],
        test_timestamps=test[:, 3].astype(np.int64),
        test_negatives=np.array([negatives[tuple(p)] for p in test_pairs.tolist()], dtype=np.int64),
    )


def _split_prefix(path):
    """The prefix of a split's files: ``path``, a file's prefix, or a folder's one split."""
    name = os.fspath(path)
    if os.path.isdir(name):
        found = sorted(Path(name).glob("*.train.rating"))
        if len(found) != 1:
            raise ValueError(
                f"prefix: the folder {name!r} holds {len(found)} splits (*.train.rating); "
                "pass the prefix of one, e.g. 'folder/ml1m-half'."
            )
        name = str(found[0])
    for suffix in (".train.rating", ".test.rating", ".test.negative"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def get_data_home(data_home=None):
    """The cache folder: ``data_home``, else ``$SKNCF_DATA``, else ``~/skncf_data``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use; ``~`` is expanded.

    Returns
    -------
    path : pathlib.Path
        The folder, created if it did not exist.
    """
    home = data_home or os.environ.get("SKNCF_DATA") or Path.home() / "skncf_data"
    home = Path(home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _digest(path, algorithm):
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _download(url, path, variant):
    """Copy ``url`` to ``path``; an unreachable address raises what to do without it."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
            shutil.copyfileobj(response, out)
    except urllib.error.URLError as error:  # HTTPError too; an OSError, as before
        raise OSError(
            f"could not download MovieLens {variant} from {url}: {error.reason}. Without "
            "network access, fetch the archive elsewhere and pass url='file:///path/to/"
            f"ml-{variant}.zip' with its checksum, or unzip it and call "
            "load_movielens(folder)."
        ) from error


def fetch_movielens(
    variant="100k",
    *,
    data_home=None,
    url=None,
    checksum=None,
    download_if_missing=True,
    as_frame=False,
):
    """Download (once) and load a MovieLens data set.

    The archive is downloaded into the cache folder (see ``data_home``), its checksum
    verified, and extracted; later calls read the extracted copy. A download whose
    checksum does not match is deleted and raises an error.

    Parameters
    ----------
    variant : {"100k", "1m", "10m", "20m", "25m", "32m"}, default="100k"
        The release: 100,000 to 32 million ratings (archives of 5 MB to 262 MB).
    data_home : str or path-like, default=None
        Cache folder; default ``$SKNCF_DATA`` or ``~/skncf_data``.
    url : str, default=None
        Where to download the zip archive from (e.g. a mirror or a ``file://`` URL);
        default the GroupLens address.
    checksum : str, default=None
        ``"md5:<hex>"`` or ``"sha256:<hex>"`` of the archive; default the MD5 that
        GroupLens publishes. Required with a custom ``url``.
    download_if_missing : bool, default=True
        If False and the data are not cached, raise ``OSError`` instead of downloading.
    as_frame : bool, default=False
        See :func:`load_movielens`.

    Returns
    -------
    data : Bunch or DataFrame
        As :func:`load_movielens`.
    """
    if variant not in MOVIELENS:
        raise ValueError(f"variant must be one of {sorted(MOVIELENS)}; got {variant!r}.")
    default_url, default_checksum = MOVIELENS[variant]
    if url is not None and checksum is None:
        raise ValueError("checksum is required with a custom url: 'md5:<hex>' or 'sha256:<hex>'.")
    url, checksum = url or default_url, checksum or default_checksum
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not expected:
        raise ValueError(
            f"checksum must look like 'md5:<hex>' or 'sha256:<hex>'; got {checksum!r}."
        )

    folder = get_data_home(data_home) / f"ml-{variant}"
    if not folder.is_dir():
        if not download_if_missing:
            raise OSError(f"MovieLens {variant} is not in {folder} and download_if_missing=False.")
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            archive = Path(tmp) / "archive.zip"
            _download(url, archive, variant)
            actual = _digest(archive, algorithm)
            if actual != expected.lower():
                raise OSError(
                    f"checksum mismatch for {url}: expected {algorithm}:{expected}, got "
                    f"{algorithm}:{actual}; the download was discarded."
                )
            extracted = Path(tmp) / "extracted"
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(extracted)
            found = [p.parent for name in _RATING_FILES for p in extracted.rglob(name)]
            if not found:
                raise OSError(f"the archive from {url} holds no MovieLens ratings file.")
            shutil.move(str(found[0]), folder)
    return load_movielens(folder, as_frame=as_frame)
