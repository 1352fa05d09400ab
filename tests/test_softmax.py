"""The softmax loss: its logits are the graph's, and it learns."""

import numpy as np
import pytest
import tensorflow as tf

from skncf._graph.graphs import ARCHITECTURES, build_graph, start_gmf_as_dot_product
from skncf._graph.logits import CandidateLogits
from skncf._serving.scoring import Scorer

from .conftest import ARCHITECTURES_FAST_TWO


@pytest.mark.parametrize("biases", [False, True])
@pytest.mark.parametrize("architecture", ARCHITECTURES_FAST_TWO)
def test_candidate_logits_are_the_graphs_logits(architecture, biases):
    rng = np.random.default_rng(0)
    graph = build_graph(
        architecture,
        n_users=7,
        n_items=9,
        latent_dim=4,
        mlp_layers=(6, 3),
        dropout=0.5,
        l2=0.0,
        seeds=iter(range(100)),
        biases=biases,
    )
    for weights in graph.trainable_variables:  # make every weight matter
        weights.assign(rng.normal(size=weights.shape).astype(np.float32))
    users, items = np.arange(7, dtype=np.int32), np.arange(9, dtype=np.int32)
    logits_of = CandidateLogits(graph, dropout=0.5, l2=0.0, seed=0)
    user = logits_of.user_side(users, False)
    cross = logits_of.cross(user, logits_of.item_side(items, False), False).numpy()
    every_user, every_item = np.repeat(users, 9), np.tile(items, 7)
    probabilities = graph.predict([every_user[:, None], every_item[:, None]], verbose=0)
    np.testing.assert_allclose(
        tf.sigmoid(cross).numpy().ravel(), probabilities[:, 0], rtol=1e-4, atol=1e-5
    )
    every_pair = logits_of.user_side(every_user, False), logits_of.item_side(every_item, False)
    pairs = logits_of.pairs(*every_pair, False).numpy()
    np.testing.assert_allclose(pairs, cross.ravel(), rtol=1e-4, atol=1e-4)
    # serving (chunked) is the same forward pass
    scorer = Scorer(graph)
    served = np.vstack([block for _, block in scorer.rows(users)])
    np.testing.assert_allclose(served, cross, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scorer.pairs(every_user, every_item), pairs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_only_a_gmf_product_feeding_the_output_starts_as_a_dot_product(architecture):
    graph = build_graph(
        architecture, n_users=5, n_items=6, latent_dim=4, mlp_layers=(3,), dropout=0.0,
        l2=0.0, seeds=iter(range(100)),
    )  # fmt: skip
    before = graph.get_layer("prediction").get_weights()[0]
    start_gmf_as_dot_product(graph)
    after = graph.get_layer("prediction").get_weights()[0]
    if architecture in ("gmf", "neumf"):  # the product's 4 weights; NeuMF's tower keeps its
        np.testing.assert_array_equal(after[:4], 1.0)
        np.testing.assert_array_equal(after[4:], before[4:])
    else:  # the seed graph's Dense(50) and the MLP tower keep lecun_uniform
        np.testing.assert_array_equal(after, before)
