"""Data for skncf: a synthetic generator (and, later, loaders of public data sets)."""

from ._synthetic import make_interactions

__all__ = ["make_interactions"]
