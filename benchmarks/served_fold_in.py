"""New users from their history, served by the SavedModel against Python's ``fold_in``.

A model fit on nine tenths of a split's users (seeded) is exported; the left-out users
are then folded in from their train rows both ways, in batches of 1, 10 and 100 users:
``rec.fold_in(history).recommend(users, k=10)`` in Python (L-BFGS), and the export's
``recommend_from_history(user, item, k=10)`` (Newton's method in the TensorFlow graph).
Prints the median time of each per batch (after a first, tracing call), their ratio, the
share of identical top-10 lists and the largest score difference between the two, the
share of the graph's lists identical to Python's for each user folded in alone, and how
far Python's scores (over the whole catalog) move between a user folded in with the
batch and alone: L-BFGS solves a batch's users as one problem, and stops short of the
optimum that Newton's method reaches user by user.

    python benchmarks/served_fold_in.py --data ../shared/data/ml1m-half/ml1m-half
"""

import argparse
import tempfile
import time

import numpy as np
import tensorflow as tf
from common import data_option, median_seconds, print_table, required_data

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_option(parser)
    parser.add_argument("--architecture", default="gmf", choices=["gmf", "seed"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    train = load_ncf_split(required_data(args, parser)).train
    users = np.unique(train[:, 0])
    new = np.random.default_rng(0).permutation(users)[: len(users) // 10]
    held = np.isin(train[:, 0], new)
    rec = NCFRecommender(args.architecture, handle_unknown="ignore", random_state=0)
    rec.fit(train[~held])
    tic = time.perf_counter()
    path = rec.export(f"{tempfile.mkdtemp()}/1")
    print(f"export: {time.perf_counter() - tic:.1f} s")
    served = tf.saved_model.load(path).signatures["recommend_from_history"]
    rows = []
    for n_users in [n for n in (1, 10, 100) if n <= len(new)]:
        history = train[np.isin(train[:, 0], new[:n_users])]
        asked = [tf.constant(history[:, 0]), tf.constant(history[:, 1])]

        def in_graph(asked=asked):
            return served(user=asked[0], item=asked[1], k=tf.constant(10))

        def in_python(history=history):
            folded = rec.fold_in(history)
            return folded.recommend(folded.users_, k=10, return_scores=True)

        out, (items, scores) = in_graph(), in_python()  # the first calls trace
        order = np.argsort(out["users"].numpy())  # the graph's: order of first appearance
        graph_items, graph_scores = out["items"].numpy()[order], out["scores"].numpy()[order]
        in_batch = rec.fold_in(history)
        alone, moved = [], 0.0  # each user folded in by itself; its scores against the batch's
        for user in np.sort(new[:n_users]):
            folded = rec.fold_in(history[history[:, 0] == user])
            alone.append(folded.recommend(folded.users_, k=10))
            pairs = np.column_stack([np.full(len(rec.items_), user), rec.items_])
            moved = max(moved, np.abs(folded.predict(pairs) - in_batch.predict(pairs)).max())
        alone = np.vstack(alone)
        _, python_s = median_seconds(in_python, args.repeats)
        _, graph_s = median_seconds(in_graph, args.repeats)
        rows.append([
            n_users, len(history), f"{python_s:.3f}", f"{graph_s:.3f}",
            f"{python_s / graph_s:.1f}x", f"{np.all(graph_items == items, axis=1).mean():.2f}",
            f"{np.abs(graph_scores - scores).max():.1e}",
            f"{np.all(graph_items == alone, axis=1).mean():.2f}", f"{moved:.1e}",
        ])  # fmt: skip
    print_table(
        ["users", "pairs", "fold_in + recommend (s)", "recommend_from_history (s)",
         "Python / graph", "same top-10", "largest score difference", "same top-10, one by one",
         "Python, batch against one by one: largest score difference"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
