"""The skncf command line: ``main`` in this process, and the installed console script once.

Most tests call :func:`skncf._cli.main` with the arguments a shell would pass, in the
folder the command would run in, and read what it printed: a fresh process per command
would spend most of the test importing TensorFlow. The tests marked ``slow`` run the
installed ``skncf`` script and ``python -m skncf`` for real.
"""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from skncf import NCFRecommender
from skncf import __version__ as skncf_version
from skncf import load as skncf_load
from skncf._cli import main
from skncf.datasets import make_interactions
from skncf.metrics import evaluate as evaluate_ranking
from skncf.model_selection import GlobalTimeSplit, LeaveLastOut
from skncf.preprocessing import recency_weights

SCRIPT = shutil.which("skncf", path=str(Path(sys.executable).parent)) or "skncf"
QUICK = ["--epochs", "2", "--latent-dim", "8", "--seed", "0"]
COLUMNS = ["--user-col", "player", "--item-col", "game"]


def run_script(*args, cwd):
    """The installed console script in a new process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.fixture
def skncf(capsys, monkeypatch):
    """``skncf(*args, cwd=folder)``: the command line run here, as a shell in ``folder``
    would run it; returns its exit status and what it printed."""

    def run(*args, cwd):
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            returncode = main([str(arg) for arg in args])
        except SystemExit as stop:  # argparse: --help, or a malformed command line
            returncode = stop.code
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=returncode, stdout=out, stderr=err)

    return run


@pytest.fixture(scope="module")
def interactions_csv(tmp_path_factory):
    X, ratings = make_interactions(n_users=50, n_items=30, ratings=True, random_state=0)
    frame = pd.DataFrame(
        {
            "player": [f"u{u}" for u in X[:, 0]],
            "game": X[:, 1],
            "stars": ratings,
            "time": np.arange(len(X)),
        }
    )
    folder = tmp_path_factory.mktemp("cli")
    frame.to_csv(folder / "plays.csv", index=False)
    frame.to_parquet(folder / "plays.parquet")
    return folder, frame


def test_fit_then_recommend_end_to_end(skncf, interactions_csv):
    folder, frame = interactions_csv
    fit = skncf(
        "fit",
        "plays.csv",
        *COLUMNS,
        "-o",
        "m.skncf",
        *QUICK,
        cwd=folder,
    )
    assert fit.returncode == 0, fit.stderr
    assert "saved m.skncf" in fit.stdout
    assert "epoch 2/2" in fit.stderr  # progress goes to stderr, results to stdout

    out = skncf("recommend", "m.skncf", "--users", "u1", "u7", "--k", "4", cwd=folder)
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.strip().splitlines()]
    assert rows[0] == ["user", "rank", "item", "score"]
    assert [(r[0], r[1]) for r in rows[1:5]] == [("u1", str(n)) for n in range(1, 5)]
    assert len(rows) == 1 + 2 * 4
    seen = set(frame.loc[frame.player == "u1", "game"].astype(str))
    assert not seen & {r[2] for r in rows[1:5]}
    scores = [float(r[3]) for r in rows[1:5]]
    assert scores == sorted(scores, reverse=True)

    (folder / "who.txt").write_text("u3\nu4\n")
    out = skncf(
        "recommend", "m.skncf", "--users-file", "who.txt", "--k", "5", "-o", "recs.json", cwd=folder
    )
    assert out.returncode == 0, out.stderr
    records = json.loads((folder / "recs.json").read_text())
    assert [r["user"] for r in records] == ["u3", "u4"]
    assert all(len(r["items"]) == 5 and isinstance(r["items"][0], int) for r in records)


def test_fit_parquet_ratings_and_evaluate(skncf, interactions_csv):
    folder, _ = interactions_csv
    fit = skncf(
        "fit",
        "plays.parquet",
        *COLUMNS,
        "--rating-col",
        "stars",
        "-o",
        "r.skncf",
        "--quiet",
        *QUICK,
        cwd=folder,
    )
    assert fit.returncode == 0, fit.stderr
    assert fit.stderr == ""
    evaluation = skncf(
        "evaluate",
        "plays.csv",
        *COLUMNS,
        "--time-col",
        "time",
        "--json",
        "--quiet",
        *QUICK,
        cwd=folder,
    )
    assert evaluation.returncode == 0, evaluation.stderr
    report = json.loads(evaluation.stdout)
    assert 0 <= report["ndcg@10"] <= report["hit_rate@10"] <= 1


def test_evaluate_ratings_reports_rmse_mae_and_r2(skncf, interactions_csv):
    folder, frame = interactions_csv
    evaluation = skncf("evaluate", "plays.csv", *COLUMNS, "--rating-col", "stars",
                       "--time-col", "time", "--json", "--quiet", *QUICK, cwd=folder)  # fmt: skip
    assert evaluation.returncode == 0, evaluation.stderr
    report = json.loads(evaluation.stdout)
    # the held-out ratings: each user's latest (users with 2 or more)
    latest = frame[frame.groupby("player").player.transform("size") > 1]
    held = latest.loc[latest.groupby("player").time.idxmax(), "stars"].to_numpy()
    assert 0 < report["mae"] <= report["rmse"]
    assert report["r2"] == pytest.approx(1 - report["rmse"] ** 2 / held.var(), rel=1e-6)


def test_evaluate_orders_by_dates_written_as_text(skncf, interactions_csv):
    # month first: the alphabet would put 01/01/2020 before 12/31/2019
    folder, frame = interactions_csv
    dates = pd.Timestamp("2019-12-31") + pd.to_timedelta(frame["time"], unit="h")
    frame.assign(when=dates.dt.strftime("%m/%d/%Y %H:%M")).to_csv(folder / "d.csv", index=False)
    frame.assign(when="someday").to_csv(folder / "bad.csv", index=False)
    # the same instants written with UTC offsets that differ from row to row
    zones = np.where(np.arange(len(frame)) % 2, "Asia/Tokyo", "America/Denver")
    local = [d.tz_localize("UTC").tz_convert(z).isoformat() for d, z in zip(dates, zones)]
    frame.assign(when=local).to_csv(folder / "z.csv", index=False)

    def evaluate(data, column):
        return skncf("evaluate", data, *COLUMNS, "--time-col", column, "--json", "--quiet",
                     *QUICK, cwd=folder)  # fmt: skip

    by_date, by_number = evaluate("d.csv", "when"), evaluate("plays.csv", "time")
    assert by_date.returncode == 0, by_date.stderr
    assert json.loads(by_date.stdout) == json.loads(by_number.stdout)
    by_instant = evaluate("z.csv", "when")
    assert by_instant.returncode == 0, by_instant.stderr
    assert json.loads(by_instant.stdout) == json.loads(by_number.stdout)
    bad = evaluate("bad.csv", "when")
    assert bad.returncode == 2 and "--time-col 'when' holds neither numbers nor dates" in bad.stderr


@pytest.mark.parametrize(
    "rating,scored", [([], "count as misses"), (["--rating-col", "stars"], "get the mean training")]
)
def test_evaluate_counts_held_out_items_the_model_never_saw(skncf, tmp_path, rating, scored):
    rows = [(u, (u + t) % 6, t, 1 + t % 5) for u in range(12) for t in range(5)]
    # three users' latest interactions are with items no other row names
    rows += [(u, 100 + u, 9, 4) for u in (0, 1, 2)] + [(3, 2, 9, 5)]
    frame = pd.DataFrame(rows, columns=["user", "item", "time", "stars"])
    frame.to_csv(tmp_path / "log.csv", index=False)
    result = skncf("evaluate", "log.csv", "--time-col", "time", *rating, *QUICK, "--quiet",
                   cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "held out 12 interactions" in result.stdout
    assert "3 held-out items are unknown to the model (in no training row" in result.stdout
    assert scored in result.stdout


def test_evaluate_says_when_no_user_has_an_interaction_to_hold_out(skncf, tmp_path):
    pd.DataFrame({"user": [1, 2, 3], "item": [5, 6, 5]}).to_csv(tmp_path / "once.csv", index=False)
    result = skncf("evaluate", "once.csv", *QUICK, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "No user has more than n_test=1 interactions" in result.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["fit", "missing.csv", "-o", "x.skncf"], "no such file: missing.csv"),
        (["fit", "plays.csv", "-o", "x.skncf"], "no column 'user' (--user-col)"),
        (["recommend", "plays.csv", "--users", "1"], "not a readable skncf model file"),
        (["fit", "plays.csv", *COLUMNS, "-o", "."], "'.' is a folder; give the model file's"),
        (
            [
                "fit",
                "plays.csv",
                "--user-col",
                "player",
                "--item-col",
                "game",
                "--epochs",
                "0",
                "-o",
                "x.skncf",
            ],
            "epochs",
        ),
    ],
)
def test_user_mistakes_give_one_line_and_exit_status_2(skncf, interactions_csv, args, message):
    folder, _ = interactions_csv
    result = skncf(*args, cwd=folder)
    assert result.returncode == 2
    assert result.stderr.startswith("skncf: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_user_is_a_user_mistake(skncf, interactions_csv):
    folder, frame = interactions_csv
    skncf(
        "fit",
        "plays.csv",
        *COLUMNS,
        "-o",
        "u.skncf",
        "--quiet",
        *QUICK,
        cwd=folder,
    )
    result = skncf("recommend", "u.skncf", "--users", "nobody", cwd=folder)
    assert result.returncode == 2 and "not seen in fit" in result.stderr
    # the advice is this command's option, which gives unknown users the popular items
    assert "Pass --handle-unknown ignore" in result.stderr
    fallback = skncf("recommend", "u.skncf", "--users", "nobody", "--k", "2",
                     "--handle-unknown", "ignore", cwd=folder)  # fmt: skip
    assert fallback.returncode == 0, fallback.stderr
    assert fallback.stdout.splitlines()[1].startswith("nobody,1,")
    pd.DataFrame({"player": ["new", "new"], "game": [frame.game[0], 999999]}).to_csv(
        folder / "h.csv", index=False
    )
    history = skncf("recommend", "u.skncf", "--history", "h.csv", *COLUMNS, cwd=folder)
    assert history.returncode == 2 and "Pass --handle-unknown ignore" in history.stderr
    similar = skncf("similar", "u.skncf", "--items", "999999", "--k", "1",
                    "--handle-unknown", "ignore", cwd=folder)  # fmt: skip
    assert similar.returncode == 0 and similar.stdout.splitlines()[1].startswith("999999,1,")


def test_a_k_beyond_a_users_unseen_items_gives_a_shorter_list_and_a_note(skncf, interactions_csv):
    folder, frame = interactions_csv
    skncf("fit", "plays.csv", *COLUMNS, "-o", "k.skncf", "--quiet", *QUICK, cwd=folder)
    n_unseen = 30 - frame.loc[frame["player"] == "u0", "game"].nunique()
    result = skncf("recommend", "k.skncf", "--users", "u0", "u1", "--k", n_unseen + 1,
                   cwd=folder)  # fmt: skip
    assert result.returncode == 0
    assert f"1 list(s) hold fewer than --k {n_unseen + 1} entries" in result.stderr
    assert f"(first: user 'u0', {n_unseen})" in result.stderr
    rows = pd.read_csv(io.StringIO(result.stdout))
    assert rows.groupby("user").size().to_dict() == {"u0": n_unseen, "u1": n_unseen + 1}
    assert rows["score"].notna().all()
    seen_too = skncf("recommend", "k.skncf", "--users", "u0", "--k", n_unseen + 1,
                     "--include-seen", cwd=folder)  # fmt: skip
    assert seen_too.returncode == 0 and len(seen_too.stdout.splitlines()) == n_unseen + 2
    assert "fewer than" not in seen_too.stderr
    games = sorted(set(frame["game"]))
    (folder / "two.txt").write_text(f"{games[0]}\n{games[1]}\n")
    listed = skncf("similar", "k.skncf", "--items", games[2], "--k", 3, "--allow-file",
                   "two.txt", "--format", "json", cwd=folder)  # fmt: skip
    assert listed.returncode == 0 and "1 list(s) hold fewer than --k 3" in listed.stderr
    assert sorted(json.loads(listed.stdout)[0]["similar"]) == games[:2]


def test_fit_passes_init_loss_and_l2_on(skncf, interactions_csv):
    folder, _ = interactions_csv
    fit = skncf(
        "fit", "plays.csv", *COLUMNS, "-o", "s.skncf", "--quiet", *QUICK,
        "--architecture", "gmf", "--init", "svd", "--loss", "log", "--l2", "0.001", cwd=folder,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    params = skncf_load(folder / "s.skncf").get_params()
    assert (params["init"], params["loss"], params["l2"]) == ("svd", "log", 0.001)
    negative = skncf("fit", "plays.csv", *COLUMNS, "-o", "n.skncf", "--l2", "-1", *QUICK,
                     cwd=folder)  # fmt: skip
    assert negative.returncode == 2 and "l2" in negative.stderr
    seed = skncf("fit", "plays.csv", *COLUMNS, "-o", "x.skncf", "--architecture", "seed",
                 "--init", "svd", *QUICK, cwd=folder)  # fmt: skip
    assert seed.returncode == 2 and "init='svd'" in seed.stderr


def test_help_explains_every_option(skncf, tmp_path):
    result = skncf("fit", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in [
        "--user-col",
        "--item-col",
        "--user-features",
        "--item-features",
        "--rating-col",
        "--weight-col",
        "--architecture",
        "--epochs",
        "--latent-dim",
        "--batch-size",
        "--learning-rate",
        "--loss",
        "--init",
        "--l2",
        "--seed",
        "--quiet",
        "--output",
        "--time-col",
        "--recency",
        "--recency-boost",
        "--recency-half-life",
    ]:
        assert option in result.stdout


@pytest.mark.parametrize("asked", [["fit", "--help"], ["--version"]])
def test_help_and_version_do_not_start_tensorflow(tmp_path, asked):
    # the parser reads recency_weights' defaults: that import must stay numpy-only
    code = (
        "import sys, contextlib, io; from skncf._cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    try: main({asked!r})\n"
        "    except SystemExit: pass\n"
        "print('tensorflow' in sys.modules, out.getvalue().splitlines()[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    started, first_line = done.stdout.strip().split(" ", 1)
    assert started == "False"
    if asked == ["--version"]:
        assert first_line == f"skncf {skncf_version}"


def test_fit_and_evaluate_weight_by_recency(skncf, interactions_csv):
    folder, frame = interactions_csv
    recency = ["--time-col", "time", "--recency", "--recency-half-life", "2"]
    fit = skncf(
        "fit", "plays.csv", *COLUMNS, *recency, "-o", "w.skncf", "--quiet", *QUICK, cwd=folder
    )
    assert fit.returncode == 0, fit.stderr
    weights = recency_weights(frame.player, frame.time, half_life=2)
    X = frame[["player", "game"]]
    settings = dict(epochs=2, latent_dim=8, random_state=0)
    expected = NCFRecommender(**settings).fit(X, sample_weight=weights)
    plain = NCFRecommender(**settings).fit(X)
    served = skncf_load(folder / "w.skncf").predict(X[:20])
    np.testing.assert_allclose(served, expected.predict(X[:20]), rtol=1e-6)
    assert np.abs(served - plain.predict(X[:20])).max() > 1e-4  # the weights took

    def evaluate(*options):
        out = skncf("evaluate", "plays.csv", *COLUMNS, "--time-col", "time", *options,
                    "--json", "--quiet", *QUICK, cwd=folder)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    # weights of the training rows alone: each user's latest row is held out, not aged
    train, test = next(LeaveLastOut(timestamps=frame.time.to_numpy()).split(X))
    rows = frame.iloc[train]
    model = NCFRecommender(**settings).fit(
        X.iloc[train], sample_weight=recency_weights(rows.player, rows.time)
    )
    assert evaluate("--recency") == pytest.approx(evaluate_ranking(model, X.iloc[test])["full"])
    assert evaluate("--recency-boost", "3") == evaluate("--recency")  # the default boost

    missing = skncf("fit", "plays.csv", *COLUMNS, "--recency", "-o", "x.skncf", cwd=folder)
    assert missing.returncode == 2 and "--recency needs --time-col" in missing.stderr
    bad = skncf("fit", "plays.csv", *COLUMNS, "--time-col", "time", "--recency-boost", "-1",
                "-o", "x.skncf", cwd=folder)  # fmt: skip
    assert bad.returncode == 2 and "--recency-boost must be a finite number" in bad.stderr
    unused = skncf("fit", "plays.csv", *COLUMNS, "--time-col", "time", "-o", "x.skncf",
                   cwd=folder)  # fmt: skip
    assert unused.returncode == 2 and "--time-col is read only by --recency" in unused.stderr
    assert not (folder / "x.skncf").exists()


@pytest.mark.slow
def test_the_installed_script_fits_recommends_and_reports_mistakes(interactions_csv):
    folder, _ = interactions_csv
    fit = run_script("fit", "plays.csv", *COLUMNS, "-o", "p.skncf", *QUICK, cwd=folder)
    assert fit.returncode == 0, fit.stderr
    assert "saved p.skncf" in fit.stdout and "epoch 2/2" in fit.stderr
    # recommending reads the file fit wrote; TensorFlow's start-up noise is kept off
    # stderr, so a mistake is one line (recommend's output: the tests above)
    mistake = run_script("recommend", "p.skncf", "--users", "nobody", cwd=folder)
    assert mistake.returncode == 2 and mistake.stderr.startswith("skncf: error: ")
    assert len(mistake.stderr.strip().splitlines()) == 1
    assert subprocess.run([sys.executable, "-m", "skncf", "--help"]).returncode == 0


@pytest.mark.slow  # two fits and a faiss index; the index itself: test_approximate.py
def test_recommend_with_the_approximate_index(skncf, interactions_csv):
    folder, frame = interactions_csv
    X = frame[["player", "game"]].to_numpy()
    for model in ("gmf", "neumf"):  # fitted here: 'skncf fit' is tested above
        NCFRecommender(architecture=model, epochs=2, random_state=0).fit(X).save(
            folder / f"{model}.skncf"
        )
    query = ["recommend", "gmf.skncf", "--users", "u1", "u3", "u4", "--k", "3"]
    exact = skncf(*query, cwd=folder)
    every_list = ["--approximate", "100000"]  # probing every list scores every item
    approximate = skncf(*query, *every_list, cwd=folder)
    assert exact.returncode == 0 and approximate.returncode == 0, approximate.stderr
    assert len(exact.stdout.splitlines()) == 1 + 3 * 3
    assert approximate.stdout == exact.stdout
    tower = skncf("recommend", "neumf.skncf", "--users", "u1", "--approximate", cwd=folder)
    assert tower.returncode == 2 and "dot product" in tower.stderr


def test_recommend_filters_each_user_by_its_own_rows(skncf, tmp_path):
    X, _ = make_interactions(n_users=30, n_items=60, interactions_per_user=8, random_state=0)
    folder, frame = tmp_path, pd.DataFrame({"player": [f"u{u}" for u in X[:, 0]], "game": X[:, 1]})
    rec = NCFRecommender(epochs=2, latent_dim=8, random_state=0).fit(frame)
    rec.save(folder / "p.skncf")
    users = ["u1", "u2", "u3"]
    top = rec.recommend(users, k=3)  # the cart takes each user's best 2 and one more
    cart = {user: [*row[:2].tolist(), 59 - j] for j, (user, row) in enumerate(zip(users, top))}
    candidates = {user: rec.recommend([user], k=6)[0][::2].tolist() for user in users[:2]}

    def write(name, lists):
        rows = [(user, item) for user, items in lists.items() for item in items]
        pd.DataFrame(rows, columns=["player", "game"]).to_csv(folder / name, index=False)

    write("cart.csv", cart)
    write("candidates.csv", candidates)

    def recommend(*args):
        out = skncf("recommend", "p.skncf", *COLUMNS, "--k", "3", "--handle-unknown",
                    "ignore", *args, cwd=folder)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return pd.read_csv(io.StringIO(out.stdout)).groupby("user")["item"].agg(list).to_dict()

    denied = recommend("--users", *users, "--deny-pairs", "cart.csv")
    assert denied == dict(zip(users, rec.recommend(users, k=3, deny=cart).tolist()))
    assert denied["u1"] != top[0].tolist()  # the cart's items are gone
    allowed = recommend("--users", *users[:2], "--allow-pairs", "candidates.csv")
    assert allowed == candidates  # re-ranked: already in score order
    missing = skncf("recommend", "p.skncf", *COLUMNS, "--users", "u1", "u3", "--allow-pairs",
                    "candidates.csv", cwd=folder)  # fmt: skip
    assert missing.returncode == 2
    assert "--allow-pairs has no list for 1 user(s) asked for: 'u3'" in missing.stderr
    both = skncf("recommend", "p.skncf", "--users", "u1", "--deny-pairs", "cart.csv",
                 "--deny-file", "cart.csv", cwd=folder)  # fmt: skip
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_recommend_for_new_users_from_their_history_with_filters(skncf, interactions_csv):
    folder, frame = interactions_csv
    X = frame[["player", "game"]]
    NCFRecommender(epochs=2, latent_dim=8, random_state=0).fit(X).save(folder / "h.skncf")
    games = sorted(frame.game.unique().tolist())
    pd.DataFrame({"who": ["new1", "new1", "new2"], "what": games[:3]}).to_csv(
        folder / "history.csv", index=False
    )
    (folder / "allow.txt").write_text("\n".join(map(str, games[:12])) + "\n")
    (folder / "deny.txt").write_text(f"{games[3]}\n")
    out = skncf(
        "recommend", "h.skncf", "--history", "history.csv", "--user-col", "who",
        "--item-col", "what", "--k", "4", "--allow-file", "allow.txt",
        "--deny-file", "deny.txt", cwd=folder,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.strip().splitlines()[1:]]
    assert [r[0] for r in rows] == ["new1"] * 4 + ["new2"] * 4
    recommended = {int(r[2]) for r in rows}
    assert recommended <= set(games[:12]) - {games[3]}
    assert not {int(r[2]) for r in rows[:4]} & set(games[:2])  # new1's history left out
    missing = skncf("recommend", "h.skncf", "--history", "history.csv", cwd=folder)
    assert missing.returncode == 2 and "no column 'user' (--user-col)" in missing.stderr
    history = ["--history", "history.csv", "--user-col", "who", "--item-col", "what"]
    exact = skncf("recommend", "h.skncf", *history, cwd=folder)
    approximate = skncf("recommend", "h.skncf", *history, "--approximate", "1", cwd=folder)
    assert approximate.returncode == 0, approximate.stderr
    # under 80 games: one k-means list, so probing it ranks every game, as exactly
    assert len(games) < 80 and approximate.stdout == exact.stdout
    NCFRecommender("neumf", epochs=1, latent_dim=4, mlp_layers=(4,)).fit(X).save(
        folder / "tower.skncf"
    )
    tower = skncf("recommend", "tower.skncf", *history, "--approximate", cwd=folder)
    assert tower.returncode == 2 and "dot product" in tower.stderr  # the option got through


def test_recommend_weights_a_history_by_recency(skncf, interactions_csv):
    folder, frame = interactions_csv
    X = frame[["player", "game"]]
    # trained enough that a history's weights move its row off the prior mean
    rec = NCFRecommender(epochs=10, latent_dim=8, random_state=0).fit(X)
    rec.save(folder / "t.skncf")
    games = sorted(frame.game.unique().tolist())
    history = pd.DataFrame({"who": ["new"] * 6, "what": games[:6], "when": [5, 1, 4, 2, 6, 3]})
    history.to_csv(folder / "timed.csv", index=False)
    columns = ["--history", "timed.csv", "--user-col", "who", "--item-col", "what"]
    out = skncf("recommend", "t.skncf", *columns, "--time-col", "when", "--recency",
                "--recency-half-life", "1", "--k", "5", cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.StringIO(out.stdout))
    weights = recency_weights(history.who, history.when, half_life=1)
    new = history[["who", "what"]].set_axis(["player", "game"], axis=1)
    items, scores = rec.fold_in(new, sample_weight=weights).recommend(
        ["new"], k=5, return_scores=True
    )
    assert got["item"].tolist() == items[0].tolist()
    np.testing.assert_allclose(got["score"], scores[0], rtol=1e-5)
    plain = rec.fold_in(new).recommend(["new"], k=5, return_scores=True)[1]
    assert np.abs(plain[0] - scores[0]).max() > 1e-4  # the weights took
    known = skncf("recommend", "t.skncf", "--users", "u1", "--recency", cwd=folder)
    assert known.returncode == 2 and "weight the rows of a --history file" in known.stderr


def test_latest_folds_users_in_from_their_latest_rows(skncf, interactions_csv):
    from skncf.preprocessing import latest_interactions

    folder, frame = interactions_csv
    X = frame[["player", "game"]]
    # evaluate: trained on all but each user's last row, users folded in from their 3
    # latest training rows, every training item still seen
    timed = ["--time-col", "time", "--json", "--quiet", *QUICK]
    evaluated = skncf("evaluate", "plays.csv", *COLUMNS, *timed, "--latest", "3", cwd=folder)
    assert evaluated.returncode == 0, evaluated.stderr
    train, test = next(LeaveLastOut(timestamps=frame.time.to_numpy()).split(X))
    rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0).fit(X.iloc[train])
    latest = latest_interactions(X.player.iloc[train], frame.time.iloc[train], n=3)
    folded = rec.fold_in(X.iloc[train][latest])
    expected = evaluate_ranking(folded, X.iloc[test])["full"]
    assert json.loads(evaluated.stdout) == pytest.approx(expected)
    assert expected != pytest.approx(evaluate_ranking(rec, X.iloc[test])["full"])

    # recommend: new users folded in from their 2 latest rows, their whole history and
    # --deny-file's items left out
    rec.save(folder / "l.skncf")
    games = sorted(frame.game.unique().tolist())
    history = pd.DataFrame({"who": ["n1"] * 4 + ["n2"] * 3, "what": games[:4] + games[4:7],
                            "when": [4, 1, 3, 2, 1, 2, 3]})  # fmt: skip
    history.to_csv(folder / "timed.csv", index=False)
    new = history[["who", "what"]].set_axis(["player", "game"], axis=1)
    kept = new[latest_interactions(history.who, history.when, n=2)]
    assert kept.game.tolist() == [games[0], games[2], games[5], games[6]]
    now = rec.fold_in(kept)
    best = now.recommend(["n1"], k=1, deny={"n1": games[:4]})[0, 0]  # denied below
    (folder / "deny.txt").write_text(f"{best}\n")
    columns = ["--history", "timed.csv", "--user-col", "who", "--item-col", "what"]
    out = skncf("recommend", "l.skncf", *columns, "--time-col", "when", "--latest", "2",
                "--k", "6", "--deny-file", "deny.txt", cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.StringIO(out.stdout))
    deny = {"n1": games[:4] + [best], "n2": games[4:7] + [best]}
    items = now.recommend(["n1", "n2"], k=6, deny=deny)
    assert got["item"].tolist() == items.ravel().tolist()
    for args, message in [
        (["--latest", "2"], "--latest needs --time-col"),
        (["--time-col", "when", "--latest", "0"], "--latest must be an int >= 1; got 0"),
        (["--time-col", "when"], "--time-col is read only by --recency and --latest"),
    ]:
        refused = skncf("recommend", "l.skncf", *columns, *args, cwd=folder)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr


def test_evaluate_time_split_holds_out_the_latest_rows_of_all_users(skncf, interactions_csv):
    folder, frame = interactions_csv
    log = frame.assign(time=np.random.default_rng(0).permutation(len(frame)))
    newcomer = pd.DataFrame({"player": ["late"] * 2, "game": [1, 2], "stars": [3, 4],
                             "time": [len(frame), len(frame) + 1]})  # fmt: skip
    log = pd.concat([log, newcomer], ignore_index=True)
    log.to_csv(folder / "timed_plays.csv", index=False)
    args = ["evaluate", "timed_plays.csv", *COLUMNS, "--time-col", "time", "--quiet", *QUICK]
    out = skncf(*args, "--time-split", "0.25", "--json", cwd=folder)
    assert out.returncode == 0, out.stderr
    X = log[["player", "game"]]
    train, test = next(GlobalTimeSplit(log.time.to_numpy(), test_size=0.25).split(X))
    assert "late" not in set(X.player.iloc[test])
    rec = NCFRecommender(latent_dim=8, epochs=2, random_state=0).fit(X.iloc[train])
    assert json.loads(out.stdout) == pytest.approx(evaluate_ranking(rec, X.iloc[test])["full"])
    text = skncf(*args, "--time-split", "0.25", cwd=folder).stdout
    users = X.player.iloc[test].nunique()
    assert f"held out {len(test)} interactions (of {users} users, after one cut in time)" in text
    assert "left out 2 later interactions of users with none before the cut" in text
    # --time-cut at the time the share cut at gives the same split, in numbers or dates
    # (written in Paris time; a cut without an offset is read as UTC)
    cut = log.time.iloc[test].min()
    assert skncf(*args, "--time-cut", str(cut), "--json", cwd=folder).stdout == out.stdout
    paris = pd.Timestamp("2024-03-01", tz="Europe/Paris") + pd.to_timedelta(log.time, "h")
    log.assign(time=paris.astype(str)).to_csv(folder / "dated_plays.csv", index=False)
    utc = paris.iloc[0] - pd.Timedelta(hours=log.time.iloc[0]) + pd.Timedelta(hours=cut)
    at = utc.tz_convert("UTC").strftime("%Y-%m-%d %H:%M")
    dated = skncf("evaluate", "dated_plays.csv", *args[2:], "--time-cut", at, "--json",
                  cwd=folder)  # fmt: skip
    assert dated.returncode == 0 and dated.stdout == out.stdout, dated.stderr
    for extra, message in [
        (["--time-split", "0.2"], "--time-split needs --time-col"),
        (["--time-col", "time", "--time-split", "1.5"], "--time-split must be a share in (0, 1)"),
        (["--time-cut", "5"], "--time-cut needs --time-col"),
        (["--time-col", "time", "--time-cut", "July"], "--time-cut must be a number"),
        (["--time-col", "time", "--time-cut", "0"], "Split 0 has no training row"),
        (["--time-col", "time", "--time-cut", "5", "--time-split", "0.2"], "not allowed with"),
    ]:
        plain = ["evaluate", "timed_plays.csv", *COLUMNS, "--quiet", *QUICK]
        refused = skncf(*plain, *extra, cwd=folder)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr


def test_side_features_from_files_fit_evaluate_and_serve_cold_ids(skncf, interactions_csv):
    folder, frame = interactions_csv
    players = sorted(frame.player.unique())
    pd.DataFrame(
        {
            "player": players,
            "age": np.arange(len(players)) % 40 + 20.0,
            "country": ["fr", "de"] * (len(players) // 2),
        }
    ).to_csv(  # fmt: skip
        folder / "players.csv", index=False
    )
    games = sorted(frame.game.unique())
    genres = pd.DataFrame({"game": games, "genre": np.resize(["rpg", "fps", "sim"], len(games))})
    genres.to_csv(folder / "games.csv", index=False)
    features = ["--user-features", "players.csv", "--item-features", "games.csv"]
    fit = skncf("fit", "plays.csv", *COLUMNS, *features, "-o", "f.skncf", "--quiet", *QUICK,
                cwd=folder)  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    assert set(skncf_load(folder / "f.skncf").feature_encoders_) == {"user", "item"}
    evaluated = skncf("evaluate", "plays.csv", *COLUMNS, *features, "--json", "--quiet", *QUICK,
                      cwd=folder)  # fmt: skip
    assert evaluated.returncode == 0 and "hit_rate@10" in json.loads(evaluated.stdout)

    # a Parquet file's dates are no attribute: the option that leaves them out is named
    players = pd.read_csv(folder / "players.csv")
    players.assign(joined=pd.Timestamp("2024-01-01")).to_parquet(folder / "players.parquet")
    dated = ["--user-features", "players.parquet", "--item-features", "games.csv"]
    refused = skncf("fit", "plays.csv", *COLUMNS, *dated, "-o", "d.skncf", "--quiet", *QUICK,
                    cwd=folder)  # fmt: skip
    assert refused.returncode == 2
    assert "column(s) ['joined'] hold dates or durations" in refused.stderr
    assert "with --user-attributes" in refused.stderr
    chosen = skncf("fit", "plays.csv", *COLUMNS, *dated, "--user-attributes", "age", "country",
                   "-o", "d.skncf", "--quiet", *QUICK, cwd=folder)  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr

    # cold users from their attributes alone, and new games from theirs
    pd.DataFrame({"player": ["cold1", "cold2"], "age": [25.0, 61.0], "country": ["fr", "de"]}
                 ).to_csv(folder / "new_players.csv", index=False)  # fmt: skip
    genres.iloc[:2].assign(game=[900, 901]).to_csv(folder / "new_games.csv", index=False)
    (folder / "new.txt").write_text("900\n901\n" + "\n".join(map(str, games[:3])) + "\n")
    out = skncf(
        "recommend", "f.skncf", "--user-features", "new_players.csv", "--item-features",
        "new_games.csv", "--allow-file", "new.txt", "--k", "5", *COLUMNS, cwd=folder,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = pd.read_csv(io.StringIO(out.stdout))
    rec = skncf_load(folder / "f.skncf")
    rec.add_items(genres.iloc[:2].assign(game=[900, 901]).set_index("game"))
    new_players = pd.read_csv(folder / "new_players.csv").set_index("player")
    expected = rec.fold_in(user_features=new_players).recommend(
        ["cold1", "cold2"], k=5, allow=[900, 901, *games[:3]]
    )
    assert rows.item.to_numpy().reshape(2, 5).tolist() == expected.tolist()

    # the file keeps the encoder's table, so the export encodes raw attributes too
    exported = skncf("export", "f.skncf", "served", cwd=folder)
    written = "recommend_new, recommend_from_attributes, recommend_from_history_and_features, "
    assert written + "recommend_from_history_and_attributes;" in exported.stdout, exported.stderr

    for args, message in [
        (["--user-features", "games.csv"], "games.csv (--user-features) has no column 'player'"),
        (["--users", "u0", "--user-features", "new_players.csv"], "leave out --users"),
        ([], "say whom to recommend for"),
    ]:
        result = skncf("recommend", "f.skncf", *args, *COLUMNS, cwd=folder)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_label_lists_and_a_features_file_keyed_by_another_column(skncf, interactions_csv):
    # MovieLens-1M's movies.dat: "id::title::Action|Comedy", no header, its ids in column 0
    # where ratings.dat has them in column 1
    folder, frame = interactions_csv
    frame[["player", "game"]].to_csv(folder / "plays.dat", sep=":", header=False, index=False)
    games = sorted(frame.game.unique())
    genres = np.resize(["rpg|sim", "fps", "sim|rpg|fps", "rpg"], len(games))
    movies = pd.DataFrame({"id": games, "title": [f"t{g}" for g in games], "genres": genres})
    movies.to_csv(folder / "games.dat", sep=":", header=False, index=False)
    files = ["--sep", ":", "--no-header", "--user-col", "0", "--item-col", "1"]
    features = ["--item-features", "games.dat", "--item-features-col", "0"]
    features += ["--item-label-cols", "2"]
    fit = skncf("fit", "plays.dat", *files, *features, "-o", "g.skncf", "--quiet", *QUICK,
                cwd=folder)  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    rec = skncf_load(folder / "g.skncf")
    names = rec.feature_encoders_["item"].get_feature_names_out().tolist()
    assert [name for name in names if name.startswith("labelsets")] == [
        "labelsets__2_fps", "labelsets__2_rpg", "labelsets__2_sim"
    ]  # fmt: skip
    # new games join from their labels, split as fit split them
    (folder / "new.dat").write_text("900:new:fps|rpg\n901:other:sim\n")
    (folder / "ids.txt").write_text("900\n901\n")
    out = skncf("recommend", "g.skncf", "--users", "u0", "--item-features", "new.dat",
                "--allow-file", "ids.txt", *files[:3], "--item-features-col", "0",
                "--item-label-cols", "2", cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    new = pd.DataFrame({"1": ["new", "other"], "2": [["fps", "rpg"], ["sim"]]}, index=[900, 901])
    expected = rec.add_items(new).recommend(["u0"], k=2, allow=[900, 901])
    assert pd.read_csv(io.StringIO(out.stdout)).item.tolist() == expected[0].tolist()
    # the whole catalog with the new rows: the known items keep fit's attributes
    with open(folder / "all.dat", "w") as catalog:
        catalog.write((folder / "games.dat").read_text() + (folder / "new.dat").read_text())
    whole = skncf("recommend", "g.skncf", "--users", "u0", "--item-features", "all.dat",
                  "--allow-file", "ids.txt", *files[:3], "--item-features-col", "0",
                  "--item-label-cols", "2", cwd=folder)  # fmt: skip
    assert whole.returncode == 0 and whole.stdout == out.stdout, whole.stderr
    assert f"{len(games)} item(s) of all.dat are in the model already" in whole.stderr
    assert "2 new one(s) added" in whole.stderr
    for args, message in [
        (["--item-label-cols", "x"], "games.dat (--item-features) has no column 'x' (--item-label"),
        (["--user-label-cols", "2"], "--user-label-cols name columns of --user-features, not"),
        (["--item-label-cols", "2", "--item-attributes", "1"], "which --item-attributes leaves"),
        (["--item-features-col", "9"], "games.dat (--item-features) has no column '9'"),
        # the data's --item-col carried over: movies.dat's column 1 holds titles
        ([], "none of the data's item ids is in its column '1' (--item-col), which holds 't"),
    ]:
        result = skncf("fit", "plays.dat", *files, "--item-features", "games.dat", *args,
                       "-o", "x.skncf", "--quiet", *QUICK, cwd=folder)  # fmt: skip
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_features_files_of_another_format_than_the_data(skncf, interactions_csv):
    # MovieLens-100K: u.data has tabs, u.item "|" and latin-1, with URLs (":" and "%")
    # and commas in every line, where csv.Sniffer took ":" for the separator
    folder, frame = interactions_csv
    frame[["player", "game"]].to_csv(folder / "u.data", sep="\t", header=False, index=False)
    games = sorted(frame.game.unique())
    items = pd.DataFrame(
        {
            "id": games,
            "title": [f"Café, Le ({g})" for g in games],
            "url": [f"http://us.imdb.com/M/title-exact?Caf%E9%20{g}" for g in games],
            "action": np.arange(len(games)) % 2,
            "drama": np.arange(len(games)) // 2 % 2,
        }
    )
    items.to_csv(folder / "u.item", sep="|", header=False, index=False, encoding="latin-1")
    items.to_csv(folder / "items.csv", index=False, encoding="latin-1")
    data = ["u.data", "--no-header", "--user-col", "0", "--item-col", "1", "--encoding", "latin-1"]
    features = ["--item-features-col", "0", "--item-features"]
    for options in (
        [*features, "u.item"],  # both separators guessed
        ["--sep", "\t", "--features-sep", "|", *features, "u.item"],
        ["--features-header", "--item-features-col", "id", "--item-features", "items.csv"],
    ):
        fit = skncf("fit", *data, *options, "-o", "i.skncf", "--quiet", *QUICK, cwd=folder)
        assert fit.returncode == 0, fit.stderr
        encoder = skncf_load(folder / "i.skncf").feature_encoders_["item"]
        assert len(encoder.feature_names_in_) == 4  # title, url, action, drama
    # the genres alone: fit, and recommend new items from the same columns of a like file
    genres = ["--item-attributes", "3", "4"]
    fit = skncf("fit", *data, *features, "u.item", *genres, "-o", "g.skncf", "--quiet", *QUICK,
                cwd=folder)  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    rec = skncf_load(folder / "g.skncf")
    assert rec.feature_encoders_["item"].feature_names_in_.tolist() == ["3", "4"]
    new = items.iloc[:2].assign(id=[900, 901], action=[1, 0], drama=[0, 1])
    new.to_csv(folder / "new.item", sep="|", header=False, index=False, encoding="latin-1")
    (folder / "ids.txt").write_text("900\n901\n")
    out = skncf("recommend", "g.skncf", "--users", "u0", "--k", "2", "--allow-file", "ids.txt",
                *data[1:], *features, "new.item", *genres, cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    added = new.set_axis(["0", "1", "2", "3", "4"], axis=1).set_index("0")[["3", "4"]]
    expected = rec.add_items(added).recommend(["u0"], k=2, allow=[900, 901])
    assert pd.read_csv(io.StringIO(out.stdout)).item.tolist() == expected[0].tolist()
    utf8 = ["--features-encoding", "utf-8"]
    for options, message in [
        ([*features, "u.item", "--item-attributes", "3", "9"], "no column '9' (--item-attr"),
        ([*features, "u.item", "--item-attributes", "0"], "names no column but the ids, '0'"),
        (["--sep", "\t", *features, "u.item"], "has one column, the ids, and no attributes"),
        (["--item-features-col", "id", "--item-features", "items.csv"], "pass --features-header"),
        ([*features, "u.item", *utf8], "(give its --features-encoding)"),
    ]:
        result = skncf("fit", *data, *options, "-o", "x.skncf", *QUICK, cwd=folder)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_numbers_that_are_codes_are_one_hot_as_categories(skncf, interactions_csv):
    # an occupation code with a gap, which pandas reads as floats (3.0)
    folder, frame = interactions_csv
    players = sorted(frame.player.unique())
    codes = np.resize([3, 7, 12, np.nan], len(players))
    pd.DataFrame({"player": players, "job": codes, "age": 20.0 + np.arange(len(players))}).to_csv(
        folder / "jobs.csv", index=False
    )
    jobs = ["--user-features", "jobs.csv", "--user-categorical-cols", "job"]
    fit = skncf("fit", "plays.csv", *COLUMNS, *jobs, "-o", "j.skncf", "--quiet", *QUICK,
                cwd=folder)  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    rec = skncf_load(folder / "j.skncf")
    names = rec.feature_encoders_["user"].get_feature_names_out().tolist()
    assert {"pipeline-3__job_3", "pipeline-3__job_7", "pipeline-3__job_12"} <= set(names)
    # new users' codes without a gap are ints: the same categories
    pd.DataFrame({"player": ["n1", "n2"], "job": [7, 12], "age": [30.0, 40.0]}).to_csv(
        folder / "new_jobs.csv", index=False
    )
    out = skncf("recommend", "j.skncf", "--user-features", "new_jobs.csv", "--user-"
                "categorical-cols", "job", "--k", "3", *COLUMNS, cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    new = pd.DataFrame({"job": ["7", "12"], "age": [30.0, 40.0]}, index=["n1", "n2"])
    expected = rec.fold_in(user_features=new).recommend(["n1", "n2"], k=3)
    assert pd.read_csv(io.StringIO(out.stdout)).item.tolist() == expected.ravel().tolist()
    for args, message in [
        (["--user-label-cols", "job"], "both name 'job': a column is one or the other"),
        (["--user-attributes", "age"], "names 'job', which --user-attributes leaves out"),
    ]:
        result = skncf("fit", "plays.csv", *COLUMNS, *jobs, *args, "-o", "x.skncf", *QUICK,
                       cwd=folder)  # fmt: skip
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_separators_are_guessed_from_a_count_of_fields_that_holds_on_every_line(tmp_path):
    from skncf._cli_tables import guess_separator

    for text, sep in [
        ("1::Toy Story (1995)::Animation|Comedy\n2::Heat, The (1995)::Action\n", "::"),
        ('user,title\nann,"Heat, The"\nbob,Jaws\n', ","),  # a quoted comma is no field
        ("1|http://a.b/c%20d|0\n2|http://e.f/g|1\n", "|"),
        ("1;2\n3;4;5\n", None),  # no count holds: left to pandas' sniffing
    ]:
        (tmp_path / "t.txt").write_text(text)
        assert guess_separator(str(tmp_path / "t.txt"), "utf-8") == sep, text


def test_files_without_a_header_and_with_other_separators(skncf, interactions_csv):
    # MovieLens' own files: u.data (tabs, no header), ratings.dat ("::", no header)
    folder, frame = interactions_csv
    columns = frame[["player", "game", "stars"]]
    columns.to_csv(folder / "u.data", sep="\t", header=False, index=False)
    (folder / "ratings.dat").write_text(
        "\n".join("::".join(map(str, row)) for row in columns.itertuples(index=False)) + "\n"
    )
    by_position = ["--user-col", "0", "--item-col", "1", "--rating-col", "2"]
    named = ["--user-col", "player", "--item-col", "game", "--rating-col", "stars"]
    assert skncf("fit", "plays.csv", *named, "-o", "n.skncf", "--quiet", *QUICK,
                 cwd=folder).returncode == 0  # fmt: skip
    pairs = frame[["player", "game"]]

    def scores(model):  # the pairs under the columns' names in that file
        rec = skncf_load(folder / model)
        return rec.predict(pairs.set_axis(rec.feature_names_in_, axis=1))

    expected = scores("n.skncf")
    for name, options in [("u.data", []), ("ratings.dat", []), ("ratings.dat", ["--sep", "::"])]:
        fit = skncf("fit", name, "--no-header", *by_position, *options, "-o", "p.skncf",
                    "--quiet", *QUICK, cwd=folder)  # fmt: skip
        assert fit.returncode == 0, fit.stderr
        np.testing.assert_allclose(scores("p.skncf"), expected, rtol=1e-6)

    latin = columns.assign(player=columns.player.str.replace("u", "é"))  # a latin-1 byte
    latin.to_csv(folder / "latin.csv", index=False, encoding="latin-1")
    fit = skncf("fit", "latin.csv", *named, "--encoding", "latin-1", "-o", "l.skncf", "--quiet",
                *QUICK, cwd=folder)  # fmt: skip
    assert fit.returncode == 0 and "é1" in skncf_load(folder / "l.skncf").users_, fit.stderr

    for args, message in [
        (["latin.csv", *named], "can't decode byte 0xe9 in position"),
        (["latin.csv", *named, "--encoding", "nope"], "unknown encoding: nope"),
        (["u.data", *by_position], "(to name columns by position, pass --no-header)"),
        (
            ["u.data", "--no-header"],
            "(without a header row columns are named by position: e.g. --user-col 0)",
        ),
        (
            ["plays.csv", "--no-header", *named],
            "(the first row names the columns: leave out --no-header)",
        ),
        (
            ["ratings.dat", "--no-header", "--sep", ";", *by_position],
            "(one column: give the separator, --sep '::')",
        ),
        (["plays.csv", "--sep", ";"], "(one column: give the separator, --sep ',')"),
    ]:
        result = skncf("fit", *args, "-o", "x.skncf", cwd=folder)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_spreadsheet_files_decimal_commas_and_spaces_after_separators(skncf, interactions_csv):
    # a spreadsheet in many languages writes "player;game;stars" and 2,5; a hand-written
    # file "player, game, stars": both read as the plain comma-separated file
    folder, frame = interactions_csv
    columns = frame[["player", "game", "stars"]].assign(stars=frame.stars / 2)  # 2.5, ...
    columns.to_csv(folder / "halves.csv", index=False)
    columns.to_csv(folder / "excel.csv", sep=";", decimal=",", index=False)
    (folder / "spaced.csv").write_text(columns.to_csv(index=False).replace(",", ", "))
    named = ["--user-col", "player", "--item-col", "game", "--rating-col", "stars"]
    excel = ["--sep", ";", "--decimal", ","]
    predictions = []
    for name, options in [("halves.csv", []), ("excel.csv", excel), ("spaced.csv", [])]:
        fit = skncf("fit", name, *named, *options, "-o", "h.skncf", "--quiet", *QUICK,
                    cwd=folder)  # fmt: skip
        assert fit.returncode == 0, fit.stderr
        rec = skncf_load(folder / "h.skncf")
        assert sorted(rec.users_) == sorted(frame.player.unique()), name  # no " u1"
        predictions.append(rec.predict(columns[["player", "game"]]))
    np.testing.assert_allclose(predictions[1], predictions[0], rtol=1e-6)
    np.testing.assert_allclose(predictions[2], predictions[0], rtol=1e-6)
    decimal = "must hold numbers; got '"
    for args, message in [
        (["fit", "excel.csv", *named], "(one column: give the separator, --sep ';')"),
        (["fit", "excel.csv", *named, "--sep", ";"], f"excel.csv: --rating-col 'stars' {decimal}"),
        (
            [
                "recommend",
                "h.skncf",
                "--history",
                "excel.csv",
                "--sep",
                ";",
                "--weight-col",
                "stars",
                "--user-col",
                "player",
                "--item-col",
                "game",
            ],
            f"excel.csv: --weight-col 'stars' {decimal}",
        ),  # fmt: skip
    ]:
        result = skncf(*args, "-o", "x.skncf", *(QUICK if args[0] == "fit" else []), cwd=folder)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        if "must hold" in message:
            assert "(a decimal comma: give --decimal ',')" in result.stderr
    # read at its commas, "u1;3;2,5" is the user "u1;3;2" and the item 5: one item
    lines = [f"{player};{game};{int(stars)},5" for player, game, stars in columns.to_numpy()]
    (folder / "halves_only.csv").write_text("\n".join(lines) + "\n")
    by_position = ["--no-header", "--user-col", "0", "--item-col", "1"]
    for command in (["fit", "-o", "x.skncf"], ["evaluate"]):
        result = skncf(*command, "halves_only.csv", *by_position, cwd=folder)
        assert result.returncode == 2, result.stderr
        assert (
            f"halves_only.csv: --item-col '1' holds one id, 5, on all {len(lines)} rows: a "
            "model of one item has nothing to rank (every other field holds ';': is it the "
            "separator? --sep ';')."
        ) in result.stderr


def test_explain_lists_the_history_items_that_lift_each_item(skncf, interactions_csv):
    folder, _ = interactions_csv
    assert skncf("fit", "plays.csv", *COLUMNS, "-o", "e.skncf", "--quiet", *QUICK,
                 cwd=folder).returncode == 0  # fmt: skip
    rec = skncf_load(folder / "e.skncf")
    history = int(np.diff(rec.seen_.indptr)[list(rec.users_).index("u1")])
    out = skncf("explain", "e.skncf", "--user", "u1", "--items", "3", "5", "--k", "3",
                cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = pd.read_csv(io.StringIO(out.stdout))
    assert list(rows.columns) == ["item", "rank", "because", "score"]
    for item, listed in rows.groupby("item"):
        because, lifts = rec.explain("u1", item, n=3)
        assert listed.because.tolist() == because.tolist()
        np.testing.assert_allclose(listed.score, lifts, rtol=1e-5)
    # a k beyond the history: the whole history, and a note saying why
    out = skncf("explain", "e.skncf", "--user", "u1", "--items", "3", "--k", history + 5,
                "--format", "json", cwd=folder)  # fmt: skip
    assert len(json.loads(out.stdout)[0]["because"]) == history
    assert "as the user's history holds no more" in out.stderr
    out = skncf("explain", "e.skncf", "--user", "nobody", "--items", "3", cwd=folder)
    assert out.returncode == 2 and "user 'nobody' is unknown to the model" in out.stderr


def test_similar_lists_the_nearest_items_and_users(skncf, interactions_csv):
    folder, _ = interactions_csv
    assert skncf("fit", "plays.csv", *COLUMNS, "-o", "s.skncf", "--quiet", *QUICK,
                 cwd=folder).returncode == 0  # fmt: skip
    rec = skncf_load(folder / "s.skncf")

    out = skncf("similar", "s.skncf", "--items", "3", "5", "--k", "4", cwd=folder)
    assert out.returncode == 0, out.stderr
    rows = pd.read_csv(io.StringIO(out.stdout))
    assert list(rows.columns) == ["item", "rank", "similar", "score"]
    expected, cosines = rec.similar_items([3, 5], k=4, return_scores=True)
    assert rows.similar.to_numpy().reshape(2, 4).tolist() == expected.tolist()
    np.testing.assert_allclose(rows.score.to_numpy().reshape(2, 4), cosines, rtol=1e-5)

    (folder / "players.txt").write_text("u1\nu2\n")
    out = skncf("similar", "s.skncf", "--users-file", "players.txt", "--k", "3", "--format",
                "json", cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["user"] for r in records] == ["u1", "u2"]
    assert [r["similar"] for r in records] == rec.similar_users(["u1", "u2"], k=3).tolist()

    out = skncf("similar", "s.skncf", "--all-items", "--k", "2", "-o", "all.csv", cwd=folder)
    assert out.returncode == 0 and len(pd.read_csv(folder / "all.csv")) == 2 * len(rec.items_)

    # filters of the kind listed: users for --users, items for --items
    first = rec.similar_users(["u1"], k=2)[0].tolist()
    (folder / "deny.txt").write_text("\n".join(first) + "\n")
    out = skncf("similar", "s.skncf", "--users", "u1", "--k", "2", "--deny-file", "deny.txt",
                "--format", "json", cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    expected = rec.similar_users(["u1"], k=2, deny=first)[0].tolist()
    assert json.loads(out.stdout)[0]["similar"] == expected and not set(expected) & set(first)
    (folder / "allow.txt").write_text("3\n5\n7\n")
    out = skncf("similar", "s.skncf", "--items", "1", "--k", "2", "--allow-file", "allow.txt",
                cwd=folder)  # fmt: skip
    assert out.returncode == 0, out.stderr
    listed = pd.read_csv(io.StringIO(out.stdout)).similar.tolist()
    assert listed == rec.similar_items([1], k=2, allow=[3, 5, 7])[0].tolist()
    for args, message in [
        (["--users", "u1", "--allow-file", "allow.txt"], "not seen in fit"),  # item ids
        (["--items", "999"], "items contains 1 id(s) not seen in fit: 999"),
        (["--users", "u1", "--k", "500"], "k=500 exceeds the"),
        (["--items", "3", "--users", "u1"], "not allowed with argument"),
    ]:
        result = skncf("similar", "s.skncf", *args, cwd=folder)
        assert result.returncode == 2 and message in result.stderr, result.stderr
