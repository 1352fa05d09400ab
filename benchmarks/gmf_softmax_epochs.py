"""GMF with the softmax loss, written directly in TensorFlow, scored after every epoch.

An exploration tool, not a product path: it trains the model skncf trains with
``NCFRecommender(architecture="gmf", loss="softmax")`` (user and item embeddings, a per-item
bias, the GMF weights fixed at 1 unless ``--learned-weights``) in a plain TensorFlow
loop, and prints full-ranking and sampled HR@10 / NDCG@10 after every epoch, so that one
run shows how a setting evolves. It is how the per-positive softmax settings of earlier
versions were explored (``benchmarks/README.md`` as of commit 5364ef8, "The softmax
loss").

    python benchmarks/gmf_softmax_epochs.py --data ../shared/data/ml1m-half/ml1m-half \
        --latent-dim 128 --l2 0.001 --epochs 12

``--data`` is the split's prefix; it defaults to ``$SKNCF_NCF_SPLIT``.
"""

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from ncf_protocol import ProtocolArrays, add_weighting_and_validation, validation_split

from skncf.datasets import load_ncf_split
from skncf.preprocessing import recency_weights


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SKNCF_NCF_SPLIT"))
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.002)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--cosine-decay", action="store_true", help="decay lr to 0")
    parser.add_argument(
        "--learned-weights",
        action="store_true",
        help="learn the GMF output weights from the paper's lecun_uniform start",
    )
    parser.add_argument(
        "--leave-out-positives",
        action="store_true",
        help="leave the user's other positives out of the softmax normalisation",
    )
    add_weighting_and_validation(parser)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data PREFIX or set SKNCF_NCF_SPLIT")
    return args


def main():
    args = parse_args()
    split = load_ncf_split(args.data)
    if args.validation:
        split = validation_split(split, args.seed)
    users, items = split.train[:, 0].astype(np.int32), split.train[:, 1].astype(np.int32)
    n_users = int(users.max()) + 1
    n_items = int(max(items.max(), split.test[:, 1].max(), split.test_negatives.max())) + 1
    tf.random.set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    dim = args.latent_dim
    user_emb = tf.Variable(tf.random.normal((n_users, dim), stddev=0.01))
    item_emb = tf.Variable(tf.random.normal((n_items, dim), stddev=0.01))
    item_bias = tf.Variable(tf.zeros(n_items))
    if args.learned_weights:
        limit = np.sqrt(3 / dim)
        weights = tf.Variable(tf.random.uniform((dim,), -limit, limit))
    else:
        weights = tf.ones(dim)
    variables = [user_emb, item_emb, item_bias] + ([weights] if args.learned_weights else [])
    steps = args.epochs * -(-len(users) // args.batch_size)
    rate = args.learning_rate
    if args.cosine_decay:
        rate = tf.keras.optimizers.schedules.CosineDecay(rate, steps)
    optimizer = tf.keras.optimizers.Adam(rate)

    @tf.function
    def step(u, i, w, mask):
        with tf.GradientTape() as tape:
            p, q = tf.gather(user_emb, u), item_emb
            if args.dropout:
                p, q = tf.nn.dropout(p, args.dropout), tf.nn.dropout(q, args.dropout)
            logits = tf.matmul(p * weights, q, transpose_b=True) + item_bias + mask
            loss = tf.reduce_mean(w * tf.nn.sparse_softmax_cross_entropy_with_logits(i, logits))
            rows = tf.reduce_sum(tf.gather(user_emb, u) ** 2) + tf.reduce_sum(
                tf.gather(item_emb, i) ** 2
            )
            penalty = args.l2 * rows / tf.cast(tf.shape(u)[0], tf.float32)
            if args.learned_weights:
                penalty += args.l2 * tf.reduce_sum(weights**2)
            total = loss + penalty
        grads = tape.gradient(total, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    weights_of = recency_weights(
        users,
        split.train_timestamps,
        boost=args.recency_boost,
        half_life=args.recency_half_life,
    ).astype(np.float32)
    train = sp.csr_array((np.ones(len(users)), (users, items)), shape=(n_users, n_items))
    protocol = ProtocolArrays(split, train)
    tic = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(users))
        losses = []
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            mask = np.zeros((len(batch), n_items), np.float32)
            if args.leave_out_positives:
                known = train[users[batch]].tocoo()
                mask[known.row, known.col] = -1e9
                mask[np.arange(len(batch)), items[batch]] = 0
            losses.append(float(step(users[batch], items[batch], weights_of[batch], mask)))
        user_part = tf.gather(user_emb, protocol.users) * weights
        m = protocol.evaluate((user_part @ tf.transpose(item_emb)).numpy() + item_bias.numpy())
        print(
            f"epoch {epoch}: loss {np.mean(losses):.3f}, full HR@10 {m['full_hr']:.3f} "
            f"NDCG@10 {m['full_ndcg']:.3f}, sampled HR@10 {m['sampled_hr']:.3f} "
            f"NDCG@10 {m['sampled_ndcg']:.3f}, {time.perf_counter() - tic:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
