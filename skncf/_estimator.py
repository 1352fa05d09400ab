"""NCFRecommender: the scikit-learn estimator over a Keras NCF graph.

This module is the scikit-learn glue: parameters, validation, fitted state and the public
methods. The stages it glues live in sub-packages: the data stage in :mod:`skncf._data`,
the graphs in :mod:`skncf._graph`, training in :mod:`skncf._training`, and scoring from
the learned weights in :mod:`skncf._serving` (``docs/architecture.rst``).
"""

from __future__ import annotations  # help() shows ArrayLike, not numpy's full union

import contextlib
import functools
import itertools
import os
import warnings
from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from typing import Any, BinaryIO, Literal, NamedTuple, Self

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.metrics import r2_score
from sklearn.utils import RegressorTags, check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._compat import HasMethods, Interval, StrOptions, fit_context
from ._data import features as feature_encoding
from ._data.features import (
    LEGACY_ROW_NORM,
    check_covered,
    check_features,
    check_id_column,
    encoded_later,
    encoded_rows,
    fit_encoder,
    in_code_order,
    shown_in_repr,
)
from ._data.ids import (
    arrow_as_pandas,
    by_name,
    check_known,
    check_query_ids,
    checked_pair_ids,
    encode,
    extend_codes,
    fit_codes,
    ids_only,
    keep_python_types,
)
from ._data.interactions import (
    Interactions,
    explicit_interactions,
    first_non_number,
    implicit_interactions,
    interaction_matrix,
    is_decimal_comma,
)
from ._distribute import StrategyRecipe, agree, fingerprint, plain_copy
from ._explaining import ExplainMethods
from ._files import FileMethods
from ._graph.graphs import (
    ARCHITECTURES,
    GraphLayout,
    build_graph,
    init_neumf_from,
    set_feature_tables,
    start_gmf_as_dot_product,
    start_item_bias_at_popularity,
)
from ._new_ids import NewIdsMethods, _average_untrained
from ._pair_codes import PairCodes, PairEncoding
from ._recommending import RankingMethods
from ._saving import read_model, set_graph_weights, source_name
from ._serving.ranking import full_ranks, ndcg_gains
from ._serving.scoring import Scorer, sigmoid
from ._training.by_user import block_users, train_by_users
from ._training.callbacks import Validation, copied_or_shared, picklable
from ._training.loop import ExplicitExamples, ImplicitExamples, train
from ._training.softmax import train_softmax
from ._training.svd_start import start_gmf_from_svd
from ._training.warm_start import copy_weights

SCORE_K = 10
SEED_DROPOUT = 0.5
LOG_LOSS_NEGATIVES = 4
# Items drawn per batch by the per-positive softmax of the MLP and NeuMF graphs (whose
# towers cost a pass per user-item pair) when n_negatives="auto" and no block of users fits;
# GMF and seed then score all items.
SOFTMAX_SAMPLED_ITEMS = 256
# What "auto" means for batch_size (users per step, or examples), learning_rate and epochs
# when training by users and per positive. By users: chosen on ml1m-half's validation split
# (each user's latest training interaction; benchmarks/README.md, "How the implicit
# defaults were chosen").
BY_USERS = {"batch_size": 128, "learning_rate": 0.003, "epochs": 14}
# ... and the epochs from a random start (init="random", or no trained item biases): the
# popularity start saves the epochs that a random one spends reaching popularity
BY_USERS_RANDOM_START_EPOCHS = 20
# ... and fewer users a step where 128 would make fewer steps an epoch than this
BY_USERS_MIN_STEPS = 20
PER_POSITIVE = {"batch_size": 256, "learning_rate": 0.001, "epochs": 10}
# What dropout=None means for ratings: the rating model's regulariser. Chosen on 10%
# validation splits of ml1m-half's and one ml-100k training fold's ratings, where an l2
# penalty either let the factors overfit or, a little stronger, pulled them to zero
# (benchmarks/README.md, "Explicit ratings against Surprise's SVD").
EXPLICIT_DROPOUT = 0.5
# n_negatives="auto" trains by users where blocks of at least this many users fit in
# skncf._training.by_user.BLOCK_FLOATS; below, a step's block is too small to pay.
MIN_BLOCK_USERS = 16
# The settings a fitted model was built and trained with: its methods (and save) read
# them as they were at fit, so that set_params after fit changes the next fit only, as
# scikit-learn's estimators do.
MODEL_SETTINGS = (
    "architecture", "latent_dim", "mlp_layers", "dropout", "loss", "feedback",
    "negative_weight", "pretrain", "id_embeddings",
)  # fmt: skip


class NCFRecommender(
    RankingMethods, NewIdsMethods, ExplainMethods, FileMethods, PairEncoding, BaseEstimator
):
    """Neural Collaborative Filtering recommender (He et al., WWW 2017).

    Learns user and item embeddings from (user, item) pairs with a Keras graph and
    recommends, for each user, the items it scores highest. Implicit feedback (clicks,
    plays, purchases) is learnt by ranking each positive above other items; explicit
    feedback (ratings) as regression.

    Parameters
    ----------
    architecture : {"neumf", "gmf", "mlp", "seed"}, default="gmf"
        The graph. ``"gmf"``: element-wise product of the user and item
        embeddings, then a sigmoid unit (the default: trained by users it ranked better
        than NeuMF on validation data, in a tenth of the time; user guide, "Training by
        users"). ``"mlp"``: concatenated embeddings through a ReLU
        tower of ``mlp_layers``, then a sigmoid unit. ``"neumf"``: both, with separate
        embeddings, concatenated before the sigmoid unit. ``"seed"``: the notebook graph
        this project grew from: uniform-initialised embeddings, dropout on each, their
        product, ``Dense(50)`` (linear), dropout, a sigmoid unit with ``lecun_uniform``
        initialisation.
    latent_dim : int, default=128
        Width of every embedding (user and item, GMF and MLP). The He et al. paper used
        8 to 64; 128 ranked a little better than 64 on validation data.
    mlp_layers : tuple of int, default=(32, 16, 8)
        Widths of the hidden ReLU layers of ``"mlp"`` and ``"neumf"``, which take the
        concatenated user and item embeddings (``2 * latent_dim`` wide). The default is
        the paper's tower, which its code writes ``[64, 32, 16, 8]``, counting the
        concatenation first.
    dropout : float or None, default=None
        Dropout rate after every embedding lookup and every hidden layer. None means 0.5
        for ``"seed"`` (as in the notebook) and for ``feedback="explicit"`` (chosen on
        validation splits of ratings), 0 otherwise.
    l2 : float, default=0.0
        L2 penalty on the embedding rows of each batch's positives (or rated pairs; mean
        over them of their squared norm) and on every dense kernel.
    learning_rate : float or "auto", default="auto"
        Adam's learning rate. ``"auto"``: 0.003 when training by users (few, large
        steps), 0.001 per positive; the value used is ``learning_rate_``.
    optimizer : {"adam", "lazy_adam"}, default="adam"
        ``"adam"``: Keras' Adam; it updates every row of every embedding table at every
        step, since rows a batch did not look up keep moving with their momentum.
        ``"lazy_adam"``: Adam on the embedding rows each batch looks up only, moments
        included (TF Addons' ``LazyAdam``), plain Adam on the dense layers. Results
        differ a little; on large catalogs or user bases each step becomes much cheaper
        (for 138,000 users and 27,000 items see ``benchmarks/README.md``, "Scale").
    batch_size : int or "auto", default="auto"
        Per gradient step: users when training by users (see ``n_negatives``),
        otherwise positives (``loss="softmax"``) or positives and negatives
        (``loss="log"``) or ratings. ``"auto"``: 128 users (fewer where that would make
        fewer than 20 steps an epoch), or 256 examples; the value used is
        ``batch_size_``.
    epochs : int or "auto", default="auto"
        Passes over the positives (or ratings). ``"auto"``: when training by users 14
        from ``init="popularity"``'s start and 20 from another, 10 otherwise; the value
        used is ``epochs_``.
    n_negatives : int, "all" or "auto", default="auto"
        What each positive is contrasted with. ``"all"``: every item, trained by users:
        each step takes ``batch_size`` users and scores all items for them once, and the
        loss is exact over the whole catalog, at the cost of users x items scores an
        epoch: the multinomial softmax with ``loss="softmax"``, the full-matrix log loss
        with ``loss="log"`` (see ``negative_weight``; user guide, "Training by users").
        An int trains per positive: with ``loss="log"``, negatives drawn per positive in
        every epoch, uniformly among the items the user has no positive interaction
        with (the paper's 4); with ``loss="softmax"``, items drawn uniformly per batch
        and shared by its positives to normalise over (sampled softmax; all items when
        it is at least the catalog's size). ``"auto"``: ``"all"`` with the softmax
        wherever a block of at least 16 users fits in memory (below about a million
        items for ``"gmf"`` and ``"seed"``, 16 million divided by the widest tower
        layer for ``"mlp"`` and ``"neumf"``), else the per-positive softmax (all items
        for ``"gmf"`` and ``"seed"``, 256 for the towers); 4 with ``loss="log"``. The
        value used is ``n_negatives_``. Unused with ``feedback="explicit"``.
    negative_weight : float, default=0.5
        With ``loss="log"`` and ``n_negatives="all"``: the weight of every pair that is
        not a positive in the full-matrix log loss (iALS's alpha0, Hu et al. 2008), a
        positive weighing its own weight from ``y`` (mean 1).
    loss : {"softmax", "log"}, default="softmax"
        The implicit-feedback objective (explicit feedback always uses squared error, and
        ignores this). ``"softmax"``: cross-entropy of each positive among the items (all
        of them, or a sample, see ``n_negatives``): it trains the ranking recommenders
        are judged on, and ranks better in the NCF benchmark (see the user guide); the
        graph then gains per-user and per-item biases, GMF's output weights start at 1
        (at a fitted scale with ``init="svd"``), and ``predict`` returns the sigmoid of
        the logit, a score that orders pairs but not a calibrated probability. ``"log"``:
        the NCF paper's binary log loss of each positive and of its sampled negatives;
        ``predict`` returns probabilities.
    feedback : {"implicit", "explicit"}, default="implicit"
        ``"implicit"``: ``y`` holds non-negative interaction weights or counts (0 means no
        interaction); the model outputs scores (see ``loss``). ``"explicit"``: ``y``
        holds ratings; the graph gains a per-user and a per-item bias on the output
        logit, is fit by mean squared error on ratings scaled to the training range, and
        predicts ratings within that range.
    init : {"popularity", "random", "svd"}, default="popularity"
        How training starts. ``"random"``: embeddings at small random values (He et al.
        2017), biases at zero. ``"popularity"``: as ``"random"``, but where the softmax
        trains by users (``n_negatives`` "all", resolved) the item biases start at half
        the log of each item's number of training users, centred: training starts from
        the popularity ranking, which a random start spends its first epochs learning,
        so ``epochs="auto"`` takes 14 epochs by users instead of 20 (elsewhere, and for
        items represented by their features alone, the same as ``"random"``). The
        defaults were chosen from this start (user guide, "Defaults and how they were
        chosen"). ``"svd"``: the GMF embeddings of ``"gmf"`` and ``"neumf"`` start from
        a truncated SVD of the training interactions (their weights, users x items) at
        ``latent_dim``, so that GMF starts as the SVD's reconstruction (PureSVD), which
        already ranks well; GMF's output weights start at the one scale (and, with
        ``loss="log"``, the output's bias) that fits the loss best on a sample of the
        positives, so the first epoch starts from confident probabilities, not flat
        ones. Short fits rank much better; after 10 epochs the two starts end close.
        With ``loss="log"``, one epoch from the SVD is a quick NeuMF, and ``l2=1e-3``
        keeps further epochs from overfitting (user guide, "The per-positive options";
        not the defaults, as these settings do not suit ``"seed"`` and ``"mlp"``). The
        SVD is scikit-learn's ``randomized_svd``, seeded by ``random_state``. Implicit
        feedback only; the other tables (the MLP tower's, the seed graph's) start
        random, and ``warm_start`` and ``partial_fit`` continue from the fitted weights
        instead.
    pretrain : bool, default=False
        Only for ``architecture="neumf"``: first fit a GMF and an MLP graph (same settings,
        ``epochs`` each), initialise NeuMF from them with the paper's 0.5 output blend,
        then train NeuMF for ``epochs`` more (He et al. 2017, section 3.4.1). Triples
        the training time.
    columns : pair of int or pair of str, default=None
        Where the user and item ids are in ``X``: two column positions, or two column
        names of a DataFrame. None means ``X`` has exactly two columns, user id first;
        if they are a DataFrame's named columns, later calls read them by those names.
        Other columns are validated but not used. Names are read by name after ``fit``,
        as ``ColumnTransformer`` reads its columns: ``predict``, ``score``, ``fold_in``
        and ``partial_fit`` take a DataFrame with the two id columns in any order,
        with or without fit's other columns (positions need fit's layout).
    user_features, item_features : DataFrame or (ids, table), default=None
        Side features: a DataFrame indexed by user (item) id, numeric and categorical
        columns, or a pair of ids and a table, one row per id: a DataFrame (pandas, or
        polars, which has no index) or a 2-D numeric array or sparse matrix. Every
        user (item) of ``X`` needs a row; ids with a row but no interaction join the
        catalog (``users_``, ``items_``) and are scored from their features: cold start.
        Each embedding of that side becomes its id embedding plus a learned linear
        projection of the encoded features (user guide, "Side features"). Given here,
        not to ``fit``, so that a search's splits never cut the tables and can compare
        feature sets (``{"item_features": [None, genres]}``).
    features_encoder : "auto" or transformer, default="auto"
        Turns a feature table into numbers, fitted at ``fit`` (a clone per side):
        ``"auto"`` encodes DataFrames with ``skncf``'s default ``ColumnTransformer``
        (numeric: median imputation with missing-value indicators, standardised, and
        quantile bins where a column has many values; lists of labels, such as genres:
        one column per label; others: one-hot, categories seen once pooled) and uses
        matrices as given. Fitted encoders are ``feature_encoders_``.
    id_embeddings : bool, default=True
        False: a side that has features is represented by them alone (its id embeddings
        and biases stay zero), a content-based model of that side.
    handle_unknown : {"error", "ignore"}, default="error"
        What ``predict``, ``recommend`` and ``similar_items`` do with users or items not
        seen in ``fit``. ``"error"`` raises a ValueError. ``"ignore"`` uses a fallback:
        ``predict`` returns 0 (implicit) or the mean training rating (explicit) for such a
        pair; ``recommend`` gives an unknown user, and ``similar_items`` an unknown item,
        the most popular items with that same fallback score; unknown items in
        ``fold_in``'s pairs and in ``allow`` or ``deny`` lists are left out. ``score``
        never raises for unknown ids, whatever this setting (see :meth:`score`).
    validation_fraction : float or None, default=None
        Hold out validation data and score it after every epoch, into ``history_`` and
        the logs Keras callbacks see. Implicit feedback: this share (up to 1.0, all)
        of the users with 2 or more positives each lend one random positive, which is
        ranked among the items the user did not train on (``"val_ndcg@10"``, as
        :meth:`score`); the held-out positives are not trained on but still count as
        seen by :meth:`recommend`. Explicit feedback: this share of the rows
        (``"val_r2"``). Few validation users give a noisy score. ``fit`` only:
        ``partial_fit`` trains on every row it is given.
    n_iter_no_change : int or None, default=None
        Early stopping in ``fit`` (needs ``validation_fraction`` or ``validation_data``):
        stop when the validation score has not improved for this many epochs, and
        restore the weights of the best epoch (``n_iter_`` says how many ran). Keras'
        ``EarlyStopping`` callback does the work.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Keras callbacks (``EarlyStopping``, ``ModelCheckpoint``, ``TensorBoard``,
        your own), called at the start and end of training and of every epoch, with
        ``logs`` holding ``"loss"`` and the validation score; the callbacks' ``model``
        is the Keras graph (``model_``). A callback that sets
        ``model.stop_training = True`` ends training after that epoch. While training,
        ``model.optimizer.learning_rate`` is the rate of skncf's Adam, which
        ``LearningRateScheduler`` and ``ReduceLROnPlateau`` read and set between epochs
        (every fit starts at ``learning_rate_``); ``BackupAndRestore`` resumes an
        interrupted fit at its last finished epoch. Epochs run as one compiled
        TensorFlow call each, so batch-level hooks are not called.
    distribute : tf.distribute.Strategy or None, default=None
        Train under this TensorFlow strategy: ``MirroredStrategy`` over several GPUs
        or CPU devices of one machine, ``MultiWorkerMirroredStrategy`` over several
        machines. ``batch_size`` stays the global batch, split across the replicas,
        which sum their gradients, so the same settings train the same model on any
        number of devices (raise ``batch_size`` with the replicas to give each device
        more work). With several workers, each runs the same ``fit`` on the same data
        (checked); their random draws are the first worker's. ``model_`` is an
        ordinary copy of the trained graph, so prediction, pickling and :meth:`save`
        work as without a strategy. A pickled estimator rebuilds a
        ``OneDeviceStrategy`` or ``MirroredStrategy`` on the same devices when
        unpickled where they exist; other strategies (a cluster cannot be rejoined
        from a pickle) come back as None, with a warning. :meth:`save` keeps no
        strategy. See "Scaling out" in the docs.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues training the current
        weights on the new ``X`` for ``epochs`` epochs instead of starting afresh, as
        :meth:`partial_fit` does for one epoch (see there for new users and items).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, negative sampling and shuffling. An int
        gives identical models for identical data, also in another process.
    verbose : int, default=0
        If positive, print one line per epoch (loss, examples, seconds).

    Attributes
    ----------
    users_ : ndarray of shape (n_users,)
        Known user labels, sorted.
    items_ : ndarray of shape (n_items,)
        Known item labels, sorted.
    model_ : keras.Model
        The trained graph; inputs ``user`` and ``item`` are codes, i.e. positions in
        ``users_`` and ``items_``.
    n_negatives_ : int or "all"
        ``n_negatives`` as used: "all" when trained by users.
    batch_size_ : int
        ``batch_size`` as used (users per step when trained by users).
    learning_rate_ : float
        ``learning_rate`` as used.
    epochs_ : int
        ``epochs`` as used by ``fit`` (``partial_fit`` trains one).
    history_ : dict
        ``{"loss": [...]}``, the training loss of every epoch of the last ``fit`` or
        ``partial_fit`` (as Keras' ``History`` of one call: a stream of ``partial_fit``
        calls, each on new data, keeps the last one's epoch); with
        ``validation_fraction`` also ``"val_ndcg@10"`` or ``"val_r2"``; with
        ``pretrain`` also ``"pretrain_gmf_loss"`` and ``"pretrain_mlp_loss"``; what
        callbacks add to the logs, such as ``"learning_rate"``.
    n_iter_ : int
        Epochs the last ``fit`` or ``partial_fit`` ran: ``epochs_``, fewer when early
        stopping ended training (``n_iter_no_change``) or a fit resumed after an
        interruption (``BackupAndRestore``), 1 for ``partial_fit``.
    seen_ : scipy.sparse.csr_array of shape (n_users, n_items)
        The training interactions by code (rows follow ``users_``, columns ``items_``):
        what ``exclude_seen`` and full-ranking evaluation leave out.
    feature_encoders_ : dict
        Only with side features: ``{"user": encoder, "item": encoder}`` for the sides
        given, each the fitted clone of ``features_encoder`` (None for a matrix used as
        given).
    n_features_in_ : int
        Number of columns of ``X`` in ``fit`` (2 unless ``columns`` picks two of more).
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names of ``X`` when it was a DataFrame with string column names.

    See Also
    --------
    skncf.datasets.make_interactions : Synthetic interactions with planted tastes.

    References
    ----------
    .. [1] He, X., Liao, L., Zhang, H., Nie, L., Hu, X., Chua, T.-S. "Neural
       Collaborative Filtering". WWW 2017.

    Examples
    --------
    >>> from skncf import NCFRecommender
    >>> from skncf.datasets import make_interactions
    >>> X, _ = make_interactions(n_users=60, n_items=40, random_state=0)
    >>> rec = NCFRecommender(architecture="gmf", latent_dim=8, epochs=2, random_state=0).fit(X)
    >>> rec.recommend([0, 1], k=3).shape
    (2, 3)
    >>> rec.predict(X[:2]).shape
    (2,)

    A quick NeuMF: one epoch of the log loss from a truncated SVD of the interactions.

    >>> quick = NCFRecommender(init="svd", loss="log", epochs=1, random_state=0).fit(X)
    >>> quick.recommend([0], k=3).shape
    (1, 3)
    """

    _parameter_constraints = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "mlp_layers": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "l2": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "optimizer": [StrOptions({"adam", "lazy_adam"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_negatives": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto", "all"})],
        "negative_weight": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"log", "softmax"})],
        "feedback": [StrOptions({"implicit", "explicit"})],
        "init": [StrOptions({"popularity", "random", "svd"})],
        "pretrain": ["boolean"],
        "columns": ["array-like", None],
        "user_features": "no_validation",  # checked in fit
        "item_features": "no_validation",
        "features_encoder": [StrOptions({"auto"}), HasMethods(["fit", "transform"])],
        "id_embeddings": ["boolean"],
        "handle_unknown": [StrOptions({"error", "ignore"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="right"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "callbacks": [list, None],
        "distribute": [tf.distribute.Strategy, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        architecture: Literal["neumf", "gmf", "mlp", "seed"] = "gmf",
        *,
        latent_dim: int = 128,
        mlp_layers: Sequence[int] = (32, 16, 8),
        dropout: float | None = None,
        l2: float = 0.0,
        learning_rate: float | Literal["auto"] = "auto",
        optimizer: Literal["adam", "lazy_adam"] = "adam",
        batch_size: int | Literal["auto"] = "auto",
        epochs: int | Literal["auto"] = "auto",
        n_negatives: int | Literal["auto", "all"] = "auto",
        negative_weight: float = 0.5,
        loss: Literal["softmax", "log"] = "softmax",
        feedback: Literal["implicit", "explicit"] = "implicit",
        init: Literal["popularity", "random", "svd"] = "popularity",
        pretrain: bool = False,
        columns: Sequence[int | str] | None = None,
        user_features: Any = None,
        item_features: Any = None,
        features_encoder: Any = "auto",
        id_embeddings: bool = True,
        handle_unknown: Literal["error", "ignore"] = "error",
        validation_fraction: float | None = None,
        n_iter_no_change: int | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        distribute: tf.distribute.Strategy | None = None,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.mlp_layers = mlp_layers
        self.dropout = dropout
        self.l2 = l2
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.epochs = epochs
        self.n_negatives = n_negatives
        self.negative_weight = negative_weight
        self.loss = loss
        self.feedback = feedback
        self.init = init
        self.pretrain = pretrain
        self.columns = columns
        self.user_features = user_features
        self.item_features = item_features
        self.features_encoder = features_encoder
        self.id_embeddings = id_embeddings
        self.handle_unknown = handle_unknown
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.distribute = distribute
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        # ratings are required and may be any number; implicit y is optional weights
        tags.target_tags.required = self.feedback == "explicit"
        tags.target_tags.positive_only = self.feedback == "implicit"
        if self.feedback == "explicit":  # ratings: is_regressor, R^2 as score
            tags.estimator_type = "regressor"
            # scikit-learn's checks fit ids drawn at random, which a few epochs cannot
            # learn to an R^2 above 0.5
            tags.regressor_tags = RegressorTags(poor_score=True)
        return tags

    def __repr__(self, N_CHAR_MAX=700):
        # feature tables print as their shapes: a DataFrame's own repr fills a screen
        shown = {
            name: shown_in_repr(getattr(self, name)) for name in ("user_features", "item_features")
        }
        stand_in = object.__new__(type(self))
        stand_in.__dict__ = {**self.__dict__, **shown}
        return super(NCFRecommender, stand_in).__repr__(N_CHAR_MAX)

    def __getstate__(self):
        state = super().__getstate__()
        # a strategy holds devices and threads: what rebuilds it is pickled instead
        if isinstance(state.get("distribute"), tf.distribute.Strategy):
            state = {**state, "distribute": StrategyRecipe(state["distribute"])}
        if "_item_index" in state:  # the faiss index is rebuilt when next asked for
            state = {**state, "_item_index": None}
        if "_fold_in" in state:  # as is fold-in's prior and traced gradient
            state = {**state, "_fold_in": None}
        if state.get("callbacks"):
            kept, dropped = picklable(state["callbacks"])
            if dropped:
                warnings.warn(
                    f"NCFRecommender pickled without its callbacks {', '.join(dropped)}: "
                    "after they ran they hold what cannot be pickled (a file, a summary "
                    "writer). A fitted model needs no callbacks to predict; give the "
                    "unpickled estimator new ones (set_params(callbacks=...)) to train it.",
                    UserWarning,
                    stacklevel=2,
                )
                state = {**state, "callbacks": kept}
        return state

    def __sklearn_clone__(self):
        """A clone, as scikit-learn's, whose callbacks are deep copies, or the same
        callbacks where they cannot be copied (:func:`copied_or_shared`)."""
        if not self.callbacks:
            return super().__sklearn_clone__()
        source = object.__new__(type(self))  # self without its callbacks, unchanged
        source.__dict__ = {**self.__dict__, "callbacks": None}
        cloned = super(NCFRecommender, source).__sklearn_clone__()
        cloned.callbacks = [copied_or_shared(callback) for callback in self.callbacks]
        return cloned

    def __setstate__(self, state):
        if isinstance(state.get("distribute"), StrategyRecipe):
            state = {**state, "distribute": state["distribute"].rebuild()}
        super().__setstate__(state)

    # ------------------------------------------------------------------ fit

    @fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        validation_data: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
    ) -> Self:
        """Learn embeddings from (user, item) pairs.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2)
            User id in the first column, item id in the second. Ids may be integers of
            any size, floats or strings, one kind per column; a DataFrame's integer
            columns (pandas' nullable ``Int64`` too) stay integers whatever its other
            columns hold. From a sparse users x items matrix ``M`` (what ``implicit``
            fits): ``coo = M.tocoo()``, ``X = np.column_stack([coo.row, coo.col])``,
            ``y = coo.data``.
        y : array-like of shape (n_samples,), default=None
            Implicit feedback: None (every pair is a positive) or non-negative weights or
            counts; 0 means no interaction and the pair is not a positive. Repeated pairs
            are merged into one positive whose weight is the sum of theirs. Positive
            weights are scaled to mean 1. Explicit feedback: the ratings, required;
            repeated pairs stay separate examples (their ratings are averaged by the fit).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, multiplied into the loss (for implicit
            feedback, into the positive's weight).
        validation_data : array-like of shape (n_pairs, 2), or (X_val, y_val), default=None
            Held-out pairs scored after every epoch instead of a ``validation_fraction``
            of ``X`` (which must then be None), as Keras' ``validation_data``: e.g. each
            user's latest interactions, to validate as a leave-last-out test will score.
            Implicit feedback: ``X_val`` (``y_val`` optional; pairs with 0 are left out),
            ranked as ``validation_fraction`` describes; pairs with an id not in ``X``
            count as misses. Explicit feedback: ``(X_val, ratings)``; pairs with an
            unknown id are left out of the R^2.

        Returns
        -------
        self : NCFRecommender
            The fitted estimator.
        """
        keep = self.warm_start and hasattr(self, "model_")
        return self._fit_or_restore(X, y, sample_weight, keep=keep, validation_data=validation_data)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Train one more epoch on new interactions, keeping what was learnt.

        Users and items not seen before are added: their embeddings start as in a new
        fit, the others keep their learned values, and they become recommendable. The
        new interactions join the seen items that :meth:`recommend` leaves out. Only
        the pairs of ``X`` are trained on (negatives exclude everything seen), with a
        fresh Adam state; the rating scale of explicit feedback stays that of the first
        fit. On an unfitted estimator this is ``fit`` with one epoch. It never compiles
        with XLA (see "How training runs" in the user guide), so that a long stream of
        calls does not accumulate compiled code.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2)
            New (user, item) pairs, as for :meth:`fit`: the same columns as in the first
            fit, and ids of the same kind (numbers or strings).
        y : array-like of shape (n_samples,), default=None
            As for :meth:`fit`: implicit weights or counts, or the ratings.
        sample_weight : array-like of shape (n_samples,), default=None
            As for :meth:`fit`.

        Returns
        -------
        self : NCFRecommender
            The estimator, trained one more epoch.

        Examples
        --------
        >>> from skncf import NCFRecommender
        >>> rec = NCFRecommender(architecture="gmf", epochs=2, random_state=0)
        >>> rec = rec.fit([[0, 1], [0, 2], [1, 2], [1, 3], [2, 3], [2, 1]])
        >>> rec = rec.partial_fit([[9, 1], [9, 4]])  # a new user, a new item
        >>> 9 in rec.users_, 4 in rec.items_
        (True, True)
        >>> rec.recommend([9], k=2).shape
        (1, 2)
        """
        keep = hasattr(self, "model_")
        # No XLA: each compiled fit keeps 5-10 MiB of code in the process for good (see
        # skncf._training.loop.xla_allowed), which a stream of partial_fit calls would pile up.
        return self._fit_or_restore(
            X, y, sample_weight, epochs=1, keep=keep, xla=False, hold_out=False
        )

    def _fit_or_restore(self, X, y, sample_weight, **how):
        """``_fit``, or on any failure (also KeyboardInterrupt) the state from before."""
        state = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, **how)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(
        self, X, y, sample_weight, *, epochs=None, keep=False, validation_data=None, xla=True,
        hold_out=True,
    ):  # fmt: skip
        """Fit from scratch, or with ``keep`` continue from the fitted weights.

        ``hold_out=False`` (``partial_fit``) trains on every row: no ``validation_fraction``
        and so no early stopping.
        """
        self._check_fit_settings(validation_data, hold_out)
        if keep:
            self._check_kept_settings()
        tables = self._feature_tables()
        X = arrow_as_pandas(X)
        if keep:
            X = self._by_name(X)
        frame, X = X, self._validated(X, reset=not keep)
        y, sample_weight = self._check_fit_targets(X, y, sample_weight)
        ids = self._fit_ids(frame, X, keep, tables)
        if not keep:  # rows given later are scaled to the same length (_row_norm)
            self._feature_row_norm = feature_encoding.ROW_NORM
        encoders, self._feature_rows, encoder_tables = self._encode_features(tables, ids, keep)
        self._feature_width = {side: rows.shape[1] for side, rows in self._feature_rows.items()}
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        if self.distribute is not None:  # the workers' draws and data must agree
            seed = agree(self.distribute, seed, fingerprint(ids.u, ids.i, y, sample_weight))
        rng = np.random.default_rng(seed)
        run = _Run(rng, iter(rng.integers(0, 2**31 - 1, size=256).tolist()), epochs, xla)
        fraction = self.validation_fraction if hold_out else None
        data = self._fit_data(ids, y, sample_weight, fraction, validation_data, rng)
        if keep:
            previous, old = self.model_, ids.old_codes
            graph, history = self._fit_graph(
                self._trained_architecture(), data, run,
                init=lambda g: copy_weights(previous, g, *old), hooks=True,
            )  # fmt: skip
        elif self.pretrain:
            gmf, gmf_history = self._fit_graph("gmf", data, run)
            mlp, mlp_history = self._fit_graph("mlp", data, run)
            graph, history = self._fit_graph(
                "neumf", data, run, init=lambda g: init_neumf_from(g, gmf, mlp), hooks=True
            )
            history["pretrain_gmf_loss"] = gmf_history["loss"]
            history["pretrain_mlp_loss"] = mlp_history["loss"]
        else:
            graph, history = self._fit_graph(self.architecture, data, run, hooks=True)
        _average_untrained(graph, data.interactions.seen)
        self._set_fitted(
            graph, history, ids.users_, ids.items_, ids.id_columns,
            data.interactions.seen, data.interactions.scalars,
        )  # fmt: skip
        self._freeze_settings()
        self._rating_noise = self._residual_variance(data.interactions)
        del self._feature_rows  # the graph's feature tables hold them
        if tables:
            self.feature_encoders_ = encoders
        self._encoder_tables = encoder_tables  # what save keeps (skncf._saving_tables)
        return self

    def _feature_tables(self):
        """``{side: (ids, table)}`` of the sides given features (``user_features``, ...)."""
        tables = {}
        for side in ("user", "item"):
            value = getattr(self, f"{side}_features")
            if value is not None:
                tables[side] = check_features(value, f"{side}_features")
        return tables

    def _encode_features(self, tables, ids, keep):
        """Fitted encoders, encoded rows (in code order) and default encoders' tables.

        The sides with features each get an encoder and rows; the tables that a default
        encoder (``"auto"``) was fit on are returned too, for :meth:`save`. With
        ``keep``, see :meth:`_encode_features_again`.
        """
        if keep:
            return self._encode_features_again(tables, ids)
        encoders, rows, encoder_tables = {}, {}, {}
        for side, (feature_ids, table) in tables.items():
            name = f"{side}_features"
            labels = ids.users_ if side == "user" else ids.items_
            encoders[side] = fit_encoder(self.features_encoder, table, name)
            rows[side] = encoded_rows(
                encoders[side], feature_ids, table, labels, name, self._row_norm()
            )
            if isinstance(self.features_encoder, str) and encoders[side] is not None:
                encoder_tables[side] = table
        return encoders, rows, encoder_tables

    def _encode_features_again(self, tables, ids):
        """:meth:`_encode_features` of a continued fit, which keeps the fitted graph.

        The sides with features must be fit's. Each is encoded by its fitted encoder, as
        ``fold_in`` does, so that the projection keeps meaning the same columns; new ids
        of the table join the catalog, and fitted ids without a row in it (added by
        :meth:`add_items`) keep their fitted rows.
        """
        widths = getattr(self, "_feature_width", {})
        if set(tables) != set(widths):
            raise ValueError(
                "warm_start and partial_fit keep the fitted graph, which was fit with "
                f"features {_sides(widths)}; the parameters now give {_sides(tables)}. Set "
                "them as at fit, or fit anew with warm_start=False."
            )
        encoders, rows = {}, {}
        fitted_tables = GraphLayout.of(self.model_).feature_tables()
        for side, (feature_ids, table) in tables.items():
            labels = ids.users_ if side == "user" else ids.items_
            encoders[side] = self.feature_encoders_.get(side)
            name = f"{side}_features"
            encoded = encoded_later(encoders[side], table, widths[side], name, self._row_norm())
            fitted = np.zeros((len(labels), widths[side]), np.float32)  # ids not in the table
            fitted[ids.old_codes[side == "item"]] = fitted_tables[side].get_weights()[0]
            rows[side] = in_code_order(encoded, feature_ids, labels, fitted)
        return encoders, rows, getattr(self, "_encoder_tables", {})

    def _row_norm(self):
        """The length that fit scaled encoded feature rows to, and so rows given later.

        Estimators fit before the length was recorded (pickled then) used
        ``LEGACY_ROW_NORM``; model files record it (:func:`load`).
        """
        return getattr(self, "_feature_row_norm", LEGACY_ROW_NORM)

    def _residual_variance(self, interactions):
        """Ratings: the mean squared training residual on the [0, 1] scale (fold-in's)."""
        if self.feedback == "implicit":
            return None
        predicted = sigmoid(self._scorer.pairs(interactions.users, interactions.items))
        residuals = np.square(predicted - interactions.targets)
        return max(float(np.average(residuals, weights=interactions.weights)), 1e-4)

    def _check_fit_settings(self, validation_data, hold_out):
        """Raise for settings that contradict each other (``fit``'s own checks)."""
        self._check_mlp_layers()
        if self.pretrain and self.architecture != "neumf":
            raise ValueError(
                f"pretrain=True needs architecture='neumf'; got architecture={self.architecture!r}."
            )
        if self.init == "svd" and not self.id_embeddings:
            raise ValueError(
                "init='svd' starts the id embeddings, which id_embeddings=False switches off."
            )
        if self.init == "svd" and (
            self._trained_architecture() not in ("gmf", "neumf") or self.feedback == "explicit"
        ):
            raise ValueError(
                "init='svd' starts the GMF embeddings of implicit feedback, so it needs "
                "architecture='gmf' or 'neumf' and feedback='implicit'; got "
                f"architecture={self.architecture!r}, feedback={self.feedback!r}."
            )
        for position, callback in enumerate(self.callbacks or []):
            if not isinstance(callback, keras.callbacks.Callback):
                raise TypeError(
                    "callbacks must hold keras.callbacks.Callback instances; got "
                    f"{type(callback).__name__} at position {position}."
                )
        if validation_data is not None and self.validation_fraction is not None:
            raise ValueError(
                "pass either validation_data to fit or validation_fraction, not both; got "
                f"validation_fraction={self.validation_fraction}."
            )
        if (
            hold_out
            and self.n_iter_no_change is not None
            and (self.validation_fraction is None and validation_data is None)
        ):
            raise ValueError(
                "n_iter_no_change needs a validation set: set validation_fraction too "
                "(e.g. 0.1), or pass validation_data to fit."
            )

    def _check_kept_settings(self):
        """Raise if a setting that shapes the graph changed since ``fit`` (a continued fit)."""
        names = ["architecture", "latent_dim", "feedback", "id_embeddings"]
        if self._fitted("architecture") in ("mlp", "neumf"):
            names.append("mlp_layers")
        if self._fitted("feedback") == "implicit":
            names.append("loss")
        now = {name: getattr(self, name) for name in names}
        if "mlp_layers" in now:
            now["mlp_layers"] = self._check_mlp_layers()
        changed = [
            f"{name} from {self._fitted(name)!r} to {value!r}"
            for name, value in now.items()
            if self._fitted(name) != value
        ]
        if changed:
            raise ValueError(
                "warm_start and partial_fit keep the fitted graph, whose architecture, "
                "latent_dim, mlp_layers, loss, feedback and id_embeddings must stay as they "
                f"were at fit; {', '.join(changed)}. Set them back, or fit with "
                "warm_start=False."
            )

    def _fit_ids(self, frame, X, keep, tables):
        """The ids of ``X`` as codes: new ones, or extending the fitted ones with ``keep``.

        ``frame`` is ``X`` as given, before validation. Ids of the feature ``tables`` join
        the catalogs (cold users and items); every new id of ``X`` needs a row in its
        side's table.
        """
        id_columns = self._id_columns_ if keep else self._id_columns(X)
        users, items = checked_pair_ids(frame, X, id_columns)
        catalogs = {"user": users, "item": items}
        names = getattr(self, "feature_names_in_", None)
        for side, (feature_ids, table) in tables.items():
            if names is not None:
                id_name = names[id_columns[side == "item"]]
                check_id_column(feature_ids, table, id_name, f"{side}_features")
            wanted = catalogs[side]
            if keep:  # fitted ids have their fitted features
                wanted = wanted[~encode(getattr(self, f"{side}s_"), wanted)[1]]
            check_covered(feature_ids, wanted, f"{side}_features", side)
            catalogs[side] = np.concatenate([catalogs[side], feature_ids])
        old_codes = None
        if keep:
            users_, u, old_users = extend_codes(self.users_, catalogs["user"], "user")
            items_, i, old_items = extend_codes(self.items_, catalogs["item"], "item")
            old_codes = (old_users, old_items)
        else:
            (users_, u), (items_, i) = fit_codes(catalogs["user"]), fit_codes(catalogs["item"])
        return _FitIds(id_columns, users_, items_, u[: len(users)], i[: len(items)], old_codes)

    def _fit_data(self, ids, y, sample_weight, fraction, validation_data, rng):
        """The data stage's :class:`Interactions`, and what training builds on them."""
        shape = (len(ids.users_), len(ids.items_))
        kept = None if ids.old_codes is None else (self.seen_, *ids.old_codes)
        if self.feedback == "explicit":
            scalars = None
            if kept is not None:  # a continued fit keeps its rating scale
                scalars = (self._rating_offset, self._rating_scale, self._fallback)
            interactions = explicit_interactions(
                ids.u, ids.i, y, sample_weight, shape,
                fraction=fraction, rng=rng, kept=kept, scalars=scalars,
            )  # fmt: skip
            return _FitData(
                interactions,
                self._validation(interactions, validation_data, ids),
                ExplicitExamples(
                    interactions.users, interactions.items, interactions.targets,
                    interactions.weights,
                ),
            )  # fmt: skip
        weights = sample_weight if y is None else y * sample_weight
        interactions = implicit_interactions(
            ids.u, ids.i, weights, shape, fraction=fraction, rng=rng, kept=kept
        )
        examples = None
        n_negatives = self._resolved(self._trained_architecture(), *shape)["n_negatives"]
        if self.loss == "log" and n_negatives != "all":  # the softmax: positives only
            examples = ImplicitExamples(
                interactions.users, interactions.items, interactions.weights,
                interactions.seen, n_negatives, interactions.interacted_items,
            )  # fmt: skip
        return _FitData(
            interactions, self._validation(interactions, validation_data, ids), examples
        )

    def _validation(self, interactions, validation_data, ids):
        """What validates each epoch: ``validation_data``, the held-out rows, or None."""
        seen = interactions.seen
        if self.feedback == "explicit":
            scale = interactions.scalars[:2]
            if validation_data is not None:
                return self._validation_of(validation_data, ids.users_, ids.items_, scale=scale)
            if interactions.held_out is None:
                return None
            users, items, ratings = interactions.held_out
            return Validation(users, items, ratings=ratings, scale=scale)
        if validation_data is not None:
            return self._validation_of(validation_data, ids.users_, ids.items_, seen=seen)
        if interactions.held_out is None:
            return None
        users, items, _ = interactions.held_out
        held_out = interaction_matrix(users, items, *seen.shape)
        return Validation(users, items, seen=seen - held_out)

    def _fit_graph(self, architecture, data, run, *, init=None, hooks=False):
        """Build one graph of ``architecture``, start it, train it: (graph, history).

        ``init`` starts the graph (a warm start, NeuMF from pre-trained parts); ``hooks``
        attaches the callbacks and validation (the graph ``fit`` returns).
        """
        n_users, n_items = data.interactions.seen.shape
        resolved = self._resolved(architecture, n_users, n_items)
        strategy = self.distribute
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            graph = self._build_graph(architecture, n_users, n_items, run.seeds)
        from_svd = init is None and self.init == "svd" and architecture in ("gmf", "neumf")
        if init is not None:
            init(graph)
        elif from_svd:
            n_negatives = resolved["n_negatives"]
            start_gmf_from_svd(
                graph,
                data.interactions.matrix,
                loss=self.loss,
                # per positive, the log loss's own negatives; by users, the paper's 4
                n_negatives=LOG_LOSS_NEGATIVES if n_negatives == "all" else n_negatives,
                random_state=next(run.seeds),
            )
        if self.loss == "softmax" and self.feedback == "implicit" and not (init or from_svd):
            start_gmf_as_dot_product(graph)
            if self._starts_at_popularity(resolved["n_negatives"]):
                counts = np.bincount(data.interactions.items, minlength=n_items)
                start_item_bias_at_popularity(graph, counts)
        set_feature_tables(graph, self._feature_rows)
        settings = dict(
            epochs=run.epochs or resolved["epochs"],
            batch_size=resolved["batch_size"],
            learning_rate=resolved["learning_rate"],
            lazy_adam=self.optimizer == "lazy_adam",
            dropout=self._dropout_rate(),
            l2=self.l2,
            rng=run.rng,
            verbose=self.verbose,
            callbacks=self._keras_callbacks(data.validation) if hooks else [],
            validation=data.validation if hooks else None,
            strategy=strategy,
            xla=run.xla,
        )
        if self.feedback == "explicit":
            history = train(graph, architecture, data.examples, feedback="explicit", **settings)
        else:
            history = self._train_implicit(
                graph, architecture, resolved["n_negatives"], settings, data
            )
        if strategy is not None:
            graph = plain_copy(
                graph,
                lambda: self._build_graph(architecture, n_users, n_items, itertools.repeat(0)),
            )
        return graph, history

    def _train_implicit(self, graph, architecture, n_negatives, settings, data):
        """Train on positives by the path ``n_negatives`` (resolved) picks; the history.

        "all": by users, over the interactions' users x items matrix; an int: per
        positive, the sampled (or, at the catalog's size, full) softmax over the training
        rows, or the log loss over ``data.examples`` (positives and their sampled
        negatives).
        """
        interactions, examples = data.interactions, data.examples
        positives = (interactions.users, interactions.items, interactions.weights)
        n_items = interactions.seen.shape[1]
        if n_negatives == "all":
            return train_by_users(
                graph,
                architecture,
                interactions.matrix,
                objective=self.loss,
                negative_weight=float(self.negative_weight),
                candidates=interactions.interacted_items,
                tower_width=self._tower_width(architecture),
                **settings,
            )
        if self.loss == "softmax":
            n_sampled = None if n_negatives >= n_items else n_negatives
            return train_softmax(
                graph, architecture, positives, n_items=n_items, n_sampled=n_sampled,
                candidates=interactions.interacted_items, **settings,
            )  # fmt: skip
        return train(graph, architecture, examples, feedback="implicit", **settings)

    def _validation_of(self, validation_data, users_, items_, *, seen=None, scale=(0.0, 1.0)):
        """A :class:`~skncf._training.callbacks.Validation` of ``fit``'s ``validation_data``."""
        X_val, y_val = validation_data, None
        if isinstance(validation_data, tuple):
            if len(validation_data) != 2:
                raise ValueError(
                    "validation_data must be X_val or a pair (X_val, y_val); got a tuple of "
                    f"{len(validation_data)}."
                )
            X_val, y_val = validation_data
        frame = X_val = self._by_name(X_val)
        try:
            X_val = self._validated(X_val, reset=False)
        except ValueError as error:
            raise ValueError(f"validation_data does not match X: {error}") from None
        users, items = checked_pair_ids(frame, X_val, self._id_columns(X_val), "validation ")
        u, user_known = encode(users_, users)
        i, item_known = encode(items_, items)
        keep = user_known & item_known
        if self.feedback == "explicit":
            if y_val is None:
                raise ValueError("validation_data must be (X_val, ratings) for explicit feedback.")
            ratings = _check_target(y_val, X_val)
            if not keep.any():
                raise ValueError("validation_data has no pair whose user and item are in X.")
            return Validation(u[keep], i[keep], ratings=ratings[keep], scale=scale)
        positive = np.ones(len(u), dtype=bool)
        if y_val is not None:
            positive = _check_target(y_val, X_val) > 0
        n_missed = int((positive & ~keep).sum())
        keep &= positive
        if not keep.any():
            raise ValueError("validation_data has no pair whose user and item are in X.")
        return Validation(u[keep], i[keep], seen=seen, n_missed=n_missed)

    def _trained_architecture(self, *, fitted=False):
        setting = self._setting_reader(fitted)
        return "neumf" if setting("pretrain") else setting("architecture")

    def _keras_callbacks(self, validation):
        callbacks = list(self.callbacks or [])
        if self.n_iter_no_change is not None and validation is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=validation.name,
                    mode="max",
                    patience=self.n_iter_no_change,
                    restore_best_weights=True,
                )
            )
        return callbacks

    def _set_fitted(self, graph, history, users_, items_, id_columns, seen, scalars):
        """Set the fitted state (``fit`` and :func:`skncf.load` share this)."""
        self.users_, self.items_ = users_, items_
        self._id_columns_ = id_columns
        self.model_, self.history_ = graph, history
        self.n_iter_ = len(history["loss"])
        self._scorer = Scorer(graph)
        self._item_index = None  # built by the first recommend(approximate=...)
        self._fold_in = None  # built by the first fold_in
        self.seen_ = seen
        # the fallback ranking: minus each item's rank by training popularity, as a score
        popular = np.argsort(-np.asarray(seen.sum(axis=0)).ravel(), kind="stable")
        self._popularity = np.empty(len(items_), dtype=np.float32)
        self._popularity[popular] = -np.arange(len(items_), dtype=np.float32)
        self._rating_offset, self._rating_scale, self._fallback = scalars

    def _freeze_settings(self):
        """Record the settings of the fitted model and the "auto" ones as resolved.

        ``fit`` and :func:`skncf.load` call this; ``add_items`` keeps what it finds.
        """
        settings = {name: getattr(self, name) for name in MODEL_SETTINGS}
        self._fitted_settings = {**settings, "mlp_layers": self._check_mlp_layers()}
        resolved = self._resolved(self._trained_architecture(), *self.seen_.shape)
        self.n_negatives_, self.batch_size_ = resolved["n_negatives"], resolved["batch_size"]
        self.learning_rate_, self.epochs_ = resolved["learning_rate"], resolved["epochs"]

    def _fitted(self, name):
        """Setting ``name`` as the fitted model has it (as set, in older pickles)."""
        return getattr(self, "_fitted_settings", {}).get(name, getattr(self, name))

    def _setting_reader(self, fitted):
        """``name -> value`` of the settings: as the fitted model has them, or as set."""
        return self._fitted if fitted else functools.partial(getattr, self)

    def _build_graph(self, architecture, n_users, n_items, seeds, *, fitted=False):
        """An untrained graph of this estimator's shape: as set, or with ``fitted`` as fit."""
        setting = self._setting_reader(fitted)
        widths = getattr(self, "_feature_width", {})  # {side: encoded width}
        return build_graph(
            architecture,
            n_users=n_users,
            n_items=n_items,
            latent_dim=setting("latent_dim"),
            mlp_layers=setting("mlp_layers") if fitted else self._check_mlp_layers(),
            dropout=self._dropout_rate(fitted=fitted),
            l2=self.l2,
            seeds=seeds,
            biases=setting("feedback") == "explicit" or setting("loss") == "softmax",
            features=widths,
            without_ids=() if setting("id_embeddings") else tuple(widths),
        )

    def _check_mlp_layers(self):
        layers = self.mlp_layers
        if isinstance(layers, str) or not all(
            isinstance(w, Integral) and not isinstance(w, bool) for w in layers
        ):
            raise TypeError(f"mlp_layers must be a sequence of ints; got {layers!r}.")
        if len(layers) == 0 or min(layers) < 1:
            raise ValueError(f"mlp_layers must hold at least one width, each >= 1; got {layers!r}.")
        return tuple(int(w) for w in layers)

    def _id_columns(self, X):
        """Positions of the user and item columns in validated ``X``."""
        if self.columns is None:
            if X.shape[1] != 2:
                names = [str(name) for name in getattr(self, "feature_names_in_", [])]
                pick = f"({names[0]!r}, {names[1]!r})" if len(names) > 2 else "(user, item)"
                listed = f" (X's columns: {', '.join(map(repr, names))})" if names else ""
                raise ValueError(
                    f"X must have 2 columns (user id, item id) when columns=None; got "
                    f"{X.shape[1]} feature(s){listed}. Pass columns={pick} to pick two."
                )
            return (0, 1)
        columns = list(self.columns) if not isinstance(self.columns, str) else [self.columns]
        if len(columns) != 2:
            raise ValueError(f"columns must name 2 columns (user, item); got {self.columns!r}.")
        names = list(getattr(self, "feature_names_in_", []))
        positions = []
        for column in columns:
            if isinstance(column, str):
                if column not in names:
                    raise ValueError(
                        f"columns names {column!r}, which is not a column name of X "
                        f"(column names: {names or 'none, X is not a DataFrame'})."
                    )
                positions.append(names.index(column))
            elif isinstance(column, Integral) and not isinstance(column, bool):
                if not -X.shape[1] <= column < X.shape[1]:
                    raise ValueError(
                        f"columns holds position {column}, out of range for X with "
                        f"{X.shape[1]} feature(s)."
                    )
                positions.append(int(column) % X.shape[1])
            else:
                raise TypeError(f"columns must hold ints or strings; got {column!r}.")
        if positions[0] == positions[1]:
            raise ValueError(f"columns must name two different columns; got {self.columns!r}.")
        return tuple(positions)

    def _tower_width(self, architecture):
        return max(self._check_mlp_layers()) if architecture in ("mlp", "neumf") else 1

    def _resolved(self, architecture, n_users, n_items):
        """``n_negatives``, ``batch_size``, ``learning_rate`` and ``epochs``, "auto" resolved.

        ``n_negatives`` becomes "all" (training by users), or an int: negatives per
        positive of the log loss, or items per batch of the per-positive softmax (all
        of them when it is at least ``n_items``).
        """
        n_negatives = self.n_negatives
        if n_negatives == "auto":
            n_negatives = self._auto_negatives(architecture, n_items)
        by_users = n_negatives == "all" and self.feedback == "implicit"
        path = dict(BY_USERS if by_users else PER_POSITIVE)
        if by_users:  # small data: enough steps an epoch
            path["batch_size"] = min(path["batch_size"], -(-n_users // BY_USERS_MIN_STEPS))
            if not self._starts_at_popularity(n_negatives):
                path["epochs"] = BY_USERS_RANDOM_START_EPOCHS
        chosen = {
            name: path[name] if getattr(self, name) == "auto" else getattr(self, name)
            for name in ("batch_size", "learning_rate", "epochs")
        }
        return {"n_negatives": n_negatives, **chosen}

    def _starts_at_popularity(self, n_negatives):
        """Whether a fresh graph's item biases start at popularity (``init``'s default).

        Only the softmax by users (``n_negatives`` "all", resolved), whose defaults were
        chosen from that start, and only where the items have trained id biases.
        """
        item_ids = self.id_embeddings or "item" not in getattr(self, "_feature_width", {})
        return (
            self.init == "popularity"
            and self.loss == "softmax"
            and self.feedback == "implicit"
            and n_negatives == "all"
            and item_ids
        )

    def _auto_negatives(self, architecture, n_items):
        """ "all" where a block of users fits; otherwise the per-positive paths' defaults."""
        if self.loss == "log":
            return LOG_LOSS_NEGATIVES
        if block_users(BY_USERS["batch_size"], n_items, self._tower_width(architecture)) >= (
            MIN_BLOCK_USERS
        ):
            return "all"
        if architecture in ("gmf", "seed"):
            return n_items
        return min(SOFTMAX_SAMPLED_ITEMS, n_items)

    def _dropout_rate(self, *, fitted=False):
        """The dropout rate, "None" resolved: as set, or with ``fitted`` as fit."""
        setting = self._setting_reader(fitted)
        if setting("dropout") is None:
            if setting("architecture") == "seed":
                return SEED_DROPOUT
            return EXPLICIT_DROPOUT if setting("feedback") == "explicit" else 0.0
        return float(setting("dropout"))

    def _check_fit_targets(self, X, y, sample_weight, feedback=None):
        """``y`` and ``sample_weight`` checked for ``feedback`` (default: as set)."""
        feedback = feedback or self.feedback
        sample_weight = _check_weights(sample_weight, X)
        if not sample_weight.any():  # scikit-learn raises this itself from 1.7 on
            raise ValueError("Sample weights must contain at least one non-zero number.")
        if y is None:
            if feedback == "explicit":
                raise ValueError(
                    "feedback='explicit' requires y to be passed, but the target y is None: "
                    "pass the ratings."
                )
            return None, sample_weight
        y = _check_target(y, X)
        if feedback == "implicit":
            if y.min() < 0:
                raise ValueError(
                    "y must hold non-negative interaction weights when "
                    f"feedback='implicit'; got a minimum of {y.min()}."
                )
            if not (y * sample_weight).any():
                raise ValueError(
                    "y (times sample_weight) is 0 everywhere: there is no positive "
                    "interaction to learn from."
                )
        return y, sample_weight

    # ------------------------------------------------------------- predict

    def _encode_pairs(self, X, users_=None):
        """Validate pairs against the fitted state: their codes, and their ids.

        ``users_``: the user labels to encode against (folded-in users), not ``users_``.
        """
        X, validated = self._validate_later(X)
        users, items = checked_pair_ids(X, validated, self._id_columns_)
        u, user_known = encode(self.users_ if users_ is None else users_, users)
        i, item_known = encode(self.items_, items)
        return PairCodes(u, i, user_known, item_known), users, items

    def _validated(self, X, *, reset):
        """``X`` as one array, its columns checked against fit's (or recorded: ``reset``).

        A DataFrame's columns other than the ids hold zeros in the array (:func:`ids_only`).

        Missing values are refused in the id columns only, by :func:`check_ids` with a
        message that names the column: the other columns of a frame are not read, so
        a gap in a rating or timestamp column beside ``columns=`` does no harm.
        """
        X = ids_only(keep_python_types(X), self.columns)
        return validate_data(self, X, dtype=None, reset=reset, ensure_all_finite=False)

    def _validate_later(self, X):
        """``(frame, validated)``: ``X`` of a call after ``fit``, its id columns read by
        name where ``columns`` names them (:func:`by_name`), and validated against fit's
        columns."""
        X = self._by_name(X)
        try:
            return X, self._validated(X, reset=False)
        except ValueError as error:
            if self.columns is None or "feature" not in str(error):
                raise
            raise ValueError(
                f"{str(error).rstrip()}\nX needs the columns of fit, in their order; only "
                f"{tuple(self.columns)!r} are read, so the others may hold any values."
            ) from None

    def _by_name(self, X):
        """``X`` with fit's layout of columns where ``columns`` named them, or where fit's
        frame held named id columns alone (``columns=None``): :func:`by_name`."""
        X = arrow_as_pandas(X)
        names_in = getattr(self, "feature_names_in_", None)
        if self.columns is None:
            columns = [] if names_in is None else list(names_in)
        else:
            columns = [self.columns] if isinstance(self.columns, str) else list(self.columns)
        return by_name(X, names_in, columns)

    def _output(self, logits):
        """Logits -> probabilities (implicit) or ratings (explicit)."""
        probabilities = sigmoid(logits)
        if self._fitted("feedback") == "implicit":
            return probabilities
        return self._rating_offset + self._rating_scale * probabilities

    def _raise_unknown(
        self,
        known,
        labels,
        what,
        among="seen in fit",
        fitted=None,
        ignored="score them with the documented fallback",
    ):
        """Raise for ``labels`` not ``known`` (among ``fitted``) unless told to ignore them;
        ``ignored`` says what ``handle_unknown="ignore"`` would do with them."""
        if self.handle_unknown == "error":
            check_known(
                known,
                labels,
                what,
                hint=f"Pass handle_unknown='ignore' to {ignored}.",
                among=among,
                fitted=fitted,
            )

    def _encode_query(self, values, known_labels, name, among="seen in fit"):
        """Validate the ids of a query; return them, their codes and which are known."""
        labels = check_query_ids(values, name)
        codes, known = encode(known_labels, labels)
        self._raise_unknown(known, labels, name, among, known_labels)
        return labels, codes, known

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict the score (implicit, see ``loss``) or rating (explicit) of pairs.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2)
            (user id, item id) pairs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Implicit feedback: the sigmoid of each pair's logit, in (0, 1). With
            ``loss="log"`` that is the probability of an interaction; with the default
            ``loss="softmax"`` it orders each user's items as the softmax does but is not
            a calibrated probability (the softmax normalises over a user's items, not per
            pair). Explicit feedback: ratings within the training range. Pairs with an
            unknown id get the fallback of ``handle_unknown="ignore"``.
        """
        check_is_fitted(self)
        (u, i, user_known, item_known), users, items = self._encode_pairs(X)
        self._raise_unknown(user_known, users, "X (user ids)", fitted=self.users_)
        self._raise_unknown(item_known, items, "X (item ids)", fitted=self.items_)
        return self._predict_codes(u, i, user_known & item_known)

    def _predict_codes(self, u, i, known, vectors=None):
        out = np.full(len(u), self._fallback, dtype=np.float64)
        out[known] = self._output(self._scorer.pairs(u[known], i[known], vectors))
        return out

    def score(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> float:
        """Return the mean NDCG@10 (implicit) or R^2 (explicit) of held-out pairs.

        Implicit feedback: each pair's item is ranked among every item its user had no
        interaction with in training, less the user's other items in ``X``, which are
        held out too (full ranking, no sampling; ties count against the pair's item), and
        scores ``1 / log2(rank + 2)`` if its 0-based rank is below 10, else 0. A pair
        whose user or item was not seen in fit counts as a miss (0), so that a
        cross-validation fold with new ids still gets a finite score. If ``y`` is given,
        pairs with ``y == 0`` are no interactions: left out, and not held out either.

        Explicit feedback: the coefficient of determination R^2 of the predicted ratings,
        as for scikit-learn regressors; unknown ids are predicted by the fallback of
        ``handle_unknown="ignore"`` (the mean training rating).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, 2)
            Held-out (user id, item id) pairs.
        y : array-like of shape (n_samples,), default=None
            Ratings (explicit, required) or interaction weights (implicit, optional).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each pair in the mean.

        Returns
        -------
        score : float
            Mean NDCG@10 in [0, 1] (implicit) or R^2 (explicit).
        """
        check_is_fitted(self)
        return self._score(X, y, sample_weight)

    def _score(self, X, y, sample_weight, users_=None, seen=None, vectors=None):
        """:meth:`score` of the fitted users, or of folded-in ``users_`` (their ``seen``
        interactions and embedding ``vectors``)."""
        u, i, user_known, item_known = self._encode_pairs(X, users_)[0]
        known = user_known & item_known
        weights = _check_weights(sample_weight, u)
        if self._fitted("feedback") == "explicit":
            if y is None:
                raise ValueError("y (the ratings) is required to score explicit feedback.")
            y = _check_target(y, u)
            predicted = self._predict_codes(u, i, known, vectors)
            return float(r2_score(y, predicted, sample_weight=weights))
        relevant = np.ones(len(u), dtype=bool) if y is None else _check_target(y, u) > 0
        weights = weights * relevant
        gains = np.zeros(len(u))
        seen = self.seen_ if seen is None else seen
        ranks = full_ranks(self._scorer, seen, u[known], i[known], vectors, relevant[known])
        gains[known] = ndcg_gains(ranks, SCORE_K)
        if not weights.any():
            return 0.0
        return float(np.average(gains, weights=weights))

    # ------------------------------------- scores by code, for evaluation code

    def _pair_codes_and_ids(self, X):
        """:meth:`encode_pairs`' codes of ``X``, and its user and item ids as read."""
        check_is_fitted(self)
        return self._encode_pairs(X)

    def pair_logits(self, users: ArrayLike, items: ArrayLike) -> np.ndarray:
        """Ranking scores of the code pairs ``(users[n], items[n])``.

        The logits that rank items: ``predict`` maps them through the sigmoid (and, for
        ratings, the training range), which keeps their order.

        Parameters
        ----------
        users, items : array-like of int of shape (n_pairs,)
            Codes, as :meth:`encode_pairs` gives them.

        Returns
        -------
        logits : ndarray of shape (n_pairs,), float32
            One ranking score per pair.
        """
        check_is_fitted(self)
        return self._pair_logits(users, items, len(self.users_))

    def _pair_logits(self, users, items, n_users, vectors=None):
        """:meth:`pair_logits` of ``n_users`` users, the fitted ones or ``vectors``' rows."""
        user_codes = _check_codes(users, n_users, "users")
        item_codes = _check_codes(items, len(self.items_), "items")
        if len(user_codes) != len(item_codes):
            raise ValueError(f"users has {len(user_codes)} codes but items has {len(item_codes)}.")
        return self._scorer.pairs(user_codes, item_codes, vectors)

    def catalog_logits(self, users: ArrayLike) -> Iterator[tuple[int, np.ndarray]]:
        """Ranking scores of users against every item, in blocks of users.

        Parameters
        ----------
        users : array-like of int of shape (n_users,)
            User codes (positions in ``users_``).

        Returns
        -------
        blocks : iterator of (start, logits)
            ``start`` (int) is the position in ``users`` of the block's first row,
            ``logits`` (ndarray of shape (n_block, n_items), float32) the block's logits,
            one column per item of ``items_``; blocks bound memory whatever the
            catalog's size. Seen items are not masked (``seen_`` says which they are).
        """
        check_is_fitted(self)
        return self._catalog_logits(users, len(self.users_))

    def _catalog_logits(self, users, n_users, vectors=None):
        """:meth:`catalog_logits` of ``n_users`` users, the fitted ones or ``vectors``'."""
        return self._scorer.rows(_check_codes(users, n_users, "users"), vectors)


def load(path: str | os.PathLike[str] | BinaryIO) -> NCFRecommender:
    """Load an estimator written by :meth:`NCFRecommender.save`.

    Nothing in the file is executed: the metadata is JSON and the arrays are read with
    ``numpy.load(..., allow_pickle=False)``.

    Parameters
    ----------
    path : str, path-like or binary file object
        A model file, or a file open for reading in binary mode (``open(name, "rb")``,
        ``io.BytesIO``, cloud storage's file objects such as ``fsspec``'s).

    Returns
    -------
    estimator : NCFRecommender
        Fitted, with the parameters, weights and seen items it was saved with;
        ``predict`` and ``recommend`` give the same results as before saving.

    Raises
    ------
    ValueError
        If the file is not an skncf model file, is truncated or corrupted, or was written
        by a newer skncf in a format version this one does not read.
    FileNotFoundError
        If there is no file at ``path``.
    TypeError
        If ``path`` is not a str, path-like or binary file object.

    Examples
    --------
    >>> import os, tempfile
    >>> import skncf
    >>> from skncf.datasets import make_interactions
    >>> X, _ = make_interactions(n_users=40, n_items=30, random_state=0)
    >>> rec = skncf.NCFRecommender(architecture="gmf", epochs=1, random_state=0).fit(X)
    >>> path = rec.save(os.path.join(tempfile.mkdtemp(), "model.skncf"))
    >>> loaded = skncf.load(path)
    >>> bool((loaded.predict(X[:5]) == rec.predict(X[:5])).all())
    True
    """
    state = read_model(path)
    estimator = NCFRecommender().set_params(**state["params"])
    estimator._validate_params()
    estimator._feature_width = state["feature_width"]
    estimator._feature_row_norm = state["feature_row_norm"]
    users, items = state["users"], state["items"]
    graph = estimator._build_graph(
        estimator._trained_architecture(), len(users), len(items), iter(range(1000))
    )
    set_graph_weights(graph, state["weights"], source_name(path))
    estimator.n_features_in_ = state["n_features_in"]
    if state["feature_names_in"] is not None:
        estimator.feature_names_in_ = np.array(state["feature_names_in"], dtype=object)
    estimator._set_fitted(
        graph, state["history"], users, items, state["id_columns"], state["seen"],
        state["scalars"],
    )  # fmt: skip
    estimator._freeze_settings()
    estimator._rating_noise = state["rating_noise"]
    if state["feature_width"]:
        encoders = {side: None for side in state["feature_width"]}
        tables = state["feature_tables"]
        estimator.feature_encoders_ = {**encoders, **{s: e for s, (_, e) in tables.items()}}
        estimator._encoder_tables = {side: table for side, (table, _) in tables.items()}
    return estimator


class _FitIds(NamedTuple):
    """The ids of one call of ``fit``: columns, catalogs (labels) and the rows' codes."""

    id_columns: tuple
    users_: np.ndarray
    items_: np.ndarray
    u: np.ndarray
    i: np.ndarray
    old_codes: tuple | None  # continuing a fit: the fitted users' and items' new codes


class _FitData(NamedTuple):
    """What one call of ``fit`` trains on: the data stage's interactions, the validation
    of each epoch, and the per-pair training rows (log loss and explicit)."""

    interactions: Interactions
    validation: Validation | None
    examples: ImplicitExamples | ExplicitExamples | None


class _Run(NamedTuple):
    """The random state and options one call of ``fit`` shares between its graphs."""

    rng: np.random.Generator
    seeds: Iterator[int]
    epochs: int | None
    xla: bool


def _sides(features):
    """The feature parameters of the sides in ``features``, for messages."""
    return " and ".join(f"{side}_features" for side in sorted(features)) or "none"


def _check_target(y, X):
    _check_not_a_name(y, "y")
    shape: tuple = getattr(y, "shape", ())  # not np.shape: it would call array functions
    if len(shape) == 2 and shape[1] != 1:  # before a frame's own checks
        raise ValueError(f"y must be 1-dimensional; got shape {shape}.")
    dtype = np.asarray(y).dtype
    if dtype.kind in "US":  # scikit-learn's own message does not name y
        raise ValueError(f"y must hold numbers; got strings (dtype {dtype}).")
    _check_no_text(y, "y")
    y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
    if y.ndim == 2 and y.shape[1] == 1:  # a column: taken, with scikit-learn's warning
        y = column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional; got shape {y.shape}.")
    if len(y) != len(X):
        raise ValueError(f"y has {len(y)} entries but X has {len(X)} rows.")
    return y.astype(np.float64, copy=False)


def _check_weights(sample_weight, X):
    """``sample_weight`` as scikit-learn checks it, after a check that names it."""
    _check_not_a_name(sample_weight, "sample_weight")
    if sample_weight is not None:
        _check_no_text(sample_weight, "sample_weight")
    return _check_sample_weight(sample_weight, X, ensure_non_negative=True)


def _check_no_text(values, name):
    """Raise, naming ``name`` and the text, where ``values`` (a pandas column of text, an
    object array) hold text that is no number: scikit-learn's message names neither."""
    if getattr(values, "dtype", np.dtype(object)).kind not in "OSU":  # pandas' Float64 too
        return
    text = first_non_number(values)
    if text is not None:
        hint = ""
        if is_decimal_comma(text):
            hint = " (a decimal comma: read the file with pandas' decimal=',')"
        raise ValueError(f"{name} must hold numbers; got {text!r}{hint}.")


def _check_not_a_name(value, name):
    """Raise for a string where one value per row is due: most likely a column's name."""
    if isinstance(value, str):
        raise TypeError(
            f"{name} must hold one number per row of X, not the string {value!r}; for a "
            f"column of a DataFrame X, pass X[{value!r}]."
        )


def _check_codes(codes, n, name):
    codes = np.asarray(codes)
    if codes.ndim != 1 or (codes.size and codes.dtype.kind not in "iu"):
        raise TypeError(
            f"{name} must be a 1-d array of integer codes; got {codes.dtype} "
            f"of shape {codes.shape}."
        )
    if codes.size and (codes.min() < 0 or codes.max() >= n):
        raise ValueError(f"{name} codes must lie in [0, {n}); got {codes.min()}..{codes.max()}.")
    return codes.astype(np.int64, copy=False)
