"""Time to quality: how soon skncf at its defaults matches a plain-Keras NeuMF's accuracy.

In one process: the plain-Keras NeuMF of ``ncf_protocol.py`` (``Model.fit``, batch 256,
4 negatives, Adam 1e-3) trains for ``--keras-epochs`` epochs, scored after each; its
best epoch by full HR@10 sets the target (its full and sampled HR@10) and the baseline
time (its training seconds up to that epoch). Then ``NCFRecommender(epochs=e)``, every
other setting at its default (``--init``, ``--loss`` and ``--l2`` may change those), is
fitted from scratch for e = 1, 2, ... until it reaches both target figures (or
``--max-epochs``); each fit is timed as a whole (validation, id encoding, graph
building, tracing, compiling, training), as a process's first fit: the compiled
program an earlier fit kept (``skncf._training.programs``) is forgotten first. Prints the table
and the ratio of the two times. Scoring follows ``../shared/data/PROTOCOL.md`` and is not timed.

    python benchmarks/time_to_quality.py --data ../shared/data/ml1m-half/ml1m-half

``--data`` is the split's prefix; it defaults to ``$SKNCF_NCF_SPLIT``.
"""

import argparse
import time

from common import data_option, plain_keras_curve, skncf_metrics, train_matrix

from skncf import NCFRecommender
from skncf._training.programs import forget as forget_compiled_programs
from skncf.datasets import load_ncf_split


def skncf_curve(split, max_epochs, seed, **settings):
    """Yield ``(epochs, fit_seconds, metrics)`` of default fits of 1, 2, ... epochs.

    ``settings`` (``init``, ``loss``, ``l2``) are the ones that may leave their defaults.
    """
    for epochs in range(1, max_epochs + 1):
        rec = NCFRecommender(epochs=epochs, handle_unknown="ignore", random_state=seed, **settings)
        forget_compiled_programs()
        tic = time.perf_counter()
        rec.fit(split.train)
        seconds = time.perf_counter() - tic
        metrics = skncf_metrics(rec, split)
        print(
            f"  skncf epochs={epochs}: full HR@10 {metrics['full_hr']:.3f}, "
            f"sampled HR@10 {metrics['sampled_hr']:.3f}, {seconds:.1f} s",
            flush=True,
        )
        yield epochs, seconds, metrics


def reaches(metrics, target):
    return all(metrics[key] >= target[key] for key in ("full_hr", "sampled_hr"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--keras-epochs", type=int, default=10)
    parser.add_argument("--keras-factors", type=int, default=16)
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=40,
        help="most epochs tried (default: 40, twice the default fit's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--init",
        choices=("popularity", "random", "svd"),
        default=NCFRecommender().init,
        help="NCFRecommender's init (one of the settings that may leave their defaults)",
    )
    parser.add_argument(
        "--loss",
        choices=("softmax", "log"),
        default=NCFRecommender().loss,
        help="NCFRecommender's loss",
    )
    parser.add_argument(
        "--l2",
        type=float,
        default=NCFRecommender().l2,
        help="NCFRecommender's l2",
    )
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    split = load_ncf_split(args.data)
    train = train_matrix(split)
    rows = [("plain Keras NeuMF", *row) for row in plain_keras_curve(split, train, args)]
    _, best_epoch, baseline_seconds, target = max(rows, key=lambda row: row[3]["full_hr"])
    print(
        f"target (Keras best epoch {best_epoch}): full HR@10 {target['full_hr']:.3f}, "
        f"sampled HR@10 {target['sampled_hr']:.3f}, reached in {baseline_seconds:.0f} s",
        flush=True,
    )
    reached = None
    settings = {"init": args.init, "loss": args.loss, "l2": args.l2}
    name = f"skncf {NCFRecommender().architecture}, defaults" + "".join(
        f", {key}={value!r}"
        for key, value in settings.items()
        if value != NCFRecommender().get_params()[key]
    )
    for epochs, seconds, metrics in skncf_curve(split, args.max_epochs, args.seed, **settings):
        rows.append((name, epochs, seconds, metrics))
        if reaches(metrics, target):
            reached = seconds
            break

    print(
        "\n| model | epochs | fit s | full HR@10 | full NDCG@10 | sampled HR@10 | sampled NDCG@10 |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, epochs, seconds, m in rows:
        print(
            f"| {name} | {epochs} | {seconds:.1f} | {m['full_hr']:.3f} | {m['full_ndcg']:.3f} "
            f"| {m['sampled_hr']:.3f} | {m['sampled_ndcg']:.3f} |"
        )
    if reached is None:
        print(f"\nskncf did not reach the target within {args.max_epochs} epochs")
    else:
        print(
            f"\ntime to quality: skncf {reached:.1f} s, plain Keras {baseline_seconds:.0f} s: "
            f"{reached / baseline_seconds:.2f} of the baseline's time "
            f"({baseline_seconds / reached:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
