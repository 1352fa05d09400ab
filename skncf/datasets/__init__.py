"""Data for skncf: a synthetic generator and loaders of public data sets (local files)."""

from ._features import load_movielens_features
from ._public import fetch_movielens, get_data_home, load_movielens, load_ncf_split
from ._synthetic import make_interactions

__all__ = [
    "fetch_movielens",
    "get_data_home",
    "load_movielens",
    "load_movielens_features",
    "load_ncf_split",
    "make_interactions",
]
