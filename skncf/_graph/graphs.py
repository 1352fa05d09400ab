"""Keras graphs of the four architectures: seed, GMF, MLP and NeuMF.

Every graph takes two integer inputs of shape ``(batch, 1)``, ``user`` and ``item``, and
ends in one sigmoid unit named ``prediction``. Layer names are fixed: training's and
serving's logits (:mod:`skncf._graph.logits`) read the learned weights by these names.

Dropout follows one rule for all architectures: after every embedding lookup and after
every hidden ``Dense`` layer. ``l2`` penalises the embedding rows looked up in a batch
(averaged over the batch, as in per-example weight decay) and every ``Dense`` kernel.
"""

import contextlib
import dataclasses

import keras
import numpy as np
from keras import layers, ops

ARCHITECTURES = ("seed", "gmf", "mlp", "neumf")
EMBEDDINGS = ("user_embedding", "item_embedding", "user_mlp_embedding", "item_mlp_embedding")
SEED_HIDDEN_UNITS = 50


@keras.saving.register_keras_serializable(package="skncf")
class RowL2(keras.regularizers.Regularizer):
    """L2 penalty on looked-up embedding rows: ``l2 * mean over rows of ||row||^2``."""

    def __init__(self, l2):
        self.l2 = float(l2)

    def __call__(self, x):
        return self.l2 * ops.mean(ops.sum(ops.square(x), axis=-1))

    def get_config(self):
        return {"l2": self.l2}


def build_graph(
    architecture, *, n_users, n_items, latent_dim, mlp_layers, dropout, l2, seeds, biases=False,
    features=None, without_ids=(),
):  # fmt: skip
    """Return the uncompiled ``keras.Model`` of one architecture.

    Parameters
    ----------
    architecture : {"seed", "gmf", "mlp", "neumf"}
    n_users, n_items : int
        Rows of the user and item embedding tables.
    latent_dim : int
        Width of every embedding.
    mlp_layers : tuple of int
        Widths of the ReLU tower of ``"mlp"`` and ``"neumf"``.
    dropout : float
        Dropout rate (see the module docstring for where it applies).
    l2 : float
        L2 penalty (see the module docstring).
    seeds : iterator of int
        Seeds for every initializer and dropout layer, so that a graph is reproducible.
    biases : bool, default=False
        Add a learned per-user and per-item bias (``user_bias``, ``item_bias``, zero at
        start) to the logit of the output unit, as rating models do.
    features : dict or None, default=None
        ``{"user": width, "item": width}`` (either may be absent): side features. The
        side's encoded features sit in a non-trainable table (``user_features``,
        ``item_features``, zeros until set, see :func:`set_feature_tables`), and every
        embedding of that side (GMF's, the tower's) adds a learned linear projection
        of them (``<embedding>_features``, no bias) to its id embedding.
    without_ids : tuple of {"user", "item"}, default=()
        Sides whose id embeddings (and bias) are zeros and not trained, so that they are
        represented by their features alone (content-based).
    """
    with _float32_variables():
        return _build(
            architecture, n_users, n_items, _Builder(latent_dim, dropout, l2, seeds, without_ids),
            mlp_layers, biases, features,
        )  # fmt: skip


@contextlib.contextmanager
def _float32_variables():
    """Layers built here have float32 variables and compute in float32, whatever Keras'
    global dtype policy says: training and serving compute on the variables in float32,
    and ``keras.config.set_floatx("float64")`` (or a float16 policy) would otherwise
    make float64 (float16) tables they cannot mix with. The policy is a per-thread
    setting in Keras, restored on the way out."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _build(architecture, n_users, n_items, builder, mlp_layers, biases, features):
    """:func:`build_graph`'s body, under its dtype policy."""
    seeds = builder.seeds
    user = keras.Input(shape=(1,), dtype="int32", name="user")
    item = keras.Input(shape=(1,), dtype="int32", name="item")
    for side, ids, n_rows in (("user", user, n_users), ("item", item, n_items)):
        width = (features or {}).get(side)
        if width:
            table = layers.Embedding(
                n_rows, width, embeddings_initializer="zeros", trainable=False,
                name=f"{side}_features",
            )  # fmt: skip
            builder.features[side] = table(ids)
    parts = []
    if architecture == "seed":
        product = builder.product(user, item, n_users, n_items, uniform=True)
        hidden = builder.dense(product, SEED_HIDDEN_UNITS, "seed_dense", activation=None)
        parts.append(hidden)
    if architecture in ("gmf", "neumf"):
        parts.append(builder.product(user, item, n_users, n_items, uniform=False))
    if architecture in ("mlp", "neumf"):
        parts.append(builder.tower(user, item, n_users, n_items, mlp_layers))
    features = parts[0] if len(parts) == 1 else layers.Concatenate(name="neumf")(parts)
    output = layers.Dense(
        1,
        activation=None if biases else "sigmoid",
        kernel_initializer=keras.initializers.LecunUniform(seed=next(seeds)),
        kernel_regularizer=builder.kernel_regularizer,
        name="prediction",
    )(features)
    if biases:
        terms = [
            output,
            builder.bias(user, n_users, "user_bias"),
            builder.bias(item, n_items, "item_bias"),
        ]
        output = layers.Activation("sigmoid", name="probability")(layers.Add()(terms))
    return keras.Model([user, item], output, name=f"ncf_{architecture}")


@dataclasses.dataclass(frozen=True)
class GraphLayout:
    """Where the weights of a graph built by :func:`build_graph` are.

    Training, serving, the SVD start, warm starts and plots read a graph through this,
    so that layer names are known to this module only.

    Attributes
    ----------
    output : keras.layers.Dense
        The output unit (``Dense(1)``).
    seed_dense : keras.layers.Dense or None
        The seed graph's linear ``Dense(50)`` between the product and the output.
    gmf : (user table, item table) or None
        The embeddings whose element-wise product is the GMF (or seed) part.
    tower : (user table, item table, [Dense, ...]) or None
        The MLP tower's embeddings and its ReLU layers.
    biases : (user table, item table) or None
        Per-user and per-item biases (width 1).
    projections : dict
        Embedding layer name -> (its side's feature table, the ``Dense`` projecting it),
        for the embeddings whose side has features.
    """

    output: keras.layers.Dense
    seed_dense: keras.layers.Dense | None
    gmf: tuple[keras.layers.Embedding, keras.layers.Embedding] | None
    tower: tuple[keras.layers.Embedding, keras.layers.Embedding, list] | None
    biases: tuple[keras.layers.Embedding, keras.layers.Embedding] | None
    projections: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, model):
        """The layout of ``model``, a graph built by :func:`build_graph`."""
        names = {layer.name for layer in model.layers}

        def pair(user, item):
            return (model.get_layer(user), model.get_layer(item)) if item in names else None

        tower = None
        if "mlp_input" in names:
            n_layers = sum(1 for name in names if name.startswith("mlp_dense_"))
            dense = [model.get_layer(f"mlp_dense_{j}") for j in range(n_layers)]
            tower = (*pair("user_mlp_embedding", "item_mlp_embedding"), dense)
        projections = {
            name: (model.get_layer(f"{name[:4]}_features"), model.get_layer(f"{name}_features"))
            for name in EMBEDDINGS
            if f"{name}_features" in names
        }  # fmt: skip
        return cls(
            output=model.get_layer("prediction"),
            seed_dense=model.get_layer("seed_dense") if "seed_dense" in names else None,
            gmf=pair("user_embedding", "item_embedding"),
            tower=tower,
            biases=pair("user_bias", "item_bias"),
            projections=projections,
        )

    def tables(self):
        """(user, item) pairs of embedding tables: the GMF's, the tower's, the biases."""
        pairs = [self.gmf, self.tower[:2] if self.tower else None, self.biases]
        return [pair for pair in pairs if pair is not None]

    def embeddings(self, kind):
        """The ``kind`` ("user" or "item") tables of the GMF and the tower, no biases."""
        side = {"user": 0, "item": 1}[kind]
        return [pair[side] for pair in (self.gmf, self.tower) if pair is not None]

    def dense_layers(self):
        """Every ``Dense`` layer: the output, the seed's hidden layer, the tower's, the
        feature projections."""
        dense = [self.output] + ([self.seed_dense] if self.seed_dense else [])
        projections = [projection for _, projection in self.projections.values()]
        return dense + (self.tower[2] if self.tower else []) + projections

    def feature_tables(self):
        """``{"user": table, "item": table}`` of the sides that have features."""
        return {table.name.split("_")[0]: table for table, _ in self.projections.values()}


class _Builder:
    """Creates the layers of a graph, each seeded and regularised the same way."""

    def __init__(self, latent_dim, dropout, l2, seeds, without_ids=()):
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.seeds = seeds
        self.without_ids = without_ids
        self.features = {}  # side -> its feature rows (batch, 1, width)
        self.row_regularizer = RowL2(l2) if l2 > 0 else None
        self.kernel_regularizer = keras.regularizers.L2(l2) if l2 > 0 else None

    def _drop(self, x):
        if self.dropout == 0:
            return x
        return layers.Dropout(self.dropout, seed=next(self.seeds))(x)

    def embed(self, ids, n_rows, name, uniform):
        if uniform:  # Keras' "uniform" initializer, as in the seed notebook
            init = keras.initializers.RandomUniform(-0.05, 0.05, seed=next(self.seeds))
        else:  # He et al. 2017: N(0, 0.01)
            init = keras.initializers.RandomNormal(stddev=0.01, seed=next(self.seeds))
        side = name.split("_")[0]
        with_ids = side not in self.without_ids
        x = layers.Embedding(
            n_rows,
            self.latent_dim,
            embeddings_initializer=init if with_ids else "zeros",
            activity_regularizer=self.row_regularizer,
            trainable=with_ids,
            name=name,
        )(ids)
        if side in self.features:  # the side's features, projected to the embedding's width
            projection = layers.Dense(
                self.latent_dim,
                use_bias=False,
                kernel_initializer=keras.initializers.RandomNormal(
                    stddev=0.01, seed=next(self.seeds)
                ),
                kernel_regularizer=self.kernel_regularizer,
                name=f"{name}_features",
            )
            x = layers.Add()([x, projection(self.features[side])])
        return layers.Flatten()(self._drop(x))

    def bias(self, ids, n_rows, name):
        x = layers.Embedding(
            n_rows,
            1,
            embeddings_initializer="zeros",
            activity_regularizer=self.row_regularizer,
            trainable=name.split("_")[0] not in self.without_ids,
            name=name,
        )(ids)
        return layers.Flatten()(x)

    def product(self, user, item, n_users, n_items, uniform):
        p = self.embed(user, n_users, "user_embedding", uniform)
        q = self.embed(item, n_items, "item_embedding", uniform)
        return layers.Multiply(name="gmf")([p, q])

    def dense(self, x, units, name, activation):
        x = layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(self.seeds)),
            kernel_regularizer=self.kernel_regularizer,
            name=name,
        )(x)
        return self._drop(x)

    def tower(self, user, item, n_users, n_items, widths):
        p = self.embed(user, n_users, "user_mlp_embedding", uniform=False)
        q = self.embed(item, n_items, "item_mlp_embedding", uniform=False)
        x = layers.Concatenate(name="mlp_input")([p, q])
        for j, units in enumerate(widths):
            x = self.dense(x, units, f"mlp_dense_{j}", activation="relu")
        return x


def set_feature_tables(model, features):
    """Put each side's encoded features (``{"user": rows, "item": rows}``) in its table."""
    tables = GraphLayout.of(model).feature_tables()
    for side, rows in features.items():
        tables[side].set_weights([rows])


def set_untrained_rows(model, side, untrained, trained):
    """Give ``side``'s ``untrained`` ids the mean of the ``trained`` ids' rows.

    An id no pair trained (a user or item known by its features alone) has no evidence
    for its id embeddings and bias: the trained ids' mean rows make it an average id
    plus what its features add, the prior mean that :meth:`NCFRecommender.fold_in`
    starts a new user from, not the random values it started with. ``untrained`` and
    ``trained`` are codes (rows of the tables).
    """
    if len(untrained) == 0 or len(trained) == 0:
        return
    position = {"user": 0, "item": 1}[side]
    for pair in GraphLayout.of(model).tables():
        (rows,) = pair[position].get_weights()
        rows[untrained] = rows[trained].mean(axis=0)
        pair[position].set_weights([rows])


def init_neumf_from(neumf, gmf, mlp, *, alpha=0.5):
    """Initialise a NeuMF graph from fitted GMF and MLP graphs (He et al. 2017, 3.4.1).

    Embeddings and tower layers are copied by name; the output unit becomes
    ``[alpha * h_gmf, (1 - alpha) * h_mlp]`` with the same blend of the two biases.
    """
    for source in (gmf, mlp):
        for layer in source.layers:
            if layer.weights and layer.name not in ("prediction", "user_bias", "item_bias"):
                neumf.get_layer(layer.name).set_weights(layer.get_weights())
    for name in ("user_bias", "item_bias"):
        if name in {layer.name for layer in neumf.layers}:
            (b_gmf,), (b_mlp,) = (
                gmf.get_layer(name).get_weights(),
                mlp.get_layer(name).get_weights(),
            )
            neumf.get_layer(name).set_weights([alpha * b_gmf + (1 - alpha) * b_mlp])
    (kernel_gmf, bias_gmf), (kernel_mlp, bias_mlp) = (
        gmf.get_layer("prediction").get_weights(),
        mlp.get_layer("prediction").get_weights(),
    )
    neumf.get_layer("prediction").set_weights(
        [
            ops.convert_to_numpy(
                ops.concatenate([alpha * kernel_gmf, (1 - alpha) * kernel_mlp], 0)
            ),
            alpha * bias_gmf + (1 - alpha) * bias_mlp,
        ]
    )


# The popularity start's scale: half the log count, chosen on validation folds of
# ml1m-half and ml-100k-loo (benchmarks/README.md, "How the implicit defaults were chosen")
POPULARITY_START_SCALE = 0.5


def start_item_bias_at_popularity(model, counts):
    """Start the item biases at ``0.5 * log(1 + count)``, centred over the items.

    ``counts`` holds each item's number of training users (by code). A softmax whose
    scores are the item biases alone ranks by popularity, the ranking that a random
    start spends its first epochs learning. The whole log count (the optimum of a
    softmax over biases alone) ranked lower on MovieLens-100K's validation split than
    half of it. Centring keeps the mean logit at zero.
    """
    bias = POPULARITY_START_SCALE * np.log1p(np.asarray(counts, dtype=np.float64))
    (_, items) = GraphLayout.of(model).biases
    items.set_weights([(bias - bias.mean()).astype(np.float32)[:, None]])


def start_gmf_as_dot_product(model):
    """Set the output weights of the GMF product to 1, so GMF starts as a plain dot product.

    With the softmax loss, the paper's ``lecun_uniform`` output weights (about 0.1 each)
    scale every gradient reaching the embeddings down; starting from the dot product (the
    matrix factorisation GMF generalises, He et al. 2017, 3.2) trains much faster. The
    seed graph's product feeds ``Dense(50)``, not the output, so it keeps the notebook's
    output weights.
    """
    names = {layer.name for layer in model.layers}
    if "gmf" not in names or "seed_dense" in names:
        return
    output = model.get_layer("prediction")
    kernel, bias = output.get_weights()
    kernel[: model.get_layer("user_embedding").output_dim] = 1.0
    output.set_weights([kernel, bias])
