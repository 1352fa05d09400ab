"""GridSearchCV over the defaults' neighbourhood: 12 settings x 3 folds, wall time.

Searches ``NCFRecommender()`` over ``latent_dim``, ``l2``, ``learning_rate`` and
``epochs`` (12 settings) on a split's train rows, each fold holding out one random train
interaction per user (``LeaveLastOut(random_state=fold)``, folds 0, 1, 2), scored by
NDCG@10 under full ranking (``make_ranking_scorer``); the test rows are never seen by
the search. Prints the wall time of the whole search (refit included), the best
setting and its test figures (full and sampled HR@10 / NDCG@10).

    python benchmarks/grid_search.py --data ../shared/data/ml1m-half/ml1m-half
"""

import argparse
import time

import numpy as np
from common import data_option, skncf_metrics
from sklearn.model_selection import GridSearchCV

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split
from skncf.model_selection import LeaveLastOut, make_ranking_scorer

GRID = {
    "latent_dim": [64, 128],
    "l2": [0.0, 1e-4],
    "learning_rate": [0.003],
    "epochs": [10, 20, 30],
}


def folds(train, n_folds=3):
    """``n_folds`` (train, test) index pairs, one random held-out row per user each."""
    return [next(LeaveLastOut(random_state=fold).split(train)) for fold in range(n_folds)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data_option(parser)
    parser.add_argument("--n-jobs", type=int, default=None, help="GridSearchCV's n_jobs")
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    split = load_ncf_split(args.data)
    search = GridSearchCV(
        NCFRecommender(random_state=0, handle_unknown="ignore"),
        GRID,
        cv=folds(split.train),
        scoring=make_ranking_scorer("ndcg", k=10),
        n_jobs=args.n_jobs,
    )
    n_settings = int(np.prod([len(v) for v in GRID.values()]))
    tic = time.perf_counter()
    search.fit(split.train)
    seconds = time.perf_counter() - tic
    print(f"{n_settings} settings x 3 folds + refit: {seconds:.0f} s wall time")
    print(f"best {search.best_params_}, validation NDCG@10 {search.best_score_:.4f}")
    found = skncf_metrics(search.best_estimator_, split)
    print(
        f"test: full HR@10 {found['full_hr']:.4f} NDCG@10 {found['full_ndcg']:.4f} | "
        f"sampled HR@10 {found['sampled_hr']:.4f} NDCG@10 {found['sampled_ndcg']:.4f}"
    )


if __name__ == "__main__":
    main()
