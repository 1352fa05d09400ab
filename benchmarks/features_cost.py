"""What item features cost a fit by users, by their encoded width.

Training by users scores every item at every step, and an item's embedding is its id
row plus the projection of its encoded features (user guide, "Side features and cold
start"): each step multiplies the whole item feature table by the projection, and back.
On synthetic data (``--users`` users, ``--items`` items, ``--pairs`` distinct pairs,
popularity-skewed: ``common.synthetic_pairs``), in one process, ``NCFRecommender()`` at
its defaults is fit without features and with one categorical item column of each of
``--categories`` numbers of values (one-hot by the default encoder: a column per
category). An epoch's time is ``(fit of 3 epochs - fit
of 1) / 2``, which leaves out the fixed cost (encoding, graph, tracing); medians of
``--repeats``; the ratio is to the fit without features.

    python benchmarks/features_cost.py
    python benchmarks/features_cost.py --items 100000 --categories 20,200
"""

import argparse
import statistics
import time

import numpy as np
import pandas as pd
from common import print_table, synthetic_pairs

from skncf import NCFRecommender


def brands(n_items, n_categories, seed=0):
    """One categorical column of ``n_categories`` values, indexed by item id."""
    values = np.random.default_rng(seed).integers(0, n_categories, n_items).astype(str)
    return pd.DataFrame({"brand": values}, index=pd.RangeIndex(n_items, name="item"))


def epoch_and_fixed_seconds(X, repeats, **params):
    """Median seconds of one epoch and of the rest of a fit, and the encoded width."""
    epochs, fixed = [], []
    for _ in range(repeats):
        seconds = {}
        for n_epochs in (1, 3):
            tic = time.perf_counter()
            rec = NCFRecommender(epochs=n_epochs, random_state=0, **params).fit(X)
            seconds[n_epochs] = time.perf_counter() - tic
        epochs.append((seconds[3] - seconds[1]) / 2)
        fixed.append(seconds[1] - epochs[-1])
    layers = rec.model_.layers  # the width of the item feature table, if any
    width = next((layer.output_dim for layer in layers if layer.name == "item_features"), 0)
    return statistics.median(epochs), statistics.median(fixed), width


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--categories", default="50,500,2000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    X = synthetic_pairs(args.users, args.items, args.pairs)
    baseline, fixed, _ = epoch_and_fixed_seconds(X, args.repeats)
    rows = [["none", 0, f"{baseline:.2f}", "1.0x", f"{fixed:.2f}"]]
    for n in (int(c) for c in args.categories.split(",")):
        params = {"item_features": brands(args.items, n)}
        epoch, fixed, width = epoch_and_fixed_seconds(X, args.repeats, **params)
        rows.append([n, width, f"{epoch:.2f}", f"{epoch / baseline:.1f}x", f"{fixed:.2f}"])
    print(f"{args.users:,} users, {args.items:,} items, {len(X):,} interactions")
    print_table(["categories", "encoded width", "epoch s", "epoch / none", "fixed s"], rows)
    return rows


if __name__ == "__main__":
    main()
