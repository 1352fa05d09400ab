"""Compiled training programs kept between fits (skncf._training.programs)."""

import numpy as np
import pytest
import tensorflow as tf

import skncf._training.programs
from skncf import NCFRecommender
from skncf._graph.graphs import build_graph
from skncf._graph.logits import CandidateLogits
from skncf._training.adam import FusedAdam

from .conftest import FAST, in_threads

pytestmark = pytest.mark.slow  # many fits each, some in threads


def fit_scores(X, **params):
    return NCFRecommender(**{**FAST, **params}).fit(X).predict(X)


@pytest.mark.parametrize(
    "settings",
    # n_negatives at least the catalog's size: the per-positive full softmax, which XLA
    # compiles (training by users does not)
    [
        dict(architecture="seed", loss="log"),
        dict(architecture="neumf", loss="log"),
        dict(architecture="gmf", n_negatives=10**6),
    ],
    ids=["seed-log", "neumf-log", "gmf-softmax"],
)
def test_a_kept_program_trains_as_a_new_one_would(interactions, count_xla_fits, settings):
    # Other seeds and learning rates run in the program of the first fit; each must
    # train the model a fit in a fresh process would: dropout masks, Adam's state.
    first = fit_scores(interactions, **settings)
    other = fit_scores(interactions, **settings, random_state=1, learning_rate=0.01)
    again = fit_scores(interactions, **settings)
    assert len(count_xla_fits) == 1
    np.testing.assert_array_equal(again, first)
    skncf._training.programs.forget()
    fresh_other = fit_scores(interactions, **settings, random_state=1, learning_rate=0.01)
    assert len(count_xla_fits) == 2
    np.testing.assert_array_equal(other, fresh_other)
    assert not np.array_equal(other, first)


def test_keeping_programs_does_not_change_a_fit(interactions, count_xla_fits, monkeypatch):
    kept = fit_scores(interactions, architecture="seed", loss="log", random_state=2)
    kept_again = fit_scores(interactions, architecture="seed", loss="log", random_state=2)
    monkeypatch.setattr("skncf._training.programs.MAX_STATE_BYTES", 0)  # nothing is kept
    alone = fit_scores(interactions, architecture="seed", loss="log", random_state=2)
    assert len(count_xla_fits) == 2 and len(skncf._training.programs._kept) == 1  # the first fit's
    np.testing.assert_array_equal(kept, alone)
    np.testing.assert_array_equal(kept_again, alone)


def test_a_later_fit_leaves_an_earlier_estimator_alone(interactions, count_xla_fits):
    params = {**FAST, "architecture": "neumf", "loss": "log"}
    earlier = NCFRecommender(**params).fit(interactions)
    before = earlier.predict(interactions)
    NCFRecommender(**{**params, "random_state": 5}).fit(interactions)
    assert len(count_xla_fits) == 1
    np.testing.assert_array_equal(earlier.predict(interactions), before)


def test_programs_are_kept_per_setting_and_only_the_last_ones(
    interactions, count_xla_fits, monkeypatch
):
    monkeypatch.setattr("skncf._training.programs.MAX_PROGRAMS", 2)
    for dropout in (0.0, 0.1, 0.2, 0.0):
        fit_scores(interactions, architecture="gmf", loss="log", dropout=dropout)
    # 0.0 was evicted by 0.2, so its second fit compiled again
    assert len(count_xla_fits) == 4
    assert len(skncf._training.programs._kept) == 2
    fit_scores(interactions, architecture="gmf", loss="log", dropout=0.2, latent_dim=4)
    assert len(count_xla_fits) == 5  # other shapes: another program


def test_a_busy_program_is_not_shared(interactions, count_xla_fits):
    first = fit_scores(interactions, architecture="seed", loss="log")
    (program,) = skncf._training.programs._kept.values()
    with program.busy:  # as if another thread were fitting in it
        second = fit_scores(interactions, architecture="seed", loss="log")
    assert len(count_xla_fits) == 2
    np.testing.assert_array_equal(second, first)
    assert not program.busy.locked()


def test_fits_in_threads_at_once_train_as_fits_one_after_another(interactions, count_xla_fits):
    one_by_one = [
        fit_scores(interactions, architecture="seed", loss="log", random_state=n) for n in (0, 1)
    ]
    results = in_threads(
        lambda n: fit_scores(interactions, architecture="seed", loss="log", random_state=n % 2),
        n_threads=4,
        repeats=2,
    )
    for n, per_thread in enumerate(results):
        for scores in per_thread:
            np.testing.assert_array_equal(scores, one_by_one[n % 2])


def test_a_failed_fit_frees_its_program_and_spoils_nothing(interactions, count_xla_fits):
    first = fit_scores(interactions, architecture="seed", loss="log")
    with pytest.raises(FloatingPointError):
        fit_scores(interactions, architecture="seed", loss="log", learning_rate=1e30)
    (program,) = skncf._training.programs._kept.values()
    assert not program.busy.locked()
    np.testing.assert_array_equal(fit_scores(interactions, architecture="seed", loss="log"), first)
    assert len(count_xla_fits) == 1


def test_restart_puts_adam_and_the_masks_back_to_a_new_start():
    graph = build_graph(
        "seed",
        n_users=5,
        n_items=4,
        latent_dim=3,
        mlp_layers=(),
        dropout=0.5,
        l2=0.0,
        seeds=iter(range(100)),
    )
    logits_of = CandidateLogits(graph, dropout=0.5, l2=0.0, seed=7)
    adam = FusedAdam(logits_of.variables, 0.1)
    masks = [logits_of._drop(tf.ones((4, 3)), True).numpy() for _ in range(2)]
    adam.apply([tf.ones_like(v) for v in logits_of.variables])
    logits_of.restart(7)
    adam.restart(0.5)
    np.testing.assert_array_equal(logits_of._drop(tf.ones((4, 3)), True).numpy(), masks[0])
    assert not np.array_equal(masks[0], masks[1])
    assert float(adam.iterations) == 0.0 and float(adam.learning_rate) == 0.5
    for m, v in adam.moments:
        assert not np.any(m.numpy()) and not np.any(v.numpy())
