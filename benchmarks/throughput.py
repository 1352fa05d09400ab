"""Training throughput: skncf ``fit`` against plain Keras ``Model.fit`` on the same graph.

For each architecture, in one process and alternating: plain Keras compiles the graph
skncf builds (Adam 1e-3, binary cross-entropy) and runs ``Model.fit`` for ``--epochs``
epochs over the positives and 4 negatives per positive (drawn by skncf's own vectorized
sampler, shuffled; one draw for all epochs); skncf runs ``NCFRecommender(architecture=...,
loss="log", n_negatives=4, epochs=...).fit(X)``. Each side is timed as a whole (skncf's
``fit`` includes validation, id encoding, graph building, negative sampling, tracing and
compiling; Keras' ``Model.fit`` its tracing, not the negatives drawn before its clock
starts) and, through the same Keras callback, by its last epoch alone (with one epoch,
that epoch includes each side's tracing). Both see the same number of samples at the same
batch size. Prints samples/s, medians over ``--repeats`` runs, and the ratios.

Every skncf fit is timed as a process's first: the compiled program an earlier fit of
the same setting kept (``skncf._training.programs``) is forgotten first, unless ``--warm``, which
times later runs as refits in a process that already compiled (Keras' ``Model.fit`` on a
new model traces again either way).

    python benchmarks/throughput.py                      # synthetic, ml1m-half sized
    python benchmarks/throughput.py --data ../shared/data/ml1m-half/ml1m-half --epochs 3

``--data`` is an NCF split prefix (default ``$SKNCF_NCF_SPLIT``; synthetic data if unset).
"""

import argparse
import statistics
import time

import keras
import numpy as np
import scipy.sparse as sp
from common import data_option, synthetic_pairs

from skncf import NCFRecommender
from skncf._graph.graphs import build_graph
from skncf._training.loop import ImplicitExamples
from skncf._training.programs import forget as forget_compiled_programs
from skncf.datasets import load_ncf_split


def keras_samples_per_second(pairs, architecture, batch_size, seed, epochs=1):
    """Samples/s of plain Keras ``Model.fit`` on skncf's graph: whole fit, last epoch."""
    reference = NCFRecommender(architecture=architecture)
    n_users, n_items = int(pairs[:, 0].max()) + 1, int(pairs[:, 1].max()) + 1
    graph = build_graph(
        architecture,
        n_users=n_users,
        n_items=n_items,
        latent_dim=reference.latent_dim,
        mlp_layers=reference.mlp_layers,
        dropout=0.5 if architecture == "seed" else 0.0,
        l2=0.0,
        seeds=iter(range(seed, seed + 100)),
    )
    graph.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    seen = sp.csr_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_users, n_items))
    seen.sort_indices()
    examples = ImplicitExamples(pairs[:, 0], pairs[:, 1], np.ones(len(pairs)), seen, 4)
    users, items, targets, _ = examples.epoch(np.random.default_rng(seed))
    inputs = [users[:, None].astype(np.int32), items[:, None].astype(np.int32)]
    timer = EpochTimer()
    tic = time.perf_counter()
    graph.fit(
        inputs,
        targets,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )
    return epochs * len(targets) / (time.perf_counter() - tic), len(targets) / timer.seconds


class EpochTimer(keras.callbacks.Callback):
    """Seconds from ``on_epoch_begin`` to ``on_epoch_end`` of the last epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.started


def skncf_samples_per_second(pairs, architecture, batch_size, seed, epochs=1, warm=False):
    """Samples/s of a skncf ``fit``: as a whole, and of its last epoch alone.

    The epoch (timed by a Keras callback, as a user would) includes drawing the epoch's
    negatives (and, if it is the first, tracing and compiling the loop, as Keras'
    ``Model.fit`` includes its own tracing); the whole ``fit`` adds validation, id
    encoding and graph building.
    """
    timer = EpochTimer()
    rec = NCFRecommender(
        architecture=architecture,
        loss="log",
        n_negatives=4,
        batch_size=batch_size,
        epochs=epochs,
        callbacks=[timer],
        random_state=seed,
    )
    if not warm:
        forget_compiled_programs()
    tic = time.perf_counter()
    rec.fit(pairs)
    n_samples = 5 * len(pairs)
    return epochs * n_samples / (time.perf_counter() - tic), n_samples / timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--models", default="seed,neumf")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--warm", action="store_true", help="let skncf fits reuse the first run's compile"
    )
    args = parser.parse_args()
    pairs = load_ncf_split(args.data).train if args.data else synthetic_pairs()
    print(
        f"{args.data or 'synthetic'}: {len(pairs)} positives, 4 negatives each "
        f"({5 * len(pairs)} samples an epoch), batch {args.batch_size}, "
        f"{args.epochs} epoch(s), skncf {'warm' if args.warm else 'cold'}",
        flush=True,
    )
    rows = []
    for architecture in args.models.split(","):
        rates = []  # (Keras fit, Keras last epoch, skncf fit, skncf last epoch) per run
        for repeat in range(args.repeats):
            run = (args.batch_size, repeat, args.epochs)
            rates.append(
                keras_samples_per_second(pairs, architecture, *run)
                + skncf_samples_per_second(pairs, architecture, *run, warm=args.warm)
            )
            print(
                f"  {architecture} run {repeat + 1}: Keras fit {rates[-1][0]:,.0f}/s, "
                f"last epoch {rates[-1][1]:,.0f}/s; skncf fit {rates[-1][2]:,.0f}/s, "
                f"last epoch {rates[-1][3]:,.0f}/s",
                flush=True,
            )
        kf, ke, sf, se = (statistics.median(column) for column in zip(*rates))
        rows.append((architecture, kf, sf, ke, se))
    print(
        "\n| model | Keras fit samples/s | skncf fit samples/s | ratio "
        "| Keras last epoch | skncf last epoch | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for architecture, kf, sf, ke, se in rows:
        print(
            f"| {architecture} | {kf:,.0f} | {sf:,.0f} | {sf / kf:.1f}x "
            f"| {ke:,.0f} | {se:,.0f} | {se / ke:.1f}x |"
        )


if __name__ == "__main__":
    main()
