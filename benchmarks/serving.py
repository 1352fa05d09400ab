"""Serving latency: skncf ``recommend`` / ``predict`` against the naive Keras way.

For each architecture, one process: fit one epoch (the weights' values do not matter
for speed), then time
- ``recommend(all users, k=10)`` against Keras ``model.predict`` over every
  (user, item) pair followed by a top-10 per user (``np.argpartition``), and
- ``predict`` of one pair against ``model.predict`` and a direct ``model(...)`` call.
Medians over ``--repeats`` runs (one-pair calls: over 200), and the ratios.

    python benchmarks/serving.py --data ../shared/data/ml1m-half/ml1m-half

``--data`` is an NCF split prefix (default ``$SKNCF_NCF_SPLIT``; synthetic data of the
same size if unset).
"""

import argparse

import numpy as np
from common import data_option, median_seconds, synthetic_pairs

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split


def median_seconds_of(call, repeats):
    return median_seconds(call, repeats)[1]


def keras_recommend(model, users, items, k=10):
    """Score every pair with ``model.predict`` and keep each user's top k."""
    scores = model.predict(
        [np.repeat(users, len(items))[:, None], np.tile(items, len(users))[:, None]],
        batch_size=65536,
        verbose=0,
    ).reshape(len(users), len(items))
    return np.argpartition(-scores, k, axis=1)[:, :k]


def measure(architecture, pairs, users, items, repeats):
    """Median seconds: recommend all, Keras all + top-10, and the three one-pair calls."""
    rec = NCFRecommender(architecture=architecture, epochs=1, batch_size=4096, random_state=0)
    rec.fit(pairs)
    graph, one = rec.model_, pairs[:1]
    # The graph works on codes 0..n-1 (skncf maps labels to codes itself).
    user_codes = np.arange(len(rec.users_), dtype=np.int32)
    item_codes = np.arange(len(rec.items_), dtype=np.int32)
    one_code = [np.zeros((1, 1), np.int32), np.zeros((1, 1), np.int32)]
    return (
        median_seconds_of(lambda: rec.recommend(users, k=10), repeats),
        median_seconds_of(
            lambda: keras_recommend(graph, user_codes, item_codes),
            max(1, repeats // 2),
        ),
        median_seconds_of(lambda: rec.predict(one), 200),
        median_seconds_of(lambda: graph.predict(one_code, verbose=0), 50),
        median_seconds_of(lambda: graph(one_code), 200),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_option(parser)
    parser.add_argument("--models", default="gmf,seed,neumf")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pairs = load_ncf_split(args.data).train if args.data else synthetic_pairs()
    users, items = np.unique(pairs[:, 0]), np.unique(pairs[:, 1])
    print(f"{args.data or 'synthetic'}: {len(users)} users x {len(items)} items", flush=True)
    rows = []
    for architecture in args.models.split(","):
        rows.append((architecture, *measure(architecture, pairs, users, items, args.repeats)))
        print(f"  {architecture}: recommend {rows[-1][1]:.3f} s vs Keras {rows[-1][2]:.2f} s")
    print(
        "\n| model | recommend all, k=10 (s) | Keras predict all + top-10 (s) | ratio "
        "| predict 1 pair (ms) | Keras predict 1 pair (ms) | Keras model(x) 1 pair (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    for architecture, ours, naive, ours_one, keras_one, call_one in rows:
        print(
            f"| {architecture} | {ours:.3f} | {naive:.2f} | {naive / ours:.0f}x "
            f"| {1000 * ours_one:.2f} | {1000 * keras_one:.1f} | {1000 * call_one:.2f} |"
        )


if __name__ == "__main__":
    main()
