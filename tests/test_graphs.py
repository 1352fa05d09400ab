import pathlib
import re

import pytest

from skncf._graph.graphs import ARCHITECTURES, GraphLayout, build_graph

SKNCF = pathlib.Path(__file__).parent.parent / "skncf"


def _graph(architecture, biases):
    return build_graph(
        architecture, n_users=5, n_items=7, latent_dim=4, mlp_layers=(6, 3), dropout=0.0,
        l2=0.0, seeds=iter(range(100)), biases=biases,
    )  # fmt: skip


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layout_finds_every_weight_of_the_graph(architecture, biases):
    graph = _graph(architecture, biases)
    layout = GraphLayout.of(graph)
    found = [table for pair in layout.tables() for table in pair] + layout.dense_layers()
    assert {layer.name for layer in found} == {
        layer.name for layer in graph.layers if layer.weights
    }
    assert (layout.gmf is not None) == (architecture != "mlp")
    assert (layout.tower is not None) == (architecture in ("mlp", "neumf"))
    assert (layout.seed_dense is not None) == (architecture == "seed")
    assert (layout.biases is not None) == biases
    assert [t.input_dim for t in layout.embeddings("item")] == [7] * len(layout.embeddings("user"))


def test_layer_names_are_known_to_the_graph_module_only():
    names = {layer.name for layer in _graph("neumf", True).layers} | {"seed_dense"}
    # the inputs, and layers named after their architecture, are words every module uses
    names -= {"user", "item", *ARCHITECTURES}
    pattern = re.compile(r"[\"']({})[\"'_]".format("|".join(sorted(names))))
    found = {
        path.name: pattern.findall(path.read_text())
        for path in SKNCF.rglob("*.py")
        if path.relative_to(SKNCF).as_posix() != "_graph/graphs.py"
    }
    assert {name: hits for name, hits in found.items() if hits} == {}
