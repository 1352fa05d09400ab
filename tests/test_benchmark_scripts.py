"""The benchmark scripts' own logic, on tiny synthetic splits (no MovieLens needed)."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # runs the benchmark scripts on small data

# the scripts run as ``python benchmarks/x.py`` and import their shared helpers
# (common.py) from their own folder; here they are imported the same way
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import common  # noqa: E402


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_every_script_imports_without_optional_packages(script):
    # optional baselines (implicit, Surprise) are imported where they are used
    module = importlib.import_module(script)
    assert script == "common" or callable(module.main)


def write_split(prefix, rng, n_users=12, n_items=40):
    train, test, negatives = [], [], []
    for user in range(n_users):
        items = rng.choice(n_items, size=8, replace=False)
        stamps = rng.choice(100, size=7, replace=False)
        train += [(user, item, 4, stamp) for item, stamp in zip(items[:7], stamps)]
        test.append((user, items[7], 5, 200))
        others = np.setdiff1d(np.arange(n_items), items)[:5]
        negatives.append(f"({user},{items[7]})\t" + "\t".join(map(str, others)))
    for suffix, rows in (("train", train), ("test", test)):
        lines = ["\t".join(map(str, row)) for row in rows]
        Path(f"{prefix}.{suffix}.rating").write_text("\n".join(lines) + "\n")
    Path(f"{prefix}.test.negative").write_text("\n".join(negatives) + "\n")


def test_validation_split_holds_out_each_users_latest_train_row(tmp_path):
    from skncf.datasets import load_ncf_split

    write_split(tmp_path / "toy", np.random.default_rng(0))
    split = load_ncf_split(tmp_path / "toy")
    val = common.validation_split(split, seed=0)

    assert len(val.train) + len(val.test) == len(split.train)
    train_pairs = {tuple(p) for p in split.train.tolist()}
    for row, (user, item) in enumerate(val.test.tolist()):
        rows = split.train[:, 0] == user
        latest = split.train[rows][np.argmax(split.train_timestamps[rows])]
        assert latest.tolist() == [user, item]
        negatives = val.test_negatives[row]
        assert len(set(negatives.tolist())) == split.test_negatives.shape[1]
        assert not any((user, n) in train_pairs for n in negatives.tolist())
        assert set(negatives.tolist()) <= set(val.train[:, 1].tolist())
    # the test set's own rows never leak into validation training
    assert not {tuple(p) for p in split.test.tolist()} & {tuple(p) for p in val.train.tolist()}


def test_protocol_arrays_score_a_perfect_and_a_worst_model(tmp_path):
    import scipy.sparse as sp

    from skncf.datasets import load_ncf_split

    write_split(tmp_path / "toy", np.random.default_rng(1))
    split = load_ncf_split(tmp_path / "toy")
    n_items = 40
    train = sp.csr_array(
        (np.ones(len(split.train)), (split.train[:, 0], split.train[:, 1])), shape=(12, n_items)
    )
    arrays = common.ProtocolArrays(split, train)
    perfect = np.zeros((12, n_items))
    perfect[np.arange(12), split.test[:, 1]] = 1.0
    metrics = arrays.evaluate(perfect)
    assert metrics["full_hr"] == pytest.approx(np.isin(split.test[:, 1], split.train[:, 1]).mean())
    assert metrics["sampled_hr"] == 1.0
    assert arrays.evaluate(-perfect)["sampled_ndcg"] < 1.0


def test_synthetic_pairs_are_distinct_and_skewed_towards_popular_items():
    pairs = common.synthetic_pairs(n_users=50, n_items=40, n_pairs=1500, seed=3)

    assert pairs.shape == (1500, 2)
    assert len({tuple(p) for p in pairs.tolist()}) == 1500
    assert pairs[:, 0].min() >= 0 and pairs[:, 0].max() < 50
    assert pairs[:, 1].min() >= 0 and pairs[:, 1].max() < 40
    counts = np.bincount(pairs[:, 1], minlength=40)
    assert counts[:5].sum() > counts[-5:].sum()


def test_scale_phase_measures_the_memory_a_block_allocates():
    import scale

    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc")

    with scale.Phase("allocate") as phase:
        block = np.ones(25_000_000)  # 200 MB, touched
    assert block.sum() == 25_000_000
    assert phase.peak_bytes - phase.start_bytes >= 150 * 2**20


@pytest.mark.parametrize(
    "settings, name",
    [
        ([], "skncf gmf, defaults"),
        (
            ["--init", "svd", "--loss", "log", "--l2", "0.001"],
            "skncf gmf, defaults, init='svd', loss='log', l2=0.001",
        ),
    ],
)
def test_time_to_quality_reports_both_curves(tmp_path, monkeypatch, capsys, settings, name):
    import time_to_quality

    write_split(tmp_path / "toy", np.random.default_rng(2))
    argv = ["time_to_quality.py", "--data", str(tmp_path / "toy"), "--keras-epochs", "2"]
    monkeypatch.setattr(sys, "argv", argv + ["--max-epochs", "1", *settings])

    forgotten = []
    monkeypatch.setattr(time_to_quality, "forget_compiled_programs", lambda: forgotten.append(1))
    time_to_quality.main()
    out = capsys.readouterr().out
    assert len(forgotten) == 1  # the one skncf fit is timed as a process's first
    assert out.count("| plain Keras NeuMF |") == 2
    assert out.count(f"| {name} | 1 |") == 1
    assert "time to quality" in out or "did not reach the target within 1 epochs" in out
    assert time_to_quality.reaches(
        {"full_hr": 0.2, "sampled_hr": 0.7}, {"full_hr": 0.2, "sampled_hr": 0.69}
    )
    assert not time_to_quality.reaches(
        {"full_hr": 0.2, "sampled_hr": 0.6}, {"full_hr": 0.1, "sampled_hr": 0.69}
    )


def test_scale_runs_end_to_end_on_a_tiny_catalog(monkeypatch, capsys):
    import scale

    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc")
    argv = ["scale.py", "--users", "60", "--items", "400", "--interactions", "300"]
    argv += ["--every-item", "--architecture", "gmf"]
    monkeypatch.setattr(sys, "argv", argv + ["--recommend-users", "10", "--verbose", "0"])

    scale.main()
    out = capsys.readouterr().out
    assert ", 400 items;" in out  # 300 skewed pairs miss items: --every-item adds them
    assert "| fit one epoch |" in out
    assert "| recommend k=10 for 10 users |" in out


def test_early_stopping_reports_the_chosen_and_the_best_test_epoch(tmp_path, monkeypatch, capsys):
    import early_stopping

    write_split(tmp_path / "toy", np.random.default_rng(4))
    argv = ["early_stopping.py", "--data", str(tmp_path / "toy"), "--epochs", "3"]
    monkeypatch.setattr(sys, "argv", argv + ["--patience", "1", "--architecture", "gmf"])

    early_stopping.main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "epoch" not in line]
    assert 2 <= len(rows) <= 3 and sum("**chosen**" in row for row in rows) == 1
    assert "best test epoch" in out and "returned model (best weights restored)" in out


def test_planted_pairs_cover_the_catalog_and_follow_the_groups():
    import approximate

    pairs = approximate.planted_pairs(n_users=200, n_items=5000, n_groups=5, per_user=30)
    assert len(np.unique(pairs[:, 1])) == 5000  # every item, the missed ones added
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    assert approximate.recall(np.array([[1, 2, 3]]), np.array([[3, 4, 1]])) == pytest.approx(2 / 3)


def test_approximate_reports_recall_and_speed_up(monkeypatch, capsys):
    import approximate

    argv = ["approximate.py", "--items", "3000", "--fit-users", "200", "--users", "50"]
    argv += ["--per-user", "20", "--epochs", "1", "--probes", "1,1000", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    approximate.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1")]
    one, every = (row.split("|")[1:-1] for row in rows)
    assert float(one[2]) < 1.0  # one list of ~55 misses items
    assert every[1].strip() == "100.0%" and float(every[2]) == 1.0  # all lists: exact


def test_throughput_times_skncf_whole_and_its_epoch_alone():
    import throughput

    pairs = common.synthetic_pairs(n_users=50, n_items=40, n_pairs=600, seed=1)
    whole, epoch = throughput.skncf_samples_per_second(pairs, "gmf", 64, seed=0)
    assert 0 < whole < epoch  # the epoch is part of the fit
    # Keras, two epochs: the last one is timed alone, without the first one's tracing
    whole, last = throughput.keras_samples_per_second(pairs, "gmf", 64, seed=0, epochs=2)
    assert 0 < whole < last


@pytest.mark.parametrize("warm", [False, True])
def test_throughput_times_skncf_fits_cold_unless_warm(monkeypatch, warm):
    import throughput

    forgotten = []
    monkeypatch.setattr(throughput, "forget_compiled_programs", lambda: forgotten.append(1))
    pairs = common.synthetic_pairs(n_users=50, n_items=40, n_pairs=600, seed=1)
    throughput.skncf_samples_per_second(pairs, "gmf", 64, seed=0, warm=warm)
    assert len(forgotten) == (0 if warm else 1)


def test_refit_times_cold_and_warm_fits(tmp_path, monkeypatch, capsys):
    import refit

    write_split(tmp_path / "toy", np.random.default_rng(2))
    monkeypatch.setattr("skncf._training.loop.XLA_MIN_STEPS", 0)
    forgotten = []
    monkeypatch.setattr(refit, "forget_compiled_programs", lambda: forgotten.append(1))
    argv = ["refit.py", "--data", str(tmp_path / "toy"), "--models", "seed", "--repeats", "2"]
    monkeypatch.setattr(sys, "argv", argv)
    refit.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| seed |")]
    assert len(rows) == 1 and rows[0].endswith("x |")
    assert len(forgotten) == 2  # before each cold fit


def test_ease_weights_solve_steck_s_constrained_ridge_regression():
    import baselines
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = sp.csr_array((rng.random((30, 8)) < 0.4).astype(np.float64))
    B = baselines.ease_weights(X, lam=2.0)
    np.testing.assert_array_equal(np.diag(B), 0.0)
    # the closed form is the minimiser: the gradient of ||X - XB||^2 + lam ||B||^2 is
    # zero off the diagonal (the diagonal is held at 0 by the constraint's multiplier)
    dense = X.toarray()
    gradient = -dense.T @ (dense - dense @ B) + 2.0 * B
    off_diagonal = ~np.eye(8, dtype=bool)
    np.testing.assert_allclose(gradient[off_diagonal], 0.0, atol=1e-10)


def test_grid_search_folds_hold_out_one_train_row_per_user(tmp_path):
    import grid_search

    from skncf.datasets import load_ncf_split

    write_split(tmp_path / "toy", np.random.default_rng(2))
    train = load_ncf_split(tmp_path / "toy").train
    found = grid_search.folds(train)
    assert len(found) == 3
    for fit_rows, held_rows in found:
        assert sorted(train[held_rows, 0].tolist()) == list(range(12))  # one per user
        assert len(fit_rows) + len(held_rows) == len(train)
    assert len({tuple(held.tolist()) for _, held in found}) > 1  # the folds differ
    # --folds latest: each user's latest, second latest, third latest train row
    times = load_ncf_split(tmp_path / "toy").train_timestamps
    for k, (fit_rows, held_rows) in enumerate(grid_search.folds(train, timestamps=times)):
        for row in held_rows:
            mine = np.flatnonzero(train[:, 0] == train[row, 0])
            assert np.sort(times[mine])[::-1][k] == times[row]
            assert times[np.intersect1d(fit_rows, mine)].max() < times[row]  # no later row


def test_cold_start_scores_latest_ratings_per_user_and_pairs_methods():
    import cold_start

    from skncf.metrics import hit_rate_at_k, ndcg_at_k

    X = np.array([[1, 10], [1, 11], [1, 12], [2, 10], [2, 13], [3, 11]])
    stamps = np.array([5, 9, 1, 7, 3, 4])
    split = cold_start.Split(X, 0, np.array([2, 1]), stamps)
    assert split.latest.tolist() == [[1, 11], [2, 10]]  # each held-out user's latest row
    assert split.train.tolist() == [[3, 11]]
    y_true = split.truth(np.array([1, 2]), np.array([10, 11, 12, 13]))
    assert y_true.tolist() == [[True, True, True, False], [True, False, False, True]]

    rng = np.random.default_rng(0)
    truth = rng.random((30, 50)) < 0.1
    truth[3] = False  # a user without a test item is left out
    scores = rng.random((30, 50))
    hits, ndcgs = cold_start.metrics(truth, scores)
    assert len(hits) == len(ndcgs) == 29
    keep = truth.any(axis=1)
    assert hits.mean() == pytest.approx(hit_rate_at_k(truth[keep], scores[keep], k=10))
    assert ndcgs.mean() == pytest.approx(ndcg_at_k(truth[keep], scores[keep], k=10))

    runs = [
        {"skncf": ((np.array([1.0, 0.0]),), 0, {}), "other": ((np.array([0.0, 0.0]),), 0, {})},
        {"skncf": ((np.array([1.0, 1.0]),), 0, {}), "other": ((np.array([1.0, 0.0]),), 0, {})},
    ]
    # per-user differences 1, 0, 0, 1: mean 0.5, standard error 0.5 / 2
    assert cold_start.paired(runs, "other") == ["+0.5000 ± 0.2500"]


def test_explicit_passes_settings_and_scores_both_methods_on_the_same_folds(
    tmp_path, monkeypatch, capsys
):
    import explicit

    rng = np.random.default_rng(3)
    pairs = [(u, i) for u in range(1, 31) for i in rng.choice(np.arange(1, 26), 8, replace=False)]
    lines = [f"{u}\t{i}\t{rng.integers(1, 6)}\t{100 + n}" for n, (u, i) in enumerate(pairs)]
    (tmp_path / "u.data").write_text("\n".join(lines) + "\n")  # MovieLens-100K's format
    folds = []

    def mean_rating(X_train, y_train, X_test, seed):  # Surprise stands aside
        folds.append(len(X_test))
        return np.full(len(X_test), np.mean(y_train))

    monkeypatch.setattr(explicit, "surprise_svd", mean_rating)
    argv = ["explicit.py", "--data", str(tmp_path), "--folds", "2", "--epochs", "1"]
    monkeypatch.setattr(sys, "argv", argv + ["--architecture", "mlp", "--latent-dim", "4"])
    explicit.main()
    out = capsys.readouterr().out
    assert "{'architecture': 'mlp', 'latent_dim': 4, 'epochs': 1}" in out
    assert folds == [48, 48]  # two of KFold(5)'s folds of 240 ratings
    assert out.count("skncf RMSE") == 2 and "ratio skncf / SVD RMSE" in out


@pytest.mark.parametrize(
    "script, options, row",
    [
        ("serving", ["--models", "gmf", "--repeats", "1"], "| gmf | "),
        ("fold_in", ["--folds", "2", "--no-baselines"], "| skncf gmf, folded in | "),
        ("export", ["--architectures", "gmf", "--repeats", "1"], "| gmf | 1 | "),
        ("served_fold_in", ["--repeats", "1"], "| 1 | "),
        ("ncf_protocol", ["--methods", "gmf", "--epochs", "1"], "| gmf | "),
        ("explain", ["--users", "3", "--max-history", "7"], "| 3 | "),
    ],
)
def test_split_scripts_run_end_to_end_on_a_toy_split(
    tmp_path, monkeypatch, capsys, script, options, row
):
    # what their README commands run, on a tiny split in the NCF files' format
    module = importlib.import_module(script)
    write_split(tmp_path / "toy", np.random.default_rng(4))
    argv = [f"{script}.py", "--data", str(tmp_path / "toy"), *options]
    monkeypatch.setattr(sys, "argv", argv)
    module.main()
    assert any(line.startswith(row) for line in capsys.readouterr().out.splitlines())


def test_ncf_protocol_seeds_report_the_mean_of_single_seed_runs(tmp_path, monkeypatch, capsys):
    import ncf_protocol

    write_split(tmp_path / "toy", np.random.default_rng(4))
    base = ["ncf_protocol.py", "--data", str(tmp_path / "toy"), "--methods", "gmf"]
    base += ["--epochs", "2", "--latent-dim", "4"]

    def gmf_cells(options):
        monkeypatch.setattr(sys, "argv", base + options)
        ncf_protocol.main()
        (row,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| gmf | ")]
        return row.split(" | ")[1:5]

    single = [[float(c) for c in gmf_cells(["--seed", str(seed)])] for seed in (1, 2)]
    assert single[0] != single[1]  # the seeds differ, so the mean below means something
    pooled = gmf_cells(["--seed", "1", "--seeds", "2"])
    means = [float(cell.split(" ± ")[0]) for cell in pooled]
    np.testing.assert_allclose(means, np.mean(single, axis=0), atol=1e-4)
    errors = [float(cell.split(" ± ")[1]) for cell in pooled]
    expected = np.abs(np.subtract(*single)) / 2  # the s.e. of two values: |a - b| / 2
    np.testing.assert_allclose(errors, expected, atol=1e-4)


def test_baselines_seed_spread_is_the_mean_and_sample_deviation():
    import baselines

    found = baselines.seed_spread(lambda seed: seed, lambda x: {"full_hr": 2.0 * x}, range(3))
    assert found == {"full_hr": (2.0, 2.0)}  # values 0, 2, 4


def test_baselines_seeds_report_both_seeded_methods(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import baselines

    def popularity(split, regularization=0.01, alpha=1.0, seed=0, factors=64):  # no implicit
        counts = np.asarray(common.train_matrix(split).sum(axis=0)).ravel()
        noise = np.random.default_rng(seed).random(len(counts))  # seeds differ
        n_users = common.train_matrix(split).shape[0]
        return SimpleNamespace(
            user_factors=np.ones((n_users, 1)), item_factors=(counts + noise)[:, None]
        )

    write_split(tmp_path / "toy", np.random.default_rng(6))
    monkeypatch.setattr(baselines, "fit_als", popularity)
    argv = ["baselines.py", "--data", str(tmp_path / "toy"), "--repeats", "1", "--seeds", "2"]
    monkeypatch.setattr(sys, "argv", argv + ["--skncf", "default,random-start"])
    fitted = []
    fit_skncf = baselines.fit_skncf
    monkeypatch.setattr(
        baselines,
        "fit_skncf",
        lambda *a, **params: fitted.append(params) or fit_skncf(*a, **params),
    )
    baselines.main()
    out = capsys.readouterr().out.split("test set over seeds 0-1: mean ± standard deviation")[1]
    rows = [line for line in out.splitlines() if " ± " in line]
    assert len(rows) == 3
    assert rows[0].startswith("implicit ALS, validated") and rows[1].startswith("NCFRecommender()")
    assert rows[2].startswith("NCFRecommender(init='random')")
    assert {} in fitted and {"init": "random"} in fitted
    assert all(line.count(" ± ") == 4 for line in rows)  # every metric with its deviation


def test_grid_search_runs_its_grid_and_scores_the_best_on_test(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import grid_search

    def popularity(split, regularization=0.01, alpha=1.0, seed=0, factors=64):  # no implicit
        counts = np.asarray(common.train_matrix(split).sum(axis=0)).ravel()
        users = np.ones((common.train_matrix(split).shape[0], 1))
        return SimpleNamespace(user_factors=users, item_factors=counts[:, None] + alpha)

    write_split(tmp_path / "toy", np.random.default_rng(5))
    monkeypatch.setattr(grid_search, "GRID", {"latent_dim": [4, 8], "epochs": [1]})
    monkeypatch.setattr(grid_search, "fit_als", popularity)
    monkeypatch.setattr(sys, "argv", ["grid_search.py", "--data", str(tmp_path / "toy")])
    grid_search.main()
    out = capsys.readouterr().out
    assert "2 settings x 3 folds + refit" in out
    assert "'epochs': 1" in out and "test: full HR@10" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")][1:]
    names = [row[0] for row in rows]
    assert names[0].startswith("| skncf, 2 settings: best {") and len(rows) == 3
    assert names[1].startswith("| EASE, 6 lambdas: best ")
    assert names[2].startswith("| ALS, 8 settings: best reg ") and rows[2][-1] == "1.0x |"
    assert all(0 <= float(cell) <= 1 for row in rows for cell in row[1:6])


def test_grid_search_scores_a_baseline_fold_as_the_ranking_scorer_does(tmp_path):
    # EASE and ALS are scored on the folds by common.ProtocolArrays, skncf by
    # make_ranking_scorer: the same model must get the same fold NDCG@10 from both
    import grid_search

    from skncf import NCFRecommender
    from skncf.datasets import load_ncf_split
    from skncf.model_selection import make_ranking_scorer

    write_split(tmp_path / "toy", np.random.default_rng(8))
    train = load_ncf_split(tmp_path / "toy").train
    cv = grid_search.folds(train)
    for (fit_rows, held_rows), fold in zip(cv, grid_search.fold_splits(train, cv)):
        np.testing.assert_array_equal(fold.test, train[held_rows])
        rec = NCFRecommender(latent_dim=4, epochs=2, random_state=0).fit(train[fit_rows])
        n_users, n_items = common.train_matrix(fold).shape
        pairs = np.array([(u, i) for u in range(n_users) for i in range(n_items)])
        scores = np.zeros((n_users, n_items))
        known = np.isin(pairs[:, 0], rec.users_) & np.isin(pairs[:, 1], rec.items_)
        scores[pairs[known, 0], pairs[known, 1]] = rec.predict(pairs[known])
        found = common.ProtocolArrays(fold, common.train_matrix(fold)).evaluate(
            scores[fold.test[:, 0]]
        )
        assert set(found) == {"full_hr", "full_ndcg"}  # no negatives: full ranking only
        expected = make_ranking_scorer("ndcg", k=10)(rec, train[held_rows])
        assert found["full_ndcg"] == pytest.approx(expected, abs=1e-12)


def test_baselines_choose_on_validation_and_report_every_method(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import baselines

    def popularity(split, regularization=0.01, alpha=1.0, seed=0, factors=64):  # no implicit
        interactions = common.train_matrix(split)
        counts = np.asarray(interactions.sum(axis=0)).ravel()
        n_users = interactions.shape[0]
        return SimpleNamespace(user_factors=np.ones((n_users, 1)), item_factors=counts[:, None])

    write_split(tmp_path / "toy", np.random.default_rng(6))
    monkeypatch.setattr(baselines, "fit_als", popularity)
    argv = ["baselines.py", "--data", str(tmp_path / "toy"), "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", argv + ["--skncf", "default,seed", "--als-factors", "8"])
    baselines.main()
    out = capsys.readouterr().out
    assert "implicit ALS, validated (8 factors, reg" in out
    assert out.count("EASE lambda") == len(baselines.EASE_LAMBDAS)  # validation lines
    assert out.count("ALS (regularization, alpha)") == len(baselines.ALS_GRID)
    for name in ("implicit ALS, defaults", "implicit ALS, validated", "EASE, validated",
                 "NCFRecommender() ", "NCFRecommender(architecture='seed')"):  # fmt: skip
        assert any(line.startswith(name) and line.endswith("x ALS") for line in out.splitlines())


def test_fold_in_folds_the_baselines_in_the_same_folds(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import baselines
    import fold_in

    def popularity(split, regularization=0.01, alpha=1.0, seed=0, factors=64):  # no implicit
        counts = np.asarray(common.train_matrix(split).sum(axis=0)).ravel()[:, None]
        ones = np.ones((common.train_matrix(split).shape[0], 1))
        return SimpleNamespace(
            user_factors=ones, item_factors=counts,
            recalculate_user=lambda users, history: np.ones((len(users), 1)),
        )  # fmt: skip

    write_split(tmp_path / "toy", np.random.default_rng(7))
    monkeypatch.setattr(baselines, "fit_als", popularity)
    monkeypatch.setattr(
        sys, "argv", ["fold_in.py", "--data", str(tmp_path / "toy"), "--folds", "2"]
    )
    fold_in.main()
    lines = capsys.readouterr().out.splitlines()
    for method in ("skncf gmf", "ALS (reg", "EASE ("):
        rows = [line for line in lines if line.startswith(f"| {method}")]
        assert [row.split(",")[-1].split("|")[0].strip() for row in rows] == ["in fit", "folded in"]
        figures = [float(cell) for row in rows for cell in row.split("|")[2:-1]]
        assert len(figures) == 8 and all(0 <= f <= 1 for f in figures)


def write_movielens_100k(folder, rng, n_users=40, n_items=30):
    """A small MovieLens-100K folder: u.data, u.user, u.item and u.genre."""
    folder.mkdir()
    genres = ["unknown", "Action", "Comedy", "Drama"]
    (folder / "u.genre").write_text("".join(f"{g}|{j}\n" for j, g in enumerate(genres)))
    jobs = ["artist", "doctor", "student"]
    users = [
        f"{u}|{rng.integers(15, 70)}|{'MF'[u % 2]}|{jobs[u % 3]}|{10000 + u}"
        for u in range(1, n_users + 1)
    ]
    (folder / "u.user").write_text("\n".join(users) + "\n")
    flags = ["|".join(str(int(g == i % 4)) for g in range(4)) for i in range(n_items + 1)]
    items = [
        f"{i}|Film {i} ({1980 + i})|01-Jan-{1980 + i}||http://x|{flags[i]}"
        for i in range(1, n_items + 1)
    ]
    (folder / "u.item").write_text("\n".join(items) + "\n")
    rows = [
        f"{u}\t{i}\t{rng.integers(1, 6)}\t{1000 * u + n}"
        for u in range(1, n_users + 1)
        for n, i in enumerate(rng.choice(np.arange(1, n_items + 1), 12, replace=False))
    ]
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    return folder


def test_cold_start_runs_both_sides_end_to_end(tmp_path, monkeypatch, capsys):
    import cold_start

    from skncf._data import features as skncf_features

    folder = write_movielens_100k(tmp_path / "ml-100k", np.random.default_rng(7))
    monkeypatch.setattr(
        cold_start, "SKNCF_GRID", [dict(id_embeddings=False, latent_dim=4, epochs=2)]
    )
    argv = ["cold_start.py", "--data", str(folder), "--seeds", "1", "--no-lightfm"]
    monkeypatch.setattr(sys, "argv", argv + ["--row-norm", "0.2"])
    norm = skncf_features.ROW_NORM
    monkeypatch.setattr(skncf_features, "ROW_NORM", norm)  # put back after
    cold_start.main()
    assert skncf_features.ROW_NORM == 0.2
    lines = capsys.readouterr().out.splitlines()
    tables = [line for line in lines if line.count(" | ") >= 5]  # not the paired ones
    assert sum(line.startswith("| skncf") for line in tables) == 3  # 2 item fits, 1 user
    for line in tables:  # the validation NDCG@10 of what validation chose: skncf's alone
        if line.startswith(("| skncf", "| genre popularity |")):
            cell = line.split(" | ")[-2]
            assert (0 <= float(cell) <= 1) if line.startswith("| skncf") else cell == "-"
    for row in ("| skncf |", "| skncf, items added after fit |", "| genre popularity |",
                "| global popularity |", "| popularity in (gender, age decade) |"):  # fmt: skip
        assert sum(line.startswith(row) for line in lines) >= 1, row
    paired = [line for line in lines if line.startswith("| popularity in (gender, age decade) |")]
    assert len(paired) == 2 and paired[1].count("±") == 4  # the table, then the paired row


@pytest.mark.parametrize(
    "validation", [[], ["--validation"], ["--validation", "--folds", "2", "--row-norm", "0.1"]]
)
def test_warm_features_compares_feature_sets_paired_by_user(
    tmp_path, monkeypatch, capsys, validation
):
    import warm_features

    from skncf._data import features

    write_split(tmp_path / "toy", np.random.default_rng(8))  # users 0-11, items 0-39
    genres = ["Comedy", "Action|Drama"]
    movies = [f"{100 + i}::Film {i} ({1990 + i % 7})::{genres[i % 2]}" for i in range(40)]
    users = [f"{u + 1}::{'MF'[u % 2]}::{(18, 25, 35)[u % 3]}::{u % 5}::0000{u}" for u in range(12)]
    (tmp_path / "ml-1m").mkdir()
    (tmp_path / "ml-1m" / "movies.dat").write_text("\n".join(movies) + "\n")
    (tmp_path / "ml-1m" / "users.dat").write_text("\n".join(users) + "\n")
    table = ["item\tmovie_id", *(f"{i}\t{100 + i}" for i in range(40))]
    (tmp_path / "toy.items.tsv").write_text("\n".join(table) + "\n")
    argv = ["warm_features.py", "--data", str(tmp_path / "toy"), "--seeds", "2"]
    monkeypatch.setattr(sys, "argv", argv + ["--movielens", str(tmp_path / "ml-1m"), *validation])
    default_norm = features.ROW_NORM
    monkeypatch.setattr(features, "ROW_NORM", default_norm)  # put back after the test
    folds = []
    fold_of = warm_features.validation_split
    monkeypatch.setattr(warm_features, "validation_split", lambda s: folds.append(1) or fold_of(s))
    warm_features.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [  # after the header
        "| no features",
        "| item features",
        "| user and item features",
    ]
    assert rows[1].split(" | ")[5] == "+0.0000 ± 0.0000"  # no features against itself
    assert len(folds) == (2 if "--folds" in validation else len(validation))
    assert features.ROW_NORM == (0.1 if "--row-norm" in validation else default_norm)


def test_warm_features_folds_need_validation(monkeypatch, capsys):
    import warm_features

    monkeypatch.setattr(sys, "argv", ["warm_features.py", "--data", "x", "--movielens", "y",
                                      "--folds", "3"])  # fmt: skip
    with pytest.raises(SystemExit):
        warm_features.main()
    assert "--folds needs --validation" in capsys.readouterr().err


def test_distribute_times_every_strategy_in_its_own_process():
    # a fresh process: logical CPU devices can only be set before TensorFlow starts
    import subprocess

    command = [sys.executable, str(BENCHMARKS / "distribute.py"), "--pairs", "600",
               "--epochs", "1", "--repeats", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")][1:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| none", "| OneDeviceStrategy", "| MirroredStrategy, 2 CPU devices"
    ]  # fmt: skip
    assert rows[0].endswith("| 1.00 |")  # the reference's ratio to itself
    assert "600 pairs" in done.stdout


def test_load_movielens_reads_what_pandas_reads(tmp_path, capsys):
    import load_movielens

    path = tmp_path / "ratings.csv"
    load_movielens.write_ratings_csv(path, 2_500)
    medians = load_movielens.main(["--data", str(tmp_path), "--repeats", "1"])
    assert set(medians) == {"skncf", "pandas"}
    assert "2,500 ratings" in capsys.readouterr().out


def test_features_cost_times_each_width_against_no_features(capsys):
    import features_cost

    rows = features_cost.main(
        ["--users", "60", "--items", "80", "--pairs", "600", "--categories", "4", "--repeats", "1"]
    )
    assert [row[:2] for row in rows] == [["none", 0], [4, 4]]
    assert "| categories | encoded width |" in capsys.readouterr().out


def test_recent_context_chooses_each_methods_context_on_validation(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import recent_context

    recomputed = []

    def popularity(split, regularization=0.01, alpha=1.0, seed=0, factors=64):  # no implicit
        interactions = common.train_matrix(split)
        counts = np.asarray(interactions.sum(axis=0)).ravel()
        n_users = interactions.shape[0]

        def recalculate_user(users, context):
            recomputed.append(context.sum())
            return np.ones((len(users), 1))

        return SimpleNamespace(
            user_factors=np.ones((n_users, 1)),
            item_factors=counts[:, None],
            recalculate_user=recalculate_user,
        )

    write_split(tmp_path / "toy", np.random.default_rng(6))
    monkeypatch.setattr(recent_context, "fit_als", popularity)
    monkeypatch.setattr(recent_context, "ALS_GRID", [(0.01, 1.0)])
    monkeypatch.setattr(recent_context, "EASE_LAMBDAS", (50.0,))
    monkeypatch.setattr(sys, "argv", ["recent_context.py", "--data", str(tmp_path / "toy")])
    recent_context.main()
    validation, test = capsys.readouterr().out.split("test set of")
    contexts = recent_context.CONTEXTS
    for name in ("NCFRecommender()", "EASE (lambda 50)", "ALS (64 f, reg 0.01, alpha 1)"):
        assert sum(line.startswith(f"  {name}, latest") for line in validation.splitlines()) == len(
            contexts
        )
        rows = [line for line in test.splitlines() if line.startswith(f"| {name} |")]
        assert rows[0].startswith(f"| {name} | whole history |")
        assert all("(chosen on validation)" in row for row in rows[1:]) and len(rows) <= 2
    # each user's 3 latest of 6 validation train rows, then of 7 test train rows
    assert recomputed[:2] == [12 * 3, 12 * 5]


def test_time_split_protocol_counts_new_items_as_missed_relevant_items(monkeypatch):
    import pandas as pd
    import time_split
    from time_split import Protocol

    # new items score -inf, last of a user's candidates: out of the top k wherever a user
    # has more than k candidates, as every user of MovieLens has for k = 10; here k = 2
    monkeypatch.setattr(time_split, "K", 2)

    train = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": [10, 11, 10, 12, 13]})
    test = pd.DataFrame({"user": [1, 1, 2], "item": [12, 99, 11]})  # 99: new after the cut
    protocol = Protocol(train, test)
    assert protocol.n_new == 1 and protocol.users.tolist() == [1, 2]
    # items 10-13 in columns 0-3: each user's held-out known item scored best
    perfect = np.array([[0.0, 0.0, 1.0, 0.5], [0.0, 1.0, 0.0, 0.5]])
    found = protocol.metrics(perfect)
    assert found["hr"] == 1.0
    assert found["recall"] == pytest.approx((1 / 2 + 1) / 2)  # user 1 misses item 99
    ideal = 1 + 1 / np.log2(3)  # user 1's two relevant items in the top 2
    assert found["ndcg"] == pytest.approx((1 / ideal + 1) / 2)
    # seen items are no candidates: the best unseen item wins even below a seen one
    assert protocol.metrics(np.array([[9.0, 9.0, 1.0, 0.5], [9.0, 1.0, 9.0, 0.5]]))["hr"] == 1.0


def test_time_split_runs_end_to_end_and_chooses_on_validation(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import time_split

    rng = np.random.default_rng(3)
    rows = [
        (user, item, 4, time)
        for user in range(1, 31)
        for item, time in zip(rng.choice(40, 10, replace=False) + 1, rng.choice(9999, 10))
    ]
    (tmp_path / "u.data").write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))

    def popularity(matrix, regularization=0.01, alpha=1.0, seed=0):  # no implicit needed
        counts = np.asarray(matrix.sum(axis=0)).ravel()
        return SimpleNamespace(
            user_factors=np.ones((matrix.shape[0], 1)), item_factors=counts[:, None]
        )

    monkeypatch.setattr(time_split, "implicit_als", popularity)
    monkeypatch.setattr(time_split, "ALS_GRID", [(0.01, 1.0), (1.0, 1.0)])
    monkeypatch.setattr(time_split, "EASE_LAMBDAS", (50.0,))
    monkeypatch.setattr(time_split, "SKNCF_GRID", [(1, 0.0), (2, 1e-3)])
    monkeypatch.setattr(sys, "argv", ["time_split.py", "--data", str(tmp_path), "--seeds", "2"])
    time_split.main()
    validation, test = capsys.readouterr().out.split("test set,")
    assert validation.count("skncf (epochs, l2)") == 2 and validation.count("ALS (reg") == 2
    table = [line for line in test.splitlines() if line.startswith("| ")][1:]
    names = [line.split(" | ")[0][2:] for line in table]
    assert names[:3] == ["popularity", "EASE (lambda 50)", "implicit ALS (reg 0.01, alpha 1)"]
    assert names[3] == "NCFRecommender()" and names[4].startswith("NCFRecommender(epochs=")
    assert names[5].startswith("NCFRecommender(epochs=") and "by early stopping" in names[5]
    assert "skncf early stopping: validation NDCG@10 by epoch" in validation
    # the stand-in ALS is popularity: the same figures, and the two seeds agree
    assert table[0].split(" | ")[1:4] == [
        f"{x.split(' ± ')[0]}" for x in table[2].split(" | ")[1:4]
    ]
    assert all(" ± " in cell for cell in table[3].split(" | ")[1:4])
