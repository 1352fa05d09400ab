"""GridSearchCV over the defaults' neighbourhood: 12 settings x 3 folds, wall time.

Searches ``NCFRecommender()`` over ``latent_dim``, ``l2``, ``learning_rate`` and
``epochs`` (12 settings) on a split's train rows, each fold holding out one random train
interaction per user (``LeaveLastOut(random_state=fold)``, folds 0, 1, 2), scored by
NDCG@10 under full ranking (``make_ranking_scorer``); the test rows are never seen by
the search. ``--folds latest`` holds out each user's latest, second latest and third
latest train interaction instead, each fold trained on what came before
(``LeaveLastOut(n_splits=3, timestamps=...)``): the test's own question, asked earlier.
Prints the wall time of the whole search (refit included), the best setting and its test
figures (full and sampled HR@10 / NDCG@10).

The field's cheap baselines are searched the same way in the same run: EASE over its
lambdas and implicit's ALS (64 factors, 15 iterations) over regularization x alpha
(``baselines.EASE_LAMBDAS``, ``baselines.ALS_GRID``), each setting scored by its mean
full-ranking NDCG@10 over the same 3 folds, the best refit on all train rows. The table
gives each search's test figures, wall time and its ratio to ALS's search
(``--no-baselines`` leaves them out; they need ``pip install implicit``).

    python benchmarks/grid_search.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/grid_search.py --data ../shared/data/ml1m-half/ml1m-half --folds latest
"""

import argparse

import numpy as np
from baselines import ALS_GRID, EASE_LAMBDAS, als_metrics, ease_metrics, fit_als, fit_ease
from common import data_option, median_seconds, print_table, skncf_metrics
from sklearn.model_selection import GridSearchCV
from sklearn.utils import Bunch

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split
from skncf.model_selection import LeaveLastOut, make_ranking_scorer

GRID = {
    "latent_dim": [64, 128],
    "l2": [0.0, 1e-4],
    "learning_rate": [0.003],
    "epochs": [7, 14, 21],
}


def folds(train, n_folds=3, timestamps=None):
    """``n_folds`` (train, test) index pairs: one random held-out row per user each, or
    with ``timestamps`` each user's latest, second latest, ... (``LeaveLastOut(n_splits=)``)."""
    if timestamps is not None:
        return list(LeaveLastOut(n_splits=n_folds, timestamps=timestamps).split(train))
    return [next(LeaveLastOut(random_state=fold).split(train)) for fold in range(n_folds)]


def fold_splits(train, cv):
    """Each fold of ``cv`` as a split of its own: its fit rows train, its held-out rows
    test, scored under full ranking only (no sampled negatives)."""
    return [Bunch(train=train[fit], test=train[held], test_negatives=None) for fit, held in cv]


def search_baseline(grid, fit, metrics, fold_list, split):
    """GridSearchCV's protocol for a baseline: the setting of ``grid`` with the best mean
    fold NDCG@10 (full ranking), refit on ``split``'s train rows.

    Returns the setting, its mean fold NDCG@10, its test figures and the wall seconds of
    the whole search, refit included.
    """

    def search():
        means = [
            np.mean([metrics(fold, fit(fold, *np.atleast_1d(setting)))["full_ndcg"]
                     for fold in fold_list])
            for setting in grid
        ]  # fmt: skip
        best = int(np.argmax(means))
        return best, means[best], fit(split, *np.atleast_1d(grid[best]))

    (best, score, refit), seconds = median_seconds(search, 1)
    return grid[best], score, metrics(split, refit), seconds


def search_skncf(split, cv, n_jobs):
    """The skncf search: its best parameters, fold NDCG@10, test figures, wall seconds."""
    search = GridSearchCV(
        NCFRecommender(random_state=0, handle_unknown="ignore"),
        GRID,
        cv=cv,
        scoring=make_ranking_scorer("ndcg", k=10),
        n_jobs=n_jobs,
    )
    _, seconds = median_seconds(lambda: search.fit(split.train), 1)
    return (
        search.best_params_,
        search.best_score_,
        skncf_metrics(search.best_estimator_, split),
        seconds,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data_option(parser)
    parser.add_argument("--n-jobs", type=int, default=None, help="GridSearchCV's n_jobs")
    parser.add_argument("--no-baselines", action="store_true", help="skip ALS and EASE")
    parser.add_argument(
        "--folds",
        choices=["random", "latest"],
        default="random",
        help="hold out a random train row per user in each fold, or each user's latest, "
        "second latest and third latest (LeaveLastOut(n_splits=3, timestamps=...))",
    )
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    split = load_ncf_split(args.data)
    cv = folds(split.train, timestamps=split.train_timestamps if args.folds == "latest" else None)
    params, score, found, seconds = search_skncf(split, cv, args.n_jobs)
    n_settings = int(np.prod([len(v) for v in GRID.values()]))
    print(f"{n_settings} settings x 3 folds + refit: {seconds:.0f} s wall time")
    print(f"best {params}, validation NDCG@10 {score:.4f}")
    print(
        f"test: full HR@10 {found['full_hr']:.4f} NDCG@10 {found['full_ndcg']:.4f} | "
        f"sampled HR@10 {found['sampled_hr']:.4f} NDCG@10 {found['sampled_ndcg']:.4f}",
        flush=True,
    )
    if args.no_baselines:
        return
    fold_list = fold_splits(split.train, cv)
    searches = [(f"skncf, {n_settings} settings: best {params}", score, found, seconds)]
    ease = search_baseline(EASE_LAMBDAS, fit_ease, ease_metrics, fold_list, split)
    searches.append((f"EASE, {len(EASE_LAMBDAS)} lambdas: best {ease[0]:g}", *ease[1:]))
    als = search_baseline(ALS_GRID, fit_als, als_metrics, fold_list, split)
    reg, alpha = als[0]
    searches.append((f"ALS, {len(ALS_GRID)} settings: best reg {reg:g}, alpha {alpha:g}", *als[1:]))
    print_table(search_header(), [search_row(*search, als[3]) for search in searches])


def search_header():
    return [
        "search (3 folds each)", "fold NDCG@10", "test full HR@10", "full NDCG@10",
        "sampled HR@10", "sampled NDCG@10", "wall", "ratio to ALS's search",
    ]  # fmt: skip


def search_row(name, score, found, seconds, als_seconds):
    figures = [
        f"{found[key]:.4f}" for key in ("full_hr", "full_ndcg", "sampled_hr", "sampled_ndcg")
    ]
    return [name, f"{score:.4f}", *figures, f"{seconds:.1f} s", f"{seconds / als_seconds:.1f}x"]


if __name__ == "__main__":
    main()
