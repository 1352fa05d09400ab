"""Refits: a fit that runs the compiled program an earlier fit kept, against one that compiles.

A fit compiled by XLA keeps its program (``skncf._training.programs``) for later fits of the same
setting and shapes, which skip tracing and compiling. In one process, alternating, each
``--models`` setting is fitted ``--repeats`` times cold (kept programs forgotten first,
as a process's first fit) and as many times warm (right after a fit of the same
setting, another ``random_state``). Prints the medians of whole ``fit`` seconds and
their ratio. Fits of fewer than ``skncf._training.loop.XLA_MIN_STEPS`` steps do not compile
with XLA and keep nothing: both columns are then the same code.

    python benchmarks/refit.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/refit.py --data ../shared/data/ml-100k-loo/ml-100k --models gmf

``--data`` is an NCF split prefix (default ``$SKNCF_NCF_SPLIT``; synthetic data if unset).
"""

import argparse
import statistics
import time

from common import data_option, synthetic_pairs

from skncf import NCFRecommender
from skncf._training.programs import forget as forget_compiled_programs
from skncf.datasets import load_ncf_split

SETTINGS = {
    "seed": dict(architecture="seed", loss="log", n_negatives=4),
    "neumf": dict(architecture="neumf", loss="log", n_negatives=4),
    "gmf": dict(architecture="gmf"),  # the default softmax loss, compiled too
}


def fit_seconds(pairs, settings, seed):
    tic = time.perf_counter()
    NCFRecommender(**settings, random_state=seed).fit(pairs)
    return time.perf_counter() - tic


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--models", default="seed,neumf", help=f"of {', '.join(SETTINGS)}")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pairs = load_ncf_split(args.data).train if args.data else synthetic_pairs()
    print(f"{args.data or 'synthetic'}: {len(pairs)} positives, {args.epochs} epoch(s)")
    print("\n| setting | cold fit s | warm fit s | cold / warm |\n|---|---|---|---|")
    for name in args.models.split(","):
        settings = dict(SETTINGS[name], epochs=args.epochs)
        cold, warm = [], []
        for repeat in range(args.repeats):
            forget_compiled_programs()
            cold.append(fit_seconds(pairs, settings, seed=2 * repeat))
            warm.append(fit_seconds(pairs, settings, seed=2 * repeat + 1))
        c, w = statistics.median(cold), statistics.median(warm)
        print(f"| {name} | {c:.2f} | {w:.2f} | {c / w:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
