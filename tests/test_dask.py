"""Model search on a Dask cluster, through joblib, as scikit-learn users run it."""

import logging

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster

from .conftest import small_grid_search

pytestmark = pytest.mark.slow  # starts a Dask cluster


def test_grid_search_on_a_dask_cluster_finds_the_local_best(interactions):
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
        joblib.parallel_backend("dask"),
    ):
        on_dask = small_grid_search(interactions, n_jobs=-1)
        workers = client.run(lambda: "skncf" in __import__("sys").modules)
    local = small_grid_search(interactions, n_jobs=1)
    # the fits ran in the cluster's two worker processes, not here
    assert len(workers) == 2 and all(workers.values())
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )
