"""Approximate top-k against exact ``recommend`` on a large synthetic catalog.

Fits a GMF (sampled softmax, lazy Adam) on synthetic interactions with planted taste
groups, then, in one process, alternates exact ``recommend(users, k=10)`` and
``recommend(..., approximate=...)`` for ``--users`` users: prints the median time of
each, their ratio, the index's build time, and recall@10 of the approximate lists
against the exact ones (the share of the exact top 10 that the approximate top 10
holds), for each ``n_probe`` asked for.

    python benchmarks/approximate.py                     # 1,000,000 items
    python benchmarks/approximate.py --items 100000 --probes 8,32,128

Data: each user draws a Poisson(``--per-user``) number of items, a share 0.8 from the
user's own taste group (of ``--groups``), the rest from the whole catalog; within
either, items are popularity-skewed (rank^-0.5); each item the draws missed gets one
pair with a random user, so that the catalog has ``--items`` items. Needs the ``ann``
extra (faiss).
"""

import argparse
import statistics
import time

import numpy as np

from skncf import NCFRecommender


def planted_pairs(n_users, n_items, n_groups, per_user, seed=0):
    """Distinct (user, item) pairs with planted groups, vectorized (seconds at 1M items)."""
    rng = np.random.default_rng(seed)
    item_group = rng.integers(0, n_groups, size=n_items)
    weight = 1.0 / (1.0 + rng.permutation(n_items)) ** 0.5
    members = [np.flatnonzero(item_group == g) for g in range(n_groups)]
    cumulative = [np.cumsum(weight[m]) for m in members]
    everything = np.cumsum(weight)
    users = np.repeat(np.arange(n_users), rng.poisson(per_user, size=n_users).clip(1))
    user_group = rng.integers(0, n_groups, size=n_users)[users]
    own = rng.random(len(users)) < 0.8
    items = np.minimum(
        np.searchsorted(everything, rng.random(len(users)) * everything[-1]), n_items - 1
    )
    for g in range(n_groups):
        rows = np.flatnonzero(own & (user_group == g))
        picks = np.searchsorted(cumulative[g], rng.random(len(rows)) * cumulative[g][-1])
        items[rows] = members[g][np.minimum(picks, len(members[g]) - 1)]
    # every item in the catalog: one more pair, with a random user, for each item missed
    missed = np.setdiff1d(np.arange(n_items), items)
    users = np.concatenate([users, rng.integers(0, n_users, size=len(missed))])
    items = np.concatenate([items, missed])
    codes = np.unique(users.astype(np.int64) * n_items + items)
    return np.column_stack([codes // n_items, codes % n_items])


def recall(approximate, exact):
    """Mean share of each row of ``exact`` found in the same row of ``approximate``."""
    return float(np.mean([np.isin(e, a).mean() for a, e in zip(approximate, exact)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000, help="users recommended to")
    parser.add_argument("--fit-users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--per-user", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--probes", default="8,16,32,64,128,256", help="n_probe values")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    pairs = planted_pairs(args.fit_users, args.items, args.groups, args.per_user)
    print(f"{len(pairs):,} pairs, {len(np.unique(pairs[:, 1])):,} items", flush=True)
    tic = time.perf_counter()
    rec = NCFRecommender(
        architecture="gmf",
        n_negatives=256,
        optimizer="lazy_adam",
        epochs=args.epochs,
        random_state=0,
    ).fit(pairs)
    print(f"fit: {time.perf_counter() - tic:.0f} s, {len(rec.items_):,} items", flush=True)
    users = rec.users_[:: max(1, len(rec.users_) // args.users)][: args.users]

    tic = time.perf_counter()
    rec.recommend(users[:1], k=10, approximate=True)
    print(f"index build (n_lists {rec._item_index.n_lists}): {time.perf_counter() - tic:.1f} s")
    exact = rec.recommend(users, k=10)
    probes = [int(p) for p in args.probes.split(",")]
    recalls = {
        p: recall(rec.recommend(users, k=10, approximate={"n_probe": p}), exact) for p in probes
    }
    exact_s, approx_s = [], {p: [] for p in probes}
    for _ in range(args.repeats):  # alternating, so that both see the same machine
        tic = time.perf_counter()
        rec.recommend(users, k=10)
        exact_s.append(time.perf_counter() - tic)
        for p in probes:
            tic = time.perf_counter()
            rec.recommend(users, k=10, approximate={"n_probe": p})
            approx_s[p].append(time.perf_counter() - tic)
    e = statistics.median(exact_s)
    print(f"{len(users):,} users, exact recommend: median {e:.2f} s")
    print("| n_probe | share of items scored | recall@10 | approximate s | speed-up |")
    print("|---|---|---|---|---|")
    for p in probes:
        a = statistics.median(approx_s[p])
        share = min(p, rec._item_index.n_lists) / rec._item_index.n_lists
        print(f"| {p} | {share:.1%} | {recalls[p]:.3f} | {a:.3f} | {e / a:.1f}x |")


if __name__ == "__main__":
    main()
