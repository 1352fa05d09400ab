"""Command line: ``python -m skncf demo`` (also installed as the ``skncf`` script)."""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="skncf", description="Neural Collaborative Filtering for scikit-learn."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train on built-in synthetic data (no download) and print metrics",
        description="Train on built-in synthetic interactions with planted taste groups "
        "and print ranking quality, example recommendations and explicit-rating R^2.",
    )
    demo.add_argument("--users", type=int, default=600, help="number of users (default 600)")
    demo.add_argument("--items", type=int, default=300, help="number of items (default 300)")
    demo.add_argument(
        "--model",
        default="neumf",
        choices=["neumf", "gmf", "mlp", "seed"],
        help="architecture (default neumf)",
    )
    demo.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    from ._demo import run_demo

    try:
        run_demo(
            n_users=args.users,
            n_items=args.items,
            model=args.model,
            epochs=args.epochs,
            random_state=args.seed,
        )
    except (ValueError, TypeError) as error:
        print(f"skncf: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
