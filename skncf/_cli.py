"""The ``skncf`` command line: fit, evaluate, recommend, similar, explain, export and demo.

Tables are read with pandas (CSV, TSV, Parquet; compressed files too), an optional extra:
``pip install "skncf[cli]"``. Training progress (one line per epoch) goes to stderr, so
that results on stdout can be piped. User mistakes (a missing file or column, a bad id)
print one line, ``skncf: error: ...``, and exit with status 2; success exits 0.
"""

import argparse
import contextlib
import csv
import inspect
import json
import os
import sys
from collections.abc import Sequence

from ._cli_tables import (
    UserError,
    check_columns,
    check_several_items,
    features_options,
    features_table,
    format_of,
    numbers,
    read_table,
    table_format_options,
)
from ._version import __version__

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    _start_tensorflow_quietly()
    try:
        from ._compat import check_keras_backend  # after --help: it imports scikit-learn

        check_keras_backend()
        return args.run(args) or 0
    except (UserError, ValueError, TypeError, OSError, ImportError) as error:
        print(f"skncf: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR


def _start_tensorflow_quietly():
    """Import TensorFlow and start its CPU device with file descriptor 2 muted.

    TensorFlow's C++ libraries log to stderr on import and on device start-up (oneDNN
    notes, "Could not find cuda drivers", cuInit), whatever ``TF_CPP_MIN_LOG_LEVEL``
    says; on a command line that noise would bury skncf's one-line errors. Python
    exceptions still propagate: the descriptor is restored before they are raised.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_logical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _parser():
    parser = argparse.ArgumentParser(
        prog="skncf",
        description="Neural Collaborative Filtering for scikit-learn, from the command line.",
        epilog="Run 'skncf COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"skncf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data, basics = _data_options(), _training_options()
    model = _model_options(basics)
    fit = commands.add_parser(
        "fit",
        parents=[data, model],
        help="train on an interactions file and save the model",
        description="Train an NCFRecommender on an interactions file and save it to one "
        "model file (see skncf.load).",
    )
    fit.add_argument("-o", "--output", required=True, help="model file to write, e.g. m.skncf")
    fit.set_defaults(run=_fit)

    _add_evaluate(commands, data, model)
    _add_recommend(commands)
    _add_similar(commands)
    _add_explain(commands)
    _add_export(commands)
    demo = commands.add_parser(
        "demo",
        parents=[basics],
        help="train on built-in synthetic data (no download) and print metrics",
        description="Train on built-in synthetic interactions with planted taste groups "
        "and print ranking quality, example recommendations and explicit-rating R^2.",
    )
    demo.add_argument("--users", type=int, default=600, help="number of users (default: 600)")
    demo.add_argument("--items", type=int, default=300, help="number of items (default: 300)")
    demo.set_defaults(run=_demo)
    return parser


def _add_evaluate(commands, data, model):
    """The ``evaluate`` command: hold out, train, report ranking metrics or RMSE."""
    evaluate = commands.add_parser(
        "evaluate",
        parents=[data, model],
        help="hold out each user's last interaction, train, report ranking metrics",
        description="Leave-last-out evaluation: each user's last interaction (by --time-col, "
        "else a seeded random one) is held out, the model trains on the rest and every held-"
        "out item is ranked among all items its user has not seen (full ranking); with "
        "--rating-col, the held-out ratings are predicted (RMSE, MAE, R^2). With "
        "--time-split, the latest rows of all users are held out instead.",
    )
    evaluate.add_argument("--k", type=int, default=10, help="cutoff of the metrics (default: 10)")
    in_time = evaluate.add_mutually_exclusive_group()
    in_time.add_argument(
        "--time-split",
        type=float,
        metavar="SHARE",
        help="hold out the latest SHARE (e.g. 0.2) of all rows by --time-col instead: one "
        "cut in time for every user (skncf.model_selection.GlobalTimeSplit), as a model "
        "deployed then would meet its data; users with no row before it are left out",
    )
    in_time.add_argument(
        "--time-cut",
        metavar="TIME",
        help="as --time-split, but cut at TIME: hold out the rows at or after it (a date "
        "such as 2024-07-01, or a number where --time-col holds numbers)",
    )
    _latest_option(evaluate, "the trained users")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(run=_evaluate)


def _add_export(commands):
    """The ``export`` command: a model file as a TensorFlow SavedModel."""
    export = commands.add_parser(
        "export",
        help="write a saved model as a TensorFlow SavedModel that serves raw ids",
        description="Write a model file as a TensorFlow SavedModel (for TensorFlow Serving "
        "or any TensorFlow runtime, no skncf needed) with the signatures serving_default "
        "(user, item -> score), recommend (user, k -> items, scores), recommend_among and "
        "recommend_excluding (within or outside a list of items), similar_items (item, k "
        "-> items, cosines) and similar_users (user, k -> users, cosines), each also _among "
        "and _excluding a list of ids of its kind; for GMF and seed "
        "with implicit feedback recommend_from_history (new users' user, item pairs, k), "
        "recommend_from_weighted_history (with a weight per pair) and explain (user, item, "
        "k -> the history items that lift the item most); "
        "with user features also recommend_new (encoded features, k) and, for the default "
        "encoder, recommend_from_attributes (k, one input per column), and with both "
        "recommend_from_history_and_features and recommend_from_history_and_attributes.",
    )
    export.add_argument("model_file", help="a model file written by 'skncf fit'")
    export.add_argument("output_dir", help="the SavedModel directory, e.g. models/ncf/1")
    _handle_unknown_option(export, "fail the call")
    export.add_argument(
        "--fill-value",
        help="complete lists shorter than k (users who have seen most items, narrow "
        "filters) with this id and NaN scores, where without it such a call fails; no "
        "item's or user's id, e.g. -1 for integer ids (default: none)",
    )
    export.add_argument(
        "--user-fill-value",
        help="the same for lists of users (similar_users), where user ids are of another "
        "type than item ids (default: --fill-value)",
    )
    export.set_defaults(run=_export)


def _data_options():
    """The interactions file and its columns (``fit``, ``evaluate``)."""
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "data", help="interactions: a .csv, .tsv or .parquet file (optionally .gz/.zip/...)"
    )
    data.add_argument("--user-col", default="user", help="column of user ids (default: user)")
    data.add_argument("--item-col", default="item", help="column of item ids (default: item)")
    table_format_options(data)
    target = data.add_mutually_exclusive_group()
    target.add_argument(
        "--rating-col",
        help="column of explicit ratings: learn them by regression (feedback='explicit')",
    )
    target.add_argument(
        "--weight-col",
        help="column of implicit weights or counts (0 = no interaction); default: every "
        "row is one interaction",
    )
    features = data.add_argument_group("side features (user guide: 'Side features and cold start')")
    for side in ("user", "item"):
        features.add_argument(
            f"--{side}-features",
            metavar="FILE",
            help=f"a table of {side} attributes (.csv, .tsv, .parquet): its --{side}-col "
            f"column holds {side} ids, every other column is a feature (numbers, or "
            f"categories as text); {side}s without interactions are scored from it",
        )
    features_options(features)
    return data


def _training_options():
    """Options of every command that trains (``fit``, ``evaluate``, ``demo``)."""
    basics = argparse.ArgumentParser(add_help=False)
    basics.add_argument(
        "--architecture",
        default="gmf",
        choices=["neumf", "gmf", "mlp", "seed"],
        help="the graph: neumf, gmf, mlp or seed (default: gmf)",
    )
    basics.add_argument(
        "--epochs",
        type=_auto(int),
        default="auto",
        help="training epochs (default: auto: by users 14 from the popularity start, 20 "
        "from a random one, else 10)",
    )
    basics.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return basics


def _model_options(basics):
    """``basics`` and the estimator's other parameters (``fit``, ``evaluate``)."""
    model = argparse.ArgumentParser(add_help=False, parents=[basics])
    model.add_argument("--latent-dim", type=int, default=128, help="embedding width (default: 128)")
    model.add_argument(
        "--batch-size",
        type=_auto(int),
        default="auto",
        help="users per step when training by users, else examples (default: auto, 128 / 256)",
    )
    model.add_argument(
        "--learning-rate",
        type=_auto(float),
        default="auto",
        help="Adam's learning rate (default: auto, 0.003 by users, else 0.001)",
    )
    model.add_argument(
        "--loss",
        default="softmax",
        choices=["softmax", "log"],
        help="implicit-feedback loss (default: softmax)",
    )
    model.add_argument(
        "--l2",
        type=float,
        default=0.0,
        help="L2 penalty on the embedding rows of a batch's positives and the dense kernels "
        "(default: 0)",
    )
    model.add_argument(
        "--init",
        default="popularity",
        choices=["popularity", "random", "svd"],
        help="how training starts: popularity starts the item biases of the softmax by "
        "users at log popularity; svd starts the GMF embeddings of gmf and neumf from the "
        "interactions' SVD (default: popularity)",
    )
    model.add_argument(
        "--quiet", action="store_true", help="do not print one progress line per epoch"
    )
    _recency_options(
        model.add_argument_group("timestamps"),
        "column of timestamps (numbers, or dates as text): for evaluate, what defines "
        "each user's last interaction (or the cut of --time-split); for --recency, how "
        "recent each one is",
    )
    return model


def _recency_options(group, time_help):
    """--time-col and the --recency options, on ``group``."""
    from .preprocessing import recency_weights  # numpy only: --help stays quick

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(recency_weights).parameters.items()
    }
    group.add_argument("--time-col", help=time_help)
    group.add_argument(
        "--recency",
        action="store_true",
        help="weight each interaction by how recent it is among its user's (skncf."
        "preprocessing.recency_weights: 1 + boost * 0.5 ** (age / half-life), age counting "
        "the user's later interactions); needs --time-col",
    )
    group.add_argument(
        "--recency-boost",
        type=float,
        help=f"extra weight of the latest (default: {defaults['boost']:g}; implies --recency)",
    )
    group.add_argument(
        "--recency-half-life",
        type=float,
        help="age, in interactions, at which the extra weight halves (default: "
        f"{defaults['half_life']:g}; implies --recency)",
    )


def _latest_option(group, whom):
    """--latest: fold ``whom`` in from each user's latest interactions alone."""
    group.add_argument(
        "--latest",
        type=int,
        metavar="N",
        help=f"score {whom} from each one's N latest interactions by --time-col (skncf."
        "preprocessing.latest_interactions, ties at the cut kept), folded into the model: "
        "that ranks what users do next better than their whole history, which stays seen",
    )


def _latest_rows(args, users, times):
    """The mask of each user's --latest rows, or None without the option."""
    from .preprocessing import latest_interactions

    if args.latest is None:
        return None
    if times is None:
        raise UserError("--latest needs --time-col, the column of timestamps.")
    try:
        return latest_interactions(users, times, n=args.latest)
    except ValueError as error:
        raise UserError(str(error).replace("n must", "--latest must")) from None


def _add_recommend(commands):
    """The ``recommend`` command: top-k items from a model file."""
    recommend = commands.add_parser(
        "recommend",
        help="recommend items for users with a saved model",
        description="Recommend the k best unseen items for each user, from a model file "
        "written by 'skncf fit'. Output: CSV (user, rank, item, score) or JSON.",
    )
    recommend.add_argument("model_file", help="a model file written by 'skncf fit'")
    who = recommend.add_mutually_exclusive_group()
    who.add_argument("--users", nargs="+", metavar="ID", help="user ids")
    who.add_argument("--users-file", help="a text file with one user id per line")
    who.add_argument("--all-users", action="store_true", help="every user the model knows")
    who.add_argument(
        "--history",
        metavar="FILE",
        help="an interactions file (.csv, .tsv, .parquet) of users to fold in from their "
        "history, without refitting: recommends for each of its users",
    )
    recommend.add_argument(
        "--user-features",
        metavar="FILE",
        help="new users' attributes, columns as in fit's --user-features (a model fit with "
        "them): recommends for each of its users from their attributes, and from their "
        "--history too when given",
    )
    recommend.add_argument(
        "--item-features",
        metavar="FILE",
        help="new items' attributes, columns as in fit's --item-features (a model fit with "
        "them): the items the model does not know join the catalog before ranking",
    )
    recommend.add_argument("--k", type=int, default=10, help="items per user (default: 10)")
    recommend.add_argument(
        "--include-seen", action="store_true", help="also recommend items a user has seen"
    )
    _filter_options(recommend)
    history = recommend.add_argument_group(
        "columns of --history, --allow-pairs, --deny-pairs and the features files"
    )
    history.add_argument("--user-col", default="user", help="user ids (default: user)")
    history.add_argument("--item-col", default="item", help="item ids (default: item)")
    history.add_argument(
        "--weight-col", help="implicit weights or counts, or ratings for an explicit model"
    )
    _recency_options(
        history,
        "timestamps of --history (numbers, or dates as text), for --recency: to weight new "
        "users' histories as the model's were weighted in fit",
    )
    _latest_option(history, "the users of --history")
    table_format_options(history)
    features_options(history)
    recommend.add_argument(
        "--approximate",
        nargs="?",
        type=int,
        const=0,
        metavar="N_PROBE",
        help="find the top k with faiss' approximate index (gmf and seed models; "
        'pip install "skncf[ann]"), probing N_PROBE lists (default: 64)',
    )
    _output_options(recommend)
    _handle_unknown_option(recommend, "stop with an error")
    recommend.set_defaults(run=_recommend)


def _filter_options(parser):
    """``recommend``'s candidate filters: a list for every user, or each user's own rows."""
    allow, deny = (parser.add_mutually_exclusive_group() for _ in range(2))
    allow.add_argument(
        "--allow-file", help="a text file of item ids, one per line: recommend only these"
    )
    allow.add_argument(
        "--allow-pairs",
        metavar="FILE",
        help="a table (.csv, .tsv, .parquet) of (user, item) rows, in columns --user-col and "
        "--item-col: recommend each user only its own items (candidates to re-rank); "
        "every user asked for needs a row",
    )
    deny.add_argument(
        "--deny-file", help="a text file of item ids, one per line: never recommend these"
    )
    deny.add_argument(
        "--deny-pairs",
        metavar="FILE",
        help="a table of (user, item) rows as --allow-pairs': never recommend a user its "
        "own items (a cart, purchases since the fit)",
    )


def _add_similar(commands):
    """The ``similar`` command: each item's (or user's) nearest ones, from a model file."""
    similar = commands.add_parser(
        "similar",
        help="list the nearest items (or users) of items (users) by learned embedding",
        description="For each given item (or user), the k others most similar to it by the "
        "cosine of their learned vectors ('more like this'), from a model file written by "
        "'skncf fit'. Output: CSV (item, rank, similar, score; user, ... for users) or JSON.",
    )
    similar.add_argument("model_file", help="a model file written by 'skncf fit'")
    which = similar.add_mutually_exclusive_group(required=True)
    for kind in ("item", "user"):
        which.add_argument(f"--{kind}s", nargs="+", metavar="ID", help=f"{kind} ids")
        which.add_argument(f"--{kind}s-file", help=f"a text file with one {kind} id per line")
        which.add_argument(
            f"--all-{kind}s", action="store_true", help=f"every {kind} the model knows"
        )
    similar.add_argument("--k", type=int, default=10, help="neighbours of each (default: 10)")
    similar.add_argument(
        "--allow-file",
        help="a text file of ids, one per line, of the kind listed: only these as neighbours",
    )
    similar.add_argument(
        "--deny-file", help="a text file of ids, one per line, of the kind listed: never these"
    )
    _output_options(similar)
    _handle_unknown_option(similar, "stop with an error")
    similar.set_defaults(run=_similar)


def _add_explain(commands):
    """The ``explain`` command: a user's history items that lift given items most."""
    explain = commands.add_parser(
        "explain",
        help="list the history items of a user that lift given items most",
        description="For each given item, the user's k history items that lift its score "
        "most ('because you liked'), each with its contribution in logits: how much the "
        "item's logit would fall, to first order, without that interaction (GMF and seed "
        "models of implicit feedback). Output: CSV (item, rank, because, score) or JSON.",
    )
    explain.add_argument("model_file", help="a model file written by 'skncf fit'")
    explain.add_argument("--user", required=True, help="a user id of the model")
    explain.add_argument(
        "--items", nargs="+", required=True, metavar="ID",
        help="item ids to explain, such as the user's recommendations",
    )  # fmt: skip
    explain.add_argument("--k", type=int, default=10, help="history items per item (default: 10)")
    _output_options(explain)
    explain.set_defaults(run=_explain, handle_unknown=None)


def _handle_unknown_option(parser, error):
    """--handle-unknown: the model's ``handle_unknown``, for this command only."""
    parser.add_argument(
        "--handle-unknown",
        choices=["error", "ignore"],
        help=f"unknown ids: {error}, or give them the fallback (the most popular items or "
        "users; unknown ids in a filter file are left out) (default: the model's own "
        "setting)",
    )


def _load(args):
    """The model of ``args.model_file``, with --handle-unknown applied."""
    from ._estimator import load

    rec = load(args.model_file)
    if args.handle_unknown is not None:
        rec.handle_unknown = args.handle_unknown
    return rec


def _output_options(parser):
    """-o and --format of the commands that write lists (recommend, similar)."""
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        help="file to write, .csv or .json (default: CSV on stdout)",
    )
    parser.add_argument(
        "--format", choices=["csv", "json"], help="output format (default: from --output)"
    )


def _auto(kind):
    """An argparse type: "auto", or a number of ``kind``."""

    def parse(text):
        return "auto" if text == "auto" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def _training_data(args):
    """(X, y, feedback) from the data file and the column options."""
    table_format = format_of(args)
    frame = read_table(args.data, table_format)
    wanted = [args.user_col, args.item_col, args.rating_col, args.weight_col]
    wanted += [getattr(args, "time_col", None)]
    options = ["--user-col", "--item-col", "--rating-col", "--weight-col", "--time-col"]
    check_columns(frame, args.data, zip(options, wanted), table_format)
    check_several_items(frame, args.item_col, args.data)
    X = frame[[args.user_col, args.item_col]]
    target = args.rating_col or args.weight_col
    option = "--rating-col" if args.rating_col else "--weight-col"
    y = None if target is None else numbers(frame, target, option, args.data)
    return frame, X, y, "explicit" if args.rating_col else "implicit"


def _estimator(args, feedback, X):
    from ._estimator import NCFRecommender

    return NCFRecommender(
        user_features=features_table(args, "user", X[args.user_col].unique()),
        item_features=features_table(args, "item", X[args.item_col].unique()),
        architecture=args.architecture,
        latent_dim=args.latent_dim,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        loss=args.loss,
        l2=args.l2,
        feedback=feedback,
        init=args.init,
        handle_unknown="ignore" if feedback == "explicit" else "error",
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )


def _fit_with_progress_on_stderr(estimator, X, y, sample_weight=None):
    with contextlib.redirect_stdout(sys.stderr):
        return estimator.fit(X, y, sample_weight=sample_weight)


def _recency_weights(args, users, times):
    """``recency_weights`` of the rows (``--recency``), or None without the option."""
    from .preprocessing import recency_weights

    if not _recency_asked(args):
        return None
    options = {
        name: value
        for name, value in (("boost", args.recency_boost), ("half_life", args.recency_half_life))
        if value is not None
    }
    if times is None:
        raise UserError("--recency needs --time-col, the column of timestamps.")
    try:
        return recency_weights(users, times, **options)
    except ValueError as error:
        message = str(error).replace("boost", "--recency-boost")
        raise UserError(message.replace("half_life", "--recency-half-life")) from None


def _recency_asked(args):
    """Whether --recency, or one of the options that imply it, is given."""
    return args.recency or args.recency_boost is not None or args.recency_half_life is not None


def _check_time_col_has_a_use(args, uses):
    """Refuse --time-col where none of the options ``uses`` that read it is given: a
    column that changes nothing must not look as if it did."""
    latest = getattr(args, "latest", None) is not None  # fit has no --latest
    if args.time_col is not None and not (_recency_asked(args) or latest):
        raise UserError(f"--time-col is read only by {uses}; add one, or leave --time-col out.")


def _fit(args):
    from ._saving import check_path

    check_path(args.output, for_writing=True)  # before training, not after
    _check_time_col_has_a_use(args, "--recency")
    frame, X, y, feedback = _training_data(args)
    times = _timestamps(args, frame)
    weights = _recency_weights(args, X[args.user_col].to_numpy(), times)
    rec = _fit_with_progress_on_stderr(_estimator(args, feedback, X), X, y, weights)
    rec.save(args.output)
    print(
        f"saved {args.output}: architecture={args.architecture}, {len(rec.users_)} users, "
        f"{len(rec.items_)} items, {len(X)} rows, final loss {rec.history_['loss'][-1]:.4f}"
    )


def _from_latest(args, rec, X, y, weights, times):
    """``rec``, or with --latest its users folded in from their latest rows of ``X``."""
    latest = _latest_rows(args, X[args.user_col].to_numpy(), times)
    if latest is None:
        return rec
    y, weights = (None if values is None else values[latest] for values in (y, weights))
    return rec.fold_in(X[latest], y, weights)


def _timestamps(args, frame):
    """``frame``'s --time-col column as :func:`_times` reads it, or None without one."""
    return None if args.time_col is None else _times(frame[args.time_col], args.time_col)


def _times(column, name):
    """A timestamp column as numbers or datetimes: dates written as text are parsed, those
    with UTC offsets ("2020-01-01T10:00+02:00") as the instants they are."""
    import pandas as pd

    if column.dtype.kind not in "OSU" and not isinstance(column.dtype, pd.StringDtype):
        return column.to_numpy()
    try:
        return pd.to_datetime(column, utc=True).to_numpy("datetime64[ns]")
    except (ValueError, TypeError) as error:
        raise UserError(f"--time-col {name!r} holds neither numbers nor dates: {error}") from None


def _evaluate(args):
    import numpy as np
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    from .metrics import evaluate

    frame, X, y, feedback = _training_data(args)
    times = _timestamps(args, frame)
    train, test = next(_evaluation_split(args, times).split(X))
    rec = _estimator(args, feedback, X)
    users = X[args.user_col].to_numpy()[train]  # the training rows alone age each other
    weights = _recency_weights(args, users, None if times is None else times[train])
    _fit_with_progress_on_stderr(rec, X.iloc[train], None if y is None else y[train], weights)
    model = _from_latest(args, rec, X.iloc[train], None if y is None else y[train], weights,
                         None if times is None else times[train])  # fmt: skip
    if feedback == "explicit":
        predicted = model.predict(X.iloc[test])  # once, for all three figures
        report = {
            "rmse": float(np.sqrt(mean_squared_error(y[test], predicted))),
            "mae": float(mean_absolute_error(y[test], predicted)),
            "r2": float(r2_score(y[test], predicted)),
        }
    else:
        report = evaluate(model, X.iloc[test], k=args.k)["full"]
    if args.json:
        print(json.dumps(report, indent=1))
        return
    held = "one per user"
    if args.time_split is not None or args.time_cut is not None:
        held = f"of {X[args.user_col].iloc[test].nunique()} users, after one cut in time"
    print(f"held out {len(test)} interactions ({held}), trained on {len(train)}")
    if len(train) + len(test) < len(X):
        print(f"left out {len(X) - len(train) - len(test)} later interactions of users "
              "with none before the cut (new users)")  # fmt: skip
    unseen = (~rec.encode_pairs(X.iloc[test]).item_known).sum()
    if unseen:
        scored = "get the mean training rating" if feedback == "explicit" else "count as misses"
        print(f"{unseen} held-out items are unknown to the model (in no training row and "
              f"no item features): they {scored}")  # fmt: skip
    for name, value in report.items():
        print(f"{name:>14}: {value:.4f}")


def _evaluation_split(args, times):
    """The splitter of ``evaluate``: each user's last row, or one cut in time."""
    from .model_selection import GlobalTimeSplit, LeaveLastOut

    if args.time_split is None and args.time_cut is None:
        return LeaveLastOut(timestamps=times, random_state=args.seed)
    option = "--time-split" if args.time_cut is None else "--time-cut"
    if times is None:
        raise UserError(f"{option} needs --time-col, the column of timestamps.")
    if args.time_cut is not None:
        return GlobalTimeSplit(times, cuts=[_cut_time(args.time_cut, times)])
    if not 0 < args.time_split < 1:
        raise UserError(f"--time-split must be a share in (0, 1); got {args.time_split:g}.")
    return GlobalTimeSplit(times, test_size=args.time_split)


def _cut_time(text, times):
    """--time-cut as a time of ``times``' kind: a datetime64 (read as :func:`_times`
    reads dates, UTC where no offset is given) or a number."""
    import pandas as pd

    from .preprocessing import time_values

    dates = time_values(times).dtype.kind == "M"  # a parquet file's datetimes, aware too
    try:
        if dates:
            return pd.to_datetime(text, utc=True).tz_convert(None).to_datetime64()
        return float(text)
    except (ValueError, TypeError):
        kind = "a date" if dates else "a number, as --time-col holds numbers"
        raise UserError(f"--time-cut must be {kind}; got {text!r}.") from None


def _in_cli_terms(recommend, *args, **options):
    """``recommend(*args, **options)``; its advice given as this command's options."""
    try:
        return recommend(*args, **options)
    except ValueError as error:
        advice = str(error).replace("Pass handle_unknown='ignore'", "Pass --handle-unknown ignore")
        advice = advice.replace("allow, keyed by user id,", "--allow-pairs")
        raise UserError(advice) from None


def _recommend(args):
    rec = _load(args)
    if args.item_features is not None:
        _add_new_items(args, rec)
    filters = {**_filters(args, rec, "item"), **_pair_filters(args)}
    recommend, users, options = _ranker(args, rec)
    if "seen" in options:  # --latest: each user's history stays out, as do --deny's
        filters["deny"] = _also_denied(options.pop("seen"), filters.get("deny"))
    items, scores = _in_cli_terms(
        recommend, users, k=args.k, exclude_seen=not args.include_seen, return_scores=True,
        fill_value=_absent(rec.items_), **filters, **options,
    )  # fmt: skip
    _write_lists(args, ("user", "items", "item"), users, items, scores)


def _also_denied(seen, deny):
    """Each user's ``seen`` items and ``deny``'s: a list for every user, or each one's."""
    if deny is None:
        return seen
    if hasattr(deny, "get"):  # --deny-pairs: each user's own
        return {user: [*items, *deny.get(user, [])] for user, items in seen.items()}
    return {user: [*items, *deny] for user, items in seen.items()}


def _add_new_items(args, rec):
    """Add the items of --item-features that the model does not know: the file may be the
    whole catalog with new rows, and its known items keep the attributes of fit."""
    table = features_table(args, "item")
    known = table.index.isin(rec.items_)
    if known.any():
        print(
            f"skncf: note: {known.sum()} item(s) of {args.item_features} are in the model "
            f"already and keep the attributes of fit; {(~known).sum()} new one(s) added.",
            file=sys.stderr,
        )
    if not known.all():
        rec.add_items(table[~known])


def _filters(args, rec, kind):
    """``allow`` and ``deny`` from --allow-file and --deny-file: ids of ``kind``."""
    known = getattr(rec, f"{kind}s_")
    return {
        name: None if path is None else _as_labels(_lines(path), known, kind)
        for name, path in (("allow", args.allow_file), ("deny", args.deny_file))
    }


def _pair_filters(args):
    """``allow`` or ``deny`` from --allow-pairs or --deny-pairs: each user's item list."""
    filters = {}
    table_format = format_of(args)
    for name in ("allow", "deny"):
        path = getattr(args, f"{name}_pairs")
        if path is None:
            continue
        frame = read_table(path, table_format)
        wanted = [("--user-col", args.user_col), ("--item-col", args.item_col)]
        check_columns(frame, path, wanted, table_format)
        filters[name] = frame.groupby(args.user_col, sort=False)[args.item_col].agg(list)
    return filters


def _similar(args):
    rec = _load(args)
    kind = "user" if args.users or args.users_file or args.all_users else "item"
    queries = getattr(rec, f"{kind}s_")
    if not getattr(args, f"all_{kind}s"):
        path = getattr(args, f"{kind}s_file")
        queries = _as_labels(getattr(args, f"{kind}s") if path is None else _lines(path),
                             queries, kind)  # fmt: skip
    similar = rec.similar_items if kind == "item" else rec.similar_users
    found, scores = _in_cli_terms(
        similar, queries, k=args.k, return_scores=True,
        fill_value=_absent(getattr(rec, f"{kind}s_")),
        **_filters(args, rec, kind),
    )  # fmt: skip
    _write_lists(args, (kind, "similar", "similar"), queries, found, scores)


def _explain(args):
    import numpy as np

    rec = _load(args)
    user = _as_labels([args.user], rec.users_)[0]
    items = _as_labels(args.items, rec.items_, "item")
    found = np.full((len(items), args.k), _absent(rec.items_), dtype=object)
    scores = np.full((len(items), args.k), np.nan)
    for row, item in enumerate(items):
        because, lifts = _in_cli_terms(rec.explain, user, item, n=args.k)
        found[row, : len(because)], scores[row, : len(lifts)] = because, lifts
    _write_lists(args, ("item", "because", "because"), items, found, scores,
                 why="the user's history holds no more")  # fmt: skip


def _ranker(args, rec):
    """``(recommend, users, options)``: whom to rank, by which ``recommend``, how."""
    new_users = args.history is not None or args.user_features is not None
    known_users = args.users is not None or args.users_file is not None or args.all_users
    if args.history is None and (_recency_asked(args) or args.time_col is not None):
        raise UserError("--time-col and --recency weight the rows of a --history file; give one.")
    if args.history is not None:
        _check_time_col_has_a_use(args, "--recency and --latest")
    if new_users == known_users:
        if not new_users:
            raise UserError(
                "say whom to recommend for: --users, --users-file, --all-users, --history "
                "or --user-features."
            )
        raise UserError(
            "--history and --user-features recommend for their own users; leave out "
            "--users, --users-file and --all-users."
        )
    approximate: bool | dict[str, int] = False
    if args.approximate is not None:
        approximate = {"n_probe": args.approximate} if args.approximate else True
    if new_users:
        X, y, weights, seen = (None,) * 4 if args.history is None else _history(args, rec)
        features = features_table(args, "user")
        folded = _in_cli_terms(rec.fold_in, X, y, weights, user_features=features)
        options = {"approximate": approximate}
        if seen is not None and not args.include_seen:
            options["seen"] = seen
        return folded.recommend, folded.users_, options
    users = rec.users_
    if not args.all_users:
        raw = args.users if args.users_file is None else _lines(args.users_file)
        users = _as_labels(raw, rec.users_)
    return rec.recommend, users, {"approximate": approximate}


def _absent(labels):
    """A label of the kind of sorted ``labels`` that is none of them: pads short lists."""
    if labels.dtype.kind == "U":
        return str(labels[-1]) + "~"
    lowest = labels[0]  # a Python int already where ids exceed int64
    return (lowest.item() if hasattr(lowest, "item") else lowest) - 1


def _write_lists(args, names, queries, found, scores,
                 why="the filters and seen items leave no more"):  # fmt: skip
    """Ranked lists as CSV (one row per entry) or JSON (one record per query).

    ``names``: the query's key, the list's JSON key and its CSV column, e.g. ``("user",
    "items", "item")``; written to --output or stdout, as --format says. Lists padded
    past their candidates (NaN scores) are cut there, and a note on stderr says so
    (``why``).
    """
    query, key, column = names
    labels = queries.tolist()
    lengths = [int((score == score).sum()) for score in scores]  # NaN: a padded slot
    short = [n for n in lengths if n < args.k]
    if short:
        first = lengths.index(short[0])
        print(
            f"skncf: note: {len(short)} list(s) hold fewer than --k {args.k} entries, as "
            f"{why} (first: {query} "
            f"{labels[first]!r}, {short[0]}).",
            file=sys.stderr,
        )
    lists = [
        (label, row[:n].tolist(), score[:n].tolist())
        for label, row, score, n in zip(labels, found, scores, lengths)
    ]
    output_format = args.format or ("json" if args.output.lower().endswith(".json") else "csv")
    with contextlib.ExitStack() as files:
        out = sys.stdout
        if args.output != "-":
            out = files.enter_context(open(args.output, "w", encoding="utf-8"))
        if output_format == "json":
            records = [
                {query: label, key: row, "scores": [round(s, 6) for s in score]}
                for label, row, score in lists
            ]
            json.dump(records, out, indent=1)
            out.write("\n")
        else:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([query, "rank", column, "score"])
            for label, row, score in lists:
                for rank, (entry, value) in enumerate(zip(row, score), start=1):
                    writer.writerow([label, rank, entry, f"{value:.6g}"])


def _export(args):
    rec = _load(args)
    user_fill, user_option = args.fill_value, "--fill-value"
    if args.user_fill_value is not None:
        user_fill, user_option = args.user_fill_value, "--user-fill-value"
    fill = {
        "item": _fill_label(args.fill_value, rec.items_, "item", "--fill-value"),
        "user": _fill_label(user_fill, rec.users_, "user", user_option),
    }
    rec.export(args.output_dir, fill_value=fill)
    import tensorflow as tf

    signatures = ", ".join(tf.saved_model.load(args.output_dir).signatures)
    filled = "".join(f", {kind} lists filled with {value!r}" for kind, value in fill.items()
                     if value is not None)  # fmt: skip
    print(
        f"exported {args.output_dir}: signatures {signatures}; {len(rec.users_)} users, "
        f"{len(rec.items_)} items, handle_unknown={rec.handle_unknown!r}{filled}"
    )


def _fill_label(raw, labels, kind, option):
    """A command-line fill value as an id of ``labels``' type (None stays None)."""
    if raw is None or labels.dtype.kind == "U":
        return raw
    try:
        return int(raw)
    except ValueError:
        hint = kind == "user" and option == "--fill-value"
        raise UserError(
            f"{option} {raw!r} is not an integer, as the model's {kind} ids are"
            + ("; give --user-fill-value for them" if hint else "")
        ) from None


def _lines(path):
    """The non-empty lines of a text file, stripped."""
    if not os.path.isfile(path):
        raise UserError(f"no such file: {path}")
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip()]


def _history(args, rec):
    """``(X, y, sample_weight)`` of --history, its columns named as the model's were in fit."""
    table_format = format_of(args)
    frame = read_table(args.history, table_format)
    options = ["--user-col", "--item-col", "--weight-col", "--time-col"]
    wanted = [args.user_col, args.item_col, args.weight_col, args.time_col]
    check_columns(frame, args.history, zip(options, wanted), table_format)
    X = frame[[args.user_col, args.item_col]]
    times = _timestamps(args, frame)
    weights = _recency_weights(args, X[args.user_col].to_numpy(), times)
    y = None
    if args.weight_col is not None:
        y = numbers(frame, args.weight_col, "--weight-col", args.history)
    seen = None
    latest = _latest_rows(args, X[args.user_col].to_numpy(), times)
    if latest is not None:  # the whole history stays seen
        seen = X.groupby(args.user_col, sort=False)[args.item_col].agg(list)
        X, y, weights = (None if v is None else v[latest] for v in (X, y, weights))
    names = getattr(rec, "feature_names_in_", None)
    X = X.set_axis(list(names), axis=1) if names is not None else X.to_numpy()
    return X, y, weights, seen


def _as_labels(raw, known, what="user"):
    """Command-line strings as labels of the model's id kind (int, float or string)."""
    import numpy as np

    if known.dtype.kind == "U":
        return np.array(raw, dtype=str)
    convert = float if known.dtype.kind == "f" else int
    try:
        values = [convert(value) for value in raw]
    except ValueError:
        raise UserError(f"the model's {what} ids are numbers; got {', '.join(raw[:3])}") from None
    return np.array(values, dtype=object if known.dtype.kind == "O" else known.dtype)


def _demo(args):
    from ._demo import run_demo

    run_demo(
        n_users=args.users,
        n_items=args.items,
        architecture=args.architecture,
        epochs=args.epochs,
        random_state=args.seed,
    )
