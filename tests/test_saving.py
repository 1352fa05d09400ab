"""Model files: est.save(path) and skncf.load(path)."""

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import OneHotEncoder

import skncf
from skncf import NCFRecommender

from .conftest import FAST


def assert_same_model(loaded, original, X):
    assert loaded.get_params() == original.get_params()
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    users = original.users_[:7]
    items, scores = original.recommend(users, k=5, return_scores=True)
    loaded_items, loaded_scores = loaded.recommend(users, k=5, return_scores=True)
    np.testing.assert_array_equal(loaded_items, items)
    np.testing.assert_array_equal(loaded_scores, scores)
    np.testing.assert_array_equal(
        loaded.similar_items(original.items_[:3], k=4),
        original.similar_items(original.items_[:3], k=4),
    )
    assert loaded.history_ == original.history_
    assert loaded.score(X) == original.score(X)


def test_round_trip_gives_identical_predict_and_recommend(fitted, interactions, tmp_path):
    path = fitted.save(tmp_path / "model.skncf")
    assert_same_model(skncf.load(path), fitted, interactions)


def test_round_trip_of_string_ids_from_a_dataframe(tmp_path):
    frame = pd.DataFrame(
        {
            "when": np.arange(24),
            "player": [f"p{u % 6}" for u in range(24)],
            "game": [f"g{(u * 7) % 9}" for u in range(24)],
        }
    )
    rec = NCFRecommender(architecture="neumf", columns=("player", "game"), **FAST).fit(frame)
    loaded = skncf.load(rec.save(tmp_path / "m.skncf"))
    assert list(loaded.feature_names_in_) == ["when", "player", "game"]
    assert loaded.columns == ("player", "game")
    np.testing.assert_array_equal(loaded.predict(frame), rec.predict(frame))
    np.testing.assert_array_equal(loaded.recommend(["p1"], k=3), rec.recommend(["p1"], k=3))


@pytest.mark.slow
def test_round_trip_of_explicit_ratings_and_pretrained_neumf(ratings, interactions, tmp_path):
    X, y = ratings
    explicit = NCFRecommender(architecture="gmf", feedback="explicit", **FAST).fit(X, y)
    loaded = skncf.load(explicit.save(tmp_path / "explicit.skncf"))
    np.testing.assert_array_equal(loaded.predict(X), explicit.predict(X))
    assert loaded.score(X, y) == explicit.score(X, y)
    pretrained = NCFRecommender(architecture="neumf", pretrain=True, **FAST).fit(interactions)
    assert_same_model(skncf.load(pretrained.save(tmp_path / "p.skncf")), pretrained, interactions)


def test_round_trip_of_integer_ids_beyond_int64(tmp_path):
    big = 2**70
    X = np.array([[big + u % 5, u % 7] for u in range(40)], dtype=object)
    rec = NCFRecommender(architecture="gmf", **FAST).fit(X)
    loaded = skncf.load(rec.save(tmp_path / "big.skncf"))
    assert loaded.users_.tolist() == rec.users_.tolist()
    np.testing.assert_array_equal(loaded.predict(X), rec.predict(X))


def test_save_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(NotFittedError):
        NCFRecommender().save(tmp_path / "m.skncf")


def test_round_trip_through_binary_file_objects(fitted_gmf, interactions, tmp_path):
    # a database blob, cloud storage (fsspec's files), or a file opened by the caller
    buffer = io.BytesIO(b"header")
    buffer.seek(0, io.SEEK_END)
    assert fitted_gmf.save(buffer) is buffer and not buffer.closed  # written at its position
    assert_same_model(skncf.load(buffer), fitted_gmf, interactions)
    with open(tmp_path / "opened.skncf", "wb") as file:
        fitted_gmf.save(file)
    with open(tmp_path / "opened.skncf", "rb") as file:
        assert_same_model(skncf.load(file), fitted_gmf, interactions)

    class Stream(io.RawIOBase):  # a download read as it arrives: no seek
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, target):
            chunk = self.data.read(len(target))
            target[: len(chunk)] = chunk
            return len(chunk)

    assert_same_model(skncf.load(Stream(buffer.getvalue()[6:])), fitted_gmf, interactions)
    with open(tmp_path / "text.skncf", "w") as file, pytest.raises(TypeError, match="'wb'"):
        fitted_gmf.save(file)
    with open(tmp_path / "text.skncf") as file, pytest.raises(TypeError, match="text mode"):
        skncf.load(file)
    with pytest.raises(ValueError, match="^the file object is not a readable skncf model"):
        skncf.load(io.BytesIO(b"not a model"))
    with open(tmp_path / "text.skncf", "rb") as file, pytest.raises(ValueError, match="text.sk"):
        skncf.load(file)  # named by its file name


@pytest.fixture
def model_file(fitted_gmf, tmp_path):
    return fitted_gmf.save(tmp_path / "gmf.skncf")


def test_truncated_file_raises_a_clear_error(model_file):
    data = model_file.read_bytes()
    for keep in (len(data) // 2, 100, 0):
        model_file.write_bytes(data[:keep])
        with pytest.raises(ValueError, match="truncated or corrupted"):
            skncf.load(model_file)


def test_corrupted_arrays_raise_a_clear_error(model_file):
    with zipfile.ZipFile(model_file) as archive:
        metadata = archive.read("metadata.json")
        arrays = bytearray(archive.read("arrays.npz"))
    arrays[len(arrays) // 2] ^= 0xFF
    with zipfile.ZipFile(model_file, "w") as archive:
        archive.writestr("metadata.json", metadata)
        archive.writestr("arrays.npz", bytes(arrays))
    with pytest.raises(ValueError, match="do not match its checksum"):
        skncf.load(model_file)


def test_a_file_from_a_newer_format_version_is_refused(model_file):
    rewrite(model_file, lambda meta: {**meta, "format_version": 99})
    with pytest.raises(ValueError, match="format version 99.*Upgrade skncf"):
        skncf.load(model_file)


def test_a_file_that_is_not_a_model_is_refused(tmp_path, model_file):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(ValueError, match="not a readable skncf model file"):
        skncf.load(other)
    rewrite(model_file, lambda meta: {**meta, "format": "something-else"})
    with pytest.raises(ValueError, match="not an skncf model file"):
        skncf.load(model_file)


def test_tampered_parameters_are_validated(model_file):
    rewrite(model_file, lambda meta: {**meta, "params": {**meta["params"], "architecture": "evil"}})
    with pytest.raises(ValueError, match="architecture"):
        skncf.load(model_file)


def test_a_version_1_file_names_the_architecture_model(fitted_gmf, model_file, interactions):
    def as_version_1(meta):
        params = {**meta["params"]}
        params["model"] = params.pop("architecture")
        return {**meta, "format_version": 1, "params": params}

    rewrite(model_file, as_version_1)
    loaded = skncf.load(model_file)
    assert loaded.get_params() == fitted_gmf.get_params()
    np.testing.assert_array_equal(loaded.predict(interactions), fitted_gmf.predict(interactions))


class _RunsCodeWhenUnpickled:
    """An object whose unpickling would create a file: a stand-in for malicious code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_tampered_file_cannot_run_code(model_file, tmp_path):
    marker = tmp_path / "code-ran"
    with zipfile.ZipFile(model_file) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        with np.load(io.BytesIO(archive.read("arrays.npz"))) as npz:
            arrays = {name: npz[name] for name in npz.files}
    payload = np.empty(1, dtype=object)
    payload[0] = _RunsCodeWhenUnpickled(marker)
    arrays["user_embedding/0"] = payload  # saved with pickle inside the .npz
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    metadata["arrays_sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    with zipfile.ZipFile(model_file, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("arrays.npz", buffer.getvalue())
    # The payload works: unpickling it the way pickle-based formats load creates the file.
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=True) as npz:
        npz["user_embedding/0"][0].close()  # the payload returns the file it opened
    assert marker.exists()
    os.remove(marker)
    with pytest.raises(ValueError, match="refused to load"):
        skncf.load(model_file)
    assert not marker.exists()


def rewrite(path, change_metadata):
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        arrays = archive.read("arrays.npz")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(change_metadata(metadata)))
        archive.writestr("arrays.npz", arrays)


def test_a_failed_save_leaves_the_previous_file_intact(fitted_gmf, tmp_path, monkeypatch):
    path = fitted_gmf.save(tmp_path / "m.skncf")
    good = path.read_bytes()

    def disk_full(self, name, data, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="No space left"):
        fitted_gmf.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skncf"]


def test_parameters_given_as_objects_save_as_data(interactions, tmp_path):
    # a transformer as features_encoder (its nested parameters are no file's business)
    # and columns as a numpy array or a pandas Index, as a user may pass them
    X = pd.DataFrame(interactions, columns=["user", "item"]).assign(hours=1.0)
    ids = np.unique(interactions[:, 0])
    users = pd.DataFrame({"kind": np.resize(["a", "b"], len(ids))}, index=ids)
    for columns in (np.array(["user", "item"]), pd.Index(["user", "item"])):
        rec = NCFRecommender(
            columns=columns, user_features=users, features_encoder=OneHotEncoder(), **FAST
        ).fit(X)
        loaded = skncf.load(rec.save(tmp_path / "m.skncf"))
        assert loaded.columns == ("user", "item")
        np.testing.assert_array_equal(loaded.predict(X), rec.predict(X))
