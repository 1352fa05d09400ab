"""Fold-in quality and speed: users left out of ``fit``, folded in from their history.

On one leave-one-out split: one fit on every user (``in fit``), and ``--folds`` fits
that each leave a tenth of the users out entirely (seeded, disjoint; together every
user once), after which ``fold_in`` fits the left-out users' rows from their train
rows. Both are scored on the same users' test items, full ranking and sampled
(``../shared/data/PROTOCOL.md``), over all users; the ratio is fold-in's figure over
in-fit's. Time per 1,000 users: the median fold-in of the folds (each on a fresh
estimator, so including the prior and the tracing it builds once per model).

The field's baselines go through the same folds, their settings chosen on the validation
split as ``baselines.py`` chooses them: implicit's ALS, whose new users get the exact
least-squares user step against the fitted item factors (``recalculate_user``), and
EASE, which has no user parameters (a user's scores are its history times the item-item
weights), so that folding in is exact and "in fit" differs only in the weights having
seen the user. ``--no-baselines`` leaves them out (they need ``pip install implicit``).

    python benchmarks/fold_in.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/fold_in.py --data ../shared/data/ml1m-half/ml1m-half --architecture neumf
"""

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
from common import (
    K,
    ProtocolArrays,
    data_option,
    print_table,
    required_data,
    train_matrix,
    validation_split,
)
from sklearn.utils import Bunch

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split

METRICS = ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")


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


class Baselines:
    """ALS and EASE at their validated settings, fit on all users and on each fold's rest."""

    def __init__(self, split, seed):
        from baselines import (
            ALS_GRID,
            EASE_LAMBDAS,
            als_metrics,
            choose,
            ease_metrics,
            fit_als,
            fit_ease,
        )

        validation = validation_split(split, seed=seed)
        print("choosing the baselines' settings on validation:", flush=True)
        lam = choose("EASE lambda", EASE_LAMBDAS, fit_ease, ease_metrics, validation)
        reg, alpha = choose(
            "ALS (regularization, alpha)", ALS_GRID,
            lambda s, r, a: fit_als(s, r, a, seed), als_metrics, validation,
        )  # fmt: skip
        self.names = {"ALS": f"ALS (reg {reg:g}, alpha {alpha:g})", "EASE": f"EASE ({lam:g})"}
        self.split, self.matrix = split, train_matrix(split)
        self._ease = lambda part: fit_ease(part, lam)[1]
        self._als = lambda part: fit_als(part, reg, alpha, seed)
        self.in_fit = self._fit(split.train)
        self.sums = {name: np.zeros((2, len(METRICS))) for name in self.names}

    def _fit(self, pairs):
        """Both baselines fit on ``pairs`` (item ids and matrix shapes as the split's)."""
        part = Bunch(train=pairs, test=self.split.test, test_negatives=self.split.test_negatives)
        return {"EASE": self._ease(part), "ALS": self._als(part)}

    def add_fold(self, rest, rows):
        """Score the users of test rows ``rows``, left out of a fit on the ``rest`` pairs."""
        users = self.split.test[rows, 0]
        history = sp.csr_matrix(self.matrix)[users]
        folded = self._fit(rest)
        scores = {
            "EASE": (history @ self.in_fit["EASE"], history @ folded["EASE"]),
            "ALS": (
                self.in_fit["ALS"].user_factors[users] @ self.in_fit["ALS"].item_factors.T,
                folded["ALS"].recalculate_user(np.arange(len(users)), history)
                @ folded["ALS"].item_factors.T,
            ),
        }
        test, negatives = self.split.test[rows], self.split.test_negatives[rows]
        fold = Bunch(train=rest, test=test, test_negatives=negatives)
        whole = Bunch(train=self.split.train, test=test, test_negatives=negatives)
        for name, (in_fit, new) in scores.items():
            for j, (candidates, found) in enumerate(((whole, in_fit), (fold, new))):
                got = ProtocolArrays(candidates, self.matrix).evaluate(np.asarray(found))
                self.sums[name][j] += len(rows) * np.array([got[m] for m in METRICS])

    def rows(self, n_users):
        for name, sums in self.sums.items():
            together, folded = sums / n_users
            yield [f"{self.names[name]}, in fit", *(f"{v:.4f}" for v in together)]
            yield [f"{self.names[name]}, folded in", *(f"{v:.4f}" for v in folded)]
            yield ["ratio", *(f"{f / t:.3f}" if t else "-" for f, t in zip(folded, together))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_option(parser)
    parser.add_argument("--architecture", default="gmf")
    parser.add_argument("--folds", type=int, default=10, help="tenths left out in turn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baselines", action="store_true", help="skip ALS and EASE")
    args = parser.parse_args()
    split = load_ncf_split(required_data(args, parser))
    settings = dict(architecture=args.architecture, random_state=0, handle_unknown="ignore")
    users = split.test[:, 0]
    rng = np.random.default_rng(args.seed)
    groups = np.array_split(rng.permutation(len(users)), 10)[: args.folds]

    baselines = None if args.no_baselines else Baselines(split, args.seed)
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
        if baselines is not None:
            baselines.add_fold(split.train[~left_out], rows)
    folded, together = np.vstack(folded).mean(axis=0), np.vstack(together).mean(axis=0)
    print(
        f"{split_name(args.data)}, architecture={args.architecture!r}, {n_folded} users "
        f"left out in {len(groups)} folds"
    )
    print_table(
        ["users", "full HR@10", "full NDCG@10", "sampled HR@10", "sampled NDCG@10"],
        [
            [f"skncf {args.architecture}, in fit", *(f"{v:.4f}" for v in together)],
            [f"skncf {args.architecture}, folded in", *(f"{v:.4f}" for v in folded)],
            ["ratio", *(f"{f / t:.3f}" if t else "-" for f, t in zip(folded, together))],
            *([] if baselines is None else baselines.rows(n_folded)),
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
