"""The NCF benchmark: skncf's architectures and a plain-Keras NeuMF on one leave-one-out split.

Trains ``NCFRecommender()`` with its defaults, then ``seed``, ``gmf``, ``mlp``, ``neumf``,
``neumf`` with pre-training (with the settings given as options), and a NeuMF
written the usual way in plain Keras (``Model.fit``, batch 256, 4 negatives, Adam 1e-3),
in one process, and prints one table: full-ranking and sampled HR@10 / NDCG@10 (as
defined in ``../shared/data/PROTOCOL.md``, computed by :func:`skncf.metrics.evaluate`),
fit seconds and epochs.

    python benchmarks/ncf_protocol.py --data ../shared/data/ml1m-half/ml1m-half
    python benchmarks/ncf_protocol.py --data ../shared/data/ml-100k-loo/ml-100k

``--data`` is the split's prefix (files PREFIX.train.rating, .test.rating,
.test.negative); it defaults to ``$SKNCF_NCF_SPLIT``. skncf models are scored once, after
their last epoch. The plain-Keras baseline is scored after every epoch and reported at its
best epoch by full HR@10 (an optimistic choice, made on the test set, in its favour).
"""

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split
from skncf.metrics import evaluate, hit_rate_at_k, ndcg_at_k
from skncf.preprocessing import recency_weights

K = 10
METHODS = ("default", "seed", "gmf", "mlp", "neumf", "neumf-pretrain", "keras-neumf")
OPTIONAL_METHODS = ("als",)  # needs `pip install implicit`


def auto_or(kind):
    """An argparse type for NCFRecommender's settings: "auto", "all", or a ``kind``."""

    def parse(text):
        return text if text in ("auto", "all") else kind(text)

    return parse


def evaluate_scores(full_scores, exclude, test_columns, sampled_scores):
    """Full and sampled HR@10 / NDCG@10 from score matrices, rows = test users.

    ``full_scores`` has one column per train item; ``test_columns`` gives each row's
    held-out item column, or -1 for an item absent from train (a miss).
    """
    present = test_columns >= 0
    y_true = np.zeros(full_scores.shape, dtype=bool)
    y_true[np.flatnonzero(present), test_columns[present]] = True
    share = present.mean()
    sampled_true = np.zeros(sampled_scores.shape, dtype=bool)
    sampled_true[:, 0] = True
    return {
        "full_hr": share
        * hit_rate_at_k(y_true[present], full_scores[present], k=K, exclude=exclude[present]),
        "full_ndcg": share
        * ndcg_at_k(y_true[present], full_scores[present], k=K, exclude=exclude[present]),
        "sampled_hr": hit_rate_at_k(sampled_true, sampled_scores, k=K),
        "sampled_ndcg": ndcg_at_k(sampled_true, sampled_scores, k=K),
    }


def add_weighting_and_validation(parser):
    """The options both exploration scripts share: recency weights and tuning split."""
    parser.add_argument(
        "--recency-boost",
        type=float,
        default=0.0,
        help="weight positives with skncf.preprocessing.recency_weights(boost=BOOST) "
        "(here: every skncf method but `default`, and ALS); 0: unweighted",
    )
    parser.add_argument("--recency-half-life", type=float, default=14.0)
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score on each user's latest train interaction instead of the test set (for tuning)",
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


def train_matrix(split):
    """The split's train pairs as a sparse (users, every item id in the split) matrix."""
    n_users = int(split.train[:, 0].max()) + 1
    n_items = (
        int(max(split.train[:, 1].max(), split.test[:, 1].max(), split.test_negatives.max())) + 1
    )
    return sp.csr_array(
        (np.ones(len(split.train)), (split.train[:, 0], split.train[:, 1])),
        shape=(n_users, n_items),
    )


class ProtocolArrays:
    """What scoring a score matrix needs: train items, exclusions, held-out columns."""

    def __init__(self, split, train_matrix):
        self.items = np.unique(split.train[:, 1])
        self.users = split.test[:, 0]
        self.exclude = train_matrix[self.users][:, self.items]
        position = np.searchsorted(self.items, split.test[:, 1])
        found = self.items[np.minimum(position, len(self.items) - 1)] == split.test[:, 1]
        self.test_columns = np.where(found, position, -1)
        self.sampled_items = np.column_stack([split.test[:, 1], split.test_negatives])

    def evaluate(self, scores):
        """Metrics of a (test users, all item ids) score matrix."""
        return evaluate_scores(
            scores[:, self.items],
            self.exclude,
            self.test_columns,
            np.take_along_axis(scores, self.sampled_items, 1),
        )


def run_skncf(method, split, args, sample_weight):
    """Fit with skncf and score with skncf's own evaluate().

    ``default`` is ``NCFRecommender()`` with every default, fitted without weights; the
    others use the settings given on the command line and ``sample_weight``.
    """
    model, pretrain = ("neumf", True) if method == "neumf-pretrain" else (method, False)
    rec = (
        NCFRecommender(random_state=args.seed)
        if method == "default"
        else NCFRecommender(
            architecture=model,
            pretrain=pretrain,
            latent_dim=args.latent_dim,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            epochs=args.epochs,
            n_negatives=args.negatives,
            loss=args.loss,
            l2=args.l2,
            init=args.init if model in ("gmf", "neumf") else "random",
            handle_unknown="ignore",
            random_state=args.seed,
        )
    )
    tic = time.perf_counter()
    rec.fit(split.train, sample_weight=None if method == "default" else sample_weight)
    seconds = time.perf_counter() - tic
    return skncf_metrics(rec, split), seconds, rec.epochs_ * (3 if pretrain else 1)


def skncf_metrics(rec, split):
    """Full and sampled HR@10 / NDCG@10 of a fitted recommender, by skncf's evaluate()."""
    report = evaluate(rec, split.test, negatives=split.test_negatives, k=K)
    return {
        "full_hr": report["full"][f"hit_rate@{K}"],
        "full_ndcg": report["full"][f"ndcg@{K}"],
        "sampled_hr": report["sampled"][f"hit_rate@{K}"],
        "sampled_ndcg": report["sampled"][f"ndcg@{K}"],
    }


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


def run_als(split, train_matrix, args, sample_weight):
    """implicit's ALS over a grid; report the best setting by full HR@10 (in its favour).

    The confidence of a positive is ``alpha`` times its sample weight (1 when unweighted).
    """
    from implicit.cpu.als import AlternatingLeastSquares

    arrays = ProtocolArrays(split, train_matrix)
    weights = np.ones(len(split.train)) if sample_weight is None else sample_weight
    confidence = sp.csr_array(
        (weights, (split.train[:, 0], split.train[:, 1])), shape=train_matrix.shape
    )
    best = None
    for factors in (64, 128):
        for regularization in (1.0, 3.0, 10.0, 30.0):
            for alpha in (1.0, 3.0, 10.0):
                tic = time.perf_counter()
                als = AlternatingLeastSquares(
                    factors=factors,
                    regularization=regularization,
                    alpha=alpha,
                    iterations=15,
                    random_state=args.seed,
                )
                als.fit(sp.csr_matrix(confidence), show_progress=False)
                seconds = time.perf_counter() - tic
                scores = als.user_factors[arrays.users] @ als.item_factors.T
                metrics = arrays.evaluate(scores)
                print(
                    f"  als factors {factors} reg {regularization:g} alpha {alpha:g}: "
                    f"full HR@10 {metrics['full_hr']:.3f}, "
                    f"sampled HR@10 {metrics['sampled_hr']:.3f}",
                    flush=True,
                )
                if best is None or metrics["full_hr"] > best[0]["full_hr"]:
                    best = metrics, seconds, f"15 (f{factors} r{regularization:g} a{alpha:g})"
    return best


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


def run_plain_keras(split, train_matrix, args):
    """The plain-Keras NeuMF's best epoch (by full HR@10): metrics, seconds, epoch."""
    best = None
    for epoch, seconds, metrics in plain_keras_curve(split, train_matrix, args):
        if best is None or metrics["full_hr"] > best[0]["full_hr"]:
            best = metrics, seconds, epoch
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=os.environ.get("SKNCF_NCF_SPLIT"),
        help="split prefix (default $SKNCF_NCF_SPLIT)",
    )
    parser.add_argument("--methods", default=",".join(METHODS))
    defaults = NCFRecommender()
    parser.add_argument("--epochs", type=auto_or(int), default=defaults.epochs)
    parser.add_argument("--latent-dim", type=int, default=defaults.latent_dim)
    parser.add_argument("--learning-rate", type=auto_or(float), default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=auto_or(int), default=defaults.batch_size)
    parser.add_argument("--negatives", type=auto_or(int), default=defaults.n_negatives)
    parser.add_argument("--loss", choices=("log", "softmax"), default=defaults.loss)
    parser.add_argument("--l2", type=float, default=defaults.l2)
    parser.add_argument(
        "--init",
        choices=("random", "svd"),
        default=NCFRecommender().init,
        help="start of the GMF embeddings of gmf and neumf (seed and mlp start random)",
    )
    parser.add_argument("--keras-factors", type=int, default=16)
    parser.add_argument("--keras-epochs", type=int, default=10)
    add_weighting_and_validation(parser)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    split = load_ncf_split(args.data)
    if args.validation:
        split = validation_split(split, args.seed)
    sample_weight = None
    if args.recency_boost:
        sample_weight = recency_weights(
            split.train[:, 0],
            split.train_timestamps,
            boost=args.recency_boost,
            half_life=args.recency_half_life,
        )

    train_csr = train_matrix(split)
    print(
        f"{args.data}: {len(split.train)} train pairs, {len(split.test)} test users; "
        f"skncf settings: {vars(args)}",
        flush=True,
    )
    rows = []
    for method in args.methods.split(","):
        if method == "keras-neumf":
            metrics, seconds, epochs = run_plain_keras(split, train_csr, args)
        elif method == "als":
            metrics, seconds, epochs = run_als(split, train_csr, args, sample_weight)
        else:
            metrics, seconds, epochs = run_skncf(method, split, args, sample_weight)
        rows.append((method, metrics, seconds, epochs))
        print(f"  {method}: {metrics} {seconds:.0f} s", flush=True)
    header = "method | full HR@10 | full NDCG@10 | sampled HR@10 | sampled NDCG@10 | fit s | epochs"
    print(f"\n| {header} |")
    print("|---|---|---|---|---|---|---|")
    for method, m, seconds, epochs in rows:
        print(
            f"| {method} | {m['full_hr']:.3f} | {m['full_ndcg']:.3f} | {m['sampled_hr']:.3f} | "
            f"{m['sampled_ndcg']:.3f} | {seconds:.0f} | {epochs} |"
        )


if __name__ == "__main__":
    main()
