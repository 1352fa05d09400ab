"""load_movielens_features: demographics and genres from local MovieLens files."""

import os
from pathlib import Path

import numpy as np
import pytest

from skncf.datasets import load_movielens_features

SHARED = Path(os.environ.get("SKNCF_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
GENRES = ["unknown", "Action", "Comedy"]


def write_100k(folder, items=None):
    folder.mkdir()
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    (folder / "u.genre").write_text("".join(f"{g}|{j}\n" for j, g in enumerate(GENRES)) + "\n")
    (folder / "u.item").write_text(
        items
        or "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n"
        "2|unknown||||1|0|0\n"
        "3|Heat (1995)|||http://y|0|1|0\n"
    )
    return folder


def test_100k_format(tmp_path):
    data = load_movielens_features(write_100k(tmp_path / "ml-100k"))
    users, items = data.user_features, data.item_features
    assert users.index.tolist() == [1, 2] and users.index.name == "user"
    assert users.loc[2].tolist() == [53, "F", "other", "94043"]
    assert str(users.gender.dtype) == "category"
    assert items.columns.tolist() == ["title", "year", *GENRES]
    assert items.loc[1, "year"] == 1995.0 and np.isnan(items.loc[2, "year"])
    assert items.loc[3, "year"] == 1995.0  # no release date: the title's year
    assert items.loc[1, GENRES].tolist() == [0, 0, 1]


def test_1m_format(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    (folder / "movies.dat").write_text(
        "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n"
    )
    data = load_movielens_features(folder)
    assert data.user_features.loc[1].tolist() == [1, "F", "10", "48067"]
    items = data.item_features
    assert items.shape == (2, 2 + 18)
    assert items.loc[1, ["Animation", "Children's", "Comedy", "Drama"]].tolist() == [1, 1, 1, 0]
    assert items.loc[2, "year"] == 1995.0


def test_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MovieLens feature files"):
        load_movielens_features(tmp_path)
    folder = write_100k(tmp_path / "short", items="1|Toy Story|01-Jan-1995|\n")
    with pytest.raises(ValueError, match=r"u.item:1: expected 8 fields"):
        load_movielens_features(folder)
    folder = tmp_path / "bad-1m"
    folder.mkdir()
    (folder / "users.dat").write_text("x::F::1::10::48067\n")
    (folder / "movies.dat").write_text("1::Toy Story (1995)::Comedy\n")
    with pytest.raises(ValueError, match="user id or age is not an integer"):
        load_movielens_features(folder)


def test_10m_format_has_no_users_and_more_genres(tmp_path):
    (tmp_path / "movies.dat").write_text(
        "1::Toy Story (1995)::Children|Comedy\n2::Avatar (2009)::Action|IMAX\n"
        "3::Cartoons (2001)::Animation|Cartoons\n"
    )
    data = load_movielens_features(tmp_path)
    items = data.item_features
    assert data.user_features is None
    assert items.shape == (3, 2 + 18 + 2) and items.columns[-2:].tolist() == ["Cartoons", "IMAX"]
    # "Children" of the later releases is the 1M's "Children's"
    assert items.loc[1, ["Children's", "Comedy"]].tolist() == [1, 1]
    assert items.loc[2, ["Action", "IMAX"]].tolist() == [1, 1]


def test_csv_format_of_20m_and_later(tmp_path):
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n\n'
        "12,Untitled,(no genres listed)\n"
    )
    items = load_movielens_features(tmp_path).item_features
    assert items.index.tolist() == [11, 12] and items.shape == (2, 2 + 18)
    assert items.loc[11, "title"] == "American President, The (1995)"
    assert items.loc[11, "year"] == 1995.0 and np.isnan(items.loc[12, "year"])
    assert items.loc[11, ["Comedy", "Drama", "Romance"]].tolist() == [1, 1, 1]
    assert items.iloc[1, 2:].sum() == 0  # no genres listed: none
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n1,Heat,Action\n2,Heat, 1995,Crime\n"
    )
    with pytest.raises(ValueError, match="movies.csv:3: expected 3 comma-separated fields; got 4"):
        load_movielens_features(tmp_path)


@pytest.mark.skipif(not (SHARED / "ml-100k").is_dir(), reason="shared benchmark data absent")
def test_real_files():
    small = load_movielens_features(SHARED / "ml-100k")
    assert small.user_features.shape == (943, 4) and small.item_features.shape == (1682, 21)
    large = load_movielens_features(SHARED / "ml-1m")
    assert large.user_features.shape == (6040, 4) and large.item_features.shape == (3883, 20)
    assert large.item_features.iloc[:, 2:].sum(axis=1).min() >= 1  # every movie has a genre
