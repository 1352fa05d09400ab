"""The NCF benchmark: skncf's architectures and a plain-Keras NeuMF on one leave-one-out split.

Trains ``NCFRecommender()`` with its defaults, then ``seed``, ``gmf``, ``mlp``, ``neumf``,
``neumf`` with pre-training (with the settings given as options), and a NeuMF
written the usual way in plain Keras (``Model.fit``, batch 256, 4 negatives, Adam 1e-3),
in one process, and prints one table: full-ranking and sampled HR@10 / NDCG@10 (as
defined in ``../shared/data/PROTOCOL.md``, computed by :func:`skncf.metrics.evaluate`),
fit seconds and epochs.

    python benchmarks/ncf_protocol.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/ncf_protocol.py --data ../shared/data/ml-100k-loo/ml-100k

``--data`` is the split's prefix (files PREFIX.train.rating, .test.rating,
.test.negative); it defaults to ``$SKNCF_NCF_SPLIT``. skncf models are scored once, after
their last epoch. The plain-Keras baseline is scored after every epoch and reported at its
best epoch by full HR@10 (an optimistic choice, made on the test set, in its favour).
"""

import argparse
import inspect
import time

import numpy as np
import scipy.sparse as sp
from common import (
    ProtocolArrays,
    auto_or,
    data_option,
    mean_and_sd,
    plain_keras_curve,
    skncf_metrics,
    train_matrix,
    validation_split,
)

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split
from skncf.preprocessing import recency_weights

METHODS = ("default", "seed", "gmf", "mlp", "neumf", "neumf-pretrain", "keras-neumf")
OPTIONAL_METHODS = ("als",)  # needs `pip install implicit`


def add_weighting_and_validation(parser):
    """The options both exploration scripts share: recency weights and tuning split."""
    parser.add_argument(
        "--recency-boost",
        type=float,
        default=0.0,
        help="weight positives with skncf.preprocessing.recency_weights(boost=BOOST) "
        "(here: every skncf method but `default`, and ALS); 0: unweighted",
    )
    parser.add_argument(
        "--recency-half-life",
        type=float,
        default=inspect.signature(recency_weights).parameters["half_life"].default,
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score on each user's latest train interaction instead of the test set (for tuning)",
    )


def run_skncf_seeds(method, split, args, sample_weight):
    """:func:`run_skncf` over ``--seeds`` seeds from ``--seed``: metrics as (mean, s.e.)."""
    runs = [
        run_skncf(method, split, args, sample_weight, seed)
        for seed in range(args.seed, args.seed + args.seeds)
    ]
    if len(runs) == 1:
        return runs[0]
    spread = mean_and_sd([found for found, _, _ in runs])
    metrics = {key: (mean, sd / np.sqrt(len(runs))) for key, (mean, sd) in spread.items()}
    return metrics, float(np.median([seconds for _, seconds, _ in runs])), runs[0][2]


def run_skncf(method, split, args, sample_weight, seed):
    """Fit with skncf and score with skncf's own evaluate().

    ``default`` is ``NCFRecommender()`` with every default, fitted without weights; the
    others use the settings given on the command line and ``sample_weight``.
    """
    model, pretrain = ("neumf", True) if method == "neumf-pretrain" else (method, False)
    rec = (
        NCFRecommender(random_state=seed)
        if method == "default"
        else NCFRecommender(
            architecture=model,
            pretrain=pretrain,
            latent_dim=args.latent_dim,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            epochs=args.epochs,
            n_negatives=args.negatives,
            loss=args.loss,
            l2=args.l2,
            init="random" if args.init == "svd" and model not in ("gmf", "neumf") else args.init,
            handle_unknown="ignore",
            random_state=seed,
        )
    )
    tic = time.perf_counter()
    rec.fit(split.train, sample_weight=None if method == "default" else sample_weight)
    seconds = time.perf_counter() - tic
    return skncf_metrics(rec, split), seconds, rec.epochs_ * (3 if pretrain else 1)


def run_als(split, train_matrix, args, sample_weight):
    """implicit's ALS over a grid; report the best setting by full HR@10 (in its favour).

    The confidence of a positive is ``alpha`` times its sample weight (1 when unweighted).
    """
    from implicit.cpu.als import AlternatingLeastSquares

    arrays = ProtocolArrays(split, train_matrix)
    weights = np.ones(len(split.train)) if sample_weight is None else sample_weight
    confidence = sp.csr_array(
        (weights, (split.train[:, 0], split.train[:, 1])), shape=train_matrix.shape
    )
    best = None
    for factors in (64, 128):
        for regularization in (1.0, 3.0, 10.0, 30.0):
            for alpha in (1.0, 3.0, 10.0):
                tic = time.perf_counter()
                als = AlternatingLeastSquares(
                    factors=factors,
                    regularization=regularization,
                    alpha=alpha,
                    iterations=15,
                    random_state=args.seed,
                )
                als.fit(sp.csr_matrix(confidence), show_progress=False)
                seconds = time.perf_counter() - tic
                scores = als.user_factors[arrays.users] @ als.item_factors.T
                metrics = arrays.evaluate(scores)
                print(
                    f"  als factors {factors} reg {regularization:g} alpha {alpha:g}: "
                    f"full HR@10 {metrics['full_hr']:.3f}, "
                    f"sampled HR@10 {metrics['sampled_hr']:.3f}",
                    flush=True,
                )
                if best is None or metrics["full_hr"] > best[0]["full_hr"]:
                    best = metrics, seconds, f"15 (f{factors} r{regularization:g} a{alpha:g})"
    return best


def run_plain_keras(split, train_matrix, args):
    """The plain-Keras NeuMF's best epoch (by full HR@10): metrics, seconds, epoch."""
    best = None
    for epoch, seconds, metrics in plain_keras_curve(split, train_matrix, args):
        if best is None or metrics["full_hr"] > best[0]["full_hr"]:
            best = metrics, seconds, epoch
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--methods", default=",".join(METHODS))
    defaults = NCFRecommender()
    parser.add_argument("--epochs", type=auto_or(int), default=defaults.epochs)
    parser.add_argument("--latent-dim", type=int, default=defaults.latent_dim)
    parser.add_argument("--learning-rate", type=auto_or(float), default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=auto_or(int), default=defaults.batch_size)
    parser.add_argument("--negatives", type=auto_or(int), default=defaults.n_negatives)
    parser.add_argument("--loss", choices=("log", "softmax"), default=defaults.loss)
    parser.add_argument("--l2", type=float, default=defaults.l2)
    parser.add_argument(
        "--init",
        choices=("popularity", "random", "svd"),
        default=NCFRecommender().init,
        help="NCFRecommender's init (svd: gmf and neumf only, seed and mlp start random)",
    )
    parser.add_argument("--keras-factors", type=int, default=16)
    parser.add_argument("--keras-epochs", type=int, default=10)
    add_weighting_and_validation(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="fit each skncf method with this many seeds from --seed: mean ± s.e., median time",
    )
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    split = load_ncf_split(args.data)
    if args.validation:
        split = validation_split(split, args.seed)
    sample_weight = None
    if args.recency_boost:
        sample_weight = recency_weights(
            split.train[:, 0],
            split.train_timestamps,
            boost=args.recency_boost,
            half_life=args.recency_half_life,
        )

    train_csr = train_matrix(split)
    print(
        f"{args.data}: {len(split.train)} train pairs, {len(split.test)} test users; "
        f"skncf settings: {vars(args)}",
        flush=True,
    )
    rows = []
    for method in args.methods.split(","):
        if method == "keras-neumf":
            metrics, seconds, epochs = run_plain_keras(split, train_csr, args)
        elif method == "als":
            metrics, seconds, epochs = run_als(split, train_csr, args, sample_weight)
        else:
            metrics, seconds, epochs = run_skncf_seeds(method, split, args, sample_weight)
        rows.append((method, metrics, seconds, epochs))
        found = ", ".join(f"{key} {_cell(value)}" for key, value in metrics.items())
        print(f"  {method}: {found}, {seconds:.1f} s", flush=True)
    header = "method | full HR@10 | full NDCG@10 | sampled HR@10 | sampled NDCG@10 | fit s | epochs"
    print(f"\n| {header} |")
    print("|---|---|---|---|---|---|---|")
    for method, m, seconds, epochs in rows:
        cells = " | ".join(
            _cell(m[key]) for key in ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")
        )
        print(f"| {method} | {cells} | {seconds:.1f} | {epochs} |")


def _cell(value):
    """A metric, or a (mean, standard error) pair over seeds."""
    if isinstance(value, tuple):
        return f"{value[0]:.4f} ± {value[1]:.4f}"
    return f"{value:.4f}"


if __name__ == "__main__":
    main()
