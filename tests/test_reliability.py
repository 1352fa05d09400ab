"""Concurrency and determinism: threads share a fitted model, workers repeat a fit."""

import numpy as np
import pytest

from skncf import NCFRecommender

from .conftest import FAST, in_threads, small_grid_search

pytestmark = pytest.mark.slow  # threads and grid-search worker processes


@pytest.mark.parametrize("model", ["gmf", "neumf"])
def test_recommend_and_predict_are_thread_safe(interactions, model):
    rec = NCFRecommender(architecture=model, **FAST).fit(interactions)
    users = np.unique(interactions[:, 0])
    serial = (rec.recommend(users, k=5), rec.predict(interactions))
    for per_thread in in_threads(lambda n: (rec.recommend(users, k=5), rec.predict(interactions))):
        for top, scores in per_thread:
            np.testing.assert_array_equal(top, serial[0])
            np.testing.assert_array_equal(scores, serial[1])


def test_grid_search_workers_reproduce_the_serial_run(interactions):
    serial = small_grid_search(interactions, n_jobs=1)
    parallel = small_grid_search(interactions, n_jobs=2)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    assert serial.best_params_ == parallel.best_params_
    np.testing.assert_array_equal(
        serial.best_estimator_.predict(interactions), parallel.best_estimator_.predict(interactions)
    )
