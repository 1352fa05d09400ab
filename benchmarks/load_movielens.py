"""Reading a MovieLens ``ratings.csv``: ``skncf.datasets.load_movielens`` against pandas.

The 20M, 25M and 32M releases ship their ratings as one CSV (``userId,movieId,rating,
timestamp``). The script writes a synthetic file of that format with ``--rows`` rows
(default 25,000,095, as ml-25m's) into a temporary folder, or reads ``--data``'s
``ratings.csv``, and times, alternating, ``load_movielens(file)`` and the line most users
would write instead, ``pandas.read_csv(file)``. Both return the same four columns (checked).
Prints the medians over ``--repeats`` runs and skncf's time over pandas'. Peak memory is
not compared: both hold the four columns (skncf in float64 while parsing).

    python benchmarks/load_movielens.py
    python benchmarks/load_movielens.py --data ~/skncf_data/ml-25m
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from skncf.datasets import load_movielens

ML25M_ROWS = 25_000_095


def write_ratings_csv(path, rows, seed=0):
    """A ``ratings.csv`` of ``rows`` synthetic ratings in MovieLens' 20M-and-later format."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            users = np.sort(rng.integers(1, 162_542, n))
            items = rng.integers(1, 209_172, n)
            ratings = rng.integers(1, 11, n) / 2
            stamps = rng.integers(789_652_009, 1_574_327_703, n)
            lines = [f"{u},{i},{r:g},{t}" for u, i, r, t in zip(users, items, ratings, stamps)]
            f.write("\n".join(lines) + "\n")


def compare(path, repeats):
    """Median seconds of skncf's and pandas' reading of ``path``, after checking they agree."""
    import pandas as pd

    def skncf_load():
        return load_movielens(path)

    def pandas_load():
        return pd.read_csv(path)

    ours, theirs = skncf_load(), pandas_load()
    np.testing.assert_array_equal(ours.X, theirs[["userId", "movieId"]].to_numpy())
    np.testing.assert_array_equal(ours.ratings, theirs["rating"].to_numpy())
    np.testing.assert_array_equal(ours.timestamps, theirs["timestamp"].to_numpy())
    seconds = {"skncf": [], "pandas": []}
    for _ in range(repeats):
        for name, call in (("skncf", skncf_load), ("pandas", pandas_load)):
            tic = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - tic)
    return {name: statistics.median(values) for name, values in seconds.items()}, len(ours.X)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a MovieLens folder or ratings.csv (default: synthetic)")
    parser.add_argument("--rows", type=int, default=ML25M_ROWS, help="synthetic file's rows")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        if args.data:
            path = Path(args.data).expanduser()
            path = path / "ratings.csv" if path.is_dir() else path
        else:
            path = Path(folder) / "ratings.csv"
            write_ratings_csv(path, args.rows)
        medians, rows = compare(path, args.repeats)
    print(f"{rows:,} ratings, median of {args.repeats}:")
    for name, seconds in medians.items():
        print(f"  {name:7s} {seconds:6.2f} s")
    print(f"skncf / pandas: {medians['skncf'] / medians['pandas']:.2f}x")
    return medians


if __name__ == "__main__":
    main()
