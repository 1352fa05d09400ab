"""The documentation builds without warnings, its plots exist, its quickstart runs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def run(command, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, **kwargs)


@pytest.mark.slow
def test_sphinx_builds_with_warnings_as_errors_and_draws_the_plots(tmp_path):
    out = tmp_path / "html"
    build = run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
    )
    assert build.returncode == 0, build.stderr[-3000:]
    for page in ["index", "quickstart", "user_guide", "cli", "benchmarks", "api", "architecture"]:
        assert (out / f"{page}.html").is_file()
    assert (out / "generated" / "skncf.NCFRecommender.html").is_file()
    api = (out / "generated" / "skncf.NCFRecommender.html").read_text()
    assert "partial_fit" in api and "validation_fraction" in api
    # every public method's docstring in full, not only its one-line summary
    for method in ["fit", "recommend", "fold_in", "add_items", "similar_users", "export"]:
        assert f'id="skncf.NCFRecommender.{method}"' in api, method
    assert "Neighbours per item" in api  # from similar_items' parameters
    folded = (out / "generated" / "skncf.FoldedUsers.html").read_text()
    for method in ["recommend", "encode_pairs", "score"]:  # encode_pairs from a mixin
        assert f'id="skncf.FoldedUsers.{method}"' in folded, method
    images = sorted((out / "_images").glob("user_guide-*.png"))
    assert len(images) == 2
    for image in images:
        pixels = matplotlib.image.imread(image)[..., :3]
        assert np.mean(pixels.min(axis=-1) < 0.9) > 0.01  # not blank
    guide = (out / "user_guide.html").read_text()
    assert guide.count("user_guide-1.png") >= 1 and guide.count("user_guide-2.png") >= 1


def quickstart_commands():
    text = (DOCS / "quickstart.rst").read_text()
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("$ ")]


@pytest.mark.slow
def test_quickstart_shell_commands_run_as_written(tmp_path):
    commands = quickstart_commands()
    setup = [c for c in commands if "venv" in c or "pip install" in c]
    assert setup == [
        "python3 -m venv .venv && . .venv/bin/activate",
        'python -m pip install ".[cli,plot]"',
    ]
    # the package is installed in this environment already; run everything after setup
    outputs = []
    for command in commands[len(setup) :]:
        result = run(["bash", "-c", command], cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        outputs.append(result.stdout)
    recommended = outputs[
        commands[len(setup) :].index("skncf recommend model.skncf --users 0 1 --k 5")
    ]
    lines = recommended.strip().splitlines()
    assert lines[0] == "user,rank,item,score" and len(lines) == 1 + 2 * 5
    assert re.search(r"ndcg@10: 0\.\d{4}", outputs[-1])


@pytest.mark.parametrize("extra", ["cli", "plot", "docs"])
def test_extras_named_in_the_docs_exist(extra):
    pyproject = (DOCS.parent / "pyproject.toml").read_text()
    assert re.search(rf"^{extra} = \[", pyproject, re.MULTILINE)
