"""The private scikit-learn helpers skncf relies on, reached through this one module.

A change in scikit-learn's private API then touches this file alone.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["Interval", "StrOptions", "fit_context"]
