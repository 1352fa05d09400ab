"""The benchmark scripts' own logic, on tiny synthetic splits (no MovieLens needed)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
ncf_protocol = pytest.importorskip("ncf_protocol")


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
    val = ncf_protocol.validation_split(split, seed=0)

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
    arrays = ncf_protocol.ProtocolArrays(split, train)
    perfect = np.zeros((12, n_items))
    perfect[np.arange(12), split.test[:, 1]] = 1.0
    metrics = arrays.evaluate(perfect)
    assert metrics["full_hr"] == pytest.approx(np.isin(split.test[:, 1], split.train[:, 1]).mean())
    assert metrics["sampled_hr"] == 1.0
    assert arrays.evaluate(-perfect)["sampled_ndcg"] < 1.0
