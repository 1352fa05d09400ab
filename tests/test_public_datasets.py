"""Loaders of MovieLens and NCF split files, on local files and a local HTTP server."""

import functools
import gzip
import hashlib
import http.server
import os
import re
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from skncf.datasets import fetch_movielens, load_movielens, load_ncf_split
from skncf.datasets._public import MOVIELENS

SHARED = Path(os.environ.get("SKNCF_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
U_DATA = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
RATINGS_CSV = (
    "userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n\n"
    "2,3,4.0,974820889\n"
)


def test_load_movielens_100k_and_1m_formats(tmp_path):
    (tmp_path / "u.data").write_text(U_DATA)
    data = load_movielens(tmp_path)
    assert data.X.tolist() == [[196, 242], [186, 302], [22, 377]]
    assert data.ratings.tolist() == [3, 3, 1] and data.timestamps[0] == 881250949
    one_m = tmp_path / "m1"
    one_m.mkdir()
    with gzip.open(one_m / "ratings.dat.gz", "wt") as f:
        f.write("1::1193::5::978300760\n1::661::3::978302109\n")
    frame = load_movielens(one_m, as_frame=True)
    assert list(frame.columns) == ["user", "item", "rating", "timestamp"]
    assert frame["item"].tolist() == [1193, 661]


def test_load_movielens_csv_format_of_20m_and_later(tmp_path):
    (tmp_path / "ratings.csv").write_text(RATINGS_CSV)
    data = load_movielens(tmp_path)
    assert data.X.tolist() == [[1, 2], [1, 29], [2, 3]]
    assert data.ratings.tolist() == [3.5, 3.5, 4.0] and data.timestamps[2] == 974820889
    with gzip.open(tmp_path / "ratings.csv.gz", "wt") as f:
        f.write(RATINGS_CSV)
    np.testing.assert_array_equal(load_movielens(tmp_path / "ratings.csv.gz").X, data.X)


def test_three_columns_get_zero_timestamps_and_empty_files_no_rows(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::10::5\n2::20::4\n")
    data = load_movielens(tmp_path / "ratings.dat")
    assert data.X.tolist() == [[1, 10], [2, 20]] and data.timestamps.tolist() == [0, 0]
    (tmp_path / "u.data").write_text("\n")
    assert load_movielens(tmp_path / "u.data").X.shape == (0, 2)


def test_load_movielens_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MovieLens ratings file"):
        load_movielens(tmp_path)
    (tmp_path / "u.data").write_text("1\t2\tfive\t3\n")
    with pytest.raises(ValueError, match="u.data:1: not a ratings line"):
        load_movielens(tmp_path)
    # the line named counts the header and blank lines; a short line is named too
    for bad in ["2,3,x,974820889", "2,3"]:
        (tmp_path / "ratings.csv").write_text(RATINGS_CSV.replace("2,3,4.0,974820889", bad))
        with pytest.raises(ValueError, match=f"ratings.csv:5: not a ratings line .*'{bad}'"):
            load_movielens(tmp_path / "ratings.csv")
    (tmp_path / "u.data").write_text("1\t2\n")
    with pytest.raises(ValueError, match="u.data:1: expected user, item, rating"):
        load_movielens(tmp_path / "u.data")


def _write_split(prefix):
    Path(f"{prefix}.train.rating").write_text("0\t1\t4\t10\n0\t2\t5\t11\n1\t0\t3\t12\n")
    Path(f"{prefix}.test.rating").write_text("0\t3\t4\t20\n1\t2\t2\t21\n")
    Path(f"{prefix}.test.negative").write_text("(1,2)\t4\t5\n(0,3)\t0\t5\n")


def test_load_ncf_split(tmp_path):
    _write_split(tmp_path / "toy")
    split = load_ncf_split(tmp_path / "toy")
    assert split.train.tolist() == [[0, 1], [0, 2], [1, 0]]
    assert split.test.tolist() == [[0, 3], [1, 2]]
    assert split.test_negatives.tolist() == [[0, 5], [4, 5]]  # in the order of test
    assert split.train_ratings.tolist() == [4, 5, 3] and split.test_timestamps.tolist() == [20, 21]
    # the folder of one split, or one of its files, names it too
    for name in (tmp_path, tmp_path / "toy.train.rating", tmp_path / "toy.test.negative"):
        assert load_ncf_split(name).test.tolist() == split.test.tolist()
    _write_split(tmp_path / "other")
    with pytest.raises(ValueError, match="holds 2 splits"):
        load_ncf_split(tmp_path)
    Path(tmp_path / "toy.test.negative").write_text("(0,3)\t0\t5\n")
    with pytest.raises(ValueError, match="no negatives for test pairs such as \\(1, 2\\)"):
        load_ncf_split(tmp_path / "toy")


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "ml1m-half").is_dir(), reason="shared benchmark data absent")
def test_real_ncf_split_matches_protocol():
    split = load_ncf_split(SHARED / "ml1m-half" / "ml1m-half")
    assert len(split.train) == 484_651 and len(np.unique(split.train[:, 0])) == 2_999
    assert split.test_negatives.shape == (2_999, 99)
    assert len(load_movielens(SHARED / "ml-100k").X) == 100_000


def _zip_with(tmp_path, files):
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return archive, "md5:" + hashlib.md5(archive.read_bytes()).hexdigest()


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_downloads_verifies_and_caches(tmp_path, server):
    served, base = server
    archive, checksum = _zip_with(served, {"ml-100k/u.data": U_DATA, "ml-100k/README": "x"})
    home = tmp_path / "cache"
    data = fetch_movielens("100k", data_home=home, url=f"{base}/{archive.name}", checksum=checksum)
    assert data.X.shape == (3, 2) and (home / "ml-100k" / "u.data").is_file()
    archive.unlink()  # the cache is used from now on
    again = fetch_movielens("100k", data_home=home, download_if_missing=False)
    np.testing.assert_array_equal(again.X, data.X)


def test_fetch_rejects_a_bad_checksum_and_keeps_nothing(tmp_path, server):
    served, base = server
    archive, _ = _zip_with(served, {"ml-100k/u.data": U_DATA})
    home = tmp_path / "cache"
    with pytest.raises(OSError, match="checksum mismatch"):
        fetch_movielens(
            "100k", data_home=home, url=f"{base}/{archive.name}", checksum="md5:" + "0" * 32
        )
    assert not (home / "ml-100k").exists()


def test_an_unreachable_address_says_what_to_do_without_it(tmp_path, server):
    _, base = server
    missing = (tmp_path / "nowhere.zip").as_uri()
    for url, reason in [(f"{base}/nowhere.zip", "[Nn]ot [Ff]ound"), (missing, "No such file")]:
        message = rf"(?s)could not download MovieLens 100k from {re.escape(url)}: .*{reason}"
        with pytest.raises(OSError, match=message + r".*load_movielens\(folder\)"):
            fetch_movielens(data_home=tmp_path / "c", url=url, checksum="md5:" + "0" * 32)
    assert not (tmp_path / "c" / "ml-100k").exists()


def test_fetch_from_a_file_url_and_argument_errors(tmp_path):
    archive, checksum = _zip_with(tmp_path, {"data/ml-100k/u.data": U_DATA})
    data = fetch_movielens(data_home=tmp_path / "c", url=archive.as_uri(), checksum=checksum)
    assert len(data.X) == 3
    with pytest.raises(ValueError, match="checksum is required"):
        fetch_movielens(url=archive.as_uri(), data_home=tmp_path / "d")
    with pytest.raises(ValueError, match="variant must be one of"):
        fetch_movielens("latest")
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_movielens("1m", data_home=tmp_path / "e", download_if_missing=False)


def test_fetch_a_release_in_csv_format(tmp_path):
    archive, checksum = _zip_with(tmp_path, {"ml-25m/ratings.csv": RATINGS_CSV, "ml-25m/x.csv": ""})
    data = fetch_movielens("25m", data_home=tmp_path / "c", url=archive.as_uri(), checksum=checksum)
    assert len(data.X) == 3 and (tmp_path / "c" / "ml-25m" / "ratings.csv").is_file()


def test_every_release_has_the_grouplens_address_and_md5():
    for variant, (url, checksum) in MOVIELENS.items():
        assert url == f"https://files.grouplens.org/datasets/movielens/ml-{variant}.zip"
        assert re.fullmatch("md5:[0-9a-f]{32}", checksum)
