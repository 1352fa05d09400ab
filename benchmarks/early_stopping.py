"""Early stopping on validation NDCG@10: does it pick the best epoch of the test curve?

Holds out each user's latest *training* interaction (by timestamp: the test protocol one
step earlier, never the test set) and fits ``NCFRecommender(n_iter_no_change=...,
epochs=...)`` on the rest with ``fit(..., validation_data=held_out)``: after every epoch
the held-out pairs are ranked (full NDCG@10), and training stops when that has not
improved for ``--patience`` epochs, restoring the best epoch's weights. With
``--validation-fraction F`` the validation set is instead one *random* positive of a
share F of the users (``validation_fraction=F``). A Keras callback also scores the test
pairs after every epoch (full-ranking NDCG@10, read-only), so the table shows how the
epoch chosen on validation data compares with the best epoch on test data. Finally the
returned model is scored by the NCF protocol (full and sampled).

    python benchmarks/early_stopping.py --data ../shared/data/ml1m-half/ml1m-half

``--data`` is an NCF split prefix (default ``$SKNCF_NCF_SPLIT``).
"""

import argparse
import time

import keras
import numpy as np
from common import data_option, skncf_metrics, train_matrix

from skncf import NCFRecommender
from skncf._training.callbacks import Validation
from skncf.datasets import load_ncf_split
from skncf.model_selection import LeaveLastOut


class TestCurve(keras.callbacks.Callback):
    """Full-ranking NDCG@10 of the test pairs after every epoch (for the report only)."""

    def __init__(self, split, train):
        super().__init__()
        # codes as fit assigns them (sorted ids of the pairs trained on); every train
        # interaction of the split, held-out validation pairs included, is left out
        users, items = np.unique(train[:, 0]), np.unique(train[:, 1])
        known = np.isin(split.test[:, 0], users) & np.isin(split.test[:, 1], items)
        test = split.test[known]
        seen = train_matrix(split)[users][:, items]
        self.score = Validation(
            np.searchsorted(users, test[:, 0]),
            np.searchsorted(items, test[:, 1]),
            seen=seen.tocsr(),
        )
        self.share = known.mean()  # pairs with an unknown id count as misses
        self.curve = []

    def on_epoch_end(self, epoch, logs=None):
        self.curve.append(self.score(self.model) * self.share)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--epochs", type=int, default=30, help="at most this many epochs")
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument(
        "--validation-fraction",
        type=float,
        help="validate on a random positive of this share of users instead of the latest",
    )
    parser.add_argument("--architecture", default=NCFRecommender().architecture)
    args = parser.parse_args()
    if not args.data:
        parser.error("--data (or $SKNCF_NCF_SPLIT) is required")
    split = load_ncf_split(args.data)
    rec = NCFRecommender(
        architecture=args.architecture,
        epochs=args.epochs,
        validation_fraction=args.validation_fraction,
        n_iter_no_change=args.patience,
        random_state=0,
        verbose=1,
    )
    train, validation = split.train, None
    if args.validation_fraction is None:
        fit_rows, held_rows = next(
            LeaveLastOut(timestamps=split.train_timestamps).split(split.train)
        )
        train, validation = split.train[fit_rows], split.train[held_rows]
    curve = TestCurve(split, train)
    rec.set_params(callbacks=[curve])
    tic = time.perf_counter()
    rec.fit(train, validation_data=validation)
    seconds = time.perf_counter() - tic
    validation = rec.history_["val_ndcg@10"]
    chosen = int(np.argmax(validation))
    print(
        f"\n{args.data}: architecture={args.architecture}, fit {seconds:.0f} s, "
        f"{len(validation)} epochs"
    )
    print("\n| epoch | loss | validation NDCG@10 | test NDCG@10 (full) |")
    print("|---|---|---|---|")
    for epoch, (loss, val, test) in enumerate(zip(rec.history_["loss"], validation, curve.curve)):
        mark = " **chosen**" if epoch == chosen else ""
        print(f"| {epoch + 1}{mark} | {loss:.4f} | {val:.4f} | {test:.4f} |")
    best = int(np.argmax(curve.curve))
    print(
        f"\nchosen epoch {chosen + 1} (validation); best test epoch {best + 1}; test NDCG@10 "
        f"{curve.curve[chosen]:.4f} chosen vs {curve.curve[best]:.4f} best "
        f"({curve.curve[-1]:.4f} at the last epoch run)"
    )
    metrics = skncf_metrics(rec, split)
    print(
        "returned model (best weights restored): "
        + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
    )


if __name__ == "__main__":
    main()
