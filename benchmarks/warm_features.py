"""Warm users and items with side features: do they cost accuracy where ids suffice?

ml1m-half, ``NCFRecommender()`` at its defaults with and without side features (movies'
genres and release year from ``movies.dat``, users' gender, age group and occupation from
``users.dat``; split ids mapped as ``../shared/data/PROTOCOL.md`` says), in one process,
scored by the NCF protocol (full ranking and sampled, HR@10 and NDCG@10); fit times are
the median of ``--repeats`` fits.

    python benchmarks/warm_features.py --data ../shared/data/ml1m-half/ml1m-half \\
        --movielens ../shared/data/ml-1m
"""

import argparse

import numpy as np
import pandas as pd
from common import data_option, median_seconds, print_table, required_data, skncf_metrics

from skncf import NCFRecommender
from skncf.datasets import load_movielens_features, load_ncf_split


def split_features(prefix, folder):
    """User and item features indexed by the split's ids."""
    side = load_movielens_features(folder)
    movies = pd.read_csv(f"{prefix}.items.tsv", sep="\t")  # split item id -> MovieID
    items = side.item_features.drop(columns=["title"]).reindex(movies.movie_id.to_numpy())
    items.index = movies["item"].to_numpy()
    users = side.user_features.drop(columns=["zip"])
    users.index = users.index.to_numpy() - 1  # split user id = UserID - 1
    return users, items


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_option(parser)
    parser.add_argument("--movielens", required=True, help="the MovieLens-1M folder")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    prefix = required_data(args, parser)
    split = load_ncf_split(prefix)
    users, items = split_features(prefix, args.movielens)
    train_users = np.unique(split.train[:, 0])
    train_items = np.unique(split.train[:, 1])
    users, items = users.loc[train_users], items.loc[items.index.isin(train_items)]
    settings = {
        "no features": {},
        "item features": {"item_features": items},
        "user and item features": {"item_features": items, "user_features": users},
    }
    rows = []
    for name, params in settings.items():
        rec, seconds = median_seconds(
            lambda params=params: NCFRecommender(random_state=0, **params).fit(split.train),
            args.repeats,
        )
        m = skncf_metrics(rec, split)
        rows.append([name, *(f"{m[key]:.4f}" for key in ("full_hr", "full_ndcg",
                     "sampled_hr", "sampled_ndcg")), f"{seconds:.1f}"])  # fmt: skip
    print_table(["ml1m-half", "full HR@10", "full NDCG@10", "sampled HR@10", "sampled NDCG@10",
                 "fit (s, median)"], rows)  # fmt: skip


if __name__ == "__main__":
    main()
