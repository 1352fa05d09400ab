"""explain against its definition: folding a user in again without each history item.

``FoldedUsers.explain(user, item)`` gives each history item's first-order share of the
item's logit: how much the logit falls if the interaction is removed and the user's
rows are solved again. The brute force does exactly that: one ``fold_in`` per history
item. For ``--users`` users of the split (seeded; those with at most ``--max-history``
train items, to keep the brute force short), each folded in from its own train rows
under a new id, the item explained is the folded user's first recommendation. Printed:
the agreement of the two (Pearson and Spearman correlation over each user's history,
whether both name the same item first), and the median seconds per user of each, with
their ratio. ``explain``'s first call traces its computation; the median leaves it out.
Last, ``NCFRecommender.explain`` of the fitted user with the longest history.

    python benchmarks/explain.py --data ../shared/data/ml1m-half/ml1m-half
"""

import argparse
import statistics
import time

import numpy as np
from common import data_option, median_seconds, print_table, required_data
from scipy.special import logit
from scipy.stats import pearsonr, spearmanr

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split


def brute_force(rec, history, target):
    """The fall of ``target``'s logit when each history item is left out of the fold-in."""
    pair = [["new", target]]
    base = logit(rec.fold_in([["new", item] for item in history]).predict(pair)[0])
    drops = []
    for item in history:
        rest = [["new", other] for other in history if other != item]
        drops.append(base - logit(rec.fold_in(rest).predict(pair)[0]))
    return np.array(drops)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--max-history", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train = load_ncf_split(required_data(args, parser)).train
    rec = NCFRecommender(random_state=args.seed).fit(train)
    counts = np.bincount(train[:, 0])
    short = np.flatnonzero((counts > 1) & (counts <= args.max_history))
    users = np.random.default_rng(args.seed).choice(short, args.users, replace=False)
    rows, explain_seconds, brute_seconds = [], [], []
    for n, user in enumerate(users):
        history = np.unique(train[train[:, 0] == user, 1])
        folded = rec.fold_in([["new", item] for item in history])
        target = folded.recommend(["new"], k=1)[0, 0]
        tic = time.perf_counter()
        because, lifts = folded.explain("new", target, n=None)
        if n:  # the first call traces
            explain_seconds.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        drops = brute_force(rec, because, target)
        brute_seconds.append(time.perf_counter() - tic)
        same_first = because[0] == because[np.argmax(drops)]
        rows.append((pearsonr(lifts, drops)[0], spearmanr(lifts, drops)[0], same_first))
        print(f"user {user}: {len(history)} items, r={rows[-1][0]:.4f}", flush=True)
    pearson, spearman, first = (np.array(column, dtype=float) for column in zip(*rows))
    fast, slow = statistics.median(explain_seconds), statistics.median(brute_seconds)
    print_table(
        ["users", "Pearson r, median (min)", "Spearman rho, median (min)", "same first item",
         "explain (s/user)", "refold per item (s/user)", "speed-up"],
        [[len(users), f"{np.median(pearson):.4f} ({pearson.min():.4f})",
          f"{np.median(spearman):.4f} ({spearman.min():.4f})",
          f"{int(first.sum())}/{len(first)}", f"{fast:.4f}", f"{slow:.2f}",
          f"{slow / fast:.0f}x"]],
    )  # fmt: skip
    longest = rec.users_[np.argmax(counts[rec.users_])]
    item = rec.recommend([longest], k=1)[0, 0]
    rec.explain(longest, item)  # traces for a history of this length
    _, seconds = median_seconds(lambda: rec.explain(longest, item), 5)
    print(f"fitted user {longest}, the longest history ({counts[longest]} items): "
          f"explain {seconds:.3f} s (median of 5)")  # fmt: skip


if __name__ == "__main__":
    main()
