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
        --movielens ../shared/data/ml-1m [--validation [--folds 3]]

With ``--validation --folds N``, N successive leave-last-out folds of the training split
(each user's latest interaction, then the one before, ...) are scored, and every figure
pools them: more users' hits behind each paired change, for choices made on validation.
"""

import argparse

import numpy as np
import pandas as pd
from common import (
    data_option,
    median_seconds,
    print_table,
    required_data,
    row_norm_option,
    skncf_metrics,
    use_row_norm,
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
    parser.add_argument(
        "--folds",
        type=int,
        default=1,
        help="with --validation, score this many folds, each one interaction earlier in "
        "every user's history than the last; figures are pooled over them",
    )
    row_norm_option(parser)
    args = parser.parse_args()
    if args.folds > 1 and not args.validation:
        parser.error("--folds needs --validation: the test split is one fold")
    use_row_norm(args)
    prefix = required_data(args, parser)
    splits = [load_ncf_split(prefix)]
    for _ in range(args.folds if args.validation else 0):
        splits.append(validation_split(splits[-1]))
    splits = splits[1:] if args.validation else splits
    users, items = split_features(prefix, args.movielens)
    rows, hits = [], {}
    for name, sides in SETTINGS.items():
        found, times, hits[name] = [], [], []
        for split in splits:
            params = fold_features(split, users, items, sides)
            fold = scored_fits(split, params, args.seeds)
            found += fold[0]
            times += fold[1]
            hits[name].append(fold[2])
        change = np.concatenate([np.mean(a, 0) - np.mean(b, 0)
                                 for a, b in zip(hits[name], hits["no features"])])  # fmt: skip
        mean, sd = np.mean(found, axis=0), np.std(found, axis=0)
        rows.append([name, *(f"{m:.4f} ± {d:.4f}" for m, d in zip(mean, sd)),
                     f"{change.mean():+.4f} ± {change.std() / np.sqrt(len(change)):.4f}",
                     f"{np.median(times):.1f}"])  # fmt: skip
    print_table(["ml1m-half", "full HR@10", "full NDCG@10", "sampled HR@10", "sampled NDCG@10",
                 "full HR@10 change, paired (± s.e.)", "fit (s, median)"], rows)  # fmt: skip


SETTINGS = {
    "no features": (),
    "item features": ("item",),
    "user and item features": ("item", "user"),
}


def fold_features(split, users, items, sides):
    """The feature parameters of ``sides``, restricted to the ids that ``split`` trains."""
    tables = {
        "user": users.loc[np.unique(split.train[:, 0])],
        "item": items.loc[items.index.isin(np.unique(split.train[:, 1]))],
    }
    return {f"{side}_features": tables[side] for side in sides}


def scored_fits(split, params, seeds):
    """One fit per seed: (the protocol's four figures, fit seconds, per-user hits) each."""
    keys = ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")
    found, times, hits = [], [], []
    for seed in range(seeds):
        rec, seconds = median_seconds(
            lambda s=seed: NCFRecommender(random_state=s, **params).fit(split.train), 1
        )
        found.append([skncf_metrics(rec, split)[key] for key in keys])
        times.append(seconds)
        hits.append(full_ranking_per_user(rec, split.test, metrics=("hit_rate",))[0]["hit_rate"])
    return found, times, hits


if __name__ == "__main__":
    main()
