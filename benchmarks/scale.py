"""Scale: one epoch of the default training on synthetic data of MovieLens-20M size.

Generates distinct (user, item) pairs (uniform users, popularity-skewed items, see
``common.synthetic_pairs``), fits ``NCFRecommender(epochs=1, optimizer=...)`` with
every other setting at its default, then recommends 10 items to each of
``--recommend-users`` users.
Prints the time of each phase and its peak memory: the process's peak resident set
(Linux ``VmHWM``, reset before each phase through ``/proc/self/clear_refs``), in all and
above what the process held when the phase began.

    python benchmarks/scale.py --optimizer lazy_adam  # 138,000 x 27,000, 20M pairs
    python benchmarks/scale.py --interactions 1000000 # same tables, fewer pairs
    python benchmarks/scale.py --users 20000 --items 1000000 --interactions 2000000 \
        --every-item --recommend-users 1000 --optimizer lazy_adam   # a million-item catalog

``--every-item`` adds one pair (with a random user) for each item the skewed draw missed,
so that the catalog has exactly ``--items`` items; ``--architecture`` picks one (default:
the estimator's), ``--n-negatives 256`` the per-positive sampled softmax.
"""

import argparse
import time

import numpy as np
from common import synthetic_pairs

from skncf import NCFRecommender

GIB = 1 << 30


def memory_kib(field):
    """A ``kB`` field of ``/proc/self/status`` (e.g. ``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


class Phase:
    """Times a block and measures its peak resident memory."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current resident set
        self.start_bytes = memory_kib("VmRSS") * 1024
        self.tic = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.tic
        self.peak_bytes = memory_kib("VmHWM") * 1024
        print(
            f"{self.name}: {self.seconds:.1f} s, peak memory {self.peak_bytes / GIB:.2f} GiB "
            f"({(self.peak_bytes - self.start_bytes) / GIB:+.2f} GiB during the phase)",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=138_000)
    parser.add_argument("--items", type=int, default=27_000)
    parser.add_argument("--interactions", type=int, default=20_000_000)
    parser.add_argument("--recommend-users", type=int, default=10_000)
    parser.add_argument("--optimizer", choices=("adam", "lazy_adam"), default="adam")
    parser.add_argument(
        "--architecture", choices=("default", "neumf", "gmf", "mlp", "seed"), default="default"
    )
    parser.add_argument(
        "--n-negatives",
        default="auto",
        help="auto (the default: by users), all, or an int: per positive (e.g. 256)",
    )
    parser.add_argument("--every-item", action="store_true")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()

    with Phase("generate data"):
        pairs = synthetic_pairs(args.users, args.items, args.interactions)
        if args.every_item:
            missing = np.setdiff1d(np.arange(args.items), pairs[:, 1])
            users = np.random.default_rng(1).integers(0, args.users, len(missing))
            pairs = np.vstack([pairs, np.column_stack([users, missing])])
    architecture = {} if args.architecture == "default" else {"architecture": args.architecture}
    n_negatives = args.n_negatives if args.n_negatives in ("auto", "all") else int(args.n_negatives)
    rec = NCFRecommender(
        **architecture,
        n_negatives=n_negatives,
        epochs=1,
        optimizer=args.optimizer,
        random_state=0,
        verbose=args.verbose,
    )
    print(f"{len(pairs):,} pairs, {len(np.unique(pairs[:, 1])):,} items; fitting {rec}", flush=True)
    with Phase("fit one epoch") as fit:
        rec.fit(pairs)
    users = np.random.default_rng(0).choice(rec.users_, args.recommend_users, replace=False)
    with Phase(f"recommend k=10 for {len(users):,} users") as recommend:
        top = rec.recommend(users, k=10)
    assert top.shape == (len(users), 10)

    print(f"\npositives/s: {len(pairs) / fit.seconds:,.0f}")
    print("\n| phase | seconds | peak memory GiB | above start GiB |")
    print("|---|---|---|---|")
    for phase in (fit, recommend):
        print(
            f"| {phase.name} | {phase.seconds:.0f} | {phase.peak_bytes / GIB:.2f} | "
            f"{(phase.peak_bytes - phase.start_bytes) / GIB:.2f} |"
        )


if __name__ == "__main__":
    main()
