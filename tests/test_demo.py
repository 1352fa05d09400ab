"""The demo runs from the command line and shows that the model learned."""

import subprocess
import sys

import pytest

from skncf._demo import run_demo


@pytest.mark.slow
def test_demo_learns_the_planted_groups():
    lines = []
    metrics = run_demo(n_users=200, n_items=100, epochs=10, out=lines.append)
    assert metrics["in_group_share"] > 2 * metrics["chance_share"]
    assert metrics["r2"] > 0
    assert any("recommended items" in line for line in lines)


@pytest.mark.slow
def test_python_dash_m_skncf_demo():
    result = subprocess.run(
        [sys.executable, "-m", "skncf", "demo", "--users", "80", "--items", "40", "--epochs", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "NDCG@10" in result.stdout and "R^2" in result.stdout


def test_bad_option_is_a_one_line_error(capsys):
    from skncf._cli import main

    assert main(["demo", "--users", "0"]) == 2
    err = capsys.readouterr().err
    assert "skncf: error: " in err and "Traceback" not in err
