"""Warm users and items with side features: do they cost accuracy where ids suffice?

ml1m-half, ``NCFRecommender()`` at its defaults with and without side features (movies'
genres and release year from ``movies.dat``, users' gender, age group and occupation from
``users.dat``; split ids mapped as ``../shared/data/PROTOCOL.md`` says), in one process,
scored by the NCF protocol (full ranking and sampled, HR@10 and NDCG@10): mean and
standard deviation over ``--seeds`` fits (``random_state`` 0, 1, ...), and the median
fit time. The change in full HR@10 against no features is also given paired by user (each
user's hit averaged over the seeds, then the difference's mean and standard error over
users), which separates an effect of the features from which users a split happens to
hold.

    python benchmarks/warm_features.py --data ../shared/data/ml1m-half/ml1m-half \\
        --movielens ../shared/data/ml-1m [--validation]
"""

import argparse

import numpy as np
import pandas as pd
from common import (
    data_option,
    median_seconds,
    print_table,
    required_data,
    skncf_metrics,
    validation_split,
)

from skncf import NCFRecommender
from skncf.datasets import load_movielens_features, load_ncf_split
from skncf.metrics import full_ranking_per_user


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
    parser.add_argument("--seeds", type=int, default=8, help="fits (random_state 0, 1, ...)")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score each user's latest training interaction instead of the test split",
    )
    args = parser.parse_args()
    prefix = required_data(args, parser)
    split = load_ncf_split(prefix)
    if args.validation:
        split = validation_split(split)
    users, items = split_features(prefix, args.movielens)
    train_users = np.unique(split.train[:, 0])
    train_items = np.unique(split.train[:, 1])
    users, items = users.loc[train_users], items.loc[items.index.isin(train_items)]
    settings = {
        "no features": {},
        "item features": {"item_features": items},
        "user and item features": {"item_features": items, "user_features": users},
    }
    keys = ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")
    rows, hits = [], {}
    for name, params in settings.items():
        found, times, hits[name] = [], [], []
        for seed in range(args.seeds):
            rec, seconds = median_seconds(
                lambda p=params, s=seed: NCFRecommender(random_state=s, **p).fit(split.train), 1
            )
            found.append([skncf_metrics(rec, split)[key] for key in keys])
            times.append(seconds)
            per_user, _ = full_ranking_per_user(rec, split.test, metrics=("hit_rate",))
            hits[name].append(per_user["hit_rate"])
        mean, sd = np.mean(found, axis=0), np.std(found, axis=0)
        change = np.mean(hits[name], axis=0) - np.mean(hits["no features"], axis=0)
        rows.append([name, *(f"{m:.4f} ± {d:.4f}" for m, d in zip(mean, sd)),
                     f"{change.mean():+.4f} ± {change.std() / np.sqrt(len(change)):.4f}",
                     f"{np.median(times):.1f}"])  # fmt: skip
    print_table(["ml1m-half", "full HR@10", "full NDCG@10", "sampled HR@10", "sampled NDCG@10",
                 "full HR@10 change, paired (± s.e.)", "fit (s, median)"], rows)  # fmt: skip


if __name__ == "__main__":
    main()
