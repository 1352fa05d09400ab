"""Bad input gets a clear ValueError/TypeError naming the argument, raised by skncf,
and a failed call leaves a fitted estimator as it was."""

import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skncf import NCFRecommender

from .conftest import FAST

PAIRS = np.array([[0, 0], [0, 1], [1, 1], [2, 0], [2, 2]])

BAD_PARAMS = [
    ("architecture", "transformer", ValueError),
    ("latent_dim", 0, ValueError),
    ("latent_dim", 2.5, ValueError),
    ("mlp_layers", (), ValueError),
    ("mlp_layers", (8, 0), ValueError),
    ("mlp_layers", (8, 2.0), TypeError),
    ("mlp_layers", "64", ValueError),
    ("dropout", 1.0, ValueError),
    ("dropout", -0.1, ValueError),
    ("l2", -1.0, ValueError),
    ("l2", "some", ValueError),
    ("learning_rate", 0.0, ValueError),
    ("learning_rate", -0.1, ValueError),
    ("optimizer", "sgd", ValueError),
    ("batch_size", 0, ValueError),
    ("epochs", 0, ValueError),
    ("n_negatives", 0, ValueError),
    ("n_negatives", "some", ValueError),
    ("negative_weight", 0.0, ValueError),
    ("negative_weight", "auto", ValueError),
    ("batch_size", "big", ValueError),
    ("epochs", "many", ValueError),
    ("learning_rate", "fast", ValueError),
    ("loss", "bpr", ValueError),
    ("feedback", "ratings", ValueError),
    ("handle_unknown", "skip", ValueError),
    ("init", "pca", ValueError),
    ("pretrain", "yes", ValueError),
    ("columns", (0,), ValueError),
    ("columns", (0, 0), ValueError),
    ("columns", (0, 5), ValueError),
    ("columns", ("user", "item"), ValueError),
    ("random_state", "seed", ValueError),
    ("verbose", "loud", ValueError),
    ("validation_fraction", 0.0, ValueError),
    ("validation_fraction", 1.5, ValueError),
    ("validation_fraction", "10%", ValueError),
    ("n_iter_no_change", 0, ValueError),
    ("n_iter_no_change", 2.5, ValueError),
    ("callbacks", "EarlyStopping", ValueError),
    ("callbacks", [42], TypeError),
    ("distribute", "mirrored", TypeError),
    ("warm_start", "yes", ValueError),
]


@pytest.mark.parametrize("name,value,error", BAD_PARAMS)
def test_out_of_range_parameter_is_named(name, value, error):
    # sklearn's InvalidParameterError is both a ValueError and a TypeError
    with pytest.raises(error, match=name):
        NCFRecommender(**{name: value}).fit(PAIRS)


BAD_FIT = [
    ("1-d X", dict(X=np.array([0, 1, 2])), ValueError, "2D array"),
    ("3 columns", dict(X=np.zeros((4, 3))), ValueError, "X must have 2 columns"),
    # a ratings table as read: the message names its columns and the two to pick
    (
        "4 named columns",
        dict(X=pd.DataFrame({"userId": [1, 2], "movieId": [3, 4], "rating": 5, "ts": 0})),
        ValueError,
        r"\(X's columns: 'userId', 'movieId', 'rating', 'ts'\)\. Pass "
        r"columns=\('userId', 'movieId'\) to pick two",
    ),
    ("empty X", dict(X=np.zeros((0, 2))), ValueError, "0 sample"),
    ("NaN id", dict(X=np.array([[0.0, 1.0], [np.nan, 2.0]])), ValueError, "user ids.*NaN"),
    ("inf id", dict(X=np.array([[0.0, 1.0], [1.0, np.inf]])), ValueError, "item ids.*inf"),
    (
        "None id",
        dict(X=np.array([["a", None], ["b", "c"]], dtype=object)),
        ValueError,
        "item ids.*None",
    ),
    ("mixed ids", dict(X=np.array([["a", 1], [2, "c"]], dtype=object)), TypeError, "user ids.*mix"),
    ("bool ids", dict(X=np.array([[True, 1], [False, 2]], dtype=object)), TypeError, "boolean"),
    ("bool array", dict(X=np.array([[True, False], [False, True]])), TypeError, "boolean"),
    # a frame's bool column beside integers: validation alone would make it 0 and 1
    (
        "bool column",
        dict(X=pd.DataFrame({"u": [True, False], "i": [1, 2]})),
        TypeError,
        "user ids.*boolean",
    ),  # fmt: skip
    (
        "nullable bool",
        dict(X=pd.DataFrame({"u": [1, 2], "i": pd.array([True, False], dtype="boolean")})),
        TypeError,
        "item ids.*boolean",
    ),  # fmt: skip
    ("sparse X", dict(X=sp.csr_array(PAIRS)), TypeError, "not a sparse matrix.*coo.row"),
    ("users x items", dict(X=sp.random(6, 9, density=0.5)), TypeError, "X = np.column_stack"),
    (
        "dict X",
        dict(X={"u": PAIRS[:, 0], "i": PAIRS[:, 1]}),
        TypeError,
        "not a dict; for a dict of columns, pass pandas",
    ),
    ("complex X", dict(X=PAIRS + 1j), ValueError, "[Cc]omplex"),
    ("length mismatch", dict(X=PAIRS, y=np.ones(4)), ValueError, "y has 4 entries but X has 5"),
    ("2-d y", dict(X=PAIRS, y=np.ones((5, 2))), ValueError, "y must be 1-dimensional"),
    ("string y", dict(X=PAIRS, y=np.array(["1"] * 5)), ValueError, "y must hold numbers"),
    # pandas' column of text: scikit-learn's own message names neither y nor the value
    (
        "text y",
        dict(X=PAIRS, y=pd.Series(["1", "2,5", "1", "x", "1"])),
        ValueError,
        r"y must hold numbers; got '2,5' \(a decimal comma: read the file with pandas' decim",
    ),
    (
        "text sample_weight",
        dict(X=PAIRS, sample_weight=np.array([1, 2, "x", 1, 1], dtype=object)),
        ValueError,
        "sample_weight must hold numbers; got 'x'.",
    ),
    ("NaN y", dict(X=PAIRS, y=[1, np.nan, 1, 1, 1]), ValueError, "y contains NaN"),
    ("inf y", dict(X=PAIRS, y=[1, np.inf, 1, 1, 1]), ValueError, "y contains inf"),
    (
        "None y",
        dict(X=PAIRS, y=np.array([1, None, 1, 1, 1], dtype=object)),
        ValueError,
        "y contains NaN",
    ),
    ("negative weights", dict(X=PAIRS, y=[1, -1, 1, 1, 1]), ValueError, "y must hold non-negative"),
    ("all-zero weights", dict(X=PAIRS, y=np.zeros(5)), ValueError, "no positive"),
    (
        "negative sample_weight",
        dict(X=PAIRS, sample_weight=[1, -1, 1, 1, 1]),
        ValueError,
        "[Nn]egative.*sample_weight|sample_weight.*negative",
    ),
    (
        "zero sample_weight",
        dict(X=PAIRS, sample_weight=np.zeros(5)),
        ValueError,
        "[Ss]ample.weights must contain at least one non-zero",
    ),
    ("short sample_weight", dict(X=PAIRS, sample_weight=[1, 1]), ValueError, "sample_weight"),
    # a column's name where its values were meant: named, with the way to pass the column
    ("y named", dict(X=PAIRS, y="hours"), TypeError, r"y must hold .*not the string 'hours'"),
    (
        "sample_weight named",
        dict(X=PAIRS, sample_weight="hours"),
        TypeError,
        r"sample_weight must hold one number per row of X, .* pass X\['hours'\]",
    ),
]


@pytest.mark.parametrize("case,args,error,match", BAD_FIT, ids=[c[0] for c in BAD_FIT])
def test_bad_fit_input(case, args, error, match):
    with pytest.raises(error, match=match):
        NCFRecommender(**FAST).fit(**args)


def test_a_frame_of_several_columns_as_y_is_named():
    pd = pytest.importorskip("pandas")
    ratings = pd.DataFrame({"rating": np.ones(5)})
    for y in (pd.concat([ratings, ratings], axis=1), ratings.assign(other=2.0)):
        with pytest.raises(ValueError, match=r"y must be 1-dimensional; got shape \(5, 2\)"):
            NCFRecommender(**FAST).fit(PAIRS, y)


def test_explicit_without_y():
    with pytest.raises(ValueError, match="feedback='explicit' requires y.*ratings"):
        NCFRecommender(feedback="explicit").fit(PAIRS)


def test_pretrain_needs_neumf():
    with pytest.raises(ValueError, match="pretrain=True needs architecture='neumf'"):
        NCFRecommender(architecture="gmf", pretrain=True).fit(PAIRS)


@pytest.mark.parametrize(
    "params",
    [
        dict(architecture="seed"),
        dict(architecture="mlp"),
        dict(architecture="gmf", feedback="explicit"),
    ],
    ids=["seed", "mlp", "explicit"],
)
def test_svd_init_needs_gmf_embeddings_of_implicit_feedback(params):
    with pytest.raises(ValueError, match="init='svd' .* needs architecture='gmf' or 'neumf'"):
        NCFRecommender(init="svd", **params).fit(PAIRS, np.ones(len(PAIRS)))


def test_unfitted_methods_raise_not_fitted():
    rec = NCFRecommender()
    for call in (
        lambda: rec.predict(PAIRS),
        lambda: rec.score(PAIRS),
        lambda: rec.recommend([0]),
        lambda: rec.similar_items([0]),
    ):
        with pytest.raises(NotFittedError):
            call()


@pytest.fixture(scope="module")
def fitted_small():
    return NCFRecommender(architecture="gmf", **FAST).fit(PAIRS)


BAD_CALLS = [
    (
        "predict unknown user",
        lambda r: r.predict([[9, 0]]),
        ValueError,
        "user ids.*not seen in fit: 9",
    ),
    ("predict NaN id", lambda r: r.predict([[0, np.nan]]), ValueError, "item ids.*contain NaN"),
    (
        "predict unknown item",
        lambda r: r.predict([[0, 9]]),
        ValueError,
        "item ids.*not seen in fit: 9",
    ),
    ("predict string ids", lambda r: r.predict([["a", "b"]]), ValueError, "not seen in fit"),
    (
        "recommend ids as text",  # as a file read without its types gives them
        lambda r: r.recommend(["0"]),
        ValueError,
        r"not seen in fit: '0'\. These ids are text and the model's are numbers: convert",
    ),
    (
        "deny ids as text",
        lambda r: r.recommend([0], k=1, deny=["1"]),
        ValueError,
        r"deny \(item ids\) .* These ids are text and the model's are numbers",
    ),
    ("predict 3 columns", lambda r: r.predict([[0, 0, 0]]), ValueError, "3 features"),
    ("predict NaN", lambda r: r.predict([[np.nan, 0]]), ValueError, "NaN"),
    ("predict empty", lambda r: r.predict(np.zeros((0, 2))), ValueError, "0 sample"),
    ("score length mismatch", lambda r: r.score(PAIRS, [1, 1]), ValueError, "y has 2 entries"),
    ("recommend unknown user", lambda r: r.recommend([7]), ValueError, "users contains 1 id.*7"),
    ("recommend k=0", lambda r: r.recommend([0], k=0), ValueError, "k must be positive"),
    ("recommend k=-1", lambda r: r.recommend([0], k=-1), ValueError, "k must be positive"),
    ("recommend k float", lambda r: r.recommend([0], k=2.0), TypeError, "k must be an int"),
    (
        "recommend flag as text",  # "no" would have read as True
        lambda r: r.recommend([0], k=1, exclude_seen="no"),
        TypeError,
        "exclude_seen must be True or False; got 'no'",
    ),
    (
        "similar flag as a number",
        lambda r: r.similar_users([0], k=1, return_scores=1),
        TypeError,
        "return_scores must be True or False; got 1",
    ),
    (
        "recommend k > items",
        lambda r: r.recommend([0], k=4, exclude_seen=False),
        ValueError,
        "k=4 exceeds the 3 items",
    ),
    (
        "recommend k > unseen",
        lambda r: r.recommend([0], k=2),
        ValueError,
        "k=2 exceeds the 1 item that user 0",
    ),
    ("recommend empty", lambda r: r.recommend([]), ValueError, "users is empty"),
    (
        "recommend 2-d users",
        lambda r: r.recommend([[0, 1]]),
        ValueError,
        "users must be one id or a 1-d",
    ),
    ("recommend None user", lambda r: r.recommend([None]), ValueError, "users contain None"),
    ("similar unknown item", lambda r: r.similar_items([7]), ValueError, "items contains 1 id"),
    (
        "similar k too big",
        lambda r: r.similar_items([0], k=3),
        ValueError,
        "k=3 exceeds the 2 other items",
    ),
    ("similar k=0", lambda r: r.similar_items([0], k=0), ValueError, "k must be positive"),
    (
        "save to a missing folder",
        lambda r: r.save("/no/such/folder/m.skncf"),
        FileNotFoundError,
        "path: the folder '/no/such/folder' does not exist",
    ),
    ("save to a number", lambda r: r.save(42), TypeError, "path must be a str, an os.PathLike"),
    (
        "save onto a folder",
        lambda r: r.save(os.path.dirname(os.path.abspath(__file__))),
        IsADirectoryError,
        "is a folder; give the model file's name",
    ),
    (
        "fit validation_data with 3 columns",
        lambda r: r.fit(PAIRS, validation_data=np.zeros((2, 3), dtype=int)),
        ValueError,
        "validation_data does not match X",
    ),
    (
        "fit validation_data as a triple",
        lambda r: r.fit(PAIRS, validation_data=(PAIRS, 1, 2)),
        ValueError,
        "validation_data must be X_val or a pair",
    ),
    (
        "partial_fit string ids",
        lambda r: r.partial_fit([["a", "b"]]),
        TypeError,
        "string user ids, but the model was fit on integer",
    ),
]

BAD_LOADS = [
    ("missing file", "nowhere.skncf", FileNotFoundError, "path: no model file at"),
    ("not a path", 3.5, TypeError, "path must be a str, an os.PathLike or a binary file"),
]


@pytest.mark.parametrize("case,path,error,match", BAD_LOADS, ids=[c[0] for c in BAD_LOADS])
def test_bad_load(case, path, error, match):
    import skncf

    with pytest.raises(error, match=match):
        skncf.load(path)


class _TensorFlowReached(Exception):
    pass


def _refuse(*args, **kwargs):
    raise _TensorFlowReached


@pytest.fixture
def no_tensorflow(monkeypatch):
    """Make every path from skncf's estimator into TensorFlow raise _TensorFlowReached."""
    from skncf import _estimator

    for name in ["build_graph", "train", "train_softmax", "train_by_users", "Scorer", "full_ranks"]:
        monkeypatch.setattr(_estimator, name, _refuse)


@pytest.mark.parametrize(
    "params,args",
    [({name: value}, dict(X=PAIRS)) for name, value, _ in BAD_PARAMS]
    + [({}, args) for _, args, _, _ in BAD_FIT],
)
def test_bad_fit_input_is_caught_before_tensorflow(no_tensorflow, params, args):
    with pytest.raises((ValueError, TypeError)):
        NCFRecommender(**{**FAST, **params}).fit(**args)


def test_bad_calls_are_caught_before_tensorflow_and_change_nothing(fitted_small, no_tensorflow):
    before = fitted_small.predict(PAIRS)
    scorer = fitted_small._scorer
    fitted_small._scorer = None  # any scoring would fail with AttributeError, not the below
    try:
        for _case, call, error, match in BAD_CALLS:
            with pytest.raises(error, match=match):
                call(fitted_small)
    finally:
        fitted_small._scorer = scorer
    np.testing.assert_array_equal(fitted_small.predict(PAIRS), before)


@pytest.mark.parametrize("case,call,error,match", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_call_on_fitted_model(fitted_small, case, call, error, match):
    with pytest.raises(error, match=match):
        call(fitted_small)


@pytest.mark.parametrize(
    "bad_fit",
    [
        lambda r: r.fit(np.zeros((3, 3))),
        lambda r: r.set_params(latent_dim=-1).fit(PAIRS),
        lambda r: r.fit(np.array([["x", "y"], ["z", None]], dtype=object)),
        lambda r: r.fit(PAIRS, y=[1, -1, 1, 1, 1]),
    ],
)
def test_failed_fit_leaves_fitted_model_as_it_was(interactions, bad_fit):
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions)
    before_predictions = rec.predict(interactions)
    before_state = {k: v for k, v in vars(rec).items() if k.endswith("_")}
    with pytest.raises((ValueError, TypeError)):
        bad_fit(rec)
    rec.set_params(latent_dim=FAST["latent_dim"])
    np.testing.assert_array_equal(rec.predict(interactions), before_predictions)
    for name, value in before_state.items():
        assert getattr(rec, name) is value, name


def test_failed_training_leaves_fitted_model_as_it_was(interactions):
    rec = NCFRecommender(architecture="gmf", **FAST).fit(interactions)
    before = rec.predict(interactions)
    with pytest.raises(FloatingPointError, match="learning_rate"):
        rec.set_params(learning_rate=1e30, architecture="seed").fit(
            interactions, np.full(len(interactions), 1e30)
        )
    np.testing.assert_array_equal(rec.predict(interactions), before)


def test_k_beyond_the_unseen_items_of_a_user_with_an_id_beyond_int64():
    # found by hypothesis: such ids are Python ints, which the message must not assume
    big = 2**63
    X = np.array([[big, 0], [big, 1], [1, 1]], dtype=object)
    rec = NCFRecommender(architecture="gmf", epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match=f"k=2 exceeds the 0 items that user {big}"):
        rec.recommend([big], k=2)


def test_gaps_in_columns_that_are_not_read_are_no_error(interactions):
    # with columns=, the frame's other columns are validated for shape only: a rating or
    # timestamp column with missing values must not stop a fit that never reads it
    frame = pd.DataFrame(interactions, columns=["user", "item"])
    frame["rating"] = np.where(np.arange(len(frame)) % 5 == 0, np.nan, 4.0)
    rec = NCFRecommender(columns=("user", "item"), epochs=1, random_state=0).fit(frame)
    assert np.isfinite(rec.predict(frame)).all()
    gap = frame.astype({"user": float})
    gap.loc[3, "user"] = np.nan
    with pytest.raises(ValueError, match=r"user ids \(column 0 of X\) contain NaN"):
        rec.predict(gap)


def test_a_timestamp_column_beside_the_ids_is_no_error(interactions):
    # numpy has no common type for datetimes and integers: scikit-learn's check_array
    # failed on such a frame with a DTypePromotionError
    frame = pd.DataFrame(interactions, columns=["user", "item"])
    frame["when"] = pd.to_datetime(np.arange(len(frame)), unit="s", utc=True)
    frame["took"] = pd.to_timedelta(np.arange(len(frame)), unit="s")
    rec = NCFRecommender(columns=("user", "item"), epochs=1, random_state=0).fit(frame)
    plain = NCFRecommender(epochs=1, random_state=0).fit(interactions)
    np.testing.assert_array_equal(rec.predict(frame), plain.predict(interactions))
    with pytest.raises(TypeError, match=r"user ids \(column 2 of X\) are Timestamp values"):
        NCFRecommender(columns=("when", "item"), epochs=1).fit(frame)


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_datetime_ids_in_a_frame_of_ids_alone_are_refused_by_name(interactions, library):
    # without columns=, pandas' datetimes failed inside scikit-learn's check_array (a
    # DTypePromotionError), and polars' became integers (microseconds) taken for ids
    frame = pd.DataFrame(interactions, columns=["user", "item"])
    frame["user"] = pd.to_datetime(frame["user"], unit="D")
    if library == "polars":
        frame = pytest.importorskip("polars").from_pandas(frame)
    with pytest.raises(TypeError, match=r"user ids \(column 0 of X\) are Timestamp values"):
        NCFRecommender(epochs=1).fit(frame)
    rec = NCFRecommender(epochs=1, random_state=0).fit(interactions)
    with pytest.raises(TypeError, match=r"user ids \(column 0 of X\) are Timestamp values"):
        rec.predict(frame)


@pytest.mark.parametrize(
    "columns", [("user", "item"), (0, 1), (-4, -3), ("user", 1), (np.int64(0), -3)]
)
def test_id_columns_by_name_or_any_position_beside_other_columns(interactions, columns):
    # the frame's other columns are zeroed before validation: the id columns, however
    # named, must keep their values
    frame = pd.DataFrame(interactions, columns=["user", "item"]).astype(str)
    frame["title"] = "a film"
    frame["when"] = pd.to_datetime(np.arange(len(frame)), unit="s")
    rec = NCFRecommender(columns=columns, epochs=1, random_state=0).fit(frame)
    np.testing.assert_array_equal(rec.users_, np.unique(frame.user))
    np.testing.assert_array_equal(rec.items_, np.unique(frame.item))
    assert rec.predict(frame.iloc[:3]).shape == (3,)


def test_a_keras_backend_other_than_tensorflow_is_named(monkeypatch):
    import keras

    from skncf._compat import check_keras_backend

    check_keras_backend()  # this process: TensorFlow
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ImportError, match="needs Keras' TensorFlow backend, but Keras is set to"):
        check_keras_backend()


@pytest.mark.slow  # a new Python process imports TensorFlow
def test_importing_skncf_under_another_keras_backend_says_what_to_set():
    import subprocess
    import sys

    # without jax installed Keras fails to import; with it, it imports on JAX: both named
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", "from skncf import NCFRecommender"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Keras is set to 'jax'" in done.stderr and "KERAS_BACKEND=tensorflow" in done.stderr
