"""Explicit feedback: skncf (feedback="explicit") against Surprise's SVD on MovieLens-100K.

Both are trained and scored on the same seeded 5 folds of ``u.data`` (scikit-learn's
``KFold(5, shuffle=True, random_state=SEED)`` over ratings), in one process; the script
prints the RMSE of every fold and the means. Surprise (``pip install scikit-surprise``)
is a benchmark-only dependency.

    python benchmarks/explicit.py --data ../shared/data/ml-100k

``--data`` is a MovieLens-100K folder (default ``$SKNCF_ML100K``).
"""

import argparse
import time

import numpy as np
from common import data_option
from sklearn.model_selection import KFold

from skncf import NCFRecommender
from skncf.datasets import load_movielens


def rmse(y, p):
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(p)) ** 2)))


def surprise_svd(X_train, y_train, X_test, seed):
    import pandas as pd
    from surprise import SVD, Dataset, Reader

    frame = pd.DataFrame({"u": X_train[:, 0], "i": X_train[:, 1], "r": y_train})
    data = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5)))
    algo = SVD(random_state=seed).fit(data.build_full_trainset())
    return np.array([algo.predict(u, i).est for u, i in X_test])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser, "SKNCF_ML100K", "the MovieLens-100K folder")
    # skncf settings: each left out is the estimator's default
    parser.add_argument("--architecture")
    parser.add_argument("--latent-dim", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--l2", type=float)
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--folds", type=int, default=5, help="how many of the 5 folds to run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data FOLDER or set SKNCF_ML100K")
    data = load_movielens(args.data)
    X, y = data.X, data.ratings
    names = ("architecture", "latent_dim", "epochs", "learning_rate", "batch_size", "l2", "dropout")
    settings = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    print(f"{len(y)} ratings; skncf settings (others at their defaults): {settings}", flush=True)
    results = {"skncf": [], "surprise-svd": []}
    folds = KFold(5, shuffle=True, random_state=args.seed).split(X)
    for fold, (train, test) in zip(range(args.folds), folds):
        rec = NCFRecommender(
            feedback="explicit", handle_unknown="ignore", random_state=args.seed, **settings
        )
        tic = time.perf_counter()
        rec.fit(X[train], y[train])
        ours = rmse(y[test], rec.predict(X[test]))
        ours_s = time.perf_counter() - tic
        tic = time.perf_counter()
        theirs = rmse(y[test], surprise_svd(X[train], y[train], X[test], args.seed))
        theirs_s = time.perf_counter() - tic
        results["skncf"].append(ours)
        results["surprise-svd"].append(theirs)
        print(
            f"fold {fold + 1}: skncf RMSE {ours:.4f} ({ours_s:.0f} s), "
            f"Surprise SVD RMSE {theirs:.4f} ({theirs_s:.0f} s)",
            flush=True,
        )
    ours, theirs = np.mean(results["skncf"]), np.mean(results["surprise-svd"])
    print(f"\n| method | mean RMSE over {len(results['skncf'])} folds |\n|---|---|")
    print(f"| skncf {settings or 'defaults'} (explicit) | {ours:.4f} |")
    print(f"| Surprise SVD | {theirs:.4f} |")
    print(f"ratio skncf / SVD RMSE: {ours / theirs:.3f}")


if __name__ == "__main__":
    main()
