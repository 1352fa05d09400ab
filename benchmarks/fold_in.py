"""Fold-in quality and speed: users left out of ``fit``, folded in from their history.

On one leave-one-out split: one fit on every user (``in fit``), and ``--folds`` fits
that each leave a tenth of the users out entirely (seeded, disjoint; together every
user once), after which ``fold_in`` fits the left-out users' rows from their train
rows. Both are scored on the same users' test items, full ranking and sampled
(``../shared/data/PROTOCOL.md``), over all users; the ratio is fold-in's figure over
in-fit's. Time per 1,000 users: the median fold-in of the folds (each on a fresh
estimator, so including the prior and the tracing it builds once per model).

    python benchmarks/fold_in.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/fold_in.py --data ../shared/data/ml1m-half/ml1m-half --architecture neumf
"""

import argparse
import statistics
import time

import numpy as np
from common import K, data_option, print_table, required_data

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split


def metrics(top, scores_of_sampled, test_items):
    """Full HR@10 / NDCG@10 from top-10 lists, sampled from (test, negatives) scores."""
    hit = top == test_items[:, None]
    position = np.where(hit.any(axis=1), hit.argmax(axis=1), K)
    full_ndcg = np.where(position < K, 1 / np.log2(position + 2.0), 0.0)
    rank = (scores_of_sampled[:, 1:] >= scores_of_sampled[:, :1]).sum(axis=1)
    sampled_ndcg = np.where(rank < K, 1 / np.log2(rank + 2.0), 0.0)
    return np.column_stack([position < K, full_ndcg, rank < K, sampled_ndcg])


def score(model, users, split, rows):
    """Per-user metrics of ``users`` (test rows ``rows``) under ``model`` (fit or folded)."""
    top = model.recommend(users, k=K)
    candidates = np.column_stack([split.test[rows, 1], split.test_negatives[rows]])
    pairs = np.column_stack([np.repeat(users, candidates.shape[1]), candidates.ravel()])
    return metrics(top, model.predict(pairs).reshape(candidates.shape), split.test[rows, 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_option(parser)
    parser.add_argument("--architecture", default="gmf")
    parser.add_argument("--folds", type=int, default=10, help="tenths left out in turn")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    split = load_ncf_split(required_data(args, parser))
    settings = dict(architecture=args.architecture, random_state=0, handle_unknown="ignore")
    users = split.test[:, 0]
    rng = np.random.default_rng(args.seed)
    groups = np.array_split(rng.permutation(len(users)), 10)[: args.folds]

    in_fit = NCFRecommender(**settings).fit(split.train)
    folded, together, seconds, n_folded = [], [], [], 0
    for rows in groups:
        left_out = np.isin(split.train[:, 0], users[rows])
        rec = NCFRecommender(**settings).fit(split.train[~left_out])
        tic = time.perf_counter()
        new = rec.fold_in(split.train[left_out])
        seconds.append((time.perf_counter() - tic) / len(rows) * 1000)
        folded.append(score(new, users[rows], split, rows))
        together.append(score(in_fit, users[rows], split, rows))
        n_folded += len(rows)
    folded, together = np.vstack(folded).mean(axis=0), np.vstack(together).mean(axis=0)
    print(
        f"{split_name(args.data)}, architecture={args.architecture!r}, {n_folded} users "
        f"left out in {len(groups)} folds"
    )
    print_table(
        ["users", "full HR@10", "full NDCG@10", "sampled HR@10", "sampled NDCG@10"],
        [
            ["in fit", *(f"{v:.4f}" for v in together)],
            ["folded in", *(f"{v:.4f}" for v in folded)],
            ["ratio", *(f"{f / t:.3f}" if t else "-" for f, t in zip(folded, together))],
        ],
    )
    print(
        f"fold_in seconds per 1,000 users: median {statistics.median(seconds):.2f} "
        f"(folds: {min(seconds):.2f}-{max(seconds):.2f})"
    )


def split_name(path):
    return str(path).rstrip("/").split("/")[-1]


if __name__ == "__main__":
    main()
