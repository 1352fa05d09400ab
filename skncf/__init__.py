"""skncf: Neural Collaborative Filtering as a scikit-learn estimator."""

from ._estimator import NCFRecommender
from ._saving import load

__version__ = "0.1.0"
__all__ = ["NCFRecommender", "__version__", "load"]
