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

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split
from skncf.metrics import evaluate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SKNCF_LOO_PREFIX"))
    parser.add_argument("--models", default="gmf,neumf")
    parser.add_argument("--learning-rates", default="0.001,0.003")
    parser.add_argument("--batch-sizes", default="256,1024")
    parser.add_argument("--latent-dims", default="32")
    parser.add_argument("--l2s", default="0")
    parser.add_argument("--negatives", default="auto", help="ints or auto, comma-separated")
    parser.add_argument("--losses", default="log", help="log and/or softmax, comma-separated")
    parser.add_argument("--epochs", default="5,10,20")
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_LOO_PREFIX")
    split = load_ncf_split(args.data)
    budgets = [int(e) for e in args.epochs.split(",")]
    grid = itertools.product(
        args.models.split(","),
        [float(x) for x in args.learning_rates.split(",")],
        [int(x) for x in args.batch_sizes.split(",")],
        [int(x) for x in args.latent_dims.split(",")],
        [float(x) for x in args.l2s.split(",")],
        [x if x == "auto" else int(x) for x in args.negatives.split(",")],
        args.losses.split(","),
    )
    print(
        "model loss lr batch dim l2 negatives epochs "
        "full_hr full_ndcg sampled_hr sampled_ndcg fit_s"
    )
    for model, lr, batch, dim, l2, negatives, loss in grid:
        for epochs in budgets:
            tic = time.perf_counter()
            rec = NCFRecommender(
                architecture=model,
                learning_rate=lr,
                batch_size=batch,
                latent_dim=dim,
                l2=l2,
                n_negatives=negatives,
                loss=loss,
                epochs=epochs,
                random_state=0,
            ).fit(split.train)
            fit_s = time.perf_counter() - tic
            report = evaluate(rec, split.test, negatives=split.test_negatives)
            m = {
                f"{protocol}_{name}": report[protocol][f"{metric}@10"]
                for protocol in ("full", "sampled")
                for name, metric in (("hr", "hit_rate"), ("ndcg", "ndcg"))
            }
            print(
                f"{model} {loss} {lr:g} {batch} {dim} {l2:g} {negatives} {epochs} "
                f"{m['full_hr']:.3f} {m['full_ndcg']:.3f} "
                f"{m['sampled_hr']:.3f} {m['sampled_ndcg']:.3f} {fit_s:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
