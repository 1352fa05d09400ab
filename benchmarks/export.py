"""Export latency: the exported SavedModel's ``recommend`` beside ``NCFRecommender.recommend``.

For each architecture, one process: fit one epoch (the weights' values do not matter for
speed), ``export`` the model, load it with ``tf.saved_model.load`` and time its
``recommend`` signature (ids in, top-10 ids and scores out, seen items left out) for 1
user and for 1,000 users, beside the estimator's ``recommend`` on the same users. Medians
over ``--repeats`` calls (one user: 20 times as many), and the ratio SavedModel / skncf.

    python benchmarks/export.py --data ../shared/data/ml1m-half/ml1m-half

``--data`` is an NCF split prefix (default ``$SKNCF_NCF_SPLIT``; synthetic data of the
same size if unset).
"""

import argparse
import tempfile

import numpy as np
import tensorflow as tf
from common import data_option, median_seconds, print_table, synthetic_pairs

from skncf import NCFRecommender
from skncf.datasets import load_ncf_split

K = 10


def measure(architecture, pairs, repeats, folder):
    rec = NCFRecommender(architecture=architecture, epochs=1, random_state=0).fit(pairs)
    served = tf.saved_model.load(rec.export(f"{folder}/{architecture}")).signatures["recommend"]
    rows = []
    for n_users, n_calls in ((1, 20 * repeats), (1000, repeats)):
        users = rec.users_[:n_users]
        ids, k = tf.constant(users), tf.constant(K)
        exported = served(user=ids, k=k)["items"].numpy()
        assert (exported == rec.recommend(users, k=K)).mean() > 0.99  # ties may swap
        _, saved = median_seconds(lambda ids=ids, k=k: served(user=ids, k=k), n_calls)
        _, skncf = median_seconds(lambda users=users: rec.recommend(users, k=K), n_calls)
        rows.append([architecture, n_users, f"{saved * 1e3:.2f}", f"{skncf * 1e3:.2f}",
                     f"{saved / skncf:.2f}"])  # fmt: skip
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data_option(parser)
    parser.add_argument("--architectures", nargs="+", default=["gmf", "neumf"])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    pairs = load_ncf_split(args.data).train if args.data else synthetic_pairs()
    print(f"{len(np.unique(pairs[:, 0]))} users, {len(np.unique(pairs[:, 1]))} items, k={K}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for architecture in args.architectures:
            rows += measure(architecture, pairs, args.repeats, folder)
    print_table(["architecture", "users", "SavedModel ms", "skncf ms", "ratio"], rows)


if __name__ == "__main__":
    main()
