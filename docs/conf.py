"""Sphinx configuration: numpydoc API reference, matplotlib plots, no network access.

Built by ``tests/test_docs.py`` (warnings are errors) in the test suite, or by hand:
``python -m sphinx -W -b html docs docs/_build/html``.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import skncf  # noqa: E402

project = "skncf"
author = "skncf developers"
copyright = "2026, skncf developers"
release = version = skncf.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]
autosummary_generate = True
# classes list their public methods in full (docs/_templates/autosummary/class.rst), so
# that recommend's, fold_in's, ... numpydoc docstrings are in the reference
templates_path = ["_templates"]
# the numpydoc sections give each parameter's type in words; numpy's ArrayLike spelled
# out in full made signatures unreadable
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_pre_code = "import matplotlib\nmatplotlib.use('Agg')\n"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
