"""Continuing a fit: new users and items join the codes, the seen items and the graph.

``NCFRecommender.partial_fit`` and ``fit`` with ``warm_start=True`` encode the new pairs
against the known labels plus the new ones (codes stay in sorted label order, so known
users and items may move), carry the seen interactions over to the new codes, and copy
the fitted graph's weights into a graph with more rows.
"""

from .._graph.graphs import GraphLayout


def copy_weights(source, target, old_users, old_items):
    """Copy a fitted graph's weights into a graph with more users or items.

    Rows of user (item) tables move to the users' (items') new codes; rows of new users
    and items keep the target's fresh initial values.
    """
    target_layers = {layer.name: layer for layer in target.layers}
    layout = GraphLayout.of(source)
    rows_of = {table.name: old_users for table, _ in layout.tables()}
    rows_of.update({table.name: old_items for _, table in layout.tables()})
    features = layout.feature_tables()  # (set anew from the features by the estimator)
    rows_of.update({table.name: {"user": old_users, "item": old_items}[side]
                    for side, table in features.items()})  # fmt: skip
    for layer in source.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        destination = target_layers.get(layer.name)
        rows = rows_of.get(layer.name)
        # a table may grow by rows (new users and items); any other weight keeps its shape
        grows = 1 if rows is not None else 0
        shapes = [w.shape[grows:] for w in weights]
        if destination is None or [w.shape[grows:] for w in destination.get_weights()] != shapes:
            raise ValueError(
                "warm_start and partial_fit keep the fitted graph, so architecture, "
                "latent_dim, mlp_layers, loss and feedback must stay as they were at fit; layer "
                f"{layer.name!r} does not fit the new settings. Fit with warm_start=False."
            )
        if rows is not None:
            (table,) = destination.get_weights()
            table[rows] = weights[0]
            weights = [table]
        destination.set_weights(weights)
