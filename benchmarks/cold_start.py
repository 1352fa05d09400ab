"""Cold start on MovieLens-100K: items and users known only by their features.

Item cold start: 20% of the items are held out entirely (their interactions are the test
set); each test user's held-out items are ranked among the cold items only. Features:
genres and release year (``u.item``). User cold start: 20% of the users are held out
entirely and ranked over the warm catalogue from age, gender and occupation (``u.user``)
alone, scored twice: on all their ratings (HR@10 nearly saturates, as a cold user has
20 ratings or more) and on their latest rating only (the leave-one-out target of
``PROTOCOL.md``). Every rating counts as an interaction. HR@10 and NDCG@10
(``skncf.metrics``), mean over ``--seeds`` seeds of the split, in one process:

- skncf, ``NCFRecommender(item_features=...)`` with the cold items in the table (so in
  the catalog), or fit without them and given them after by ``add_items``; or
  ``NCFRecommender(user_features=...)`` on the warm users and the cold ones folded in
  from their features (``fold_in(user_features=...)``); the loss (the softmax or the
  full-matrix log loss, both by users), ``id_embeddings``, ``latent_dim`` and epochs
  chosen on validation;
- LightFM (``pip install lightfm-next``), WARP, with the same features, identity
  features on or off, ``no_components`` and epochs chosen on validation;
- popularity baselines: items by their genres' popularity (global, and the user's own
  genre shares); users by global popularity and by the popularity within their
  demographic group (gender x age decade).

Validation repeats the split inside the training part (20% of the warm items or users
held out); the test split is only scored.

    python benchmarks/cold_start.py --data ../shared/data/ml-100k
"""

import argparse
import itertools
import time

import numpy as np
import scipy.sparse as sp
from common import data_option, print_table, required_data, row_norm_option, use_row_norm

from skncf import NCFRecommender
from skncf.datasets import load_movielens, load_movielens_features
from skncf.metrics import hit_rate_at_k, ndcg_at_k

K = 10
SKNCF_GRID = [
    dict(loss=loss, n_negatives="all", id_embeddings=e, latent_dim=d, epochs=n)
    for loss, e, d, n in itertools.product(
        ("softmax", "log"), (True, False), (32, 128), ("auto", 40)
    )
]
LIGHTFM_GRID = [
    dict(no_components=c, epochs=e, identity=i)
    for c, e, i in itertools.product((32, 64), (10, 30), (True, False))
]


def metrics(y_true, scores):
    """HR@10 and NDCG@10 of each user with a test item (two arrays); exact ties broken
    at random.

    skncf's metrics count a tie against the relevant item; items with the same features
    (two dramas of one year) tie exactly, and a baseline that scores by genre ties by
    the hundred, so ties get a random order (seeded) for every method alike. Per user, so
    that methods can be compared user by user.
    """
    keep = np.flatnonzero(y_true.any(axis=1))
    jitter = np.random.default_rng(0).random(scores.shape)
    scores = scores + 1e-9 * max(float(np.abs(scores).max()), 1e-30) * jitter
    rows = [(y_true[[u]], scores[[u]]) for u in keep]
    return (
        np.array([hit_rate_at_k(truth, score, k=K) for truth, score in rows]),
        np.array([ndcg_at_k(truth, score, k=K) for truth, score in rows]),
    )


class Split:
    """Interactions split by held-out ids of one column (0: users, 1: items)."""

    def __init__(self, X, column, held_out, timestamps=None):
        self.cold = np.isin(X[:, column], held_out)
        self.train, self.test = X[~self.cold], X[self.cold]
        self.held_out = np.sort(held_out)
        self.latest = None
        if timestamps is not None:
            order = np.lexsort((timestamps[self.cold], self.test[:, 0]))
            last = np.r_[self.test[order[1:], 0] != self.test[order[:-1], 0], True]
            self.latest = self.test[order[last]]  # each test user's latest rating

    def truth(self, users, items, pairs=None):
        """(len(users), len(items)) indicator of the test pairs (or of ``pairs``)."""
        pairs = self.test if pairs is None else pairs
        u = np.searchsorted(users, pairs[:, 0])
        i = np.searchsorted(items, pairs[:, 1])
        ok = (users[np.minimum(u, len(users) - 1)] == pairs[:, 0]) & (
            items[np.minimum(i, len(items) - 1)] == pairs[:, 1]
        )
        y = np.zeros((len(users), len(items)), dtype=bool)
        y[u[ok], i[ok]] = True
        return y


def pair_scores(predict, users, items):
    pairs = np.column_stack([np.repeat(users, len(items)), np.tile(items, len(users))])
    return predict(pairs).reshape(len(users), len(items))


# ------------------------------------------------------------------ methods


def skncf_scores(split, side, features, params, users, items):
    """Items: the cold ones in fit's table, so in its catalog; users: folded in after fit."""
    if side == "item":
        rec = NCFRecommender(random_state=0, item_features=features, **params).fit(split.train)
        return pair_scores(rec.predict, users, items)
    warm = features.loc[np.unique(split.train[:, 0])]
    rec = NCFRecommender(random_state=0, user_features=warm, **params).fit(split.train)
    return pair_scores(rec.fold_in(user_features=features.loc[users]).predict, users, items)


def skncf_added_scores(split, side, features, params, users, items):
    """Items: fit on the warm items' features, the cold ones added after, untrained."""
    warm = features.loc[np.unique(split.train[:, 1])]
    rec = NCFRecommender(random_state=0, item_features=warm, **params).fit(split.train)
    rec.add_items(features.loc[np.setdiff1d(items, warm.index)])
    return pair_scores(rec.predict, users, items)


def lightfm_scores(split, side, features, params, users, items):
    from lightfm import LightFM

    # rows for every id up to the largest (MovieLens ids run from 1)
    n_users, n_items = np.vstack([split.train, split.test]).max(axis=0) + 1
    if side == "user":
        n_users = max(n_users, features.index.max() + 1)
    else:
        n_items = max(n_items, features.index.max() + 1)
    matrix = features.to_numpy(dtype=np.float32)
    matrix = matrix / np.maximum(np.abs(matrix).sum(axis=1, keepdims=True), 1e-9)
    table = sp.lil_matrix(((n_users if side == "user" else n_items), matrix.shape[1]))
    table[features.index.to_numpy()] = matrix
    table = sp.csr_matrix(table)
    if params["identity"]:
        table = sp.hstack([sp.identity(table.shape[0], format="csr"), table]).tocsr()
    interactions = sp.coo_matrix(
        (np.ones(len(split.train), np.float32), (split.train[:, 0], split.train[:, 1])),
        shape=(n_users, n_items),
    )
    model = LightFM(loss="warp", no_components=params["no_components"], random_state=0)
    model.fit(interactions, epochs=params["epochs"], num_threads=2, **{f"{side}_features": table})
    kwargs = {f"{side}_features": table}
    return pair_scores(
        lambda pairs: model.predict(pairs[:, 0].astype(np.int32), pairs[:, 1].astype(np.int32),
                                    num_threads=2, **kwargs),
        users, items,
    )  # fmt: skip


def genre_scores(split, genres, users, items, personal):
    """Items by the popularity of their genres: overall, or in the user's own history."""
    item_genres = genres.reindex(items).to_numpy(dtype=float, copy=True)
    item_genres /= np.maximum(item_genres.sum(axis=1, keepdims=True), 1)
    train_genres = genres.reindex(split.train[:, 1]).to_numpy(dtype=float)
    if not personal:
        return np.tile(item_genres @ train_genres.sum(axis=0), (len(users), 1))
    shares = np.zeros((len(users), genres.shape[1]))
    rows = np.searchsorted(users, split.train[:, 0])
    found = users[np.minimum(rows, len(users) - 1)] == split.train[:, 0]
    np.add.at(shares, rows[found], train_genres[found])
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1)
    return shares @ item_genres.T + 1e-6 * (item_genres @ train_genres.sum(axis=0))


def group_popularity(split, groups, users, items):
    """Items by their number of interactions among users of the same group."""
    counts = {}
    for user, item in split.train.tolist():
        key = groups.get(user)
        counts.setdefault(key, {}).setdefault(item, 0)
        counts[key][item] += 1
    overall = np.bincount(split.train[:, 1], minlength=items.max() + 1)[items].astype(float)
    scores = np.empty((len(users), len(items)))
    for row, user in enumerate(users.tolist()):
        mine = counts.get(groups.get(user), {})
        scores[row] = [mine.get(item, 0) for item in items.tolist()]
        scores[row] += 1e-6 * overall
    return scores


# ------------------------------------------------------------------ protocol


def cold_items(X, features, genres, seed, search):
    """The item cold-start results of one seed: {method: (figures, seconds, setting)},
    figures per user: (HR@10, NDCG@10)."""
    indicators = genres.join(_one_hot(features[["year"]].fillna(0) // 10, "decade"))
    rng = np.random.default_rng(seed)
    all_items = np.unique(X[:, 1])
    test = Split(X, 1, rng.choice(all_items, len(all_items) // 5, replace=False))
    warm = np.setdiff1d(all_items, test.held_out)
    valid = Split(test.train, 1, rng.choice(warm, len(warm) // 5, replace=False))

    def evaluate(split, scorer):
        users = np.unique(split.test[:, 0])
        return metrics(split.truth(users, split.held_out), scorer(split, users, split.held_out))

    results = _learned(evaluate, valid, test, "item", features, indicators if search else None)
    for name, personal in (("genre popularity", False), ("user's genre shares", True)):
        scorer = lambda s, u, i, personal=personal: genre_scores(s, genres, u, i, personal)  # noqa: E731
        results[name] = (evaluate(test, scorer), 0.0, {}, None)
    return results


def _learned(evaluate, valid, test, side, features, indicators):
    """skncf's and (unless ``indicators`` is None) LightFM's results, each tuned."""
    results = {"skncf": _tuned(evaluate, valid, test, skncf_scores, side, features, SKNCF_GRID)}
    if side == "item":
        results["skncf, items added after fit"] = _tuned(
            evaluate, valid, test, skncf_added_scores, side, features, SKNCF_GRID
        )
    if indicators is not None:
        results["LightFM (WARP)"] = _tuned(
            evaluate, valid, test, lightfm_scores, side, indicators, LIGHTFM_GRID
        )
    return results


def _tuned(evaluate, valid, test, method, side, table, grid):
    """(figures, seconds, setting, its validation NDCG@10) on test of the setting best on
    validation (NDCG@10)."""

    def scorer(params):
        return lambda split, users, items: method(split, side, table, params, users, items)

    found = [evaluate(valid, scorer(params))[1].mean() for params in grid]
    best = grid[int(np.argmax(found))]
    tic = time.perf_counter()
    figures = evaluate(test, scorer(best))
    return figures, time.perf_counter() - tic, best, max(found)


def cold_users(X, timestamps, features, seed, search):
    """The user cold-start results of one seed, as :func:`cold_items`', with the figures
    on all the cold users' ratings then on their latest rating only."""
    rng = np.random.default_rng(seed)
    all_users = np.unique(X[:, 0])
    test = Split(X, 0, rng.choice(all_users, len(all_users) // 5, replace=False), timestamps)
    warm = np.setdiff1d(all_users, test.held_out)
    valid = Split(test.train, 0, rng.choice(warm, len(warm) // 5, replace=False))
    groups = {u: (g, a // 10) for u, g, a in zip(features.index, features.gender, features.age)}

    def evaluate(split, scorer):
        items = np.unique(split.train[:, 1])
        scores = scorer(split, split.held_out, items)
        figures = metrics(split.truth(split.held_out, items), scores)
        if split.latest is not None:
            figures += metrics(split.truth(split.held_out, items, split.latest), scores)
        return figures

    indicators = _one_hot(
        features.assign(decade=features.age // 10)[["gender", "occupation", "decade"]], ""
    )
    results = _learned(evaluate, valid, test, "user", features, indicators if search else None)
    for name, by in (("global popularity", {}), ("popularity in (gender, age decade)", groups)):
        scorer = lambda s, u, i, by=by: group_popularity(s, by, u, i)  # noqa: E731
        results[name] = (evaluate(test, scorer), 0.0, {}, None)
    return results


def _one_hot(frame, prefix):
    """0/1 indicator columns of every column's values (LightFM's kind of features)."""
    import pandas as pd

    return pd.get_dummies(frame.astype(str), prefix=prefix or None).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_option(parser, "SKNCF_ML100K", "the MovieLens-100K folder")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-lightfm", action="store_true", help="skip LightFM")
    row_norm_option(parser)
    args = parser.parse_args()
    use_row_norm(args)
    folder = required_data(args, parser)
    ratings = load_movielens(folder)
    X = ratings.X
    side = load_movielens_features(folder)
    item_features = side.item_features.drop(columns=["title"])
    genres = item_features.drop(columns=["year"])
    user_features = side.user_features[["age", "gender", "occupation"]]
    for what, run in (
        ("item cold start (20% of items, ranked among the cold items)",
         lambda seed: cold_items(X, item_features, genres, seed, not args.no_lightfm)),
        ("user cold start (20% of users, ranked over the warm items)",
         lambda seed: cold_users(X, ratings.timestamps, user_features, seed,
                                not args.no_lightfm)),
    ):  # fmt: skip
        runs = [run(seed) for seed in range(args.seeds)]
        print(f"\n{what}, {args.seeds} seeds")
        names = ["HR@10", "NDCG@10", "HR@10, latest", "NDCG@10, latest"]
        names = names[: len(runs[0]["skncf"][0])]
        rows = []
        for name in runs[0]:
            figures = np.array([[f.mean() for f in r[name][0]] for r in runs])
            chosen = "; ".join(str(r[name][2]) for r in runs if r[name][2])
            valid = [r[name][3] for r in runs if r[name][3] is not None]
            rows.append([name, *(f"{m:.4f} ± {s:.4f}" for m, s in
                                 zip(figures.mean(axis=0), figures.std(axis=0))),
                         f"{np.mean([r[name][1] for r in runs]):.1f}",
                         f"{np.mean(valid):.4f}" if valid else "-", chosen or "-"])  # fmt: skip
        print_table(["method", *names, "fit + score (s)", "its validation NDCG@10",
                     "chosen on validation"], rows)  # fmt: skip
        print("\nskncf minus each method, paired by user (all seeds' test users; ± s.e.)")
        print_table(["method", *names], [[name, *paired(runs, name)] for name in runs[0]
                                         if name != "skncf"])  # fmt: skip


def paired(runs, name):
    """skncf's per-user figures minus ``name``'s: mean ± standard error, each figure."""
    cells = []
    for figure in range(len(runs[0]["skncf"][0])):
        change = np.concatenate([r["skncf"][0][figure] - r[name][0][figure] for r in runs])
        cells.append(f"{change.mean():+.4f} ± {change.std() / np.sqrt(len(change)):.4f}")
    return cells


if __name__ == "__main__":
    main()
