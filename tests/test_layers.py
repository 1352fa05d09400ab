"""Imports run one way: data -> graph -> serving -> training -> estimator -> public API.

The layers are those of ``docs/architecture.rst``: the sub-packages ``_data``,
``_graph``, ``_serving`` and ``_training``, and the modules around them. A module may
import from its own layer and the layers below it, never from one above. Local imports
(inside functions) count too: a cycle dodged by importing late is still a cycle.
"""

import ast
import pathlib

SKNCF = pathlib.Path(__file__).parent.parent / "skncf"

LAYERS = [
    ("base", {"_version", "_compat", "_distribute"}),
    ("data", {"_data", "datasets", "preprocessing"}),
    ("graph", {"_graph"}),
    ("serving", {"_serving"}),
    ("training", {"_training"}),
    (
        "estimator",
        {
            "_estimator",
            "_recommending",
            "_new_ids",
            "_explaining",
            "_files",
            "_fitted_state",
            "_saving",
            "_saving_tables",
            "_folded",
            "_pair_codes",
        },
    ),
    (
        "public",
        {
            "__init__",
            "__main__",
            "metrics",
            "model_selection",
            "plotting",
            "_cli",
            "_cli_tables",
            "_demo",
        },
    ),
]
LEVEL = {module: level for level, (_, modules) in enumerate(LAYERS) for module in modules}


def _module(path):
    """The top-level module or package of skncf a file belongs to: ``_estimator``,
    ``_training``, ``datasets``, ..."""
    parts = path.relative_to(SKNCF).with_suffix("").parts
    return parts[0]


def _imports(path):
    """Top-level skncf modules and packages ``path`` imports, by relative import, anywhere
    in the file; a package's imports of its own modules are not counted."""
    depth = len(path.relative_to(SKNCF).parts)  # 1 in skncf/, 2 in skncf/_training/
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level == depth and node.module:  # from ._x / from .._x
                yield node.module.split(".")[0]
            elif node.level == depth:  # from . import x: a module, or a name of skncf itself
                for alias in node.names:
                    yield alias.name if alias.name in LEVEL else "__init__"


def upward_imports():
    found = []
    for path in sorted(SKNCF.rglob("*.py")):
        importer = _module(path)
        for imported in _imports(path):
            if imported in LEVEL and LEVEL[imported] > LEVEL[importer]:
                found.append(f"{path.relative_to(SKNCF)} imports {imported}")
    return found


def test_every_module_has_a_layer():
    modules = {_module(path) for path in SKNCF.rglob("*.py")}
    assert modules == set(LEVEL)


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports() == []


def test_an_upward_import_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.SKNCF", tmp_path)
    (tmp_path / "_graph").mkdir()
    (tmp_path / "_graph" / "graphs.py").write_text(
        "from .logits import g\n\ndef f():\n    from .._estimator import X\n"
    )
    (tmp_path / "_estimator.py").write_text("from ._graph.graphs import f\n")
    (tmp_path / "_saving.py").write_text("from . import __version__\n")
    assert upward_imports() == [
        "_graph/graphs.py imports _estimator",
        "_saving.py imports __init__",
    ]


PUBLIC = ["metrics", "model_selection", "plotting", "preprocessing", "_cli", "_cli_tables", "_demo"]


def private_reads(source):
    """``x._name`` attribute reads in ``source`` whose object is not ``self``/a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_public_modules_use_only_the_estimators_public_interface():
    # encode_pairs, pair_logits, catalog_logits, seen_, users_, items_, model_: no
    # private state, so the estimator's internals can change without breaking them
    found = {name: private_reads((SKNCF / f"{name}.py").read_text()) for name in PUBLIC}
    assert {name: reads for name, reads in found.items() if reads} == {}


def test_a_private_read_is_found():
    assert private_reads("estimator._seen[0]\nself._x\nfoo.__class__") == [
        "estimator._seen (line 1)"
    ]
