"""skncf's defaults beside the field's cheap, strong baselines: implicit's ALS and EASE.

Fits, in one process, on one leave-one-out split: ``NCFRecommender()`` with every
default, ``NCFRecommender(architecture="gmf")``, implicit's ALS (64 factors, 15 iterations, at
implicit's defaults and at the regularization and alpha chosen on validation) and EASE
(Steck 2019, closed form, its lambda chosen on validation). Validation is the same
protocol one step earlier: each user's latest train interaction is held out
(``ncf_protocol.validation_split``); the test set is only scored, never used to choose.
Prints full-ranking and sampled HR@10 / NDCG@10 (``../shared/data/PROTOCOL.md``), the
median fit time of ``--repeats`` fits and its ratio to ALS's median, timed in the same run.

    python benchmarks/baselines.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/baselines.py --data ../shared/data/ml-100k-loo/ml-100k --repeats 3

``--seeds N`` also scores the two seeded methods, ALS and skncf, over seeds ``seed`` to
``seed + N - 1`` and prints each metric's mean and standard deviation: one seed's figures
move by about a standard error of the test users between seeds, as much as the gaps the
table is read for.

``--als-factors 1024`` validates ALS at that many factors instead (the defaults' ALS, the
time reference, keeps 64): wide, strongly regularised factors are how iALS matches EASE
on large benchmarks (Rendle et al. 2021), a check that the gap is not the width.

Needs ``pip install implicit``. skncf's fits are cold: compiled programs of earlier fits
are forgotten first.
"""

import argparse
from functools import partial

import numpy as np
import scipy.sparse as sp
from common import (
    ProtocolArrays,
    data_option,
    mean_and_sd,
    median_seconds,
    skncf_metrics,
    train_matrix,
    validation_split,
)

from skncf import NCFRecommender
from skncf._training.programs import forget
from skncf.datasets import load_ncf_split

ALS_FACTORS, ALS_ITERATIONS = 64, 15
ALS_GRID = [(r, a) for r in (0.01, 0.1, 1.0, 10.0) for a in (1.0, 10.0)]
EASE_LAMBDAS = (50.0, 100.0, 200.0, 400.0, 800.0, 1600.0)


def ease_weights(interactions, lam):
    """EASE's item-item weights: ``B = I - P / diag(P)``, ``P = (X'X + lam I)^-1``, diag 0."""
    gram = (interactions.T @ interactions).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


def fit_ease(split, lam):
    interactions = train_matrix(split)
    return interactions, ease_weights(interactions, lam)


def ease_metrics(split, fitted):
    interactions, weights = fitted
    arrays = ProtocolArrays(split, interactions)
    return arrays.evaluate(np.asarray(interactions[arrays.users] @ weights))


def implicit_als(matrix, regularization=0.01, alpha=1.0, seed=0, factors=ALS_FACTORS):
    """implicit's ALS (CPU, ``ALS_ITERATIONS``) fit on a users x items csr_matrix."""
    from implicit.cpu.als import AlternatingLeastSquares

    als = AlternatingLeastSquares(
        factors=factors,
        iterations=ALS_ITERATIONS,
        regularization=regularization,
        alpha=alpha,
        random_state=seed,
    )
    als.fit(matrix, show_progress=False)
    return als


def fit_als(split, regularization=0.01, alpha=1.0, seed=0, factors=ALS_FACTORS):
    return implicit_als(sp.csr_matrix(train_matrix(split)), regularization, alpha, seed, factors)


def als_metrics(split, als):
    arrays = ProtocolArrays(split, train_matrix(split))
    return arrays.evaluate(als.user_factors[arrays.users] @ als.item_factors.T)


def skncf_method(method):
    """``(label, params)`` of a ``--skncf`` method."""
    if method == "default":
        return "NCFRecommender()", {}
    if method == "random-start":  # the defaults' settings from init="random"'s start
        return "NCFRecommender(init='random')", {"init": "random"}
    return f"NCFRecommender(architecture={method!r})", {"architecture": method}


def fit_skncf(split, seed=0, **params):
    forget()  # a user's first fit: no compiled program kept from an earlier one
    return NCFRecommender(random_state=seed, handle_unknown="ignore", **params).fit(split.train)


def seed_spread(fit, metrics, seeds):
    """Mean and standard deviation over ``seeds`` of ``metrics(fit(seed))``."""
    return mean_and_sd([metrics(fit(seed)) for seed in seeds])


def choose(name, grid, fit, metrics, validation):
    """The setting of ``grid`` with the best validation NDCG@10 (full ranking)."""
    best = None
    for setting in grid:
        found = metrics(validation, fit(validation, *np.atleast_1d(setting)))
        print(f"  {name} {setting}: validation {_row(found)}", flush=True)
        if best is None or found["full_ndcg"] > best[1]["full_ndcg"]:
            best = setting, found
    return best[0]


def _row(m):
    return (
        f"full HR@10 {m['full_hr']:.4f} NDCG@10 {m['full_ndcg']:.4f} | "
        f"sampled HR@10 {m['sampled_hr']:.4f} NDCG@10 {m['sampled_ndcg']:.4f}"
    )


def _spread_row(m):
    hr, ndcg, s_hr, s_ndcg = (
        f"{m[key][0]:.4f} ± {m[key][1]:.4f}"
        for key in ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")
    )
    return f"full HR@10 {hr} NDCG@10 {ndcg} | sampled HR@10 {s_hr} NDCG@10 {s_ndcg}"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data_option(parser)
    parser.add_argument("--repeats", type=int, default=3, help="fits timed per method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="also score ALS (validated) and skncf over this many seeds: mean ± s.d.",
    )
    parser.add_argument(
        "--als-factors",
        type=int,
        default=ALS_FACTORS,
        help="factors of the validated ALS (the defaults' ALS, the time reference, keeps 64)",
    )
    parser.add_argument(
        "--skncf",
        default="default,gmf",
        help="comma-separated skncf methods: default (NCFRecommender()), random-start "
        "(NCFRecommender(init='random')) or an architecture",
    )
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    return args


def main():
    args = parse_args()
    split = load_ncf_split(args.data)
    validation = validation_split(split, seed=args.seed)

    print("choosing on validation (each user's latest train interaction):", flush=True)
    lam = choose("EASE lambda", EASE_LAMBDAS, fit_ease, ease_metrics, validation)
    als_setting = choose(
        "ALS (regularization, alpha)",
        ALS_GRID,
        lambda s, r, a: fit_als(s, r, a, args.seed, args.als_factors),
        als_metrics,
        validation,
    )

    rows, spreads = [], []
    seeds = range(args.seed, args.seed + args.seeds)
    als, als_seconds = median_seconds(lambda: fit_als(split, seed=args.seed), args.repeats)
    rows.append(
        ("implicit ALS, defaults (reg 0.01, alpha 1)", als_metrics(split, als), als_seconds)
    )
    reg, alpha = als_setting
    tuned, seconds = median_seconds(
        lambda: fit_als(split, reg, alpha, args.seed, args.als_factors), args.repeats
    )
    factors = "" if args.als_factors == ALS_FACTORS else f"{args.als_factors} factors, "
    rows.append(
        (
            f"implicit ALS, validated ({factors}reg {reg:g}, alpha {alpha:g})",
            als_metrics(split, tuned),
            seconds,
        )
    )
    if args.seeds > 1:
        spread = seed_spread(
            lambda seed: fit_als(split, reg, alpha, seed, args.als_factors),
            partial(als_metrics, split),
            seeds,
        )
        spreads.append((rows[-1][0], spread))
    fitted, seconds = median_seconds(lambda: fit_ease(split, lam), args.repeats)
    rows.append((f"EASE, validated (lambda {lam:g})", ease_metrics(split, fitted), seconds))
    for method in args.skncf.split(","):
        name, params = skncf_method(method)
        rec, seconds = median_seconds(
            lambda params=params: fit_skncf(split, args.seed, **params), args.repeats
        )
        rows.append((name, skncf_metrics(rec, split), seconds))
        if args.seeds > 1:
            spread = seed_spread(
                partial(fit_skncf, split, **params), lambda rec: skncf_metrics(rec, split), seeds
            )
            spreads.append((name, spread))

    print(f"\ntest set, {args.data}; fit: median of {args.repeats}, ratio to ALS (defaults)")
    for name, found, seconds in rows:
        print(f"{name:48s} {_row(found)} | fit {seconds:6.1f} s {seconds / als_seconds:5.1f}x ALS")
    if spreads:
        print(f"\ntest set over seeds {seeds.start}-{seeds.stop - 1}: mean ± standard deviation")
    for name, spread in spreads:
        print(f"{name:48s} {_spread_row(spread)}")


if __name__ == "__main__":
    main()
