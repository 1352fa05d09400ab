"""skncf, EASE and ALS under one cut in time, as a deployed model meets its data.

Leave-last-out (``baselines.py``) holds out each user's latest interaction and trains on
every other row, other users' later ones included. Here the whole MovieLens log is cut
at one time (:class:`skncf.model_selection.GlobalTimeSplit`, the latest ``--test-size``
of the rows): every method trains on the past and ranks, for each user with rows before
the cut, what that user did after it, among all items the user has no training row
with. Items new after the cut stay in the test as missed relevant items (no model of
the past can recommend them); users new after the cut are left out.

Settings are chosen on validation only: the same cut one step earlier, inside the
training part, with a test window of the same size. EASE's lambda, ALS's regularization
and alpha (64 factors, 15 iterations) and skncf's epochs and l2 are chosen there by
NDCG@10; skncf also runs at its defaults, ``NCFRecommender()``, which were chosen on
leave-last-out validation, and with the epochs at which early stopping on the validation
cut stopped (``validation_data=``, ``n_iter_no_change=3``; the user guide's recipe).
Popularity is the floor. Prints full-ranking HR@10, NDCG@10 and recall@10 on the test,
and each fit's seconds with its ratio to ALS's.

    python benchmarks/time_split.py --data ../shared/data/ml-100k
    python benchmarks/time_split.py \\
        --data ../shared/data/ml-1m/ratings.users-1-2999.partial.dat.gz --seeds 3

Needs ``pip install implicit``.
"""

import argparse

import numpy as np
import scipy.sparse as sp
from baselines import ALS_GRID, EASE_LAMBDAS, ease_weights, implicit_als
from common import data_option, mean_and_sd, median_seconds, print_table, required_data

from skncf import NCFRecommender
from skncf._training.programs import forget
from skncf.datasets import load_movielens
from skncf.metrics import hit_rate_at_k, ndcg_at_k, recall_at_k
from skncf.model_selection import GlobalTimeSplit

K = 10
SKNCF_GRID = [(epochs, l2) for epochs in (3, 5, 10, 20) for l2 in (0.0, 1e-3)]


def time_split(log, test_size):
    """``(train, test)`` frames of ``log`` cut at one time (new users' rows left out)."""
    split = GlobalTimeSplit(log["timestamp"].to_numpy(), test_size=test_size)
    train, test = next(split.split(log))
    return log.iloc[train], log.iloc[test]


class Protocol:
    """Full ranking of each test user's held-out items, new items counted as missed.

    A new item is a relevant column scored ``-inf``, after every candidate of its user:
    out of the top ``K`` for any user with more than ``K`` candidates (every MovieLens
    user has thousands), and counted by recall and NDCG's ideal, as
    :func:`skncf.metrics.full_ranking_per_user` counts the items a model does not know.
    """

    def __init__(self, train, test):
        self.pairs = train[["user", "item"]].to_numpy()
        self.held_out = test[["user", "item"]].to_numpy()
        self.items = np.unique(train["item"])
        self.train_users = np.unique(train["user"])
        self.matrix = sp.csr_array(
            (
                np.ones(len(train)),
                (
                    np.searchsorted(self.train_users, train["user"]),
                    np.searchsorted(self.items, train["item"]),
                ),
            ),
            shape=(len(self.train_users), len(self.items)),
        )
        self.matrix.sum_duplicates()
        self.matrix.data[:] = 1.0
        self.users = np.unique(test["user"])
        rows = np.searchsorted(self.users, test["user"])
        columns = np.searchsorted(self.items, test["item"])
        known = self.items[np.minimum(columns, len(self.items) - 1)] == test["item"].to_numpy()
        # one column per new item, after the catalog: scored -inf, a candidate only
        # for the users who hold it
        new_items, new_columns = np.unique(test["item"].to_numpy()[~known], return_inverse=True)
        columns = np.where(known, columns, 0)
        columns[~known] = len(self.items) + new_columns
        width = len(self.items) + len(new_items)
        self.n_new = len(new_items)
        self.y_true = sp.csr_array(
            (np.ones(len(rows)), (rows, columns)), shape=(len(self.users), width)
        )
        self.codes = np.searchsorted(self.train_users, self.users)
        seen = self.matrix[self.codes]
        self.exclude = sp.hstack([seen, np.ones((len(self.users), self.n_new))], format="csr")

    def metrics(self, scores):
        """HR@10, NDCG@10 and recall@10 of a (test users, catalog) score matrix."""
        full = np.hstack([scores, np.full((len(scores), self.n_new), -np.inf)])
        options = dict(k=K, exclude=self.exclude)
        return {
            "hr": hit_rate_at_k(self.y_true, full, **options),
            "ndcg": ndcg_at_k(self.y_true, full, **options),
            "recall": recall_at_k(self.y_true, full, **options),
        }


def popularity_scores(protocol):
    counts = np.asarray(protocol.matrix.sum(axis=0)).ravel()
    return np.tile(counts, (len(protocol.users), 1))


def ease_scores(protocol, lam):
    weights = ease_weights(protocol.matrix, lam)
    return np.asarray(protocol.matrix[protocol.codes] @ weights)


def als_scores(protocol, setting, seed=0):
    als = implicit_als(sp.csr_matrix(protocol.matrix), *setting, seed=seed)
    return als.user_factors[protocol.codes] @ als.item_factors.T


def skncf_scores(protocol, setting=None, seed=0):
    """``NCFRecommender()``'s scores, or with ``setting``, (epochs, l2), of the grid."""
    forget()  # a user's first fit: no compiled program kept from an earlier one
    params = {} if setting is None else dict(zip(("epochs", "l2"), setting))
    rec = NCFRecommender(random_state=seed, **params).fit(protocol.pairs)
    assert np.array_equal(rec.items_, protocol.items)
    codes = np.searchsorted(rec.users_, protocol.users)
    return np.vstack([block for _, block in rec.catalog_logits(codes)])


def early_stopped_epochs(validation, seed=0):
    """The epoch of ``NCFRecommender()`` fit on the validation cut's training part that
    ranks its later part best (``validation_data=``, ``n_iter_no_change=3``)."""
    forget()
    rec = NCFRecommender(random_state=seed, n_iter_no_change=3)
    rec.fit(validation.pairs, validation_data=validation.held_out)
    print(f"  skncf early stopping: validation NDCG@10 by epoch {rec.history_['val_ndcg@10']}")
    return int(np.argmax(rec.history_["val_ndcg@10"])) + 1


def timed(call):
    """``call()``'s result and seconds, timed once."""
    return median_seconds(call, 1)


def choose(name, grid, scores, protocol):
    """The setting of ``grid`` with the best validation NDCG@10."""
    found = {setting: protocol.metrics(scores(protocol, setting)) for setting in grid}
    for setting, metrics in found.items():
        print(f"  {name} {setting}: validation {_row(metrics)}", flush=True)
    return max(grid, key=lambda setting: found[setting]["ndcg"])


def _row(metrics):
    return " ".join(f"{key} {value:.4f}" for key, value in metrics.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    data_option(parser, "SKNCF_ML100K", "a MovieLens folder or ratings file")
    parser.add_argument("--test-size", type=float, default=0.2, help="share of rows tested")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of ALS and skncf")
    args = parser.parse_args()
    log = load_movielens(required_data(args, parser), as_frame=True)
    train, test = time_split(log, args.test_size)
    fit_part, validation_part = time_split(train, args.test_size / (1 - args.test_size))
    users = test["user"].nunique()
    print(f"{len(log)} rows: train {len(train)}, test {len(test)} of {users} users; "
          f"validation {len(validation_part)}", flush=True)  # fmt: skip
    validation, protocol = Protocol(fit_part, validation_part), Protocol(train, test)
    print(f"test items new after the cut (missed by every method): {protocol.n_new}")

    print("choosing on validation:", flush=True)
    lam = choose("EASE lambda", EASE_LAMBDAS, ease_scores, validation)
    setting = choose("ALS (regularization, alpha)", ALS_GRID, als_scores, validation)
    epochs, l2 = choose("skncf (epochs, l2)", SKNCF_GRID, skncf_scores, validation)
    stopped = early_stopped_epochs(validation)

    runs = {
        "popularity": [timed(lambda: popularity_scores(protocol))],
        f"EASE (lambda {lam:g})": [timed(lambda: ease_scores(protocol, lam))],
    }
    seeds = range(args.seeds)
    name = f"implicit ALS (reg {setting[0]:g}, alpha {setting[1]:g})"
    runs[name] = [timed(lambda s=s: als_scores(protocol, setting, s)) for s in seeds]
    runs["NCFRecommender()"] = [timed(lambda s=s: skncf_scores(protocol, None, s)) for s in seeds]
    runs[f"NCFRecommender(epochs={epochs}, l2={l2:g})"] = [
        timed(lambda s=s: skncf_scores(protocol, (epochs, l2), s)) for s in seeds
    ]
    runs[f"NCFRecommender(epochs={stopped}), by early stopping"] = [
        timed(lambda s=s: skncf_scores(protocol, (stopped, 0.0), s)) for s in seeds
    ]

    als_seconds = np.median([seconds for _, seconds in runs[name]])
    print(f"\ntest set, {args.data}, cut at the latest {args.test_size:g} of the rows; "
          f"seeds 0-{args.seeds - 1} (mean ± s.d.); seconds: median")  # fmt: skip
    rows = []
    for method, fits in runs.items():
        found = [protocol.metrics(scores) for scores, _ in fits]
        if len(found) == 1:
            cells = [f"{value:.4f}" for value in found[0].values()]
        else:
            cells = [f"{mean:.4f} ± {sd:.4f}" for mean, sd in mean_and_sd(found).values()]
        seconds = np.median([seconds for _, seconds in fits])
        rows.append([method, *cells, f"{seconds:.1f}", f"{seconds / als_seconds:.1f}x"])
    header = ["method", "HR@10", "NDCG@10", "recall@10", "fit and score, s", "ratio to ALS"]
    print_table(header, rows)


if __name__ == "__main__":
    main()
