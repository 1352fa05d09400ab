"""The model file format of ``NCFRecommender.save(path)`` and :func:`skncf.load`.

This module reads and writes an estimator's state (a dict, see :func:`read_model`); the
estimator gathers and restores it, so that the format knows nothing of its internals. A
model file is one zip archive holding

- ``metadata.json``: the format name and version, the skncf version that wrote it, the
  estimator's parameters, the id labels (users and items, in code order), the fitted
  scalars and the training history;
- ``arrays.npz``: every weight of the Keras graph (keyed ``layer/index``), the CSR
  arrays of the training interactions (which items each user has seen) and the feature
  tables that the default encoders were fit on (keyed ``features/side/...``, described in
  the metadata; see :mod:`skncf._saving_tables`).

Loading reads JSON and ``numpy.load(..., allow_pickle=False)``: nothing in the file is
ever executed or unpickled, unlike :mod:`pickle` (which keeps working, for joblib and
scikit-learn's tools). The zip format's CRC-32 of each member, and a SHA-256 of the arrays
in the metadata, catch truncated or corrupted files, which raise :class:`ValueError`.
The graph is rebuilt from the parameters by the same code that ``fit`` uses and receives
the weights by layer name.
"""

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from ._data.features import LEGACY_ROW_NORM
from ._saving_tables import keep_tables, load_tables

FORMAT = "skncf-model"
# 2: the parameter ``model`` renamed ``architecture`` (version 1 files load as before)
# 3: the length of encoded feature rows recorded (earlier files: LEGACY_ROW_NORM)
FORMAT_VERSION = 3
_METADATA, _ARRAYS = "metadata.json", "arrays.npz"


def write_model(path, state, version):
    """Write an estimator's ``state`` (see :func:`read_model`) to ``path``, a file path
    or a binary file object."""
    arrays = {"seen_indptr": state["seen"].indptr, "seen_indices": state["seen"].indices}
    arrays.update(state["weights"])
    tables, table_arrays = keep_tables(*state["feature_tables"])
    arrays.update(table_arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skncf_version": version,
        "params": _json_params(state["params"]),
        "users": _labels_to_json(state["users"]),
        "items": _labels_to_json(state["items"]),
        "n_features_in": int(state["n_features_in"]),
        "feature_names_in": state["feature_names_in"],
        "id_columns": list(state["id_columns"]),
        **dict(zip(("rating_offset", "rating_scale", "fallback"), map(float, state["scalars"]))),
        "rating_noise": state["rating_noise"],
        "feature_width": state["feature_width"],
        "feature_row_norm": float(state["feature_row_norm"]),
        "feature_tables": tables,
        "history": {key: [float(v) for v in values] for key, values in state["history"].items()},
        "arrays_sha256": hashlib.sha256(blob).hexdigest(),
    }
    if is_file_object(path):  # the caller's to open and close (a BytesIO, cloud storage)
        _write_archive(path, metadata, blob)
        return
    # written beside the target and renamed into place, so that a failed save (a full
    # disk, an interrupt) never leaves a half-written file where a good one was
    partial = os.fspath(path) + ".partial"
    try:
        _write_archive(partial, metadata, blob)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _write_archive(target, metadata, blob):
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_METADATA, json.dumps(metadata, indent=1))
        archive.writestr(_ARRAYS, blob)


def is_file_object(path):
    """Whether ``path`` is an open file (``read`` or ``write``), not a name."""
    return hasattr(path, "read") or hasattr(path, "write")


def source_name(path):
    """How messages name ``path``: the path, or the file object's name if it has one."""
    if is_file_object(path):
        return str(getattr(path, "name", "the file object"))
    return os.fspath(path)


def check_path(path, *, for_writing=False):
    """``path`` if it is a usable file path or binary file object; raise ``TypeError``,
    ``FileNotFoundError`` or ``IsADirectoryError``."""
    if is_file_object(path):
        if isinstance(path, io.TextIOBase):
            mode = "wb" if for_writing else "rb"
            raise TypeError(f"path is a file open in text mode; open it with mode {mode!r}.")
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str, an os.PathLike or a binary file object; got "
            f"{type(path).__name__}."
        )
    if for_writing:
        folder = os.path.dirname(os.fspath(path)) or "."
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"path: the folder {folder!r} does not exist.")
        if os.path.isdir(path):
            example = os.path.join(os.fspath(path), "model.skncf")
            raise IsADirectoryError(
                f"path: {os.fspath(path)!r} is a folder; give the model file's name, e.g. "
                f"{example!r}."
            )
    elif not os.path.isfile(path):
        raise FileNotFoundError(f"path: no model file at {os.fspath(path)!r}.")
    return path


def read_model(path):
    """The state an estimator was saved with, or raise ``ValueError``.

    A dict: ``params`` (as ``set_params`` takes them), ``users`` and ``items`` (labels
    in code order), ``seen`` (the CSR of training interactions), ``weights`` (by
    ``layer/index``), ``n_features_in``, ``feature_names_in`` (a list or None),
    ``id_columns``, ``scalars`` (rating offset, scale, fallback), ``rating_noise`` (the
    mean squared training residual of ratings on the [0, 1] scale, which fold-in uses;
    None for implicit feedback), ``feature_width`` (``{side: encoded width}``),
    ``feature_row_norm`` (the length fit scaled encoded feature rows to),
    ``feature_tables`` (``{side: (table, fitted default encoder)}`` of the tables the
    file keeps) and ``history``.
    """
    check_path(path)
    name = source_name(path)
    if is_file_object(path) and not path.seekable():  # a stream: zip reads from its end
        path = io.BytesIO(path.read())
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if not {_METADATA, _ARRAYS} <= names:
                raise ValueError(
                    f"{name} is not an skncf model file: it lacks {_METADATA} or {_ARRAYS}."
                )
            metadata = json.loads(archive.read(_METADATA))
            _check_format(metadata, name)
            blob = archive.read(_ARRAYS)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, UnicodeDecodeError) as error:
        raise ValueError(
            f"{name} is not a readable skncf model file (truncated or corrupted?): {error}"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{name}: the metadata of the model file is not JSON: {error}") from None
    if hashlib.sha256(blob).hexdigest() != metadata.get("arrays_sha256"):
        raise ValueError(f"{name}: the arrays of the model file do not match its checksum.")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as error:  # e.g. an object array, which would need pickle
        raise ValueError(f"{name}: refused to load the model's arrays: {error}") from None
    try:
        return _state(metadata, arrays)
    except (KeyError, TypeError) as error:
        raise ValueError(f"{name}: the model file's metadata is incomplete: {error!r}") from None


def _state(metadata, arrays):
    params = dict(metadata["params"])
    if metadata["format_version"] == 1:  # before the parameter model was renamed architecture
        params["architecture"] = params.pop("model")
    for name in ("mlp_layers", "columns"):
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    users, items = labels_from_json(metadata["users"]), labels_from_json(metadata["items"])
    weights = {
        name: value for name, value in arrays.items() if not name.startswith(("seen_", "features/"))
    }
    scalars = (metadata["rating_offset"], metadata["rating_scale"], metadata["fallback"])
    return {
        "params": params,
        "users": users,
        "items": items,
        "seen": seen_matrix(arrays, len(users), len(items)),
        "weights": weights,
        "n_features_in": metadata["n_features_in"],
        "feature_names_in": metadata["feature_names_in"],
        "id_columns": tuple(metadata["id_columns"]),
        "scalars": scalars,
        # files before fold-in lack it: fold_in then assumes a residual of a quarter range
        "rating_noise": metadata.get(
            "rating_noise", 1 / 16 if params.get("feedback") == "explicit" else None
        ),
        "feature_width": metadata.get("feature_width", {}),
        "feature_row_norm": metadata.get("feature_row_norm", LEGACY_ROW_NORM),
        "feature_tables": load_tables(metadata.get("feature_tables", {}), arrays),
        "history": {key: list(values) for key, values in metadata["history"].items()},
    }


def _check_format(metadata, path):
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path!s} is not an skncf model file (format is not {FORMAT!r}).")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path!s}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path!s} was written in model file format version {version} (by skncf "
            f"{metadata.get('skncf_version')}); this skncf reads up to version "
            f"{FORMAT_VERSION}. Upgrade skncf to load it."
        )


def seen_matrix(arrays, n_users, n_items):
    """The CSR matrix of training interactions stored in ``arrays``."""
    indices = arrays["seen_indices"]
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_array((data, indices, arrays["seen_indptr"]), shape=(n_users, n_items))


def graph_weights(model):
    """The weights of ``model`` by ``layer/index``, as a model file stores them."""
    return {
        f"{layer.name}/{j}": np.asarray(weight)
        for layer in model.layers
        for j, weight in enumerate(layer.get_weights())
    }


def set_graph_weights(model, weights, path):
    """Give each layer of ``model`` its stored weights, checking names and shapes."""
    for layer in model.layers:
        current = layer.get_weights()
        stored = [weights.get(f"{layer.name}/{j}") for j in range(len(current))]
        for j, (now, new) in enumerate(zip(current, stored)):
            if new is None or new.shape != now.shape:
                raise ValueError(
                    f"{path!s}: weight {layer.name}/{j} is missing or has the wrong shape "
                    f"for the model the file describes."
                )
        if current:
            layer.set_weights(stored)


def _json_params(params):
    out = {}
    for name, value in params.items():
        if name == "random_state" and not (value is None or isinstance(value, int)):
            value = None  # a RandomState's state is not a parameter worth keeping
        elif name in ("callbacks", "distribute"):
            value = None  # live objects (open files, devices), not data
        elif name in ("user_features", "item_features"):
            value = None  # the encoded features are graph weights; the tables are not kept
        elif name == "features_encoder":
            value = "auto"  # nor is an encoder (a fitted transformer is code, not data)
        elif name == "columns" and value is not None:  # any array-like of names
            value = [v.item() if isinstance(v, np.generic) else v for v in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[name] = value
    return out


def _labels_to_json(labels):
    if labels.dtype.kind == "U":
        return {"kind": "str", "values": labels.tolist()}
    if labels.dtype.kind == "f":
        return {"kind": "float", "values": labels.tolist()}
    return {"kind": "int", "values": [int(v) for v in labels.tolist()]}


def labels_from_json(entry):
    """Labels as ``fit`` stores them: str, float64, int64 or (beyond int64) object."""
    kind, values = entry["kind"], entry["values"]
    if kind == "str":
        return np.array(values, dtype=str)
    if kind == "float":
        return np.array(values, dtype=np.float64)
    if kind == "int":
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            return np.array(values, dtype=object)
    raise ValueError(f"unknown id kind {kind!r} in the model file.")
