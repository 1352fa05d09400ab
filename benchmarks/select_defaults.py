"""Measure candidate defaults of NCFRecommender on a leave-one-out split.

Trains each candidate setting once and reports full-ranking and sampled HR@10 / NDCG@10
(see ../shared/data/PROTOCOL.md) after a few epoch budgets, with fit seconds.

    python benchmarks/select_defaults.py --data ../shared/data/ml-100k-loo/ml-100k

The path is the split's prefix (files PREFIX.train.rating, .test.rating, .test.negative);
it defaults to $SKNCF_LOO_PREFIX.
"""

import argparse
import itertools
import os
import time

import numpy as np

from skncf import NCFRecommender
from skncf._ranking import full_ranks


def read_split(prefix):
    train = np.loadtxt(prefix + ".train.rating", dtype=np.int64, usecols=(0, 1))
    test = np.loadtxt(prefix + ".test.rating", dtype=np.int64, usecols=(0, 1))
    negatives = []
    with open(prefix + ".test.negative") as f:
        for line in f:
            parts = line.split("\t")
            negatives.append([int(x) for x in parts[1:]])
    return train, test, np.array(negatives)


def evaluate(rec, test, negatives, k=10):
    u, _ = _codes(rec.users_, test[:, 0])
    i, _ = _codes(rec.items_, test[:, 1])
    full = full_ranks(rec._scorer, rec._seen, u, i)
    target = rec._scorer.pairs(u, i)
    neg_codes, _ = _codes(rec.items_, negatives.ravel())
    neg = rec._scorer.pairs(np.repeat(u, negatives.shape[1]), neg_codes).reshape(negatives.shape)
    sampled = (neg >= target[:, None]).sum(axis=1)
    out = {}
    for name, ranks in (("full", full), ("sampled", sampled)):
        out[name + "_hr"] = float(np.mean(ranks < k))
        out[name + "_ndcg"] = float(np.mean(np.where(ranks < k, 1 / np.log2(ranks + 2), 0)))
    return out


def _codes(labels, ids):
    pos = np.searchsorted(labels, ids)
    return pos, labels[np.minimum(pos, len(labels) - 1)] == ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SKNCF_LOO_PREFIX"))
    parser.add_argument("--models", default="gmf,neumf")
    parser.add_argument("--learning-rates", default="0.001,0.003")
    parser.add_argument("--batch-sizes", default="256,1024")
    parser.add_argument("--latent-dims", default="32")
    parser.add_argument("--l2s", default="0")
    parser.add_argument("--epochs", default="5,10,20")
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_LOO_PREFIX")
    train, test, negatives = read_split(args.data)
    budgets = [int(e) for e in args.epochs.split(",")]
    grid = itertools.product(
        args.models.split(","),
        [float(x) for x in args.learning_rates.split(",")],
        [int(x) for x in args.batch_sizes.split(",")],
        [int(x) for x in args.latent_dims.split(",")],
        [float(x) for x in args.l2s.split(",")],
    )
    print("model lr batch dim l2 epochs full_hr full_ndcg sampled_hr sampled_ndcg fit_s")
    for model, lr, batch, dim, l2 in grid:
        for epochs in budgets:
            tic = time.perf_counter()
            rec = NCFRecommender(
                model=model,
                learning_rate=lr,
                batch_size=batch,
                latent_dim=dim,
                l2=l2,
                epochs=epochs,
                random_state=0,
            ).fit(train)
            fit_s = time.perf_counter() - tic
            m = evaluate(rec, test, negatives)
            print(
                f"{model} {lr:g} {batch} {dim} {l2:g} {epochs} {m['full_hr']:.3f} "
                f"{m['full_ndcg']:.3f} {m['sampled_hr']:.3f} {m['sampled_ndcg']:.3f} {fit_s:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
