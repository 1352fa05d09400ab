"""skncf: Neural Collaborative Filtering as a scikit-learn estimator.

``NCFRecommender``, ``FoldedUsers`` and ``load`` are imported on first use (PEP 562), so
that the command line can answer ``--help`` without starting TensorFlow, and can start it
quietly.
"""

from ._version import __version__

__all__ = ["FoldedUsers", "NCFRecommender", "__version__", "load"]


def __getattr__(name):
    if name in __all__ and name != "__version__":
        from ._compat import check_keras_backend

        check_keras_backend()
    if name == "NCFRecommender":
        from ._estimator import NCFRecommender

        return NCFRecommender
    if name == "FoldedUsers":
        from ._folded import FoldedUsers

        return FoldedUsers
    if name == "load":
        from ._estimator import load

        return load
    raise AttributeError(f"module 'skncf' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
