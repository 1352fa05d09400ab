"""The user guide's and quickstart's examples train several models: the slow part."""

import pytest

SLOW_PAGES = {"user_guide.rst", "quickstart.rst"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_PAGES:
            item.add_marker(pytest.mark.slow)
