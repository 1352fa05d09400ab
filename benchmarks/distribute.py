"""What a tf.distribute strategy costs: fit time without one, and under strategies.

In one process, alternating: ``NCFRecommender(epochs=..., distribute=...)`` with no
strategy, ``OneDeviceStrategy`` (the same model, through the distributed code path) and
``MirroredStrategy`` over ``--replicas`` logical CPU devices carved out of this machine's
CPU (they share its cores, so this measures the strategy's overhead, not a speed-up; on
several GPUs each replica has its own device). Prints median fit seconds and the ratio
to no strategy, on ml1m-half-sized synthetic pairs (``common.synthetic_pairs``; ``--pairs``
sets how many).

    python benchmarks/distribute.py [--architecture neumf] [--repeats 3]

Options left out keep the estimator's defaults.
"""

import argparse
import statistics
import time

import tensorflow as tf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture")
    parser.add_argument("--optimizer")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=480_000, help="synthetic pairs to fit")
    args = parser.parse_args()

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas
    )
    from common import synthetic_pairs

    from skncf import NCFRecommender

    pairs = synthetic_pairs(n_pairs=args.pairs)
    strategies = {
        "none": None,
        "OneDeviceStrategy": tf.distribute.OneDeviceStrategy("/cpu:0"),
        f"MirroredStrategy, {args.replicas} CPU devices": tf.distribute.MirroredStrategy(
            [f"/cpu:{n}" for n in range(args.replicas)]
        ),
    }
    seconds = {name: [] for name in strategies}
    chosen = {
        "architecture": args.architecture,
        "optimizer": args.optimizer,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
    }
    settings = {key: value for key, value in chosen.items() if value is not None}
    for _ in range(args.repeats):
        for name, strategy in strategies.items():
            rec = NCFRecommender(
                **settings,
                random_state=0,
                distribute=strategy,
            )
            tic = time.perf_counter()
            rec.fit(pairs)
            seconds[name].append(time.perf_counter() - tic)
    base = statistics.median(seconds["none"])
    params = {key: rec.get_params()[key] for key in chosen}
    print(f"{len(pairs):,} pairs, {params}; batch size {rec.batch_size_}, {rec.epochs_} epochs")
    print("| strategy | median fit s | ratio to none |")
    print("|---|---|---|")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
