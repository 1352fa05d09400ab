"""What the benchmark scripts share: data, the NCF protocol's scoring, timing, tables.

Data: ``--data`` options default to environment variables (``$SKNCF_NCF_SPLIT`` for a
leave-one-out split's prefix, ``$SKNCF_ML100K`` for the MovieLens-100K folder), since
MovieLens may not be redistributed and lives outside the repository;
:func:`synthetic_pairs` makes data of any size without a download. Scoring follows
``../shared/data/PROTOCOL.md``: full ranking and sampled, HR@10 and NDCG@10. Timing is
the median of repeats (:func:`median_seconds`): the machines are shared and noisy.
"""

import os
import statistics
import time

import numpy as np
import scipy.sparse as sp

from skncf.metrics import evaluate, hit_rate_at_k, ndcg_at_k

K = 10


def data_option(parser, variable="SKNCF_NCF_SPLIT", what="a leave-one-out split's prefix"):
    """Add ``--data``, defaulting to ``$variable``."""
    parser.add_argument(
        "--data",
        default=os.environ.get(variable),
        help=f"{what} (default: ${variable})",
    )


def required_data(args, parser):
    """``args.data``, or exit with argparse's usage error when it is missing."""
    if not args.data:
        parser.error("pass --data (or set the environment variable its help names)")
    return args.data


def row_norm_option(parser):
    """Add ``--row-norm``: a probe of the feature rows' length, see :func:`use_row_norm`."""
    parser.add_argument(
        "--row-norm",
        type=float,
        help="the length of encoded feature rows (skncf._data.features.ROW_NORM, a "
        "private constant set here to probe it; default: skncf's)",
    )


def use_row_norm(args):
    """Set skncf's feature rows' length to ``--row-norm``, where given, for later fits."""
    from skncf._data import features

    if args.row_norm is not None:
        features.ROW_NORM = args.row_norm


def median_seconds(call, repeats):
    """``call()``'s last result and the median seconds of ``repeats`` calls."""
    seconds = []
    for _ in range(repeats):
        tic = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - tic)
    return result, statistics.median(seconds)


def mean_and_sd(runs):
    """``{metric: (mean, sample standard deviation)}`` over ``runs``, dicts of metrics."""
    spread = {}
    for key in runs[0]:
        values = [float(run[key]) for run in runs]
        spread[key] = (float(np.mean(values)), float(np.std(values, ddof=1)))
    return spread


def print_table(header, rows):
    """Print a Markdown table: ``header`` a sequence of names, ``rows`` of cells."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |", flush=True)


# ------------------------------------------------------------------------ data


def synthetic_pairs(n_users=3000, n_items=3600, n_pairs=480_000, seed=0):
    """Distinct (user, item) pairs, uniform users, popularity-skewed items (rank^-0.8).

    ml1m-half sized by default; vectorized, so MovieLens-20M sizes take seconds.
    """
    rng = np.random.default_rng(seed)
    popularity = np.cumsum(1.0 / np.arange(1, n_items + 1) ** 0.8)
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n_pairs:
        n = 2 * (n_pairs - len(codes))
        users = rng.integers(0, n_users, size=n)
        items = np.searchsorted(popularity, rng.random(n) * popularity[-1])
        codes = np.sort(np.concatenate([codes, users * n_items + np.minimum(items, n_items - 1)]))
        # sort and compare, not np.unique: numpy 2's hashing unique took 66 s on 40M codes
        codes = codes[np.concatenate([[True], codes[1:] != codes[:-1]])]
    codes = codes[rng.permutation(len(codes))[:n_pairs]]
    return np.column_stack([codes // n_items, codes % n_items])


def train_matrix(split):
    """The split's train pairs as a sparse (users, every item id in the split) matrix.

    A split's ``test_negatives`` may be None: a fold scored under full ranking only.
    """
    n_users = int(split.train[:, 0].max()) + 1
    items = [split.train[:, 1], split.test[:, 1]]
    if split.test_negatives is not None:
        items.append(split.test_negatives.ravel())
    n_items = int(max(part.max() for part in items)) + 1
    return sp.csr_array(
        (np.ones(len(split.train)), (split.train[:, 0], split.train[:, 1])),
        shape=(n_users, n_items),
    )


def validation_split(split, seed=0):
    """The same protocol one step earlier: hold out each user's latest train interaction.

    For tuning without touching the test set: ``test`` becomes each user's latest train
    row (by timestamp, as :class:`skncf.model_selection.LeaveLastOut` picks it), and its
    99 negatives are drawn uniformly, seeded, from the remaining train items the user has
    no interaction with. Returns a Bunch shaped like :func:`load_ncf_split`'s.
    """
    from sklearn.utils import Bunch

    from skncf.model_selection import LeaveLastOut

    fit_rows, held_rows = next(LeaveLastOut(timestamps=split.train_timestamps).split(split.train))
    train, held = split.train[fit_rows], split.train[held_rows]
    items = np.unique(train[:, 1])
    seen = {tuple(pair) for pair in split.train.tolist()}
    rng = np.random.default_rng(seed)
    negatives = np.empty((len(held), split.test_negatives.shape[1]), dtype=np.int64)
    for row, user in enumerate(held[:, 0].tolist()):
        pool = [item for item in rng.permutation(items).tolist() if (user, item) not in seen]
        negatives[row] = pool[: negatives.shape[1]]
    return Bunch(
        train=train,
        train_timestamps=split.train_timestamps[fit_rows],
        test=held,
        test_negatives=negatives,
    )


# --------------------------------------------------------- the NCF protocol


def evaluate_scores(full_scores, exclude, test_columns, sampled_scores=None):
    """Full and sampled HR@10 / NDCG@10 from score matrices, rows = test users.

    ``full_scores`` has one column per train item; ``test_columns`` gives each row's
    held-out item column, or -1 for an item absent from train (a miss). Without
    ``sampled_scores``, the full-ranking figures only.
    """
    present = test_columns >= 0
    y_true = np.zeros(full_scores.shape, dtype=bool)
    y_true[np.flatnonzero(present), test_columns[present]] = True
    share = present.mean()
    found = {
        "full_hr": share
        * hit_rate_at_k(y_true[present], full_scores[present], k=K, exclude=exclude[present]),
        "full_ndcg": share
        * ndcg_at_k(y_true[present], full_scores[present], k=K, exclude=exclude[present]),
    }
    if sampled_scores is not None:
        sampled_true = np.zeros(sampled_scores.shape, dtype=bool)
        sampled_true[:, 0] = True
        found["sampled_hr"] = hit_rate_at_k(sampled_true, sampled_scores, k=K)
        found["sampled_ndcg"] = ndcg_at_k(sampled_true, sampled_scores, k=K)
    return found


class ProtocolArrays:
    """What scoring a score matrix needs: train items, exclusions, held-out columns."""

    def __init__(self, split, train_matrix):
        self.items = np.unique(split.train[:, 1])
        self.users = split.test[:, 0]
        self.exclude = train_matrix[self.users][:, self.items]
        position = np.searchsorted(self.items, split.test[:, 1])
        found = self.items[np.minimum(position, len(self.items) - 1)] == split.test[:, 1]
        self.test_columns = np.where(found, position, -1)
        self.sampled_items = None
        if split.test_negatives is not None:
            self.sampled_items = np.column_stack([split.test[:, 1], split.test_negatives])

    def evaluate(self, scores):
        """Metrics of a (test users, all item ids) score matrix."""
        sampled = None
        if self.sampled_items is not None:
            sampled = np.take_along_axis(scores, self.sampled_items, 1)
        return evaluate_scores(scores[:, self.items], self.exclude, self.test_columns, sampled)


def skncf_metrics(rec, split):
    """Full and sampled HR@10 / NDCG@10 of a fitted recommender, by skncf's evaluate()."""
    report = evaluate(rec, split.test, negatives=split.test_negatives, k=K)
    return {
        "full_hr": report["full"][f"hit_rate@{K}"],
        "full_ndcg": report["full"][f"ndcg@{K}"],
        "sampled_hr": report["sampled"][f"hit_rate@{K}"],
        "sampled_ndcg": report["sampled"][f"ndcg@{K}"],
    }


# ------------------------------------------------ settings and the Keras NeuMF


def auto_or(kind):
    """An argparse type for NCFRecommender's settings: "auto", "all", or a ``kind``."""

    def parse(text):
        return text if text in ("auto", "all") else kind(text)

    return parse


def plain_keras_neumf(n_users, n_items, factors, layers=(64, 32, 16, 8)):
    """NeuMF as the paper's code builds it, in plain Keras 3."""
    import keras

    user = keras.Input(shape=(1,), dtype="int32")
    item = keras.Input(shape=(1,), dtype="int32")
    init = keras.initializers.RandomNormal(stddev=0.01)
    mf_u = keras.layers.Flatten()(
        keras.layers.Embedding(n_users, factors, embeddings_initializer=init)(user)
    )
    mf_i = keras.layers.Flatten()(
        keras.layers.Embedding(n_items, factors, embeddings_initializer=init)(item)
    )
    mlp_u = keras.layers.Flatten()(
        keras.layers.Embedding(n_users, layers[0] // 2, embeddings_initializer=init)(user)
    )
    mlp_i = keras.layers.Flatten()(
        keras.layers.Embedding(n_items, layers[0] // 2, embeddings_initializer=init)(item)
    )
    x = keras.layers.Concatenate()([mlp_u, mlp_i])
    for width in layers[1:]:
        x = keras.layers.Dense(width, activation="relu")(x)
    joint = keras.layers.Concatenate()([keras.layers.Multiply()([mf_u, mf_i]), x])
    out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="lecun_uniform")(joint)
    model = keras.Model([user, item], out)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    return model


def plain_keras_curve(split, train_matrix, args):
    """Train the usual way, scoring after every epoch.

    Yields ``(epoch, fit_seconds, metrics)``; ``fit_seconds`` counts training (negative
    sampling and ``Model.fit``) up to that epoch, not the scoring.
    """
    n_users = int(max(split.train[:, 0].max(), split.test[:, 0].max())) + 1
    n_items = (
        int(max(split.train[:, 1].max(), split.test[:, 1].max(), split.test_negatives.max())) + 1
    )
    model = plain_keras_neumf(n_users, n_items, args.keras_factors)
    rng = np.random.default_rng(args.seed)
    seen = train_matrix
    users, items = split.train[:, 0], split.train[:, 1]
    arrays = ProtocolArrays(split, train_matrix)
    train_items, test_users = arrays.items, arrays.users
    fit_seconds = 0.0
    for epoch in range(1, args.keras_epochs + 1):
        tic = time.perf_counter()
        neg_users = np.repeat(users, 4)
        neg_items = rng.integers(0, n_items, size=neg_users.size)
        clash = np.asarray(seen[neg_users, neg_items]).ravel() > 0
        while clash.any():
            neg_items[clash] = rng.integers(0, n_items, size=clash.sum())
            clash[clash] = np.asarray(seen[neg_users[clash], neg_items[clash]]).ravel() > 0
        u = np.concatenate([users, neg_users])[:, None]
        i = np.concatenate([items, neg_items])[:, None]
        y = np.concatenate([np.ones(len(users)), np.zeros(len(neg_users))])
        model.fit([u, i], y, batch_size=256, epochs=1, shuffle=True, verbose=0)
        fit_seconds += time.perf_counter() - tic
        full = model.predict(
            [
                np.repeat(test_users, len(train_items))[:, None],
                np.tile(train_items, len(test_users))[:, None],
            ],
            batch_size=65536,
            verbose=0,
        ).reshape(len(test_users), len(train_items))
        sampled = model.predict(
            [
                np.repeat(test_users, arrays.sampled_items.shape[1])[:, None],
                arrays.sampled_items.reshape(-1, 1),
            ],
            batch_size=65536,
            verbose=0,
        ).reshape(arrays.sampled_items.shape)
        metrics = evaluate_scores(full, arrays.exclude, arrays.test_columns, sampled)
        print(
            f"  keras-neumf epoch {epoch}: full HR@10 {metrics['full_hr']:.3f}, "
            f"sampled HR@10 {metrics['sampled_hr']:.3f}, {fit_seconds:.0f} s",
            flush=True,
        )
        yield epoch, fit_seconds, metrics
