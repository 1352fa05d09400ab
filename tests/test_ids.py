"""Validation and encoding of ids."""

import decimal
import uuid

import numpy as np
import pandas as pd
import pytest

from skncf._data.ids import check_id_lists, check_ids, check_query_ids, encode, fit_codes


@pytest.mark.parametrize(
    "values,kind",
    [
        ([3, 1, 2], "i"),
        (np.array([3, 1], dtype=np.uint8), "i"),
        ([1.5, 2.0], "f"),
        (["a", "b"], "U"),
        (np.array(["a", "b"], dtype=object), "U"),
        (np.array([1, 2], dtype=object), "i"),
        (np.array([2**70, 1], dtype=object), "O"),
        (np.array([2**64 - 1], dtype=np.uint64), "O"),
    ],
)
def test_check_ids_gives_one_kind(values, kind):
    assert check_ids(values, "ids").dtype.kind == kind


def test_big_integer_ids_round_trip():
    ids = check_ids(np.array([2**70, 5, 2**70], dtype=object), "ids")
    labels, codes = fit_codes(ids)
    assert labels.tolist() == [5, 2**70] and codes.tolist() == [1, 0, 1]
    got, known = encode(labels, check_ids(np.array([2**70, 7], dtype=object), "ids"))
    assert got[0] == 1 and known.tolist() == [True, False]


def test_encode_marks_unknown_and_other_kinds():
    labels, _ = fit_codes(np.array(["b", "a", "c"]))
    codes, known = encode(labels, np.array(["c", "zz", "a"]))
    assert codes[known].tolist() == [2, 0] and known.tolist() == [True, False, True]
    assert not encode(labels, np.array([1, 2])).__getitem__(1).any()


@pytest.mark.parametrize(
    "values,error,match",
    [
        (np.array([1.0, np.nan]), ValueError, "NaN"),
        (np.array([1.0, -np.inf]), ValueError, "inf"),
        (np.array([1, None], dtype=object), ValueError, "None"),
        (np.array(["a", 1], dtype=object), TypeError, "mix id types"),
        (
            np.array([pd.Timestamp(0)], dtype=object),
            TypeError,
            r"are Timestamp values; ids must .* convert them \(a pandas column: .astype\(str\)\)",
        ),
        # as SQL drivers return uuid and numeric columns
        (np.array([uuid.UUID(int=1)]), TypeError, r"are UUID values; .*\.astype\(str\)\)"),
        (np.array([decimal.Decimal(3)]), TypeError, r"are Decimal values; .*\.astype\(int\)\)"),
        (np.array([True, False]), TypeError, "booleans; use integers or strings"),
        (np.array([1, float("nan")], dtype=object), ValueError, "NaN"),
        # a gap in a column of text ids, as pandas holds it (NaN, NA or NaT)
        (np.array(["a", float("nan")], dtype=object), ValueError, "contain a missing value"),
        (np.array(["a", pd.NA], dtype=object), ValueError, "contain a missing value"),
        (np.array(["a", pd.NaT], dtype=object), ValueError, "contain a missing value"),
    ],
)
def test_bad_ids(values, error, match):
    with pytest.raises(error, match=match):
        check_ids(values, "ids")


@pytest.mark.parametrize(
    "values",
    [{3: "a", 1: "b"}.keys(), {3: 0, 1: 0}, (v for v in [3, 1]), map(int, "31"), iter([3, 1])],
    ids=["dict keys", "dict", "generator", "map", "iterator"],
)
def test_iterables_of_ids_are_read_as_lists(values):
    # numpy makes each of these one 0-d object, which read as a single bad id
    ids, rows = check_id_lists(values, "allow", n_rows=2)
    assert ids.tolist() == [3, 1] and rows is None
    assert check_query_ids(iter([3, 1]), "users").tolist() == [3, 1]
