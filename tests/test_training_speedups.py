"""The fast training path computes what Keras computes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import skncf._training.loop
from skncf import NCFRecommender
from skncf._graph.graphs import build_graph
from skncf._graph.logits import CandidateLogits
from skncf._training.adam import FusedAdam
from skncf._training.loop import epoch_runner, pair_loss, replica_steps, xla_epoch_runner
from skncf._training.softmax import softmax_loss

from .conftest import FAST

pytestmark = pytest.mark.slow  # compiles training loops with XLA


def test_fused_adam_matches_keras_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(6, 3)).astype("float32")
    by_keras, fused = keras.Variable(start), keras.Variable(start)
    keras_adam, fused_adam = keras.optimizers.Adam(0.01), FusedAdam([fused], 0.01)
    for _ in range(25):
        gradient = tf.constant(rng.normal(size=(6, 3)).astype("float32"))
        keras_adam.apply_gradients([(gradient, by_keras)])
        fused_adam.apply([gradient])
    np.testing.assert_allclose(fused.numpy(), by_keras.numpy(), atol=1e-5)
    assert not np.allclose(fused.numpy(), start, atol=1e-2)  # it did move


def test_fused_adam_takes_sparse_gradients_and_skips_missing_ones():
    table, other = keras.Variable(np.ones((4, 2), "float32")), keras.Variable([1.0])
    adam = FusedAdam([table, other], 0.1)
    gradient = tf.IndexedSlices(tf.ones((1, 2)), tf.constant([2]), dense_shape=tf.constant([4, 2]))
    adam.apply([gradient, None])
    moved = np.flatnonzero(np.any(table.numpy() != 1, axis=1))
    assert moved.tolist() == [2]
    assert other.numpy().tolist() == [1.0]


@pytest.mark.parametrize("n_rows", [10, 12])
def test_epoch_runner_visits_every_row_once_in_order_compiled_or_not(n_rows):
    for compiled in (False, True):
        seen = []

        def step(batch, extra, share, seen=seen):
            assert share is None  # no strategy
            (rows,) = batch
            tf.py_function(lambda r: seen.append(r.numpy().tolist()), [rows], [])
            return tf.reduce_mean(tf.cast(rows, tf.float32))

        run = epoch_runner(step, batch_size=4, compiled=compiled)
        mean = run((np.arange(n_rows, dtype=np.int32),))
        assert sum(seen, []) == list(range(n_rows))
        assert mean == pytest.approx(np.arange(n_rows).mean())


@pytest.mark.parametrize("n_rows", [3, 10, 12])
def test_xla_epoch_runner_visits_every_row_once_in_order(n_rows):
    # py_function cannot run under XLA: the step writes each row's visit number instead.
    # The last batch is padded to the batch size; its mask tells real rows from padding.
    visit, visits = tf.Variable(tf.fill([n_rows], -1)), tf.Variable(0)
    extra_seen = tf.Variable(tf.fill([-(-n_rows // 4)], -1))

    def step(batch, extra, share, rows):
        assert share is None
        assert batch[0].shape == (4,) and rows.shape == (4,)  # static: one computation
        (ids,), (offset,) = batch, extra
        real = tf.boolean_mask(ids, rows > 0)
        n = tf.shape(real)[0]
        extra_seen.scatter_nd_update([[visits // 4]], [offset])
        visit.scatter_nd_update(real[:, None], visits + tf.range(n))
        visits.assign_add(n)
        return tf.reduce_sum(tf.cast(ids, tf.float32) * rows) / tf.reduce_sum(rows)

    run = xla_epoch_runner(step, batch_size=4)
    per_step = (np.arange(-(-n_rows // 4), dtype=np.int32) * 10,)
    mean = run((np.arange(n_rows, dtype=np.int32),), per_step)
    assert visit.numpy().tolist() == list(range(n_rows))
    assert int(visits.numpy()) == n_rows
    assert extra_seen.numpy().tolist() == per_step[0].tolist()
    assert mean == pytest.approx(np.arange(n_rows).mean())


@pytest.mark.parametrize(
    "architecture,loss",
    [("neumf", "log"), ("seed", "ratings"), ("gmf", "full softmax"), ("neumf", "sampled softmax")],
)
def test_padding_rows_change_neither_loss_nor_gradients(architecture, loss):
    # XLA pads the last batch with other rows and masks them out (rows = 0.0): objective
    # and gradients, L2 terms included, must be those of the real rows alone.
    n_users, n_items = 30, 20
    model = build_graph(
        architecture,
        n_users=n_users,
        n_items=n_items,
        latent_dim=4,
        mlp_layers=(8, 4),
        dropout=0.0,
        l2=0.1,
        seeds=iter(range(10)),
        biases=True,
    )
    logits_of = CandidateLogits(model, dropout=0.0, l2=0.1, seed=0)
    if loss.endswith("softmax"):
        n_sampled = 8 if loss.startswith("sampled") else None
        objective_of = softmax_loss(logits_of, n_items, n_sampled)
    else:
        objective_of = pair_loss(logits_of, "implicit" if loss == "log" else "explicit")
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, n_users, 12), rng.integers(0, n_items, 12)
    columns = [users.astype(np.int32), items.astype(np.int32)]
    if not loss.endswith("softmax"):
        columns.append(rng.integers(0, 2, 12).astype(np.float32))  # targets
    columns.append(rng.uniform(0.5, 2, 12).astype(np.float32))  # weights
    extra = (rng.integers(0, n_items, 8).astype(np.int32),) if loss.startswith("sampled") else ()

    def with_gradients(batch, rows):
        with tf.GradientTape() as tape:
            mean, objective = objective_of(tuple(map(tf.constant, batch)), extra, rows)
        gradients = tape.gradient(objective, logits_of.variables)
        dense = [
            np.zeros(v.shape) if g is None else tf.convert_to_tensor(g).numpy()
            for v, g in zip(logits_of.variables, gradients)
        ]
        return float(mean), float(objective), dense

    real = with_gradients([x[:5] for x in columns], None)
    rows = tf.constant([1.0] * 5 + [0.0] * 7)
    padded = with_gradients(columns, rows)
    assert padded[:2] == pytest.approx(real[:2], rel=1e-5)
    for by_padding, alone in zip(padded[2], real[2]):
        np.testing.assert_allclose(by_padding, alone, rtol=1e-5, atol=1e-7)
    unmasked = with_gradients(columns, None)  # the padding does change them unmasked
    assert unmasked[1] != pytest.approx(real[1], rel=1e-3)


@pytest.mark.parametrize(
    "settings",
    # batch sizes that leave 2 (of 2,430 examples), 1 (of 486 positives), 1 (of 485
    # ratings) rows to the last batch, which XLA pads to the batch size
    [
        dict(architecture="neumf", loss="log", l2=0.01, batch_size=607),
        dict(architecture="gmf", n_negatives=10**6, l2=0.01, batch_size=485),  # per positive
        dict(architecture="mlp", feedback="explicit", dropout=0.0, batch_size=242),
    ],
    ids=["neumf-log-l2", "gmf-softmax-l2", "mlp-explicit"],
)
def test_xla_trains_the_model_of_the_plain_loop(
    interactions, ratings, settings, count_xla_fits, monkeypatch
):
    # No dropout in these graphs: the same arithmetic, up to XLA's rounding. The last
    # batch is padded under XLA: the loss and the L2 terms must leave the padding out.
    X, y = ratings if settings.get("feedback") == "explicit" else (interactions, None)
    params = {**FAST, **settings}
    by_xla = NCFRecommender(**params).fit(X, y)
    assert count_xla_fits == [params["batch_size"]]
    monkeypatch.setattr("skncf._training.loop.XLA_MIN_STEPS", 10**9)
    plain = NCFRecommender(**params).fit(X, y)
    assert count_xla_fits == [params["batch_size"]]
    np.testing.assert_allclose(by_xla.predict(X), plain.predict(X), rtol=1e-4, atol=1e-6)
    assert by_xla.history_["loss"] == pytest.approx(plain.history_["loss"], rel=1e-4)


def test_xla_draws_dropout_masks_repeatably(interactions, count_xla_fits):
    params = dict(FAST, architecture="seed", loss="log", epochs=3)
    first = NCFRecommender(**params).fit(interactions)
    again = NCFRecommender(**params).fit(interactions).predict(interactions)
    other = NCFRecommender(**{**params, "random_state": 1}).fit(interactions)
    no_dropout = NCFRecommender(**params, dropout=0.0).fit(interactions).predict(interactions)
    # one compiled epoch per dropout rate: the other seed fits run in the kept program
    assert len(count_xla_fits) == 2
    np.testing.assert_array_equal(first.predict(interactions), again)
    assert not np.allclose(other.predict(interactions), again)
    assert not np.allclose(no_dropout, again)  # the masks are drawn
    loss = first.history_["loss"]
    assert loss[-1] < loss[0]


def test_softmax_over_a_tower_and_lazy_adam_do_not_compile_with_xla(interactions, count_xla_fits):
    NCFRecommender(architecture="neumf", **FAST).fit(interactions)
    NCFRecommender(architecture="gmf", optimizer="lazy_adam", **FAST).fit(interactions)
    assert count_xla_fits == []
    assert skncf._training.loop.xla_available()


DEBUGGING = {
    # runs functions op by op: XLA's ThreeFry dropout has no eager kernel
    "run_functions_eagerly": (
        lambda: tf.config.run_functions_eagerly(True),
        lambda: tf.config.run_functions_eagerly(False),
    ),
    # adds DebugNumericSummaryV2 ops after every op: XLA has no kernel for them
    "check_numerics": (tf.debugging.enable_check_numerics, tf.debugging.disable_check_numerics),
}


@pytest.mark.parametrize("debugging", sorted(DEBUGGING))
def test_debugging_settings_keep_the_plain_loop(
    debugging, interactions, count_xla_fits, monkeypatch
):
    turn_on, turn_off = DEBUGGING[debugging]
    params = dict(FAST, architecture="seed", loss="log", epochs=2)
    assert skncf._training.loop.xla_available()  # known (and cached) before the setting
    turn_on()
    try:
        debugged = NCFRecommender(**params).fit(interactions).predict(interactions)
    finally:
        turn_off()
    assert count_xla_fits == []
    NCFRecommender(**params).fit(interactions)  # the setting off: XLA again
    assert len(count_xla_fits) == 1
    monkeypatch.setattr("skncf._training.loop.XLA_MIN_STEPS", 10**9)
    graph = NCFRecommender(**params).fit(interactions).predict(interactions)
    np.testing.assert_allclose(debugged, graph, rtol=1e-5, atol=1e-7)


def test_skncf_xla_0_keeps_the_plain_loop_and_bad_values_fail_clearly(
    interactions, count_xla_fits, monkeypatch
):
    monkeypatch.setenv("SKNCF_XLA", "0")
    NCFRecommender(architecture="gmf", n_negatives=10**6, **FAST).fit(interactions)
    assert count_xla_fits == []
    monkeypatch.setenv("SKNCF_XLA", "1")
    fitted = NCFRecommender(architecture="gmf", n_negatives=10**6, **FAST).fit(interactions)
    assert count_xla_fits == [FAST["batch_size"]]
    before = fitted.predict(interactions)
    monkeypatch.setenv("SKNCF_XLA", "yes")
    with pytest.raises(ValueError, match="SKNCF_XLA must be '0' or '1', got 'yes'"):
        fitted.fit(interactions)
    np.testing.assert_array_equal(fitted.predict(interactions), before)


def test_partial_fit_does_not_compile_with_xla(interactions, count_xla_fits):
    rec = NCFRecommender(architecture="gmf", n_negatives=10**6, **FAST).fit(interactions)
    assert count_xla_fits == [FAST["batch_size"]]  # fit does (per-positive full softmax)
    rec.partial_fit(interactions[:100])
    NCFRecommender(architecture="seed", loss="log", **FAST).partial_fit(interactions)  # unfitted
    assert count_xla_fits == [FAST["batch_size"]]


@pytest.mark.parametrize(
    "n_rows,replicas,steps", [(12, 2, 3), (10, 2, 3), (9, 2, 2), (9, 1, 3), (1, 2, 0)]
)
def test_a_last_batch_too_small_to_split_across_replicas_is_left_out(n_rows, replicas, steps):
    assert int(replica_steps(tf.constant(n_rows), 4, replicas)) == steps


@pytest.mark.parametrize("loss", ["log", "softmax"])
def test_compiled_and_eager_fits_agree(loss, monkeypatch):
    # Same steps whether the epoch runs as one TensorFlow call or step by step in Python.
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 30, 400), rng.integers(0, 40, 400)])
    params = dict(architecture="neumf", latent_dim=4, mlp_layers=(8,), epochs=2, batch_size=64)
    compiled = NCFRecommender(loss=loss, random_state=0, **params).fit(X)
    monkeypatch.setattr("skncf._training.loop.EAGER_MAX_STEPS", 10**6)
    eager = NCFRecommender(loss=loss, random_state=0, **params).fit(X)
    np.testing.assert_allclose(
        compiled.predict(X[:50]), eager.predict(X[:50]), rtol=1e-4, atol=1e-6
    )


def test_lazy_adam_moves_only_looked_up_rows_and_matches_adam_on_them():
    rng = np.random.default_rng(1)
    start = rng.normal(size=(6, 3)).astype("float32")
    dense, lazy = keras.Variable(start), keras.Variable(start)
    dense_adam, lazy_adam = FusedAdam([dense], 0.01), FusedAdam([lazy], 0.01, lazy=True)
    rows = tf.constant([4, 1, 4])  # row 4 twice: its gradients add up
    values = tf.constant(rng.normal(size=(3, 3)).astype("float32"))
    gradient = tf.IndexedSlices(values, rows, dense_shape=tf.constant([6, 3]))
    for _ in range(3):  # the same rows every step: lazy and dense Adam agree
        dense_adam.apply([gradient])
        lazy_adam.apply([gradient])
    np.testing.assert_allclose(lazy.numpy(), dense.numpy(), atol=1e-6)
    assert not np.allclose(lazy.numpy()[[1, 4]], start[[1, 4]])

    other = tf.IndexedSlices(values[:1], tf.constant([0]), dense_shape=tf.constant([6, 3]))
    before = lazy.numpy()
    lazy_adam.apply([other])
    dense_adam.apply([other])
    moved = np.flatnonzero(np.any(lazy.numpy() != before, axis=1))
    assert moved.tolist() == [0]  # rows 1 and 4 keep still; dense Adam's momentum moves them
    assert not np.allclose(dense.numpy()[[1, 4]], before[[1, 4]])
